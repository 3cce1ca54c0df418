//! # Relay engine: sans-IO store-and-forward of signed items towards bridges
//!
//! One [`Engine`] per node. It never reads a clock, an RNG, a radio or flash: every input
//! carries `now` (µs since an arbitrary epoch, monotonic), randomness comes from a seed in
//! [`Config`], items live in a caller-provided [`Store`], and memory is bounded by const
//! generics (`N` tracked items) and named constants. Firmware, host bridge and simulator are
//! thin drivers around it.
//!
//! ## Layers
//! - [`duty`]: time on air (via `lora-modulation`) and rolling-window duty-cycle accounting;
//! - [`store`]: the [`Store`] trait and its guarantees, [`MemStore`];
//! - this module: verification, abuse limits, duplicate suppression, the bridge gradient
//!   and the neighbour table, custody, channel access and the transmit scheduler.
//!
//! ## Call order (drain order)
//! Inputs are `handle_frame`, `handle_timeout`, `handle_tx_done`, `handle_uplink`,
//! `handle_receipt` and `submit`. After **any** input the driver drains, in this order:
//! 1. [`Engine::poll_transmit`], only while the radio is idle, passing whether the channel is
//!    busy (CAD / receiving) *now*. A returned [`Transmit`] must start at once; call
//!    [`Engine::handle_tx_done`] when it has left the antenna;
//! 2. [`Engine::poll_timeout`]: the instant to call [`Engine::handle_timeout`] (early or
//!    spurious calls are harmless);
//! 3. [`Engine::poll_event`] until `None`.
//!
//! ## Protocol (version 2)
//! - **Gradient**: every frame's 4 flag bits carry the sender's distance to the nearest
//!   bridge in expected transmissions, rounded (`0` = a bridge, [`NO_ROUTE`] = unknown).
//!   Each node keeps a small table of the neighbours it heard ([`NEIGHBOURS`]: address,
//!   distance, link SNR, and an ETX window of unacknowledged retransmissions and acks,
//!   `ETX_WINDOW` = 32) and picks as parent the neighbour with the smallest distance plus
//!   ETX − 1 of the link to it (rounded down); among equals first one it overheard being
//!   handed an item by another node in the last 30 minutes (it relays for others anyway, so
//!   joining it adds no interior node to the tree that rebroadcasts certifications: 50 nodes
//!   2.06–2.26 → 1.84–2.20 × greedy), then the strongest link; it keeps its current parent
//!   unless another is a whole unit cheaper, or as cheap and relaying for others while the
//!   current one is not (no flapping). When the
//!   table is full, a newcomer replaces the worst entry among those without link history
//!   first, so a link's failures are not forgotten (a bridge heard but not reachable would
//!   otherwise come back as a fresh, perfect parent again and again). Its own
//!   distance is that cost plus one, so a node that hears a bridge but cannot reach it
//!   advertises its real distance instead of attracting the neighbourhood's traffic (the
//!   seed-5 hot spot of v1). [`FrameKind::BridgeAdvert`] frames (4 bytes) go out only when the node's hop
//!   count changes and no other frame carried it first within [`ADVERT_DELAY_US`], or to
//!   answer a node without route (which first listens [`SOLICIT_LISTEN_US`] for frame headers,
//!   and solicits only while it holds items to push: an idle node learns its route from the
//!   frames it overhears) (an advert with [`NO_ROUTE`] is a solicitation, answered once,
//!   suppressed when another neighbour answers first). [`Counters`] split adverts into route
//!   changes, answers and solicitations. There is no periodic beacon: data frames refresh the gradient.
//! - **Verify before forward**: an item that fails [`Item::parse`] or [`Item::verify`] is
//!   never stored or relayed ([`Event::Rejected`], [`Counters`]). Optional abuse limits run
//!   before the signature check: a member filter (sorted 64-bit signer-key prefixes, see
//!   [`Engine::with_members`]) and a per-signer airtime quota ([`SIGNER_QUOTA_PERMILLE`] of
//!   the hourly duty budget per signer per hour).
//! - **Custody, addressed**: items travel in [`FORWARD`] frames whose body is the 2-byte
//!   address of the chosen parent, a 1-byte count of custody acks, the acks (8-byte
//!   little-endian [`ShortId`]s of items the sender took custody of), a 1-byte entry count
//!   (bit 7, [`DIGEST_RIDES`]: the sender's 17-byte reconciliation digest follows it;
//!   bit 6, [`HEARS_RIDES`]: then the relays the sender hears, a count and 2-byte
//!   addresses; both `gossip.rs`), each entry's seconds of lifetime left (3 bytes), then the
//!   item entries. A custodian
//!   keeps an item no longer than the lifetime its forward gave it, so an item expires
//!   [`Config::item_ttl_us`] after its origin however many hops and hand-backs it makes
//!   (it used to restart at each hop: a payment bouncing between two routes could outlive
//!   every copy of it elsewhere); an entry with no time left is not taken.
//!   Only the addressed parent takes custody (so one transmission moves an item one hop,
//!   never to several relays). Every custodian acks explicitly: its acks ride on its next
//!   forward (free of a frame), or go alone in a [`FrameKind::CustodyAck`] frame after
//!   [`ACK_HOLD_US`]; bridges, which forward nothing, batch them for [`BRIDGE_ACK_HOLD_US`]
//!   or until [`MAX_ACKS`] fill a frame, and their children's retry timeouts exceed that
//!   hold. Overhearing the parent
//!   forward the item is an ack too (passive ack). Duplicates from uphill are acked again.
//!   An item a neighbour hands back after we handed it over (its route now runs through us)
//!   is pushed again: custody returns, it is never acked and dropped. Without an ack the
//!   sender retries after a randomised timeout longer than the ack hold; after
//!   [`MAX_TRIES`] it blames the parent (a failure, which moves the choice to another
//!   neighbour) and parks the item for [`PARK_US`]. Handing over never deletes: the item is
//!   kept until [`Engine::handle_receipt`] or expiry. Bridges take every item addressed to
//!   them or to one of their children (below), and plain [`FrameKind::Items`] frames from
//!   uphill, and hand it to their uplink ([`Event::Uplink`]).
//! - **Key book and pairs**: with a key book ([`Engine::with_key_book`], the community's
//!   account ids, the same on every node), a forward carries an item whose signer or
//!   destination the book lists as a booked entry ([`crate::item::book`]: each known key as a
//!   2-byte index), so a 144-byte transfer between members goes in 89 bytes and two fit one
//!   frame. A booked custody item taken from the air then waits up to [`PAIR_HOLD_US`] (2 min,
//!   under the [`ACK_HOLD_US`] of 2.5 min that its sender's ack may ride) for a second one,
//!   and a waiting one goes at once with the next. 50 nodes, seeds 1–12, with a 60-s hold
//!   (90-s ack hold): custody frames 2.16 → 1.82 per item (retries 0.26 → 0.24), 1.414 →
//!   1.318 × greedy, within the hour 0.9992 → 1.0 on every seed, no item lost (one before);
//!   a 120-s hold under the same 90-s ack hold sent the acks alone (0.37 ack frames per
//!   item), 45 s batched less. Holds of 60 / 90 / 120 s (ack holds 90 / 120 / 150 s), 50
//!   nodes seeds 1–100: 1.249 / 1.238 / 1.231 × greedy (seeds at or under 1.25: 57 / 60 /
//!   65; seeds 101–200: 1.234 → 1.214 ×, 64 → 72) at 0.082 / 0.075 / 0.071 ack frames per
//!   item; items never delivered 16 / 19 / 35 on 1–100 (seed 89's pocket, below: 2 / 0 /
//!   18, which varies that much with any change) and 112 → 110 on 101–200. A receiver with
//!   another book refuses the entry ([`RejectReason::OtherBook`], `Counters::other_book`):
//!   not acked, the sender keeps custody. Items whose keys the book lacks go as they are.
//! - **Own payments wait longer**: a node's own booked payment waits up to
//!   [`OWN_HOLD_US`] (10 min) for a second one, its own or one from the air (a relay's
//!   hold, above, is bounded by its sender's ack hold; nobody waits for the origin's ack).
//!   40 % of the forwards were an origin's single payment: one node's users pay about
//!   three times an hour. A node whose forwards to its parent went unacked within the
//!   link's window (`Neighbour::failed`) holds for [`PAIR_HOLD_US`] only: its items
//!   need their time for retries. **A held item goes early in a frame that is due anyway**
//!   and that a forward can stand in for (`Engine::release_held_for`): a rebroadcast then
//!   rides in it, and custody acks and our hop count (an advert's only content) go in every
//!   forward. The index marks a held item (`slot::HELD`). 50 nodes, seeds 1–100: 1.231 →
//!   1.169 × greedy, 65 → 85 seeds at or under 1.25 ×, items never delivered 35 → 15,
//!   mean within the hour 0.99954 → 0.99956 (seeds under 0.999: 4 → 6; the added ones
//!   miss by a few late items); seeds 101–200: 1.214 → 1.151 ×, 72 → 87. Holding whatever
//!   the link, seeds 1–40: 1.179 × without the release, 1.167 × with it (a 20-min hold:
//!   1.163 ×); seeds 1–100: 5 / 10 min 1.172 / 1.158 ×, but 7 / 9 seeds under 0.999. It
//!   costs latency: 50 nodes seed 3, median 65 → 148 s, 95th percentile 681 → 906 s.
//! - **A bridge takes what it overhears on its way to its child**: a forward addressed to a
//!   neighbour whose last forward named this bridge as parent is coming here anyway, one
//!   frame later. The bridge takes its items as if addressed to it (uplink, ack) and sends
//!   that ack within [`OVERHEARD_ACK_HOLD_US`] (30 s) instead of its usual
//!   [`BRIDGE_ACK_HOLD_US`]: the child, which often still holds the item for a second one
//!   ([`PAIR_HOLD_US`]), hears it and hands the item over without a forward. A bridge
//!   hears many grandchildren over links too weak or too one-way to be their route (50
//!   nodes: 16–57 % of the payments on seeds 3, 11, 16, 70, 85). Forwards addressed to
//!   other nodes (another bridge's tree) are left to them (taking those doubled the
//!   receipts at 200 nodes), and the rescue rule still applies. A parent's ack credits the
//!   link to it only for an item we sent it (the ack of a copy it got elsewhere said the
//!   link worked when the parent never heard us). 50 nodes, seeds 1–200: 1.160 → 1.156 ×
//!   greedy, seeds meeting every target 163 → 169, under 0.999 within the hour 15 → 11
//!   (seed 70, a congested bridge: 1.53 → 1.34 ×, 0.9958 → 0.9983); the one-way pockets
//!   (seeds 89, 95, 123, 132) lose more (items never delivered 69 → 105).
//! - **Rescue over one-way links**: a node hears a neighbour's forwards but the neighbour's
//!   parent does not (links are not symmetric: per-link offsets, or a node that hears far
//!   relays it cannot reach). Such a sender never gets an ack and, in a pocket whose only way
//!   out is a link it cannot hear back, never hands its items over at all. A node nearer a
//!   bridge that overhears a forward addressed to another node counts the sender's copies of
//!   each item ([`OVERHEARD_LEN`] items): at the [`RESCUE_COPIES`]-th with nobody else heard
//!   carrying it, or at once when the sender advertises [`RESCUE_HOPS`] more hops than it
//!   (a sender that heard it would route through it), it takes custody, acks (the sender may
//!   not hear it: it keeps retrying until the receipt), and sends its first forward after a
//!   random part of [`RESCUE_JITTER_US`], so that of several rescuers the first one's
//!   forward hands the item over for the others (`Counters::rescued`). 50 nodes, seeds
//!   1–100, before the starvation fix of `gossip.rs`: items never delivered 259 → 47 (seed 95, a bottleneck clogged by one pocket's
//!   endless retries: 108 → 2, within the hour 0.79 → 0.996), mean within-the-hour ratio
//!   0.9958 → 0.9990, at the same 1.58 × greedy.
//! - **Blind forwards**: a node that hears nobody (a deaf radio, or only one-way links out)
//!   never learns a route, so it would keep its items: once it has been without route for
//!   [`BLIND_WAIT_US`] (its solicitations went unanswered), it sends each custody item in a
//!   forward addressed to [`NOBODY`], [`BLIND_TRIES`] times [`BLIND_RETRY_US`] apart, and a
//!   routed node that hears one takes it by the rescue rule (the sender advertises
//!   [`NO_ROUTE`]). Nodes without route that hear only other nodes without route (a mesh
//!   without bridge, where nobody could take it) send none, unless they hear at most
//!   [`POCKET_NEIGHBOURS`] (one): a node that hears nobody at all, or only one route-less
//!   node, cannot tell a deaf radio or a pocket behind a one-way link from idle
//!   neighbours: it pays [`BLIND_TRIES`] frames per item (`Counters::blind_tx`). (50 nodes,
//!   seeds 1–200: items never delivered 105 → 78, seed 105's pocket 40 → 19, where node 3
//!   hears only node 2, and seed 18's 16 → 10; no other seed changed, and in a 50-node
//!   mesh without bridge no node hears so few.) 50 nodes, seeds 1–100: items never
//!   delivered 28 → 13 (seed 45, whose node 2 hears nobody: 15 → 0), seeds 1–12 unchanged
//!   byte for byte.
//! - **A hopeless parent**: a node that hears a routed neighbour which never hears it (a
//!   one-way link, every try unacknowledged) ends with a distance of [`NO_ROUTE`] through it
//!   but keeps it as parent. Its items then go like blind forwards, still addressed to that
//!   parent (which may come back): [`BLIND_RETRY_US`] after the first try, then twice and
//!   four times that, and the parent's adverts no longer restart the tries (they used to
//!   every time, and such a node sent its stuck payments every few minutes for hours). A
//!   routed node that overhears one takes it at once by the rescue rule. 50 nodes, seeds
//!   1–100: 1.259 → 1.249 × greedy (seed 89 1.62 → 1.28, 67 1.37 → 1.13, 90 1.51 → 1.24,
//!   18 1.50 → 1.34; no other seed changed), items never delivered 21 → 16.
//! - **Items longer than one frame** (up to [`MAX_ITEM_LEN`], 768 bytes: a DUBP certification
//!   is 278 bytes compact, a transaction with conditions 466) go alone in a **fragmented
//!   forward**: the [`FORWARD`] body with that one entry (no acks) split into
//!   [`FrameKind::Fragment`] frames by [`crate::radio::Fragmenter`], whose first fragment names
//!   [`FORWARD_FRAGMENTS`] where a fragmented plain item names its kind. The fragments go back
//!   to back (they come before anything else while they last, and the first goes only if the
//!   duty budget holds them all); the body is rebuilt from the store for each one, so RAM
//!   holds no copy of the item. A receiver puts them together in one of [`REASSEMBLY_SLOTS`]
//!   buffers of [`LARGE_FORWARD_LEN`] bytes, keyed by (sender, tag), and handles the whole as
//!   a forward: verification, custody, acks, passive acks and retries are those of any
//!   forward. A lost fragment costs a retry of the whole forward; a partial forward is given
//!   up [`REASSEMBLY_TIMEOUT_US`] after its latest fragment or when a newer one needs its
//!   buffer (`Counters::reassembly_dropped`). Broadcast items are rebroadcast whole and must
//!   fit one frame (v2s certifications are 111–112 bytes); a fragmented plain item (from a
//!   host) is taken like an Items frame. A store that cannot hold an item that long refuses
//!   it ([`Event::Overflow`]): the sender keeps custody.
//! - **Capacity**: when the store is full, expired items go first, then items already handed
//!   over (lowest priority, oldest: [`Event::Released`], not a loss), then an item of lower
//!   priority than the incoming one ([`Event::Overflow`] with `evicted`); otherwise the
//!   incoming item is refused ([`Event::Overflow`]) and, from the air, not acknowledged, so
//!   its sender keeps custody.
//! - **Duplicates** are suppressed by content id (store) and a ring of recently seen
//!   [`ShortId`]s.
//! - **Channel access**: every transmission waits a random number of contention slots;
//!   a busy channel doubles the window (listen before talk, half duplex: nothing is polled
//!   while transmitting). Children of a bridge start item frames only in the opening of
//!   their slot (address mod [`BRIDGE_SLOTS`], [`bridge_slot_us`] long) of a cycle timed
//!   from the end of the last frame they heard from the bridge: hidden children rarely
//!   collide at the one receiver everything converges on.
//! - **Duty cycle**: a frame goes out only if the rolling hour stays within the region's
//!   budget; lower priorities may use a smaller share of it ([`Priority::budget_permille`]),
//!   so they are deferred first.
//! - **Restart**: [`Engine::new`] over a persisted store rebuilds the item index from it:
//!   items not handed over are pushed again, nothing is duplicated (the store is keyed by
//!   content id) and nothing is lost (only receipts and expiry delete).
//!
//! ## Transmit order
//! When several things are due, one frame carries, by priority: explicit custody acks whose
//! hold has passed, the next fragment of a fragmented forward under way, an advert, a
//! rebroadcast or receipt that custody frames kept waiting [`STARVE_US`], then
//! pending items (highest priority, then oldest first, packed while they fit one frame; an
//! item too long for one frame, when it comes first, starts a fragmented forward), then
//! (`gossip.rs`, all [`Priority::Low`]) reconciliation, broadcast rebroadcasts and receipts.
//!
//! ## Broadcast class, reconciliation, receipts (`gossip.rs`)
//! Certifications and bridge-signed receipts reach every node: stored like items
//! (`store_new`), rebroadcast along the gradient tree, and reconciled between neighbours
//! ([`FrameKind::Reconcile`]); a receipt travels alone in a [`FrameKind::Receipt`] frame.
//! `gossip.rs` lists its hooks in this file.
//!
//! ## Not done yet
//! DUBP (v1) certifications and identity documents travel to bridges like payments: only Ğ1
//! v2s certifications are broadcast items (`gossip.rs`), and those must fit one frame. Items
//! longer than [`MAX_ITEM_LEN`] are refused with [`SubmitError::TooLarge`].

pub mod duty;
mod gossip;
pub mod ram;
mod slot;
pub mod store;

pub use duty::{DutyCycle, DutyRule, Modulation};
pub use gossip::{
    BATCH_HOLD_US, BROADCAST, BROADCAST_K, BROADCAST_TTL_US, CONFIRM_US, DIGEST_FRAME_LEN,
    MATURE_US, RECEIPT_HOLD_US, RECEIPT_IDS, RECEIPT_KIND, RECON_CAP, RELAY_WINDOW_US, Receipt,
    STARVE_US, TRICKLE_MAX_US, TRICKLE_MIN_US, is_receipt, receipt_id,
};
pub use slot::MAX_TTL_US;
pub use store::{MemStore, Record, Store, StoreError};

use slot::{BCAST, HELD, MINUTE_US, PENDING, Slot, UPLINKED, seconds, ticks};

use heapless::{Deque, Vec};

use crate::item::book::{BOOKED, BookError, KeyBook, MAX_BOOKED_ITEM_LEN};
use crate::item::v2s::{CallKind, ChainProfile};
use crate::item::{Item, ItemId, ItemKind, ShortId};
use crate::radio::{
    Body, Entries, EntriesBuilder, Flags, Fragmenter, FrameKind, FrameRepr, HEADER_LEN, Header,
    MAX_FRAME_LEN, NodeAddr, Reassembler, Reassembly,
};
use crate::recon;

/// Hop count meaning "no route to a bridge" (the largest value of the 4 flag bits).
pub const NO_ROUTE: u8 = 15;
/// Hop limit given to items submitted here.
pub const DEFAULT_HOP_LIMIT: u8 = 10;
/// How long an item is kept without a receipt (24 h).
pub const DEFAULT_ITEM_TTL_US: u64 = 24 * 3_600_000_000;
/// The frame kind of items addressed to one next hop: body = next hop ([`NodeAddr`], 2 bytes
/// little-endian), custody ack count `a` (u8), the `a` acks (8-byte [`ShortId`]s), entry count
/// `n` (u8, 1 to [`FORWARD_MAX_ENTRIES`]; bit 7, [`DIGEST_RIDES`]: the sender's reconciliation
/// digest follows, [`recon::wire::DIGEST_LEN`] bytes; bit 6, [`HEARS_RIDES`]: then the
/// relays it hears), each entry's seconds of lifetime left
/// (`u24` LE × `n`, [`FORWARD_LIFE_LEN`]), then the `n` item entries ([`Entries`]). A receiver keeps an
/// item no longer than that, so an item's lifetime runs from its origin however many hops
/// (and hand-backs) it makes. Engine-defined (radio/ leaves kinds above 6 to the engine).
pub const FORWARD: FrameKind = FrameKind::Unknown(7);
/// Bytes of an entry's lifetime left in a [`FORWARD`] body (seconds, `u24` little-endian:
/// 194 days, beyond [`MAX_TTL_US`]).
pub const FORWARD_LIFE_LEN: usize = 3;
/// Most entries of a [`FORWARD`] frame.
pub const FORWARD_MAX_ENTRIES: usize = 4;
/// Largest item the engine carries (bytes). An item whose forward does not fit one frame
/// (a DUBP certification is 278 bytes, a transaction with conditions 466) travels as a
/// **fragmented forward**: the forward body, with that one item, split into
/// [`FrameKind::Fragment`] frames ([`crate::radio::Fragmenter`]) whose first fragment names
/// [`FORWARD_FRAGMENTS`] instead of an item kind.
pub const MAX_ITEM_LEN: usize = 768;
/// The kind byte of a fragmented forward's first fragment: the reassembled bytes are a
/// [`FORWARD`] body, not an item (`0x80` | the frame kind; item kinds stay below `0x80`).
pub const FORWARD_FRAGMENTS: ItemKind = ItemKind::Unknown(0x80 | 7);
/// Largest body of a fragmented forward: one entry of [`MAX_ITEM_LEN`] bytes, no acks.
pub const LARGE_FORWARD_LEN: usize = FORWARD_FIXED_LEN + 1 + FORWARD_LIFE_LEN + 1 + MAX_ITEM_LEN;
/// Fragmented forwards reassembled at once (each holds [`LARGE_FORWARD_LEN`] bytes of RAM).
pub const REASSEMBLY_SLOTS: usize = 2;
/// A partial fragmented forward is dropped this long after its latest fragment (µs): the
/// fragments of one forward go out back to back, and the sender's retry sends them all again.
pub const REASSEMBLY_TIMEOUT_US: u64 = 60_000_000;
/// Items sent to a neighbour over which its link's ETX is estimated.
const ETX_WINDOW: u8 = 32;
/// Bytes of a [`FORWARD`] body before its custody acks: next hop (2) and ack count (1).
const FORWARD_FIXED_LEN: usize = 3;
/// Bit 7 of the entry count of a [`FORWARD`] or [`gossip::BROADCAST`] body: the sender's
/// reconciliation digest rides right after it (`gossip.rs`, "Digests ride").
pub const DIGEST_RIDES: u8 = 0x80;
/// Bit 6 of the entry count of a [`FORWARD`] or [`gossip::BROADCAST`] body: after the
/// digest (if any), a count `m` (u8, at most [`HEARS_LEN`]) and `m` addresses (2 bytes
/// little-endian) of the relays the sender hears (`gossip.rs`, "Covered neighbours").
pub const HEARS_RIDES: u8 = 0x40;
/// Most relays a node reports hearing.
pub const HEARS_LEN: usize = 8;
/// A neighbour heard rebroadcasting within this many minutes counts as a relay we hear.
const RELAYED_MINUTES: u16 = 60;
/// A relays-heard list goes out when it changed, or again after this many minutes (a
/// neighbour that missed it, or restarted, learns it then); receivers keep the last one.
const HEARS_REFRESH_MINUTES: u16 = 30;
const _: () = assert!(FORWARD_MAX_ENTRIES < HEARS_RIDES as usize);
const _: () = assert!(gossip::BROADCAST_MAX_ENTRIES < HEARS_RIDES as usize);
/// A changed hop count is advertised within this delay (unless a data frame carries it).
pub const ADVERT_DELAY_US: u64 = 300_000_000;
/// A node without route first listens this long (neighbours' frames carry their hop
/// counts) before it solicits an advert.
pub const SOLICIT_LISTEN_US: u64 = 300_000_000;
/// A node answers a solicitation only if its last advert is older than this.
pub const SOLICIT_HOLDOFF_US: u64 = 60_000_000;
/// A node without route asks again after this long, doubling up to [`SOLICIT_MAX_US`].
pub const SOLICIT_RETRY_US: u64 = 2 * 60_000_000;
/// Longest wait between two solicitations.
pub const SOLICIT_MAX_US: u64 = 32 * 60_000_000;
/// Transmissions of an item to one parent without an ack before the node blames the parent
/// and parks the item.
pub const MAX_TRIES: u8 = 3;
/// A parked item is offered again after this long.
pub const PARK_US: u64 = 5 * 60_000_000;
/// How long a custody item taken from the air waits for a second one to share its forward
/// (shorter than [`ACK_HOLD_US`], so the sender's ack rides on that forward).
pub const PAIR_HOLD_US: u64 = 120_000_000;
/// How long a relay holds explicit custody acks to batch them in one frame (its acks mostly
/// ride on its next forward before that).
pub const ACK_HOLD_US: u64 = 150_000_000;
/// How long a node's own booked payment waits for a second one to share its forward
/// (module docs, "Own payments wait longer"); [`PAIR_HOLD_US`] when its link to the parent
/// lost forwards lately.
pub const OWN_HOLD_US: u64 = 600_000_000;
/// How long a bridge holds custody acks: it forwards nothing to piggyback them on, so it
/// batches them (up to [`MAX_ACKS`] a frame); its children wait longer before a retry.
pub const BRIDGE_ACK_HOLD_US: u64 = 300_000_000;
/// How long a bridge holds the ack of an item it overheard on its way to one of its
/// children (who may still hold it). Taking from every overheard forward, 50 nodes seeds
/// 1–12: 10 / 30 / 60 s gave 1.154 / 1.145 / 1.144 × greedy (1.152 without), and seeds
/// 1–100 1.158 / 1.165 at 30 / 60 s: shorter sends more ack frames alone, longer comes
/// after more of the child's forwards.
pub const OVERHEARD_ACK_HOLD_US: u64 = 30_000_000;
/// Recently seen short ids remembered for duplicate suppression.
pub const SEEN_LEN: usize = 128;
/// Custody forwards addressed to other nodes whose repeats are counted (see [`RESCUE_COPIES`]).
pub const OVERHEARD_LEN: usize = 8;
/// Copies of one item heard from one sender, addressed to other nodes and with nobody else
/// heard carrying it, after which a node nearer a bridge takes custody itself: the sender
/// gets no ack (a one-way link: its parent does not hear it) and its item would otherwise
/// never leave it. One lost ack costs one repeat, so three copies mean a sender in trouble.
/// A sender advertising [`RESCUE_HOPS`] more hops than ours is rescued at its first copy.
pub const RESCUE_COPIES: u8 = 3;
/// A sender we hear that advertises this many hops more than we do does not hear us (it
/// would route through us): its route is one-way links too, and its forward is taken at
/// once.
pub const RESCUE_HOPS: u8 = 3;
/// A rescued item's first forward waits a random part of this (µs), so that of several
/// nodes that overheard the same repeats, the first one's forward hands it over for the
/// others.
pub const RESCUE_JITTER_US: u64 = 30_000_000;
/// The next hop named by a blind forward (a node without route hands its items to whoever
/// hears it): no node may use this address.
pub const NOBODY: NodeAddr = NodeAddr(u16::MAX);
/// How long a node must have been without route before it sends blind forwards: its first
/// solicitation ([`SOLICIT_LISTEN_US`]) and a retry went unanswered.
pub const BLIND_WAIT_US: u64 = 10 * 60_000_000;
/// Blind forwards of one item per loss of route, [`BLIND_RETRY_US`] apart.
pub const BLIND_TRIES: u8 = 2;
pub const BLIND_RETRY_US: u64 = 30 * 60_000_000;
/// A node without route that hears at most this many others is in a pocket (module docs,
/// "Blind forwards"): it sends blind forwards and repeats its rebroadcasts although no
/// neighbour has a route. Two route-less nodes that hear only each other: 1000 nodes seed
/// 1, 50 nodes seeds 18 and 105.
pub const POCKET_NEIGHBOURS: usize = 1;
/// Custody acks waiting to be sent (one frame carries them all).
pub const MAX_ACKS: usize = 24;
/// Neighbours remembered for the choice of a parent.
pub const NEIGHBOURS: usize = 16;
/// Signers whose airtime is accounted at once.
pub const SIGNERS: usize = 16;
/// Share (‰) of the hourly duty budget one signer's items may use at this relay per hour.
pub const SIGNER_QUOTA_PERMILLE: u64 = 200;
/// Events buffered between drains.
pub const EVENT_QUEUE: usize = 32;
/// Contention window in slots at the first attempt; doubled on a busy channel.
pub const CW_MIN_SLOTS: u32 = 16;
/// Largest contention window in slots.
pub const CW_MAX_SLOTS: u32 = 256;
/// Symbols per contention slot (covers a CAD and the rx/tx turnaround).
pub const SLOT_SYMBOLS: u64 = 4;
/// Transmit slots around a bridge: a child of a bridge sends items only in slot
/// `address mod BRIDGE_SLOTS` of a cycle timed from the end of the last frame it heard from
/// the bridge, so children that cannot hear each other (hidden terminals) rarely collide there.
pub const BRIDGE_SLOTS: u64 = 8;
/// Bytes of a [`ShortId`] on air.
const SHORT_ID_LEN: usize = 8;
/// One hour (µs).
const HOUR_US: u64 = 3_600_000_000;

/// How the engine checks signatures: item signatures against the chain profile, and raw
/// Ed25519 signatures (bridge receipts). Both default to the real checks ([`Item::verify`],
/// [`crate::crypto::ed25519_verify`]). A driver may substitute functions that **memoise** the
/// real result (a check is a pure function of its bytes) — the simulator does, because a
/// thousand nodes verify the same certification a thousand times; nothing may skip a check.
#[derive(Debug, Clone, Copy)]
pub struct Verifier {
    /// Whether `item` carries a valid signature for `profile`.
    pub item: fn(&Item<'_>, &ChainProfile) -> bool,
    /// Whether `signature` is `key`'s Ed25519 signature of `msg`.
    pub ed25519: fn(&[u8; 32], &[u8; 64], &[u8]) -> bool,
}

impl Verifier {
    /// The real checks.
    pub const REAL: Self = Self {
        item: |item, profile| item.verify(profile).is_ok(),
        ed25519: |key, signature, msg| crate::crypto::ed25519_verify(key, signature, msg).is_ok(),
    };
}

/// Relay priority: lower classes get a smaller share of the duty budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Certifications and calls this build does not classify.
    Low,
    /// Identity life cycle, DUBP documents.
    Normal,
    /// Payments.
    High,
    /// Custody acks and adverts.
    Control,
}

impl Priority {
    /// Priority of a checked item.
    pub fn of(item: &Item<'_>) -> Self {
        match item {
            Item::Extrinsic(x) => match x.call().kind() {
                CallKind::Payment => Self::High,
                CallKind::Identity => Self::Normal,
                CallKind::Certification | CallKind::Other => Self::Low,
            },
            Item::Dubp(_) => Self::Normal,
        }
    }

    /// Share of the hourly duty budget (‰) this class may fill.
    pub const fn budget_permille(self) -> u64 {
        match self {
            Self::Low => 700,
            Self::Normal => 850,
            Self::High => 950,
            Self::Control => 1_000,
        }
    }
}

/// Everything the engine needs to know about its node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// This node's on-air address.
    pub addr: NodeAddr,
    /// Whether the node is a bridge (a gradient root that hands items to an uplink).
    pub bridge: bool,
    /// Chain whose signatures items must carry.
    pub profile: ChainProfile,
    /// Modem settings, for time on air.
    pub modulation: Modulation,
    /// The region's duty rule.
    pub duty: DutyRule,
    /// Seed of the engine's PRNG (backoffs, jitter).
    pub seed: u64,
    /// Hop limit of items submitted here.
    pub hop_limit: u8,
    /// How long an item is kept without a receipt (µs).
    pub item_ttl_us: u64,
}

/// Signal measurements of a received frame (the SNR ranks candidate parents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RxMeta {
    pub rssi_dbm: i16,
    pub snr_db: i8,
}

/// A frame to start transmitting now; its bytes are `buf[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    pub len: usize,
    /// Highest priority of what the frame carries.
    pub priority: Priority,
    /// Instant the frame became due (≤ the `now` of the poll): `now - not_before` is the
    /// channel-access and duty-cycle delay.
    pub not_before: u64,
}

/// Why [`Engine::submit`] refused an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The bytes are not a well-formed item of that kind.
    Malformed,
    /// The signature does not verify against the configured chain.
    BadSignature,
    /// The item is longer than [`MAX_ITEM_LEN`], a broadcast item does not fit one frame,
    /// or a full frame breaks the region's dwell limit.
    TooLarge,
    /// The store is full of items of equal or higher priority: retry later.
    StoreFull,
    /// The signer is not in the community's member list.
    NotMember,
    /// The signer used its airtime quota for this hour.
    Quota,
}

impl SubmitError {
    /// What went wrong and what to do next, for people.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "not a well-formed item: check its kind and bytes",
            Self::BadSignature => "the signature does not verify for this chain: re-sign it",
            Self::TooLarge => "the item is longer than the mesh carries (768 bytes)",
            Self::StoreFull => "the node's store is full; retry after it forwarded some items",
            Self::NotMember => "the signer is not a member of this community's mesh",
            Self::Quota => "the signer used its airtime quota on this node; retry within the hour",
        }
    }
}

impl core::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an item from the air was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Format check failed.
    Malformed,
    /// Signature check failed.
    BadSignature,
    /// The member filter does not list the signer.
    NotMember,
    /// The signer's airtime quota at this node is used up (the sender keeps custody).
    Quota,
    /// A booked entry ([`crate::item::book`]) names a key book this node does not have (the
    /// sender keeps custody).
    OtherBook,
}

/// What the engine reports to its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An item was stored for the first time (`from_air`: received, else submitted).
    Stored { id: ItemId, from_air: bool },
    /// Bridge with an uplink: hand this item over (once per item and uplink period), then
    /// call [`Engine::handle_receipt`] when the chain included it.
    Uplink { id: ItemId },
    /// An item from the air failed verification or an abuse limit and was dropped.
    Rejected { reason: RejectReason },
    /// The store was full: `evicted` — this stored, unexpired, lower-priority item was
    /// deleted to make room; otherwise the incoming item `id` was refused.
    Overflow { id: ItemId, evicted: bool },
    /// The store was full and this item, already handed over to a downhill neighbour (which
    /// has custody), was deleted to make room. Not a loss.
    Released { id: ItemId },
    /// A receipt removed the item.
    Receipted { id: ItemId },
    /// The item expired and was removed.
    Expired { id: ItemId },
    /// The hop count to the nearest bridge changed (`None`: no route).
    Route { hops: Option<u8> },
    /// A signed on-air receipt, named by `tag` (its [`ShortId`], the same on every node):
    /// `own` — this bridge signed it; else its first verified copy arrived and was stored
    /// (observability: coverage of receipts).
    SignedReceipt { tag: u64, own: bool },
}

/// Running counts, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub frames_rx: u64,
    /// Frames that did not parse.
    pub malformed_frames: u64,
    /// Items whose format check failed.
    pub rejected_format: u64,
    /// Items whose signature failed.
    pub rejected_signature: u64,
    /// Items refused by the member filter or the per-signer quota.
    pub rejected_abuse: u64,
    /// Items received again.
    pub duplicates: u64,
    pub frames_tx: u64,
    pub item_tx: u64,
    pub ack_tx: u64,
    pub advert_tx: u64,
    /// Bytes of custody acks and adverts sent (control traffic).
    pub control_bytes: u64,
    /// Airtime used (µs).
    pub airtime_us: u64,
    /// Transmissions deferred by the duty-cycle budget.
    pub duty_deferrals: u64,
    /// Overflow events (evictions and refusals).
    pub overflows: u64,
    /// Parents blamed for a hand-over that got no ack.
    pub parent_failures: u64,
    /// Item transmissions that repeated an earlier one (no ack heard in time).
    pub item_retries: u64,
    /// Events dropped because the driver did not drain them (should stay 0).
    pub events_lost: u64,
    /// Items taken into custody from the air (each is one hop of an item).
    pub items_taken: u64,
    /// Custody acks carried in forward frames.
    pub piggybacked_acks: u64,
    /// Items a neighbour handed back after we had handed them over.
    pub taken_back: u64,
    /// Items taken from a sender whose repeated forwards to other nodes got no answer
    /// ([`RESCUE_COPIES`]).
    pub rescued: u64,
    /// Items sent in blind forwards (to [`NOBODY`]: we have no route, whoever hears may take
    /// them; a node that does counts it in `rescued`).
    pub blind_tx: u64,
    // gossip.rs: broadcast class, reconciliation, receipts.
    /// Broadcast frames (certifications) sent.
    pub bcast_tx: u64,
    /// Rebroadcasts cancelled because enough neighbours were heard sending the item.
    pub bcast_suppressed: u64,
    /// Tree-relay rebroadcasts cancelled (or never scheduled) because every child and the
    /// parent hear a node heard sending the item (`gossip.rs`, "Covered neighbours").
    pub bcast_covered: u64,
    /// Entries sent in broadcast frames (two certifications share one when they can).
    pub bcast_entries: u64,
    /// Sends of an own broadcast item after which it waits for its parent's copy, and the
    /// copies from nearer a bridge that ended a wait.
    pub confirm_waits: u64,
    pub confirmed: u64,
    /// Reconciliation frames sent, their bytes (headers included), and the digests among them.
    pub recon_tx: u64,
    pub recon_bytes: u64,
    pub digest_tx: u64,
    /// Digests that rode in forwards or broadcast frames instead (their 17 bytes are in
    /// `recon_bytes`).
    pub digest_rides: u64,
    /// Rebroadcasts that rode in custody forwards (included in `bcast_entries`).
    pub bcast_rides: u64,
    /// Rebroadcasts scheduled because reconciliation found a neighbour lacking the item.
    pub recon_pushes: u64,
    /// Items reconciliation sessions found one side lacking (the "differing items" of B6).
    pub recon_differences: u64,
    /// Receipt frames sent (own and relayed) and their bytes.
    pub receipt_tx: u64,
    pub receipt_bytes: u64,
    /// Digests ignored because our broadcast set was still settling.
    pub recon_deferred: u64,
    /// Valid new receipts received.
    pub receipts_rx: u64,
    /// Receipts that did not parse or verify (dropped without effect).
    pub bad_receipts: u64,
    /// Fragment frames sent (fragmented forwards).
    pub fragments_tx: u64,
    /// Fragmented forwards received whole.
    pub reassembled: u64,
    /// Partial fragmented forwards given up (timed out, or evicted by a newer one).
    pub reassembly_dropped: u64,
    /// Adverts sent because our hop count changed (included in `advert_tx`).
    pub advert_route_tx: u64,
    /// Adverts answering a solicitation or a node that addressed us uphill.
    pub advert_answer_tx: u64,
    /// Solicitations (adverts with [`NO_ROUTE`]) sent by this node without route.
    pub advert_solicit_tx: u64,
    /// Custody entries sent booked (known keys as book indexes, [`crate::item::book`]).
    pub booked_tx: u64,
    /// Booked entries received that name another key book (not taken).
    pub other_book: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Idle,
    /// Contention: transmit at `at` if the channel is clear. `since`: when something became due.
    Waiting {
        at: u64,
        since: u64,
        window: u32,
    },
}

/// How long (minutes) an overheard hand-over marks a neighbour as relaying for others.
const FED_MINUTES: u16 = 30;

/// The driver's clock in whole minutes, wrapping (only differences are used).
fn clock_minute(now: u64) -> u16 {
    (now / MINUTE_US) as u16
}

/// A neighbour heard on the air.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Neighbour {
    addr: NodeAddr,
    /// Its last advertised hop count.
    hops: u8,
    snr: i8,
    /// Hand-overs to it that got no ack (reset by an ack or by its advert).
    fails: u8,
    /// Attempts that went unacknowledged and items it acknowledged, over a sliding window
    /// (both halved when their sum reaches `ETX_WINDOW` = 32): the link's expected transmission
    /// count is `(failed + acked) / acked`.
    failed: u8,
    acked: u8,
    /// Its last forward named us as its parent: never our parent (split horizon, so two
    /// nodes cannot count to infinity through each other).
    child: bool,
    /// Whether, and when (wrapping minute of the driver's clock), we overheard another node
    /// hand it an item: it relays for others anyway, so choosing it as parent among equals
    /// adds no tree relay (certifications are rebroadcast by tree relays).
    fed: Option<u16>,
    /// When (wrapping minute) we last heard it send a rebroadcast or a receipt.
    relayed: Option<u16>,
    /// The relays it hears, from the last of its frames that listed them ([`HEARS_RIDES`];
    /// [`NOBODY`]: none).
    hears: [NodeAddr; HEARS_LEN],
}

impl Neighbour {
    /// Smaller is a better parent: its distance plus the expected extra transmissions
    /// (ETX − 1, rounded) of our link to it, strongest link first among equals.
    fn cost(&self) -> (u16, i16) {
        (
            u16::from(self.hops) + self.extra_tx().max(u16::from(self.fails.saturating_sub(1))),
            -i16::from(self.snr),
        )
    }

    /// ETX − 1 = `failed / acked`, rounded down (a link that needs fewer than two tries per
    /// item costs no extra hop, so routes do not flap on a collision or two). Attempts still
    /// waiting for their ack count for nothing.
    fn extra_tx(&self) -> u16 {
        let (failed, acked) = (u16::from(self.failed), u16::from(self.acked));
        failed
            .checked_div(acked)
            .unwrap_or_else(|| failed.min(u16::from(NO_ROUTE)))
    }

    fn record(&mut self, failed: u8, acked: u8) {
        self.failed = self.failed.saturating_add(failed);
        self.acked = self.acked.saturating_add(acked);
        if u16::from(self.failed) + u16::from(self.acked) >= u16::from(ETX_WINDOW) {
            self.failed /= 2;
            self.acked /= 2;
        }
    }
}

/// Whom a custody entry heard on air was addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    /// This node (or nobody in particular: plain items, broadcast entries).
    Us,
    /// One of this bridge's children: the entry is on its way here anyway (`handle_item`).
    OurChild,
    /// Another node.
    Other,
}

/// A custody item overheard on its way to another node: who sent it, how many times.
#[derive(Debug, Clone, Copy)]
struct Overheard {
    short: ShortId,
    sender: NodeAddr,
    copies: u8,
}

/// Airtime charged to one signer in the current hour.
#[derive(Debug, Clone, Copy)]
struct SignerUse {
    key: u64,
    hour: u32,
    airtime_us: u32,
}

/// The relay engine of one node: `N` items tracked, items kept in `S`.
#[derive(Debug)]
pub struct Engine<S: Store, const N: usize> {
    config: Config,
    store: S,
    slots: Vec<Slot, N>,
    /// The driver's `now` at [`Engine::new`]: the index's ticks count from here.
    epoch: u64,
    seen: Deque<ShortId, SEEN_LEN>,
    /// Custody forwards overheard for other nodes, with their copies (`RESCUE_COPIES`).
    overheard: Deque<Overheard, OVERHEARD_LEN>,
    /// Since when we have had no route (`None`: we have one, or we are a bridge).
    route_lost_at: Option<u64>,
    acks: Vec<ShortId, MAX_ACKS>,
    /// When the oldest queued ack must go out.
    ack_due: Option<u64>,
    events: Deque<Event, EVENT_QUEUE>,
    rng: u64,
    duty: DutyCycle,
    hops: u8,
    parent: Option<NodeAddr>,
    neighbours: Vec<Neighbour, NEIGHBOURS>,
    advert_due: Option<u64>,
    /// Why the advert is due: answering someone (`true`) or our own hop count changed.
    advert_answer: bool,
    last_advert: Option<u64>,
    /// End of the last frame heard from our parent while it is a bridge: the slot clock.
    bridge_heard: Option<u64>,
    /// No route: next solicitation, and the wait after it.
    solicit: Option<(u64, u64)>,
    access: Access,
    duty_wait: Option<u64>,
    transmitting: bool,
    uplink: bool,
    /// A broadcast relay role set from outside (`gossip.rs`, [`Engine::with_relay_role`]).
    relay_role: Option<bool>,
    members: Option<&'static [u64]>,
    /// The community's key book: custody entries carry known keys as indexes.
    book: Option<KeyBook>,
    /// Booked entries in the frame being built (counted when it is committed).
    booked_built: u8,
    /// Waiting rebroadcasts riding in the forward being built (slot indexes).
    riders_built: Vec<usize, FORWARD_MAX_ENTRIES>,
    verifier: Verifier,
    signers: Vec<SignerUse, SIGNERS>,
    counters: Counters,
    /// Broadcast class, reconciliation and receipts (gossip.rs).
    gossip: gossip::Gossip,
    /// The fragmented forward being sent, one fragment per transmission.
    train: Option<Train>,
    /// Tag of the next fragmented forward (the receivers' reassembly key with our address).
    train_tag: u8,
    /// The relays-heard list that last went out in a forward (its fingerprint, and the
    /// minute), and the one in the forward just built (`HEARS_RIDES`).
    hears_sent: Option<(u32, u16)>,
    hears_built: Option<u32>,
    /// Fragmented forwards from neighbours being put back together.
    reassembly: Reassembler<REASSEMBLY_SLOTS, LARGE_FORWARD_LEN>,
}

/// A fragmented forward on its way out. Its body is rebuilt from the store for every
/// fragment (the same bytes each time: the lifetime left is fixed when it starts, so a hop in
/// fragments may add the few seconds they take), and RAM holds no copy of the item.
#[derive(Debug, Clone, Copy)]
struct Train {
    short: ShortId,
    to: NodeAddr,
    life: [u8; FORWARD_LIFE_LEN],
    hop_limit: u8,
    priority: Priority,
    tag: u8,
    /// Index of the next fragment to send, and of the last one.
    next: u8,
    last: u8,
}

/// The engine with the default bounds: 32 items of up to 256 bytes in RAM.
pub type DefaultEngine = Engine<MemStore<32, 256>, 32>;

impl<S: Store, const N: usize> Engine<S, N> {
    /// Start (or restart) over `store`: everything in it that was not handed over is pushed
    /// again; the route is learnt anew.
    pub fn new(config: Config, store: S, now: u64) -> Self {
        let mut e = Self {
            config,
            store,
            slots: Vec::new(),
            epoch: now,
            seen: Deque::new(),
            overheard: Deque::new(),
            route_lost_at: None,
            acks: Vec::new(),
            ack_due: None,
            events: Deque::new(),
            rng: config.seed ^ 0x9E37_79B9_7F4A_7C15,
            duty: DutyCycle::new(config.duty),
            hops: NO_ROUTE,
            parent: None,
            neighbours: Vec::new(),
            advert_due: None,
            advert_answer: false,
            last_advert: None,
            bridge_heard: None,
            solicit: None,
            access: Access::Idle,
            duty_wait: None,
            transmitting: false,
            uplink: false,
            relay_role: None,
            members: None,
            book: None,
            booked_built: 0,
            riders_built: Vec::new(),
            verifier: Verifier::REAL,
            signers: Vec::new(),
            counters: Counters::default(),
            gossip: gossip::Gossip::new(config.addr, gossip::answer_window(&config.modulation)),
            train: None,
            train_tag: 0,
            hears_sent: None,
            hears_built: None,
            reassembly: Reassembler::new(REASSEMBLY_TIMEOUT_US),
        };
        e.restart(now);
        e
    }

    /// Check signatures with `verifier` instead of [`Verifier::REAL`] (see [`Verifier`]).
    pub fn with_verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = verifier;
        self
    }

    /// Relay only items signed by these members: sorted (ascending) 64-bit prefixes of the
    /// signers' public keys (first 8 bytes, little-endian; see [`signer_prefix`]). 8 bytes a
    /// member: 2000 members cost 16 KB of flash and nothing in RAM.
    pub fn with_members(mut self, sorted_prefixes: &'static [u64]) -> Self {
        self.members = Some(sorted_prefixes);
        self
    }

    /// Carry the signer and destination of items in custody forwards as indexes into this key
    /// book when it lists them ([`crate::item::book`]: a 144-byte transfer between members
    /// goes in 89 bytes, two to a frame), and expand booked entries received. Every node of
    /// a mesh needs the same book: a node with another one does not take booked entries
    /// ([`RejectReason::OtherBook`]). 32 bytes a key, in flash; nothing in RAM.
    pub fn with_key_book(mut self, book: KeyBook) -> Self {
        self.book = Some(book);
        self
    }

    /// What a power cut does: forget all RAM state (route, neighbours, queues, backoffs, duty
    /// history — which is why a real node should persist it or wait an hour; the simulator
    /// audits it) and rebuild the item index from the store.
    pub fn restart(&mut self, now: u64) {
        let epoch = self.epoch;
        self.slots.clear();
        self.seen.clear();
        self.acks.clear();
        self.ack_due = None;
        self.neighbours.clear();
        self.signers.clear();
        self.access = Access::Idle;
        self.duty_wait = None;
        self.transmitting = false;
        self.uplink = false;
        self.parent = None;
        self.route_lost_at = (!self.config.bridge).then_some(now);
        self.bridge_heard = None;
        self.train = None;
        self.reassembly = Reassembler::new(REASSEMBLY_TIMEOUT_US);
        self.hops = if self.config.bridge { 0 } else { NO_ROUTE };
        for i in 0..self.store.len() {
            let Some((r, bytes)) = self.store.at(i) else {
                break;
            };
            // gossip hook: broadcast-class items are not pushed by custody.
            let bcast = gossip::is_broadcast_bytes(r.kind, bytes);
            let state = if gossip::is_receipt(r.kind) {
                BCAST | UPLINKED
            } else if bcast {
                BCAST
            } else if !r.handed_over && !self.config.bridge {
                PENDING
            } else if self.config.bridge && r.handed_over {
                // On chain, its signed receipt still to come (`Engine::handle_receipt`):
                // not uplinked again.
                UPLINKED
            } else {
                0
            };
            if self.slots.push(slot_of(epoch, now, &r, state)).is_err() {
                break;
            }
        }
        self.gossip_restart(now); // gossip hook
        // Bridges announce themselves; others ask for a route.
        let jitter = self.jitter_us();
        if self.config.bridge {
            self.advert_due = Some(now + jitter);
            self.solicit = None;
        } else {
            self.advert_due = None;
            self.solicit = Some((now + SOLICIT_LISTEN_US + jitter, SOLICIT_RETRY_US));
        }
    }

    pub const fn config(&self) -> &Config {
        &self.config
    }

    pub const fn store(&self) -> &S {
        &self.store
    }

    /// Give the store back (e.g. to restart a new engine over it).
    pub fn into_store(self) -> S {
        self.store
    }

    pub const fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Items held.
    pub fn store_len(&self) -> usize {
        self.store.len()
    }

    /// Hop count to the nearest bridge, if known.
    pub fn route_hops(&self) -> Option<u8> {
        (self.hops < NO_ROUTE).then_some(self.hops)
    }

    /// The neighbour items are handed to, if any.
    pub fn parent(&self) -> Option<NodeAddr> {
        self.parent
    }

    /// The neighbour table, for diagnostics (`toile sim --trace`): address, advertised hop
    /// count, cost as a parent, and the link's ETX window (unacknowledged attempts, acks).
    pub fn neighbours(&self) -> impl Iterator<Item = (NodeAddr, u8, u16, u8, u8)> + '_ {
        self.neighbours
            .iter()
            .map(|n| (n.addr, n.hops, n.cost().0, n.failed, n.acked))
    }

    /// Kind and bytes of a held item (a bridge uploads them on [`Event::Uplink`]).
    pub fn item(&self, id: &ItemId) -> Option<(ItemKind, &[u8])> {
        self.store.find(id).map(|(r, b)| (r.kind, b))
    }

    /// Whether the item is still pushed by this node (not acknowledged downstream).
    pub fn is_pending(&self, id: &ItemId) -> bool {
        let short = id.short();
        self.slots.iter().any(|s| s.short() == short && s.pending())
    }

    // ----- inputs -----

    /// A user (or a link) hands an item to this node. Idempotent: an item already held
    /// returns its id again.
    pub fn submit(
        &mut self,
        now: u64,
        kind: ItemKind,
        bytes: &[u8],
    ) -> Result<ItemId, SubmitError> {
        let item = Item::parse(kind, bytes).map_err(|_| SubmitError::Malformed)?;
        // A forward of this item alone: fixed part, entry count, its lifetime, kind byte, item;
        // past one frame, fragments of a full frame each (broadcast items are rebroadcast
        // whole: they must fit one).
        let frame_len = HEADER_LEN + FORWARD_FIXED_LEN + 1 + FORWARD_LIFE_LEN + 1 + bytes.len();
        let large = !forward_fits_one_frame(bytes.len());
        if bytes.len() > MAX_ITEM_LEN
            || (large && gossip::is_broadcast(&item))
            || !self.duty_fits(
                self.config
                    .modulation
                    .time_on_air_us(frame_len.min(MAX_FRAME_LEN)),
            )
        {
            return Err(SubmitError::TooLarge);
        }
        if !(self.verifier.item)(&item, &self.config.profile) {
            return Err(SubmitError::BadSignature);
        }
        let id = item.id();
        if self.holds(&id) {
            return Ok(id);
        }
        // The member filter holds for every item; the per-signer airtime quota limits what a
        // node relays *for others* and does not apply to its own user or paired host (their
        // items are still charged, so the signer's later items from the air wait their turn).
        if let Some(RejectReason::NotMember) = self.abuse_check(now, &item) {
            return Err(SubmitError::NotMember);
        }
        let hop_limit = self.config.hop_limit.min(NO_ROUTE);
        if self.accept(now, &item, id, hop_limit, false) {
            self.charge(now, &item);
            Ok(id)
        } else {
            Err(SubmitError::StoreFull)
        }
    }

    /// A frame was received intact.
    pub fn handle_frame(&mut self, now: u64, meta: RxMeta, bytes: &[u8]) {
        self.counters.frames_rx += 1;
        self.gossip.set_rx(meta.snr_db); // gossip hook
        let Ok(frame) = FrameRepr::parse(bytes) else {
            self.counters.malformed_frames += 1;
            return;
        };
        let sender = frame.header.sender;
        if sender == self.config.addr {
            return;
        }
        let their_hops = frame.header.flags.bits() & 0x0f;
        let advert = matches!(
            frame.body,
            Body::Other {
                kind: FrameKind::BridgeAdvert,
                ..
            }
        );
        self.hear(now, sender, their_hops, meta.snr_db, advert);
        if their_hops == 0 && Some(sender) == self.parent {
            self.bridge_heard = Some(now);
        }
        let hop_limit = frame.header.hop_limit;
        match frame.body {
            Body::Items(entries) => {
                for (kind, item) in entries.iter() {
                    self.handle_item(now, sender, their_hops, hop_limit, To::Us, kind, item);
                }
            }
            Body::Other { kind, bytes } if kind == FORWARD => {
                self.handle_forward(now, sender, their_hops, hop_limit, bytes);
            }
            Body::Fragment(f) => self.handle_fragment(now, sender, their_hops, hop_limit, &f),
            Body::Other {
                kind: FrameKind::CustodyAck,
                bytes,
            } => {
                for chunk in bytes.chunks_exact(SHORT_ID_LEN) {
                    let mut b = [0u8; SHORT_ID_LEN];
                    b.copy_from_slice(chunk);
                    let short = ShortId(u64::from_le_bytes(b));
                    if self.is_parent_like(sender, their_hops) {
                        self.hand_over(short, Some(sender));
                    }
                }
                // Acks may have lowered our parent's cost (and so our distance).
                self.choose_parent(now);
            }
            // gossip hooks: rebroadcasts, reconciliation and signed receipts.
            Body::Other { kind, bytes } if kind == gossip::BROADCAST => {
                let max = gossip::BROADCAST_MAX_ENTRIES;
                let Some(Counted {
                    digest,
                    hears,
                    lives,
                    entries,
                }) = counted_entries(bytes, max, gossip::LIFE_LEN)
                else {
                    self.counters.malformed_frames += 1;
                    return;
                };
                self.relay_heard(now, sender);
                self.set_hears(sender, hears);
                for (i, (kind, item)) in entries.iter().enumerate() {
                    // Each entry carries its own lifetime left; 0: expired on its way.
                    if self.gossip_entry_life(lives, i) > 0 {
                        self.handle_item(now, sender, their_hops, hop_limit, To::Us, kind, item);
                    }
                }
                if !digest.is_empty() {
                    self.gossip_recon_frame(now, sender, their_hops, digest);
                }
            }
            Body::Other {
                kind: FrameKind::Reconcile,
                bytes,
            } => self.gossip_recon_frame(now, sender, their_hops, bytes),
            Body::Other {
                kind: FrameKind::Receipt,
                bytes,
            } => self.gossip_receipt_frame(now, sender, their_hops, bytes),
            // Adverts carry their information in the header.
            _ => {}
        }
    }

    /// A [`FORWARD`] body from `sender` (one frame, or a fragmented forward put back
    /// together).
    fn handle_forward(
        &mut self,
        now: u64,
        sender: NodeAddr,
        their_hops: u8,
        hop_limit: u8,
        bytes: &[u8],
    ) {
        let (Some(to), Some(rest)) = (bytes.get(..2), bytes.get(2..)) else {
            self.counters.malformed_frames += 1;
            return;
        };
        let to = NodeAddr(u16::from_le_bytes([to[0], to[1]]));
        let n_acks = rest.first().map_or(0, |&n| usize::from(n));
        let (Some(ack_bytes), Some(rest)) = (
            rest.get(1..1 + n_acks * SHORT_ID_LEN),
            rest.get(1 + n_acks * SHORT_ID_LEN..),
        ) else {
            self.counters.malformed_frames += 1;
            return;
        };
        if self.is_parent_like(sender, their_hops) {
            for chunk in ack_bytes.chunks_exact(SHORT_ID_LEN) {
                let mut b = [0u8; SHORT_ID_LEN];
                b.copy_from_slice(chunk);
                self.hand_over(ShortId(u64::from_le_bytes(b)), Some(sender));
            }
        }
        self.choose_parent(now);
        let Some(Counted {
            digest,
            hears,
            lives,
            entries,
        }) = counted_entries(rest, FORWARD_MAX_ENTRIES, FORWARD_LIFE_LEN)
        else {
            self.counters.malformed_frames += 1;
            return;
        };
        let for_me = to == self.config.addr;
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.addr == sender) {
            n.child = for_me;
        }
        self.set_hears(sender, hears);
        if !for_me && let Some(n) = self.neighbours.iter_mut().find(|n| n.addr == to) {
            n.fed = Some(clock_minute(now));
            self.choose_parent(now);
        }
        if for_me && self.parent == Some(sender) {
            self.choose_parent(now);
        }
        let addressed = if for_me {
            To::Us
        } else if self.config.bridge && self.neighbours.iter().any(|n| n.addr == to && n.child) {
            To::OurChild
        } else {
            To::Other
        };
        for (life, (kind, item)) in lives.chunks_exact(FORWARD_LIFE_LEN).zip(entries.iter()) {
            // Each entry carries its own lifetime left; 0: expired on its way (not
            // taken, not acked: its sender drops it at the same second).
            let life = gossip::life_us(life);
            if life > 0 {
                self.gossip.set_rx_life(life);
                self.handle_item(now, sender, their_hops, hop_limit, addressed, kind, item);
            }
        }
        if !digest.is_empty() {
            self.gossip_recon_frame(now, sender, their_hops, digest);
        }
    }

    /// A fragment: kept until its forward (or plain item, from a host) is whole, which is
    /// then handled like a frame of its own. The last fragment's header gives the sender's
    /// hop count and hop limit.
    fn handle_fragment(
        &mut self,
        now: u64,
        sender: NodeAddr,
        their_hops: u8,
        hop_limit: u8,
        f: &crate::radio::FragmentRepr<'_>,
    ) {
        let mut whole = [0u8; LARGE_FORWARD_LEN];
        let (kind, len) = match self.reassembly.handle(now, sender, f) {
            Err(_) => {
                self.counters.malformed_frames += 1;
                return;
            }
            Ok(Reassembly::Pending { dropped }) => {
                if dropped.is_some() {
                    self.counters.reassembly_dropped += 1;
                }
                return;
            }
            Ok(Reassembly::Duplicate) => return,
            Ok(Reassembly::Complete(r)) => {
                let Some(dst) = whole.get_mut(..r.bytes.len()) else {
                    return;
                };
                dst.copy_from_slice(r.bytes);
                (r.kind, r.bytes.len())
            }
        };
        self.counters.reassembled += 1;
        let Some(bytes) = whole.get(..len) else {
            return;
        };
        if kind == FORWARD_FRAGMENTS {
            self.handle_forward(now, sender, their_hops, hop_limit, bytes);
        } else {
            // A plain item in fragments (a host or a simple sender): like an Items frame.
            self.handle_item(now, sender, their_hops, hop_limit, To::Us, kind, bytes);
        }
    }

    /// Timers: expiry, solicitations.
    pub fn handle_timeout(&mut self, now: u64) {
        self.gossip_timeout(now); // gossip hook
        self.expire(now);
        while self.reassembly.poll_expired(now).is_some() {
            self.counters.reassembly_dropped += 1;
        }
        if self.duty_wait.is_some_and(|t| t <= now) {
            self.duty_wait = None;
        }
    }

    /// The last [`Transmit`] has left the antenna.
    pub fn handle_tx_done(&mut self, _now: u64) {
        self.transmitting = false;
    }

    /// Bridge only: the uplink went up or down.
    pub fn handle_uplink(&mut self, now: u64, up: bool) {
        self.uplink = up && self.config.bridge;
        if self.uplink {
            let mut i = 0;
            while let Some(s) = self.slots.get_mut(i) {
                if s.state & UPLINKED == 0 {
                    s.state |= UPLINKED;
                    let short = s.short();
                    if let Some((r, _)) = self.store.find_short(short) {
                        self.event(Event::Uplink { id: r.id });
                    }
                }
                i += 1;
            }
        }
        let _ = now;
    }

    /// The chain included the item (a bridge saw it in a block, or a signed receipt arrived):
    /// delete it for good. A bridge with a receipt key ([`Engine::with_receipt_key`]) marks
    /// a payment it holds instead, and deletes it once its own signed receipt naming it is
    /// stored, so that a power cut in between loses no receipt (`gossip.rs`).
    pub fn handle_receipt(&mut self, now: u64, id: &ItemId) {
        let short = id.short();
        // gossip hook: a bridge that signs receipts keeps the payment, marked in the store,
        // until the signed receipt naming it is stored (a power cut in between would lose
        // the id from RAM, and the mesh would keep its copies until they expire).
        if self.confirmed(short) {
            self.gossip_uplink_receipt(now, short);
            return;
        }
        // `receipted` tells whether a custody copy was held: a certification is not deleted
        // by its receipt (every node is still owed it), so no receipt names it.
        let custody = self.receipted(short);
        // gossip hook: a bridge queues a signed on-air receipt.
        if custody {
            self.gossip_uplink_receipt(now, short);
        }
    }

    // ----- outputs -----

    /// The next frame to start now, written into `buf` (at least [`MAX_FRAME_LEN`] bytes
    /// recommended). `channel_busy`: CAD or a reception in progress at this instant.
    pub fn poll_transmit(
        &mut self,
        now: u64,
        channel_busy: bool,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let epoch = self.epoch;
        if self.transmitting {
            return None;
        }
        // A fragmented forward whose item left the store (receipt, expiry) stops.
        if self
            .train
            .is_some_and(|t| self.store.find_short(t.short).is_none())
        {
            self.train = None;
        }
        let Some(mut due) = self.due(now) else {
            self.access = Access::Idle;
            return None;
        };
        if self.release_held_for(now, due) {
            due = Due::Items;
        }
        let (at, since, window) = match self.access {
            Access::Idle => {
                let w = CW_MIN_SLOTS;
                let at = now + self.backoff_us(w);
                let at = if due == Due::Items {
                    self.bridge_slot(at)
                } else {
                    at
                };
                self.access = Access::Waiting {
                    at,
                    since: now,
                    window: w,
                };
                (at, now, w)
            }
            Access::Waiting { at, since, window } => (at, since, window),
        };
        if now < at {
            return None;
        }
        if channel_busy {
            let w = (window * 2).min(CW_MAX_SLOTS);
            let at = now + self.backoff_us(w);
            let at = if due == Due::Items {
                self.bridge_slot(at)
            } else {
                at
            };
            self.access = Access::Waiting {
                at,
                since,
                window: w,
            };
            return None;
        }
        let Some((len, priority, packed, n_acks)) = self.build(now, due, buf) else {
            // Nothing could be framed (a buffer shorter than a frame): drop control, park items.
            self.access = Access::Idle;
            self.acks.clear();
            self.ack_due = None;
            self.advert_due = None;
            self.solicit = None;
            let park = ticks(epoch, now + PARK_US);
            for s in self
                .slots
                .iter_mut()
                .filter(|s| s.pending() && s.next_try_us(epoch) <= now)
            {
                s.set_next_try(park);
            }
            return None;
        };
        let toa = self.config.modulation.time_on_air_us(len);
        // A fragmented forward starts only if the budget holds all its fragments (the first
        // is the longest).
        let starts_train = due == Due::Items && self.train.is_some();
        let need = match self.train {
            Some(t) if starts_train => toa * (u64::from(t.last) + 1),
            _ => toa,
        };
        if !self.duty.allows(now, need, priority.budget_permille()) {
            if starts_train {
                self.train = None;
            }
            self.counters.duty_deferrals += 1;
            self.duty_wait = Some(self.duty.next_change(now));
            self.access = Access::Idle;
            return None;
        }
        self.commit(now, due, len, packed, n_acks);
        self.duty.record(now, toa);
        self.counters.frames_tx += 1;
        self.counters.airtime_us += toa;
        self.access = Access::Idle;
        self.transmitting = true;
        Some(Transmit {
            len,
            priority,
            not_before: since,
        })
    }

    /// When to call [`Engine::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let epoch = self.epoch;
        let mut t: Option<u64> = None;
        let mut at = |x: u64| t = Some(t.map_or(x, |y| y.min(x)));
        // While transmitting, `handle_tx_done` is the next chance to send.
        if !self.transmitting {
            if let Access::Waiting { at: a, .. } = self.access {
                at(a);
            } else {
                if let Some(a) = self.ack_due {
                    at(a);
                }
                if let Some(w) = self.duty_wait {
                    at(w);
                } else {
                    if let Some(a) = self.advert_due {
                        at(a);
                    }
                    if let Some((a, _)) = self.solicit.filter(|_| self.wants_route()) {
                        at(a);
                    }
                    let floor = self.forward_floor();
                    for s in self.slots.iter() {
                        if let Some(t) = self.forward_due_at(s, floor) {
                            at(t);
                        }
                    }
                    self.gossip_tx_timers(&mut at); // gossip hook
                }
            }
        }
        for s in &self.slots {
            at(gossip::slot_deadline(s, epoch));
        }
        self.gossip_timers(&mut at); // gossip hook
        t
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- internals -----

    fn event(&mut self, e: Event) {
        if self.events.push_back(e).is_err() {
            self.counters.events_lost += 1;
        }
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: 4 lines, no state beyond a u64; no crate needed for this.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn slot_us(&self) -> u64 {
        self.config.modulation.symbol_us() * SLOT_SYMBOLS
    }

    fn backoff_us(&mut self, window: u32) -> u64 {
        let slots = self.next_random() % u64::from(window.max(1));
        slots * self.slot_us()
    }

    /// The first instant from `t` at which a child of a bridge may start an item frame: `t`
    /// itself when it falls in the opening of our slot, else the next opening plus a random
    /// offset within it. Other nodes (and children that have not heard the bridge yet) send
    /// at `t`.
    fn bridge_slot(&mut self, t: u64) -> u64 {
        let Some(t0) = self.bridge_heard.filter(|_| self.hops == 1) else {
            return t;
        };
        let opening = u64::from(CW_MIN_SLOTS) * self.slot_us();
        let len = bridge_slot_us(&self.config.modulation);
        let cycle = len * BRIDGE_SLOTS;
        let start = t0 + u64::from(self.config.addr.0) % BRIDGE_SLOTS * len;
        if t < start {
            return start + self.next_random() % opening.max(1);
        }
        let into = (t - start) % cycle.max(1);
        if into < opening {
            return t;
        }
        t - into + cycle + self.next_random() % opening.max(1)
    }

    fn jitter_us(&mut self) -> u64 {
        let w = u64::from(CW_MAX_SLOTS) * self.slot_us();
        self.next_random() % w.max(1)
    }

    /// How long to wait for an ack (explicit after the hold, or the parent's own forward).
    fn ack_timeout_us(&mut self) -> u64 {
        let m = &self.config.modulation;
        // A parent at distance 0 is a bridge: it holds its acks longer.
        let hold = if self.hops <= 1 {
            BRIDGE_ACK_HOLD_US
        } else {
            ACK_HOLD_US
        };
        let base = hold
            + 3 * m.time_on_air_us(MAX_FRAME_LEN)
            + m.time_on_air_us(HEADER_LEN + MAX_ACKS * SHORT_ID_LEN)
            + u64::from(CW_MAX_SLOTS) * self.slot_us();
        base + self.next_random() % (hold / 2).max(1)
    }

    fn duty_fits(&self, toa: u64) -> bool {
        self.config.duty.max_dwell_us().is_none_or(|m| toa <= m)
    }

    fn holds(&self, id: &ItemId) -> bool {
        let short = id.short();
        self.slots.iter().any(|s| s.short() == short) || self.store.find(id).is_some()
    }

    fn seen(&self, short: ShortId) -> bool {
        self.seen.iter().any(|s| *s == short)
    }

    fn remember(&mut self, short: ShortId) {
        if self.seen(short) {
            return;
        }
        if self.seen.is_full() {
            self.seen.pop_front();
        }
        let _ = self.seen.push_back(short);
    }

    /// Queue a custody ack for `short`, due within the ack hold (a bridge's, or a relay's,
    /// whose acks mostly ride on its next forward first). `soon`: within
    /// [`OVERHEARD_ACK_HOLD_US`] (a bridge's ack of an item it overheard on its way to its
    /// child, which may still hold it).
    fn queue_ack(&mut self, now: u64, short: ShortId, soon: bool) {
        if !self.acks.contains(&short) {
            // A full ack queue drops the ack: the sender retransmits and is acked then.
            let _ = self.acks.push(short);
        }
        if self.ack_due.is_none() {
            let j = self.jitter_us();
            let hold = if self.config.bridge {
                BRIDGE_ACK_HOLD_US
            } else {
                ACK_HOLD_US
            };
            self.ack_due = Some(now + hold + j);
        }
        if soon {
            let at = now + OVERHEARD_ACK_HOLD_US + self.jitter_us();
            self.ack_due = self.ack_due.map(|d| d.min(at));
        }
        // Relays send early once half full (their forwards carry acks too); a bridge waits
        // for a full frame.
        let flush = if self.config.bridge {
            MAX_ACKS
        } else {
            MAX_ACKS / 2
        };
        if self.acks.len() >= flush {
            self.ack_due = Some(now);
        }
    }

    /// Schedule an advert within the contention jitter, unless one went out recently.
    fn advert_soon(&mut self, now: u64) {
        if self.advert_due.is_none()
            && self
                .last_advert
                .is_none_or(|t| now.saturating_sub(t) >= SOLICIT_HOLDOFF_US)
        {
            let j = self.jitter_us();
            self.advert_due = Some(now + j);
            self.advert_answer = true;
        }
    }

    /// Whether this node holds something the routed mesh may lack: an item it still pushes,
    /// or a broadcast item (a node without route solicits only then: an idle node learns its
    /// route from the frames it overhears, for free). Broadcast items count because a node
    /// that never hears a routed neighbour (one-way links) would otherwise keep a
    /// certification to itself: with a route it joins the tree and reconciles with its parent.
    fn wants_route(&self) -> bool {
        self.slots.iter().any(|s| s.pending() || s.broadcast())
    }

    /// When a custody item's next forward is due, if it has one: to our parent at its next
    /// try; without route, once we have had none for [`BLIND_WAIT_US`], in a **blind
    /// forward** to [`NOBODY`], [`BLIND_TRIES`] times: a node that hears us but that we do
    /// not hear (a deaf radio, one-way links: 50 nodes seed 45, whose node 2 hears nobody
    /// and kept its 15 payments) cannot answer our solicitations, but it takes what we send
    /// (the rescue rule: we advertise [`NO_ROUTE`] hops). Only a node that hears at most
    /// [`POCKET_NEIGHBOURS`] others (a deaf radio, a pocket), or hears a routed node it
    /// cannot use (one that names us as its parent: stale), sends them: in a mesh without
    /// bridge every neighbour is without route too, and nobody could take them. Bridges
    /// forward nothing.
    ///
    /// `floor` is [`Engine::forward_floor`], computed once per scan of the index.
    fn forward_due_at(&self, s: &Slot, floor: Option<u64>) -> Option<u64> {
        let floor = floor?;
        (s.pending() && (self.parent.is_some() || s.tries() < BLIND_TRIES))
            .then(|| s.next_try_us(self.epoch).max(floor))
    }

    /// Whether a custody item goes in a forward built `now`: due, and not past its expiry
    /// (an item not reaped yet has no lifetime left to send). `floor` as for
    /// [`Engine::forward_due_at`].
    fn forward_ready(&self, s: &Slot, floor: Option<u64>, now: u64) -> bool {
        self.forward_due_at(s, floor).is_some_and(|t| t <= now) && s.expires_us(self.epoch) > now
    }

    /// The earliest instant any custody forward may go (see [`Engine::forward_due_at`]): 0
    /// with a parent; without one, [`BLIND_WAIT_US`] after the route was lost if blind
    /// forwards are allowed; `None` for a bridge or a node that may not send blind.
    fn forward_floor(&self) -> Option<u64> {
        if self.config.bridge {
            return None;
        }
        if self.parent.is_some() {
            return Some(0);
        }
        let lost = self.route_lost_at?;
        let mesh_near = self.in_pocket() || self.neighbours.iter().any(|n| n.hops < NO_ROUTE);
        mesh_near.then_some(lost + BLIND_WAIT_US)
    }

    /// Without route (and no bridge) since [`BLIND_WAIT_US`] ago or more: our solicitations
    /// went unanswered. (A node with a hopeless parent still has one.)
    fn long_without_route(&self, now: u64) -> bool {
        !self.config.bridge
            && self.parent.is_none()
            && self
                .route_lost_at
                .is_some_and(|t| now >= t.saturating_add(BLIND_WAIT_US))
    }

    /// We hear at most [`POCKET_NEIGHBOURS`] other nodes: without route, a deaf radio or a
    /// pocket whose only way out may be a one-way link that we cannot hear back. Only there
    /// do blind forwards and repeated rebroadcasts go without a routed node in hearing.
    fn in_pocket(&self) -> bool {
        self.neighbours.len() <= POCKET_NEIGHBOURS
    }

    /// A parent whose link costs so much that our distance is [`NO_ROUTE`] (it never acked
    /// us): our items go to it paced like blind forwards, and its adverts do not restart
    /// their tries (module docs, "A hopeless parent"). A bridge has no parent, so never.
    fn hopeless(&self) -> bool {
        self.parent.is_some() && self.hops >= NO_ROUTE
    }

    /// Whether `sender` (with `their_hops`) is downhill of us: its ack or forward means an
    /// item of ours is on its way.
    fn is_parent_like(&self, sender: NodeAddr, their_hops: u8) -> bool {
        Some(sender) == self.parent || their_hops < self.hops
    }

    /// `sender` was heard rebroadcasting (a broadcast or receipt frame that parsed).
    pub(super) fn relay_heard(&mut self, now: u64, sender: NodeAddr) {
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.addr == sender) {
            n.relayed = Some(clock_minute(now));
        }
    }

    /// `sender`'s frame listed the relays it hears (the [`HEARS_RIDES`] section, 2 bytes
    /// each; a frame without it leaves the list as it was).
    fn set_hears(&mut self, sender: NodeAddr, hears: &[u8]) {
        if hears.is_empty() {
            return;
        }
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.addr == sender) {
            n.hears = [NOBODY; HEARS_LEN];
            for (dst, a) in n.hears.iter_mut().zip(hears.chunks_exact(2)) {
                *dst = NodeAddr(u16::from_le_bytes([a[0], a[1]]));
            }
        }
    }

    /// The relays we heard rebroadcasting lately, strongest first, up to [`HEARS_LEN`], our
    /// parent first whatever it sent (we hear it: that is how we chose it).
    fn relays_heard(&self, now: u64) -> Vec<NodeAddr, HEARS_LEN> {
        let minute = clock_minute(now);
        let mut v: Vec<(bool, i8, NodeAddr), NEIGHBOURS> = self
            .neighbours
            .iter()
            .filter(|n| {
                Some(n.addr) == self.parent
                    || n.relayed
                        .is_some_and(|m| minute.wrapping_sub(m) < RELAYED_MINUTES)
            })
            .map(|n| (Some(n.addr) != self.parent, n.snr, n.addr))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.0.cmp(&b.2.0)));
        v.iter().take(HEARS_LEN).map(|&(_, _, a)| a).collect()
    }

    /// The relays-heard list for the forward being built (for our neighbours' covered rule,
    /// `gossip.rs`): our [`Engine::relays_heard`] when it changed since the last one sent or
    /// that is [`HEARS_REFRESH_MINUTES`] old, and it fits the `room` left; else empty. It
    /// counts as sent only when the frame is committed (`hears_built`).
    fn ride_hears(&mut self, now: u64, room: usize) -> Vec<NodeAddr, HEARS_LEN> {
        let mut hears = self.relays_heard(now);
        let fp = hears.iter().fold(0u32, |h, a| {
            h.wrapping_mul(65_599).wrapping_add(u32::from(a.0)) ^ 1
        });
        let minute = clock_minute(now);
        let stale = self
            .hears_sent
            .is_none_or(|(f, m)| f != fp || minute.wrapping_sub(m) >= HEARS_REFRESH_MINUTES);
        if !stale || 1 + hears.len() * 2 > room {
            hears.clear();
        }
        self.hears_built = (!hears.is_empty()).then_some(fp);
        hears
    }

    /// An item we handed over came back to us: push it again. `false` if it is pending
    /// already (nothing to take back).
    fn take_back(&mut self, now: u64, short: ShortId) -> bool {
        let epoch = self.epoch;
        let t = ticks(epoch, now);
        let Some(s) = self
            .slots
            .iter_mut()
            .find(|s| s.short() == short && !s.pending())
        else {
            return false;
        };
        s.state |= PENDING;
        s.set_tries(0);
        s.set_next_try(t);
        self.counters.taken_back += 1;
        if let Some(id) = self.store.find_short(short).map(|(r, _)| r.id) {
            self.store.take_back(&id);
        }
        true
    }

    /// Mark the item with `short` as taken over downstream: stop pushing it.
    fn hand_over(&mut self, short: ShortId, by: Option<NodeAddr>) {
        let (mut found, mut sent) = (false, false);
        for s in self
            .slots
            .iter_mut()
            .filter(|s| s.short() == short && s.pending())
        {
            s.state &= !(PENDING | HELD);
            found = true;
            sent |= s.tries() > 0;
        }
        if found {
            if let Some(id) = self.store.find_short(short).map(|(r, _)| r.id) {
                self.store.mark_handed_over(&id);
            }
            // Credit the link only when the parent itself acked an item we sent it (an ack
            // overheard from farther downhill, or of a copy the parent got from another node,
            // says nothing about our link to it).
            let parent = self.parent;
            if let Some(n) = by
                .filter(|a| sent && Some(*a) == parent)
                .and_then(|a| self.neighbours.iter_mut().find(|n| n.addr == a))
            {
                n.fails = 0;
                n.record(0, 1);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_item(
        &mut self,
        now: u64,
        sender: NodeAddr,
        their_hops: u8,
        hop_limit: u8,
        to: To,
        kind: ItemKind,
        bytes: &[u8],
    ) {
        let for_me = to == To::Us;
        // A booked entry: put the known keys back first (`item::book`).
        let mut expanded = [0u8; MAX_BOOKED_ITEM_LEN];
        let (kind, bytes) = if kind == BOOKED {
            match self.book.map(|book| book.expand(bytes, &mut expanded)) {
                Some(Ok(len)) => (ItemKind::Extrinsic, expanded.get(..len).unwrap_or(&[])),
                Some(Err(BookError::Malformed)) => (kind, bytes),
                Some(Err(BookError::OtherBook)) | None => {
                    self.counters.other_book += 1;
                    self.event(Event::Rejected {
                        reason: RejectReason::OtherBook,
                    });
                    return;
                }
            }
        } else {
            (kind, bytes)
        };
        let Ok(item) = Item::parse(kind, bytes) else {
            self.counters.rejected_format += 1;
            self.event(Event::Rejected {
                reason: RejectReason::Malformed,
            });
            return;
        };
        if gossip::is_broadcast(&item) {
            return self.gossip_item(now, sender, their_hops, &item); // gossip hook: broadcast class
        }
        let id = item.id();
        let short = id.short();
        // Downhill of the sender: we may take custody.
        let downhill = self.config.bridge || self.hops < their_hops;
        // A bridge takes what it overhears on its way to one of its children too.
        let for_child = to == To::OurChild;
        let take = (for_me || for_child) && downhill;
        let held = self.holds(&id);
        // A relay that no longer holds an item it saw (released to make room) takes it again
        // like a new one: acking without holding would lose it. Bridges ack what they uplinked.
        // A sender repeating an item to others with no answer (a one-way link to its parent):
        // a node nearer a bridge that hears it takes custody (`RESCUE_COPIES`).
        let rescue =
            to == To::Other && !held && self.overheard_copy(short, sender, their_hops, downhill);
        let take = take || rescue;
        if held || (self.seen(short) && (self.config.bridge || !take)) {
            if take && !for_child {
                self.counters.duplicates += 1;
                if held && !self.config.bridge && self.take_back(now, short) {
                    // Handed back (the neighbour we gave it to lost its route through us or
                    // restarted): custody is ours again, and our forward will ack it.
                    return;
                }
                // The sender did not hear our ack (or our forward): ack explicitly.
                self.queue_ack(now, short, false);
            } else if self.is_parent_like(sender, their_hops) {
                // Overheard a node closer to a bridge carrying it: it is on its way.
                self.hand_over(short, Some(sender));
            }
            return;
        }
        if for_me && !take {
            // Addressed by a node that believes we are closer to a bridge than it is: tell it
            // our hop count (our advert's header) so it picks another parent.
            self.advert_soon(now);
        }
        if !take || (hop_limit == 0 && !self.config.bridge) {
            return;
        }
        if !self.admit_from_air(now, &item) {
            return;
        }
        if self.accept(now, &item, id, hop_limit.saturating_sub(1), true) {
            if rescue {
                self.counters.rescued += 1;
                // Others that heard the same repeats take it too unless our forward, heard
                // first, hands it over for them.
                let at = now + self.next_random() % RESCUE_JITTER_US;
                let epoch = self.epoch;
                if let Some(s) = self.slots.iter_mut().find(|s| s.short() == short) {
                    s.set_next_try(ticks(epoch, at));
                }
            }
            // Explicit custody ack: piggybacked on our next forward, or alone after the hold
            // (soon for a child that may still hold it: heard first, it saves its forward).
            self.queue_ack(now, short, for_child);
        }
    }

    /// A custody item heard on its way to another node: count the sender's copies. `true`
    /// (take custody) when we are nearer a bridge than the sender (`downhill`) with a route
    /// to pass it on, and either the sender has sent it [`RESCUE_COPIES`] times with nobody
    /// else heard carrying it (its next hop does not answer) or it advertises
    /// [`RESCUE_HOPS`] more hops than we do (it does not hear us). A copy from another
    /// sender means the item moved on (or another node rescued it): the count starts again
    /// from that sender.
    fn overheard_copy(
        &mut self,
        short: ShortId,
        sender: NodeAddr,
        their_hops: u8,
        downhill: bool,
    ) -> bool {
        let copies = match self.overheard.iter_mut().find(|o| o.short == short) {
            Some(o) if o.sender == sender => {
                o.copies = o.copies.saturating_add(1);
                o.copies
            }
            Some(o) => {
                // Someone else carries it: on its way.
                o.sender = sender;
                o.copies = 1;
                return false;
            }
            None => {
                if self.overheard.is_full() {
                    self.overheard.pop_front();
                }
                let _ = self.overheard.push_back(Overheard {
                    short,
                    sender,
                    copies: 1,
                });
                1
            }
        };
        let rescue = (copies >= RESCUE_COPIES
            || their_hops >= self.hops.saturating_add(RESCUE_HOPS))
            && downhill
            && self.hops < NO_ROUTE;
        if rescue {
            self.overheard.retain(|o| o.short != short);
        }
        rescue
    }

    /// The checks an item from the air passes before it is stored (custody or broadcast):
    /// member filter and per-signer quota, then the signature; a refusal is counted and
    /// reported. An admitted item's airtime is charged to its signer.
    fn admit_from_air(&mut self, now: u64, item: &Item<'_>) -> bool {
        if let Some(reason) = self.abuse_check(now, item) {
            self.counters.rejected_abuse += 1;
            self.event(Event::Rejected { reason });
            return false;
        }
        if !(self.verifier.item)(item, &self.config.profile) {
            self.counters.rejected_signature += 1;
            self.event(Event::Rejected {
                reason: RejectReason::BadSignature,
            });
            return false;
        }
        self.charge(now, item);
        true
    }

    /// Member filter and per-signer quota: `Some` when the item must not be relayed.
    fn abuse_check(&self, now: u64, item: &Item<'_>) -> Option<RejectReason> {
        let key = signer_prefix(item);
        if let Some(members) = self.members
            && members.binary_search(&key).is_err()
        {
            return Some(RejectReason::NotMember);
        }
        let hour = u32::try_from(now / HOUR_US).unwrap_or(u32::MAX);
        let quota = self.config.duty.budget_us() * SIGNER_QUOTA_PERMILLE / 1_000;
        let used = self
            .signers
            .iter()
            .find(|s| s.key == key && s.hour == hour)
            .map_or(0, |s| u64::from(s.airtime_us));
        (used + self.item_airtime(item) > quota).then_some(RejectReason::Quota)
    }

    fn item_airtime(&self, item: &Item<'_>) -> u64 {
        self.config
            .modulation
            .time_on_air_us(HEADER_LEN + 3 + item.bytes().len())
    }

    /// Count the item's airtime against its signer.
    fn charge(&mut self, now: u64, item: &Item<'_>) {
        let key = signer_prefix(item);
        let hour = u32::try_from(now / HOUR_US).unwrap_or(u32::MAX);
        let cost = u32::try_from(self.item_airtime(item)).unwrap_or(u32::MAX);
        if let Some(s) = self.signers.iter_mut().find(|s| s.key == key) {
            if s.hour != hour {
                s.hour = hour;
                s.airtime_us = 0;
            }
            s.airtime_us = s.airtime_us.saturating_add(cost);
            return;
        }
        let entry = SignerUse {
            key,
            hour,
            airtime_us: cost,
        };
        if self.signers.push(entry).is_err() {
            // Table full: reuse the entry of the stalest hour (an old hour's use is over).
            if let Some(s) = self.signers.iter_mut().min_by_key(|s| s.hour) {
                *s = entry;
            }
        }
    }

    /// Store a verified item, applying the capacity policy. `false`: refused (event sent).
    fn accept(
        &mut self,
        now: u64,
        item: &Item<'_>,
        id: ItemId,
        hop_limit: u8,
        from_air: bool,
    ) -> bool {
        let entry = NewEntry {
            id,
            kind: item.kind(),
            bytes: item.bytes(),
            priority: Priority::of(item),
            // gossip hook: a broadcast-class item is rebroadcast, not pushed by custody.
            bcast: gossip::is_broadcast(item),
            hop_limit,
        };
        if !self.store_new(now, &entry, from_air) {
            return false;
        }
        if from_air {
            self.counters.items_taken += 1;
        }
        self.event(Event::Stored { id, from_air });
        if self.uplink {
            self.event(Event::Uplink { id });
        }
        true
    }

    /// Store and index a new entry (an item, or a signed receipt: `gossip.rs`), applying
    /// the capacity policy. A broadcast entry lives at most `BROADCAST_TTL_US`. `false`:
    /// refused (overflow event sent).
    fn store_new(&mut self, now: u64, e: &NewEntry<'_>, from_air: bool) -> bool {
        let epoch = self.epoch;
        let mut ttl = self.config.item_ttl_us;
        if e.bcast {
            ttl = ttl.min(gossip::BROADCAST_TTL_US);
        }
        if from_air {
            // The lifetime left that its frame gave it (a rebroadcast, a receipt or a
            // custody forward; none in a plain Items frame), so every copy expires together.
            ttl = ttl.min(self.gossip.rx_life());
        }
        let record = Record {
            id: e.id,
            kind: e.kind,
            priority: e.priority,
            expires: now.saturating_add(ttl),
            hop_limit: e.hop_limit,
            handed_over: self.config.bridge,
        };
        if !self.make_room(now, e.priority) || self.store.insert(&record, e.bytes).is_err() {
            self.counters.overflows += 1;
            self.event(Event::Overflow {
                id: e.id,
                evicted: false,
            });
            return false;
        }
        let custody = if self.config.bridge || e.bcast {
            0
        } else {
            PENDING
        };
        // A receipt is never handed to the uplink: it counts as handed over already.
        let uplinked = self.uplink || gossip::is_receipt(e.kind);
        let mut slot = slot_of(
            epoch,
            now,
            &record,
            custody | if uplinked { UPLINKED } else { 0 },
        );
        if e.bcast {
            self.gossip_stored(now, &mut slot, from_air);
        } else if custody == PENDING && self.bookable(e.kind, e.bytes) {
            // An own item waits longer (it has all its time ahead), unless our forwards to
            // the parent went unacked lately: it may need that time for retries.
            let hold = if from_air || self.parent_lossy() {
                PAIR_HOLD_US
            } else {
                OWN_HOLD_US
            };
            self.pair_hold(now, &mut slot, hold);
        }
        if self.slots.push(slot).is_err() {
            // make_room keeps slots and store in step; this is unreachable in practice.
            self.store.remove(&e.id);
            self.event(Event::Overflow {
                id: e.id,
                evicted: false,
            });
            return false;
        }
        self.remember(e.id.short());
        true
    }

    /// Whether the key book shortens this item (only then can two share a forward).
    fn bookable(&self, kind: ItemKind, bytes: &[u8]) -> bool {
        let mut scratch = [0u8; MAX_BOOKED_ITEM_LEN];
        self.book
            .is_some_and(|book| book.compress(kind, bytes, &mut scratch).is_some())
    }

    /// Whether a forward to our parent went unacknowledged within its link window (or we
    /// have none).
    fn parent_lossy(&self) -> bool {
        let parent = self.parent;
        self.neighbours
            .iter()
            .find(|n| Some(n.addr) == parent)
            .is_none_or(|n| n.failed > 0)
    }

    /// A booked custody item waits up to `hold` ([`PAIR_HOLD_US`] from the air,
    /// [`OWN_HOLD_US`] for our own) for a second one to share its forward (two fit one
    /// frame): one already waiting ([`Slot::held`]) goes now, with it.
    fn pair_hold(&mut self, now: u64, slot: &mut Slot, hold: u64) {
        let epoch = self.epoch;
        if let Some(other) = self.slots.iter_mut().find(|s| s.held()) {
            other.release_hold(ticks(epoch, now));
        } else {
            slot.hold_until(ticks(epoch, now + hold));
        }
    }

    /// A frame is due that a custody forward can stand in for, and a custody item waits in
    /// its pair hold: the item goes now in a forward that carries the rest (one frame for
    /// both). A rebroadcast rides in it, custody acks and our hop count (an advert's only
    /// content) go in every forward. `true` if one was released.
    fn release_held_for(&mut self, now: u64, due: Due) -> bool {
        if !matches!(due, Due::Broadcast | Due::Acks | Due::Advert)
            || self.forward_floor() != Some(0)
            || self.hopeless()
            || (due == Due::Broadcast && !self.slots.iter().any(|s| self.rides_forward(s, now)))
        {
            return false;
        }
        // At most one item is held (`pair_hold` releases the one waiting when a second comes).
        let t = ticks(self.epoch, now);
        let Some(s) = self.slots.iter_mut().find(|s| s.held()) else {
            return false;
        };
        s.release_hold(t);
        true
    }

    /// Free one entry if the store (or slot table) is full: expired items first, then items
    /// already handed over (lowest priority, oldest), then an unacknowledged item of lower
    /// priority than `incoming`. Every eviction of an unexpired item is an event.
    fn make_room(&mut self, now: u64, incoming: Priority) -> bool {
        self.expire(now);
        let full = self.store.len() >= self.store.capacity() || self.slots.is_full();
        if !full {
            return true;
        }
        let pick = |pred: &dyn Fn(&Slot) -> bool, slots: &[Slot]| -> Option<usize> {
            let mut best: Option<usize> = None;
            for (i, s) in slots.iter().enumerate() {
                if !pred(s) {
                    continue;
                }
                best = match best.and_then(|b| slots.get(b).map(|x| (b, x))) {
                    Some((b, x)) if x.priority() <= s.priority() => Some(b),
                    _ => Some(i),
                };
            }
            best
        };
        let victim = pick(&|s: &Slot| !s.owed(), &self.slots)
            .or_else(|| pick(&|s: &Slot| s.owed() && s.priority() < incoming, &self.slots));
        let Some(v) = victim.and_then(|i| self.slots.get(i).copied()) else {
            return false;
        };
        let short = v.short();
        let id = self.store.find_short(short).map(|(r, _)| r.id);
        if let Some(id) = id {
            self.store.remove(&id);
        }
        self.gossip_forget(&v); // gossip hook
        self.slots.retain(|s| s.short() != short);
        self.remember(short);
        if let Some(id) = id {
            if v.owed() {
                self.counters.overflows += 1;
                self.event(Event::Overflow { id, evicted: true });
            } else {
                self.event(Event::Released { id });
            }
        }
        true
    }

    fn expire(&mut self, now: u64) {
        let epoch = self.epoch;
        let mut i = 0;
        while let Some(s) = self.slots.get(i).copied() {
            if s.expires_us(epoch) <= now {
                self.gossip_forget(&s); // gossip hook
                // A late copy from a neighbour that stored it later is refused.
                self.remember(s.short());
                if let Some(id) = self.store.find_short(s.short()).map(|(r, _)| r.id) {
                    self.store.remove(&id);
                    self.event(Event::Expired { id });
                }
                self.slots.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Learn from any frame's header: the sender's hop count and link quality.
    fn hear(&mut self, now: u64, sender: NodeAddr, their_hops: u8, snr: i8, advert: bool) {
        let epoch = self.epoch;
        if their_hops >= NO_ROUTE {
            // A solicitation (or a node without route): answer if we can help.
            if self.hops < NO_ROUTE {
                self.advert_soon(now);
            }
        } else if self.advert_due.is_some()
            && their_hops <= self.hops
            && self.hops < NO_ROUTE
            && self.last_advert.is_some()
        {
            // Someone at least as close already answered: suppress our answer.
            self.advert_due = None;
        }
        // Update the neighbour table.
        let hops = their_hops.min(NO_ROUTE);
        match self.neighbours.iter_mut().find(|n| n.addr == sender) {
            Some(n) => {
                n.hops = hops;
                n.snr = snr;
                if advert {
                    // It (re)started or changed: give it another chance.
                    n.fails = 0;
                }
            }
            None => {
                let entry = Neighbour {
                    addr: sender,
                    hops,
                    snr,
                    fails: 0,
                    failed: 0,
                    acked: 0,
                    child: false,
                    fed: None,
                    relayed: None,
                    hears: [NOBODY; HEARS_LEN],
                };
                if self.neighbours.push(entry).is_err() {
                    // Replace the worst entry if the newcomer is better. Entries without a
                    // link history go first: what they know comes back with their next
                    // header, whereas a link's failures would be forgotten, so a bridge we
                    // hear but cannot reach would be re-added as a fresh, perfect parent
                    // and tried again and again (a payment parked for hours at 200 nodes,
                    // seed 1; `toile sim --trace`).
                    let worst = self
                        .neighbours
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| Some(n.addr) != self.parent)
                        .max_by_key(|(_, n)| (n.failed == 0 && n.acked == 0, n.cost()))
                        .map(|(i, n)| (i, n.cost()));
                    if let Some((i, c)) = worst
                        && entry.cost() < c
                        && let Some(slot) = self.neighbours.get_mut(i)
                    {
                        *slot = entry;
                    }
                }
            }
        }
        if Some(sender) == self.parent && advert && !self.hopeless() {
            // The parent is back (or moved): retry parked items now.
            let t = ticks(epoch, now);
            for s in self.slots.iter_mut().filter(|s| s.pending()) {
                s.set_next_try(s.next_try().min(t));
                s.set_tries(0);
            }
        }
        self.choose_parent(now);
    }

    /// Pick the cheapest neighbour as parent; set our hop count from it.
    fn choose_parent(&mut self, now: u64) {
        let epoch = self.epoch;
        if self.config.bridge {
            return;
        }
        let minute = clock_minute(now);
        let fed = |n: &Neighbour| {
            n.hops == 0 || n.fed.is_some_and(|m| minute.wrapping_sub(m) < FED_MINUTES)
        };
        let mut best = self
            .neighbours
            .iter()
            .filter(|n| n.hops < NO_ROUTE && !n.child)
            .min_by_key(|n| (n.cost().0, !fed(n), n.cost().1, n.addr))
            .copied();
        // Hysteresis: keep the current parent unless another is a whole hop cheaper, or as
        // cheap and already relaying for others while ours is not.
        if let Some(cur) = self
            .neighbours
            .iter()
            .find(|n| Some(n.addr) == self.parent && n.hops < NO_ROUTE && !n.child)
            && best.is_some_and(|b| {
                b.cost().0 > cur.cost().0 || (b.cost().0 == cur.cost().0 && (fed(cur) || !fed(&b)))
            })
        {
            best = Some(*cur);
        }
        // Our advertised distance includes the penalty of a failing uplink, so a node that
        // hears a bridge but cannot reach it does not attract the neighbourhood's traffic.
        let (hops, parent) = match best {
            Some(n) => (
                u8::try_from(n.cost().0 + 1).map_or(NO_ROUTE, |h| h.min(NO_ROUTE)),
                Some(n.addr),
            ),
            None => (NO_ROUTE, None),
        };
        let had_route = self.parent.is_some();
        let was_hopeless = self.hopeless();
        let changed_parent = parent != self.parent;
        self.parent = parent;
        if parent.is_some() {
            self.route_lost_at = None;
        } else if had_route {
            // Blind forwards count their tries afresh.
            self.route_lost_at = Some(now);
            for s in self.slots.iter_mut().filter(|s| s.pending()) {
                s.set_tries(0);
            }
        }
        let hopeful_again = was_hopeless && parent.is_some() && hops < NO_ROUTE;
        if (changed_parent && parent.is_some()) || hopeful_again {
            let t = ticks(epoch, now);
            for s in self.slots.iter_mut().filter(|s| s.pending()) {
                s.set_tries(0);
                if !had_route || hopeful_again {
                    s.set_next_try(s.next_try().min(t));
                }
            }
        }
        if hops != self.hops {
            self.hops = hops;
            if hops < NO_ROUTE {
                self.solicit = None;
                // Late enough that a data frame (whose header carries the hop count) often
                // goes first and makes the advert unnecessary.
                let j = self.next_random() % ADVERT_DELAY_US;
                self.advert_due = Some(self.advert_due.map_or(now + j, |d| d.min(now + j)));
                self.advert_answer = false;
            } else {
                self.advert_due = None;
                let j = self.jitter_us();
                self.solicit = Some((now + j, SOLICIT_RETRY_US));
            }
            self.event(Event::Route {
                hops: (hops < NO_ROUTE).then_some(hops),
            });
        }
    }

    /// What could go out now, highest priority first.
    fn due(&self, now: u64) -> Option<Due> {
        if !self.acks.is_empty() && self.ack_due.is_some_and(|t| t <= now) {
            return Some(Due::Acks);
        }
        if self.duty_wait.is_some_and(|t| t > now) {
            return None;
        }
        // A fragmented forward's fragments go back to back (its receivers hold the partial
        // forward for REASSEMBLY_TIMEOUT_US).
        if self.train.is_some() {
            return Some(Due::Fragment);
        }
        if self.advert_due.is_some_and(|t| t <= now) {
            return Some(Due::Advert);
        }
        if self.solicit.is_some_and(|(t, _)| t <= now) && self.wants_route() {
            return Some(Due::Advert);
        }
        // gossip hook: a rebroadcast kept waiting too long by custody frames goes first.
        let broadcast = self.gossip_broadcast_turn(now);
        if broadcast == gossip::BroadcastTurn::BeforeCustody {
            return Some(Due::Broadcast);
        }
        let floor = self.forward_floor();
        if self.slots.iter().any(|s| self.forward_ready(s, floor, now)) {
            return Some(Due::Items);
        }
        // gossip hooks, after custody so they never crowd it out: reconciliation, then
        // rebroadcasts and receipts.
        self.gossip_recon_due(now).or_else(|| {
            (broadcast == gossip::BroadcastTurn::AfterCustody).then_some(Due::Broadcast)
        })
    }

    fn header(&self, hop_limit: u8) -> Header {
        Header {
            flags: Flags::from_bits(self.hops.min(NO_ROUTE)).unwrap_or(Flags::EMPTY),
            hop_limit: hop_limit.min(NO_ROUTE),
            sender: self.config.addr,
        }
    }

    fn build(
        &mut self,
        now: u64,
        due: Due,
        buf: &mut [u8],
    ) -> Option<(usize, Priority, Vec<usize, N>, usize)> {
        match due {
            Due::Recon | Due::Broadcast => self.gossip_build(now, due, buf),
            Due::Fragment => self
                .build_fragment(buf)
                .map(|(len, priority)| (len, priority, Vec::new(), 0)),
            Due::Acks => {
                let mut body = [0u8; MAX_ACKS * SHORT_ID_LEN];
                let mut n = 0;
                for (dst, a) in body.chunks_exact_mut(SHORT_ID_LEN).zip(self.acks.iter()) {
                    dst.copy_from_slice(&a.0.to_le_bytes());
                    n += SHORT_ID_LEN;
                }
                let repr = FrameRepr {
                    header: self.header(0),
                    body: Body::Other {
                        kind: FrameKind::CustodyAck,
                        bytes: body.get(..n)?,
                    },
                };
                repr.emit(buf)
                    .ok()
                    .map(|len| (len, Priority::Control, Vec::new(), self.acks.len()))
            }
            Due::Advert => {
                let repr = FrameRepr {
                    header: self.header(0),
                    body: Body::Other {
                        kind: FrameKind::BridgeAdvert,
                        bytes: &[],
                    },
                };
                repr.emit(buf)
                    .ok()
                    .map(|len| (len, Priority::Control, Vec::new(), 0))
            }
            Due::Items => {
                self.gossip.clear_rider();
                self.hears_built = None;
                self.booked_built = 0;
                self.riders_built.clear();
                // No route: a blind forward (see `forward_due_at`).
                let parent = self.parent.unwrap_or(NOBODY);
                let order = self.item_order(now);
                let first_i = *order.first()?;
                let first = self.slots.get(first_i)?;
                let priority = first.priority();
                // An item whose forward does not fit one frame goes alone, in fragments.
                if self
                    .store
                    .find_short(first.short())
                    .is_some_and(|(_, bytes)| !forward_fits_one_frame(bytes.len()))
                {
                    let (short, hop_limit) = (first.short(), first.hop_limit());
                    let life = forward_life_left(first.expires_us(self.epoch), now);
                    self.train_tag = self.train_tag.wrapping_add(1);
                    self.train = Some(Train {
                        short,
                        to: parent,
                        life,
                        hop_limit,
                        priority,
                        tag: self.train_tag,
                        next: 0,
                        last: 0,
                    });
                    let Some((len, priority)) = self.build_fragment(buf) else {
                        self.train = None;
                        return None;
                    };
                    let mut packed: Vec<usize, N> = Vec::new();
                    packed.push(first_i).ok()?;
                    return Some((len, priority, packed, 0));
                }
                // Entries first (into a scratch buffer), then as many queued custody acks as
                // the rest of the frame holds, then the header, which needs the smallest hop
                // limit of what was packed.
                let mut scratch = [0u8; MAX_FRAME_LEN];
                // The entry count byte is outside the entries.
                let room = MAX_FRAME_LEN - HEADER_LEN - FORWARD_FIXED_LEN - 1;
                let mut b = EntriesBuilder::new(scratch.get_mut(..room)?);
                let mut lives = [0u8; FORWARD_MAX_ENTRIES * FORWARD_LIFE_LEN];
                let mut packed: Vec<usize, N> = Vec::new();
                let mut hop_limit = NO_ROUTE;
                for &i in &order {
                    let n = packed.len();
                    let Some(s) = self.slots.get(i).filter(|_| n < FORWARD_MAX_ENTRIES) else {
                        continue;
                    };
                    let Some((r, bytes)) = self.store.find_short(s.short()) else {
                        continue;
                    };
                    // Known keys go as key-book indexes (`item::book`).
                    let mut booked = [0u8; MAX_BOOKED_ITEM_LEN];
                    let (kind, bytes) = match self
                        .book
                        .and_then(|book| book.compress(r.kind, bytes, &mut booked))
                    {
                        Some(len) => (BOOKED, booked.get(..len)?),
                        None => (r.kind, bytes),
                    };
                    let left = forward_life_left(s.expires_us(self.epoch), now);
                    if push_forward_entry(&mut b, &mut lives, n, room, kind, bytes, left) {
                        self.booked_built += u8::from(kind == BOOKED);
                        hop_limit = hop_limit.min(s.hop_limit());
                        let _ = packed.push(i);
                    }
                }
                // Rebroadcasts waiting their turn ride in the room custody leaves: the frame
                // goes anyway, and every neighbour that hears it takes the copy.
                for i in 0..self.slots.len() {
                    let n = packed.len() + self.riders_built.len();
                    if n >= FORWARD_MAX_ENTRIES {
                        break;
                    }
                    let Some(s) = self.slots.get(i).filter(|s| self.rides_forward(s, now)) else {
                        continue;
                    };
                    let Some((r, bytes)) = self.store.find_short(s.short()) else {
                        continue;
                    };
                    let left = forward_life_left(s.expires_us(self.epoch), now);
                    if push_forward_entry(&mut b, &mut lives, n, room, r.kind, bytes, left) {
                        let _ = self.riders_built.push(i);
                    }
                }
                let entries = b.finish()?.as_bytes();
                let lives =
                    lives.get(..(packed.len() + self.riders_built.len()) * FORWARD_LIFE_LEN)?;
                let free = room - lives.len() - entries.len();
                let n_acks = self.acks.len().min(free / SHORT_ID_LEN);
                // Our digest rides in what the acks leave, when one is due (`gossip.rs`).
                let mut digest = [0u8; recon::wire::DIGEST_LEN];
                let digest = self.ride_digest(now, free - n_acks * SHORT_ID_LEN, &mut digest);
                // The relays we hear ride in what is left, when the list is due.
                let hears = self.ride_hears(now, free - n_acks * SHORT_ID_LEN - digest.len());
                let body = buf.get_mut(HEADER_LEN..MAX_FRAME_LEN)?;
                let head = write_forward_head(
                    body,
                    parent,
                    self.acks.get(..n_acks)?,
                    digest,
                    &hears,
                    lives,
                )?;
                body.get_mut(head..head + entries.len())?
                    .copy_from_slice(entries);
                let len = HEADER_LEN + head + entries.len();
                // Emit the header over the first bytes (the body is already in place).
                let mut head = [0u8; MAX_FRAME_LEN];
                let hl = FrameRepr {
                    header: self.header(hop_limit),
                    body: Body::Other {
                        kind: FORWARD,
                        bytes: &[],
                    },
                }
                .emit(&mut head)
                .ok()?;
                buf.get_mut(..hl)?.copy_from_slice(head.get(..hl)?);
                Some((len, priority, packed, n_acks))
            }
        }
    }

    /// Fragment `next` of the fragmented forward under way into `buf`: its body (next hop, no
    /// acks, the one entry with its lifetime left) is rebuilt from the store each time. Sets
    /// the train's last index.
    fn build_fragment(&mut self, buf: &mut [u8]) -> Option<(usize, Priority)> {
        let t = self.train?;
        let (r, item) = self.store.find_short(t.short)?;
        let mut body = [0u8; LARGE_FORWARD_LEN];
        let head = write_forward_head(&mut body, t.to, &[], &[], &[], &t.life)?;
        let mut b = EntriesBuilder::new(body.get_mut(head..)?);
        if !b.try_push(r.kind, item) {
            return None;
        }
        let len = head + b.finish()?.as_bytes().len();
        let plan = Fragmenter::new(
            self.header(t.hop_limit),
            t.tag,
            FORWARD_FRAGMENTS,
            body.get(..len)?,
            MAX_FRAME_LEN,
        )
        .ok()?;
        let last = u8::try_from(plan.fragments() - 1).ok()?;
        let repr = FrameRepr {
            header: self.header(t.hop_limit),
            body: Body::Fragment(plan.fragment(t.next)?),
        };
        let n = repr.emit(buf).ok()?;
        if let Some(t) = self.train.as_mut() {
            t.last = last;
        }
        Some((n, t.priority))
    }

    /// A fragment of the train went out (only its own frames count: acks that fall due
    /// between two fragments go between them).
    fn train_sent(&mut self) {
        if let Some(t) = self.train.as_mut() {
            self.counters.fragments_tx += 1;
            t.next += 1;
            if t.next > t.last {
                self.train = None;
            }
        }
    }

    /// Indices of due pending slots, highest priority then oldest first.
    fn item_order(&self, now: u64) -> Vec<usize, N> {
        let mut v: Vec<usize, N> = Vec::new();
        let floor = self.forward_floor();
        for (i, s) in self.slots.iter().enumerate() {
            if self.forward_ready(s, floor, now) {
                let _ = v.push(i);
            }
        }
        v.sort_unstable_by(|&a, &b| {
            let (Some(x), Some(y)) = (self.slots.get(a), self.slots.get(b)) else {
                return core::cmp::Ordering::Equal;
            };
            y.priority().cmp(&x.priority()).then(a.cmp(&b))
        });
        v
    }

    /// Bookkeeping once a built frame is committed to the air.
    fn commit(&mut self, now: u64, due: Due, len: usize, sent: Vec<usize, N>, n_acks: usize) {
        let epoch = self.epoch;
        match due {
            Due::Recon | Due::Broadcast => {
                self.gossip_commit(now, due, len, sent, n_acks);
            }
            Due::Fragment => self.train_sent(),
            Due::Acks => {
                self.acks.clear();
                self.ack_due = None;
                self.counters.ack_tx += 1;
                self.counters.control_bytes += len as u64;
            }
            Due::Advert => {
                self.advert_due = None;
                self.last_advert = Some(now);
                if let Some((_, wait)) = self.solicit {
                    let next = (wait * 2).min(SOLICIT_MAX_US);
                    self.solicit = (self.hops >= NO_ROUTE).then_some((now + wait, next));
                }
                self.counters.advert_tx += 1;
                if self.hops >= NO_ROUTE {
                    self.counters.advert_solicit_tx += 1;
                } else if self.advert_answer {
                    self.counters.advert_answer_tx += 1;
                } else {
                    self.counters.advert_route_tx += 1;
                }
                self.counters.control_bytes += len as u64;
            }
            Due::Items => {
                // A train that is under way started with this frame.
                self.train_sent();
                if n_acks > 0 {
                    let keep: Vec<ShortId, MAX_ACKS> =
                        self.acks.iter().skip(n_acks).copied().collect();
                    self.acks = keep;
                    if self.acks.is_empty() {
                        self.ack_due = None;
                    }
                    self.counters.piggybacked_acks += n_acks as u64;
                    self.counters.control_bytes += (n_acks * SHORT_ID_LEN) as u64;
                }
                self.digest_committed();
                if let Some(fp) = self.hears_built.take() {
                    self.hears_sent = Some((fp, clock_minute(now)));
                }
                self.counters.booked_tx += u64::from(core::mem::take(&mut self.booked_built));
                let riders = core::mem::take(&mut self.riders_built);
                self.counters.bcast_rides += riders.len() as u64;
                self.broadcast_sent(now, &riders);
                // Our header carries our hop count: no separate advert needed.
                if self.last_advert.is_some() || !self.config.bridge {
                    self.advert_due = None;
                }
                let hopeless = self.hopeless();
                if self.parent.is_none() || hopeless {
                    // Blind forwards: nobody to blame, nobody's ack to wait for. A hopeless
                    // parent is probed 30, 60, then every 120 minutes.
                    for i in sent {
                        if let Some(s) = self.slots.get_mut(i) {
                            let wait = if hopeless {
                                BLIND_RETRY_US << s.tries().min(2)
                            } else {
                                BLIND_RETRY_US
                            };
                            s.state &= !HELD;
                            s.set_tries(s.tries().saturating_add(1));
                            s.set_next_try(ticks(epoch, now + wait));
                            self.counters.item_tx += 1;
                            self.counters.blind_tx += 1;
                        }
                    }
                    return;
                }
                let mut blame = false;
                // A retransmission means the previous attempt (to the same parent: tries
                // restart on a change of parent) went unacknowledged.
                let failed = sent
                    .iter()
                    .filter(|&&i| self.slots.get(i).is_some_and(|s| s.tries() > 0))
                    .count();
                let parent = self.parent;
                if let Some(n) = self.neighbours.iter_mut().find(|n| Some(n.addr) == parent) {
                    n.record(u8::try_from(failed).unwrap_or(u8::MAX), 0);
                }
                for i in sent {
                    let timeout = self.ack_timeout_us();
                    if let Some(s) = self.slots.get_mut(i) {
                        if s.tries() > 0 {
                            self.counters.item_retries += 1;
                        }
                        s.state &= !HELD;
                        s.set_tries(s.tries().saturating_add(1));
                        self.counters.item_tx += 1;
                        if s.tries() >= MAX_TRIES {
                            s.set_tries(0);
                            s.set_next_try(ticks(epoch, now + PARK_US + timeout));
                            blame = true;
                        } else {
                            s.set_next_try(ticks(epoch, now + (timeout << (s.tries() - 1))));
                        }
                    }
                }
                if blame {
                    self.counters.parent_failures += 1;
                    let parent = self.parent;
                    if let Some(n) = self.neighbours.iter_mut().find(|n| Some(n.addr) == parent) {
                        n.fails = n.fails.saturating_add(1);
                    }
                    self.choose_parent(now);
                }
            }
        }
    }
}

/// Length of one transmit slot around a bridge ([`BRIDGE_SLOTS`]): a full frame, the
/// contention opening ([`CW_MIN_SLOTS`]) in which a child starts, and two contention slots of
/// guard. Slot `k` of a cycle starts `k` slot lengths after the end of the bridge's last frame.
pub fn bridge_slot_us(m: &Modulation) -> u64 {
    let slot = m.symbol_us() * SLOT_SYMBOLS;
    m.time_on_air_us(MAX_FRAME_LEN) + (u64::from(CW_MIN_SLOTS) + 2) * slot
}

/// A body of entries that carry their lifetimes left, read by [`counted_entries`].
struct Counted<'a> {
    /// The sender's reconciliation digest riding ([`DIGEST_RIDES`]); empty if none.
    digest: &'a [u8],
    /// The relays the sender hears ([`HEARS_RIDES`]), 2 bytes each; empty if none.
    hears: &'a [u8],
    /// The entries' lifetimes left.
    lives: &'a [u8],
    entries: Entries<'a>,
}

/// Entries that carry their lifetimes left (a [`gossip::BROADCAST`] body, a [`FORWARD`]
/// body after its acks): entry count `n` (u8; bit 7: [`DIGEST_RIDES`], bit 6:
/// [`HEARS_RIDES`]), the digest riding if any, the relays-heard list if any (a count up to
/// [`HEARS_LEN`], then 2-byte addresses), `n` lifetimes of `life_len` bytes, then the `n`
/// entries. `None`: malformed (a count that is 0, over `max` or not the number of entries;
/// a list longer than [`HEARS_LEN`]; anything cut short).
fn counted_entries(body: &[u8], max: usize, life_len: usize) -> Option<Counted<'_>> {
    let (&count, rest) = body.split_first()?;
    let n = usize::from(count & !(DIGEST_RIDES | HEARS_RIDES));
    if n == 0 || n > max {
        return None;
    }
    let rides = if count & DIGEST_RIDES != 0 {
        recon::wire::DIGEST_LEN
    } else {
        0
    };
    let (digest, rest) = rest.split_at_checked(rides)?;
    let (hears, rest) = if count & HEARS_RIDES != 0 {
        let (&m, rest) = rest.split_first()?;
        let m = usize::from(m);
        if m > HEARS_LEN {
            return None;
        }
        rest.split_at_checked(m * 2)?
    } else {
        (&[][..], rest)
    };
    let (lives, rest) = rest.split_at_checked(n * life_len)?;
    let entries = Entries::new_checked(rest).ok()?;
    (entries.count() == n).then_some(Counted {
        digest,
        hears,
        lives,
        entries,
    })
}

/// Writes the entry count `n` (with [`DIGEST_RIDES`] if `digest` is not empty, and
/// [`HEARS_RIDES`] if `hears` is not empty), the `digest` and the `hears` list at the start
/// of `out`; their length, or `None` if `out` is too short or `n` does not fit below the flags.
fn write_entry_count(out: &mut [u8], n: usize, digest: &[u8], hears: &[NodeAddr]) -> Option<usize> {
    let mut count = u8::try_from(n).ok().filter(|&n| n < HEARS_RIDES)?;
    if !digest.is_empty() {
        count |= DIGEST_RIDES;
    }
    if !hears.is_empty() {
        count |= HEARS_RIDES;
    }
    let (c, rest) = out.split_first_mut()?;
    *c = count;
    let (d, rest) = rest.split_at_mut_checked(digest.len())?;
    d.copy_from_slice(digest);
    if hears.is_empty() {
        return Some(1 + digest.len());
    }
    let (m, rest) = rest.split_first_mut()?;
    *m = u8::try_from(hears.len()).ok()?;
    for (dst, a) in rest
        .get_mut(..hears.len() * 2)?
        .chunks_exact_mut(2)
        .zip(hears)
    {
        dst.copy_from_slice(&a.0.to_le_bytes());
    }
    Some(1 + digest.len() + 1 + hears.len() * 2)
}

/// Writes the head of a [`FORWARD`] body into `out`: next hop `to`, the ack count and `acks`,
/// the `digest` riding (empty: none), the entry count and the entries' lifetimes left
/// (`lives`, [`FORWARD_LIFE_LEN`] bytes each). Returns its length: the entries follow.
/// `None` if `out` is too short.
fn write_forward_head(
    out: &mut [u8],
    to: NodeAddr,
    acks: &[ShortId],
    digest: &[u8],
    hears: &[NodeAddr],
    lives: &[u8],
) -> Option<usize> {
    let to = to.0.to_le_bytes();
    let (fixed, rest) = out.split_at_mut_checked(FORWARD_FIXED_LEN)?;
    fixed.copy_from_slice(&[to[0], to[1], u8::try_from(acks.len()).ok()?]);
    let (ack_bytes, rest) = rest.split_at_mut_checked(acks.len() * SHORT_ID_LEN)?;
    for (dst, a) in ack_bytes.chunks_exact_mut(SHORT_ID_LEN).zip(acks) {
        dst.copy_from_slice(&a.0.to_le_bytes());
    }
    let counted = write_entry_count(rest, lives.len() / FORWARD_LIFE_LEN, digest, hears)?;
    rest.get_mut(counted..counted + lives.len())?
        .copy_from_slice(lives);
    Some(FORWARD_FIXED_LEN + acks.len() * SHORT_ID_LEN + counted + lives.len())
}

/// Whether a forward of this item alone fits one frame (otherwise it goes in fragments).
fn forward_fits_one_frame(item_len: usize) -> bool {
    HEADER_LEN + FORWARD_FIXED_LEN + 1 + FORWARD_LIFE_LEN + 1 + item_len <= MAX_FRAME_LEN
}

/// Add entry number `n` (custody item or rider) to the forward being built, with its
/// lifetime left, when both fit the `room` of the body: whether it was added.
fn push_forward_entry(
    b: &mut EntriesBuilder<'_>,
    lives: &mut [u8],
    n: usize,
    room: usize,
    kind: ItemKind,
    bytes: &[u8],
    left: [u8; FORWARD_LIFE_LEN],
) -> bool {
    // Each entry also takes its lifetime left on air.
    let fits = b.len() + b.cost(bytes.len()) + (n + 1) * FORWARD_LIFE_LEN <= room;
    let Some(life) = lives.get_mut(n * FORWARD_LIFE_LEN..(n + 1) * FORWARD_LIFE_LEN) else {
        return false;
    };
    if fits && b.try_push(kind, bytes) {
        life.copy_from_slice(&left);
        true
    } else {
        false
    }
}

/// Seconds left until `expires` on air, rounded up (an unexpired item never goes out with 0,
/// which would mean "expired on its way"; a hop adds at most a second), saturating at the
/// `u24` of the wire.
fn forward_life_left(expires: u64, now: u64) -> [u8; FORWARD_LIFE_LEN] {
    let secs = expires
        .saturating_sub(now)
        .div_ceil(1_000_000)
        .min((1 << 24) - 1);
    let b = secs.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// The 64-bit prefix of an item's signer key (first 8 bytes, little-endian) that the member
/// filter and the per-signer quota use; a DUBP document counts for its first issuer.
pub fn signer_prefix(item: &Item<'_>) -> u64 {
    let key: Option<&[u8; 32]> = match item {
        Item::Extrinsic(x) => Some(x.signer()),
        Item::Dubp(d) => d.issuers().next(),
    };
    let mut b = [0u8; 8];
    if let Some(k) = key {
        for (d, s) in b.iter_mut().zip(k.iter()) {
            *d = *s;
        }
    }
    u64::from_le_bytes(b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Acks,
    Advert,
    Items,
    /// gossip.rs: a reconciliation body; broadcast items or one signed receipt.
    Recon,
    Broadcast,
    /// The next fragment of a fragmented forward (the first goes as [`Due::Items`]).
    Fragment,
}

/// The index entry of a stored record, its transmit timer at `now` (a receipt is marked as one).
fn slot_of(epoch: u64, now: u64, r: &Record, state: u8) -> Slot {
    let mut slot = Slot::new(
        r.id.short(),
        seconds(epoch, r.expires),
        ticks(epoch, now),
        r.priority,
        r.hop_limit,
        state,
    );
    if gossip::is_receipt(r.kind) {
        slot.mark_receipt();
    }
    slot
}

/// What [`Engine::store_new`] stores: a verified item or a verified signed receipt.
struct NewEntry<'a> {
    id: ItemId,
    kind: ItemKind,
    bytes: &'a [u8],
    priority: Priority,
    bcast: bool,
    hop_limit: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_entry_is_16_bytes() {
        assert_eq!(core::mem::size_of::<Slot>(), 16);
    }
}
