//! # Broadcast class: certifications and signed receipts reach every node
//!
//! The custody path (`mod.rs`) moves payments one hop at a time towards a bridge. This module
//! adds what every node must hold, and the neighbour reconciliation that repairs it:
//!
//! - **Broadcast items** (certifications, [`is_broadcast`]) are verified like any item, stored,
//!   and rebroadcast **once along the gradient tree**: by their origin (at once), by bridges,
//!   and by the interior nodes of the tree, i.e. nodes some neighbour's last forward named as
//!   parent (`Engine::tree_relay`). Leaves never rebroadcast: every routed node heard its
//!   parent (that is how it learnt its route), so the interior nodes reach every routed node
//!   (50 nodes, seed 3: 12.6 → 6.4 frames per item with settle 120 s; 7.9 with the 30 s settle kept for coverage).
//!   Fewer interior nodes means fewer rebroadcasts, so among parents of equal cost a node
//!   joins one it overheard relaying for others (`mod.rs`, `choose_parent`). A **leaf** that
//!   got the item from another node than its parent (a sibling relay, or a node of another
//!   bridge's tree) passes it up after 40–80 s unless a second copy (its parent's, usually)
//!   is heard first: the trees of several bridges join, and a parent that is no relay yet
//!   still gets it (200 nodes seed 2 had a half of the mesh cut off from certifications for
//!   the last 1.5 h without it, coverage 0.95; 1000 nodes coverage 0.977–0.990 → 0.992–0.997).
//!   The rebroadcast is a [`BROADCAST`] frame (each entry's lifetime left, then the entries)
//!   due after a delay within [`RELAY_WINDOW_US`], which then **waits up to
//!   [`BATCH_HOLD_US`] (2 min) for a second item to share its frame**: two 112-byte
//!   certifications fit one, and the oracle counts one item per transmission (50 nodes,
//!   seeds 1–12: 2.21 → 1.79 × greedy; 200 nodes 3.55 → 2.54 ×). Hearing [`BROADCAST_K`] (3)
//!   copies meanwhile cancels it (k = 2 cancelled relays a child needed: coverage 0.91
//!   against 0.95; with the hold, k = 2 is no cheaper). Nodes that add coverage go first:
//!   a tree relay's delay falls with the number of its targets left uncovered (below), any
//!   other's grows with the SNR of the copy received, plus a random part. A reconciliation
//!   push is due at once. **A rebroadcast due within [`RIDE_AHEAD_US`] (1 min) rides in a
//!   custody forward** that goes now with room for it (a booked payment of 89 bytes and a
//!   certification share a frame): every neighbour that hears the forward takes the copy
//!   as from a Broadcast frame (`Counters::bcast_rides`; 50 nodes seeds 1–40: 1.337 → 1.255
//!   × greedy). A payment waiting in its pair hold goes early so that a due rebroadcast
//!   rides in it (`mod.rs`, "Own payments wait longer"). A bridge hands a broadcast item
//!   to its uplink too. A relay role set from outside ([`Engine::with_relay_role`])
//!   replaces the tree rule and the leaf pass-up: with the greedy relay set computed from
//!   the true links (`toile sim --relays oracle`, a what-if), 50 nodes seeds 1–12 go
//!   1.216 → 1.158 × greedy (riders included; 1.295 → 1.223 × before them): what a better
//!   relay set could still save.
//! - **Covered neighbours**: a tree relay's rebroadcast is for its children and its parent
//!   (its *targets*), and a target that hears a node already heard sending the item has it.
//!   Every forward a node sends says which relays it hears ([`super::HEARS_RIDES`]: up to
//!   [`super::HEARS_LEN`] addresses, its parent first, then the neighbours heard sending a
//!   rebroadcast or receipt in the last hour, strongest first; sent when the list changed or
//!   is 30 minutes old, and kept by every neighbour that hears it). When a tree relay stores
//!   an item from the air, the targets that hear the sender are covered; each copy heard
//!   while the rebroadcast waits covers the targets that hear its sender; once every target
//!   is covered the rebroadcast is cancelled (`Counters::bcast_covered`). The parent is
//!   covered only by its own copy: a relay passes up what it got from below unless it hears
//!   its parent send it (covering the parent by its list left certifications to
//!   reconciliation when a collision took the parent's copy: 50 nodes, seeds 1–100, late
//!   certifications 45 against 31). A leaf that got the item from another node than its
//!   parent does not pass it up when its parent's list names that node. Up to 8 waiting
//!   rebroadcasts are tracked (the oldest is forgotten, then sent unless [`BROADCAST_K`]
//!   copies cancel it); a relay that knows no target (a bridge nobody forwarded to yet)
//!   relays as before. 50 nodes, seeds 1–12: broadcast frames 1.99 → 1.76 per item,
//!   receipts 0.59 → 0.50, 1.513 → 1.414 × greedy; seeds 1–100: 1.537 → 1.466 ×.
//! - **Greedy cover order**: a relay whose rebroadcast (certification or receipt) has `u`
//!   targets left uncovered waits [`COVER_ORDER_US`] / `u` (60 s / `u`) plus a random part
//!   up to 10 s, and each copy heard that leaves some uncovered makes it wait again, from
//!   then, for the ones left (a certification's batch hold then counts from the new time).
//!   So the relays that reach the most go first, like the oracle's greedy relay set, and a
//!   relay with few targets more often hears them covered before its turn and stays
//!   silent. (With the delay from the copy's SNR, relays went in about random order: on
//!   seeds 3 and 16 a relay that sent a receipt still had 1.8–2.4 of its 2.6–3.0 children
//!   uncovered, and 13 relays sent nearly every receipt where the greedy set over two-way
//!   links needs 9–11.) 50 nodes, seeds 1–12: broadcast frames 1.50 → 1.39 per item,
//!   receipts 0.49 → 0.47, 1.158 → 1.105 × greedy; seeds 1–200: 1.156 → 1.112 ×, 169 →
//!   183 seeds meeting every target; 200 nodes 1.46 → 1.42 ×. The order at the first copy
//!   only gave 1.147 × on seeds 1–100 (against 1.121). Leaves that never passed receipts up
//!   (they come from bridges) cut receipt coverage to 0.61 at 1000 nodes, where several
//!   bridges' trees meet, so they still do.
//! - **An own item is confirmed**: the origin sends it at once (a crash during a hold would
//!   leave it to reconciliation alone: 1000 nodes seed 2 lost one so) and, while it has a
//!   parent, keeps it scheduled: unless a copy from its parent or from nearer a bridge is
//!   heard within [`CONFIRM_US`] (3 to 4.5 min, longer than the parent's delay and hold) it
//!   sends it again, twice at most. Its parent's rebroadcast is its only way to a bridge,
//!   and one collision there left a certification to a reconciliation 48 minutes later.
//!   (Confirming the relays' rebroadcasts too cost more frames than it saved.)
//! - **Lifetime on air**: a broadcast item lives [`BROADCAST_TTL_US`] (2 h) from its
//!   origin, not from each store: a [`BROADCAST`] frame gives every entry its seconds left
//!   (a Receipt frame its one), and a receiver keeps it no longer. The index keeps expiries
//!   to the second, so every node drops an item within about a second of the others.
//!   Restarting the lifetime at each store let a copy pushed late outlive the others and
//!   come back to nodes that had dropped it (50 nodes seed 7: single items pushed 120 times
//!   over 7 hours). Whole minutes on air (the least of a frame's entries) and in the index
//!   left neighbours' sets differing around nearly every expiry: half the pushes sessions
//!   asked for were of items with less than 30 minutes left. A copy with 0 seconds left is
//!   dropped. Items that arrive in plain Items frames (from a host, an older
//!   node) get the whole lifetime.
//! - **Reconciliation on air** ([`crate::recon`]) over the set of broadcast items at least
//!   [`MATURE_US`] (10 min) old, counted from their origin (the expiry less the lifetime):
//!   an item joins the reconciled set at the same second on every node that holds it, and
//!   younger ones, still spreading by rebroadcast (a relay holds one up to [`BATCH_HOLD_US`]
//!   at every hop), no longer make neighbours differ (pushes refused because the item was
//!   about to be rebroadcast: 168 → 19 on 50-node seed 6). A digest
//!   ([`DIGEST_FRAME_LEN`] bytes) goes out at a random point of the second half of each
//!   Trickle interval: [`TRICKLE_MIN_US`] after a restart (the node may have missed
//!   items), then [`TRICKLE_MAX_US`] (doubling from the shortest cost six digests per
//!   restart, a third of all digests at 50 nodes). Interior nodes and bridges always send
//!   it: they check their parent and children. A leaf sends none while it heard its
//!   parent's digest within [`TRICKLE_MAX_US`] × 1.5, consistent or not (an inconsistent
//!   one started the session that checks the pair). A node without a route relays only
//!   from [`super::BLIND_WAIT_US`] after it lost it (below, "Without route"), so
//!   reconciliation also carries certifications across a mesh without bridges: it checks
//!   again at once when its reconciled set gains an item (maturity, a late copy). A digest
//!   falling while the set settles ([`SETTLE_US`] after a late copy) waits for it rather
//!   than being dropped. A neighbour whose set differs answers if the digest
//!   came over one of its tree edges (from its parent, a child, or a node without route),
//!   so sessions are pairwise with small differences and no neighbourhood answers at once.
//!   The answer is the neighbour's own sketch (one frame, from which the digest's sender
//!   decodes, pushes and asks), and the items found missing are rebroadcast (the Push of
//!   the reconciler schedules the ordinary rebroadcast, so one frame serves every
//!   neighbour that lacks it). Sketch and decode workspaces live on the stack during a
//!   decode, not in the engine.
//! - **Without route**: a node that has had no route for [`super::BLIND_WAIT_US`] (its
//!   solicitations went unanswered: a mesh without bridge, or a pocket) relays the broadcast
//!   items it stores from the air like a leaf: after the delay from the copy's SNR, unless a
//!   copy is heard first. One that hears at most [`super::POCKET_NEIGHBOURS`] other node
//!   (two route-less nodes that hear only each other) also repeats it, like an origin its
//!   own ([`CONFIRM_US`], at most twice), until a copy is heard: a one-way link out of the
//!   pocket is its only way to the mesh, it cannot hear whether the item got through, and
//!   the node at its far end may be away. (1000 nodes seed 1: a certification reached its
//!   origin's only neighbour and stayed there, since that node relayed nothing without
//!   route; the one node that hears it was not listening for its one relay. Now 0
//!   lost, within 6 h 0.9992 → 1.0, 1.963 → 1.990 × greedy; seeds 2–5 and 200 nodes
//!   seeds 1–5 the same.) In a 50-node mesh without bridge (the simulator's bridges made
//!   plain nodes, seeds 1–3), where reconciliation alone carried certifications, frames
//!   per item fall 18.8 → 12.9 (reconciliation 15.1 → 9.6, broadcasts 3.0 → 2.6), coverage
//!   1.0 both. (Relaying as soon as the route was lost, at an earlier stop, changed little
//!   at 50 nodes and lost 2 payments on 200-node seed 1.)
//! - **Digests ride**: a custody forward or a broadcast frame that has
//!   [`recon::wire::DIGEST_LEN`] (17) bytes to spare carries the node's digest when one is
//!   queued, or when this Trickle interval's is still to come and would be sent now; that
//!   is the interval's digest (`Counters::digest_rides`), so a busy node sends one per
//!   interval as before, only in a frame it sends anyway. The entry count's
//!   bit 7 ([`super::DIGEST_RIDES`]) says so, and the digest follows the count. A receiver
//!   handles it after the frame's items, like a Reconcile digest from the sender. It costs
//!   17 bytes on a frame going out anyway instead of a 21-byte frame of its own (with its
//!   preamble and header: 0.40 s at LongFast against 0.13 s). 50 nodes, seeds 1–12: digest
//!   frames 0.208 → 0.042 per item, 1.552 → 1.512 × greedy, within the hour ≥ 0.9992 on
//!   every seed, sessions ≤ 11.3 B per differing item on every seed (14.1 before, seed 6).
//! - **Signed receipts** ([`FrameKind::Receipt`], [`Receipt`]) reach every node: a bridge
//!   configured with a key ([`Engine::with_receipt_key`]) batches the short ids of the
//!   payments its uplink confirmed ([`Engine::handle_receipt`]; a certification is never
//!   named, its receipt deletes nothing) for [`RECEIPT_HOLD_US`] (1 h) or until
//!   [`RECEIPT_IDS`] (22) are queued, signs them with Ed25519 and **stores the receipt like a
//!   certification**: its body goes in the store under [`RECEIPT_KIND`] with the id
//!   [`receipt_id`] (blake2-256 of the body), it joins the reconciled set, and it is
//!   rebroadcast along the tree (origin at once, tree relays, the leaf rule, k = 3), alone
//!   in a Receipt frame. A node configured with the bridges' public keys
//!   ([`Engine::with_bridge_keys`]) verifies a new receipt, deletes the payments it names and
//!   stores it the same way; a copy of a held receipt counts towards cancelling the
//!   rebroadcast. So a node that was away or restarted gets it by reconciliation, and a
//!   power cut loses none (it is in the store). Receipts expire with the broadcast lifetime.
//!   50 nodes, seeds 1–5: 0.9985–1.0 of (receipt, node) pairs reached within the hour, for
//!   0.61–0.66 receipt frames per item. (Passing them only down the receipted payments'
//!   paths cost 0.18–0.24 and reached 0.58–0.71 of the pairs; 0.15 at 200 nodes.) A 10-min
//!   hold cost 8 receipt frames per item at 200 nodes (four bridges, few ids each) and 232
//!   at 1000; the 1-h hold fills receipts better. A receipt that does not parse or verify
//!   is counted and dropped without any other effect.
//! - **A bridge's confirmed payments stay in its store until a receipt names them**: the
//!   uplink's confirmation marks the payment (`Record::handed_over`, which for a bridge
//!   means on chain) instead of deleting it, and the payments a signed receipt names leave
//!   the store once the receipt is stored. After a power cut the bridge queues the marked
//!   ones again (and does not hand them to its uplink again), and ids a full queue had no
//!   room for go in the next receipt. The queue used to be RAM only: a power cut within
//!   the hold, or a confirmation arriving while the queue was full, left those payments
//!   unnamed, and every copy of them in the mesh waited for expiry (24 h). 50 nodes, seeds
//!   1–8 (10 % churn per hour, bridges included): payments on chain for over 2 h that some
//!   node still held at the end, 7–29 per run → 2–8, for 0.475 → 0.482 receipt frames
//!   per item (seeds 1–40).
//!
//! Every gossip frame (reconciliation, rebroadcast, receipt) is [`Priority::Low`] and is due
//! only when no custody frame is: payments are never crowded out (the low class may also use
//! only 70 % of the duty budget). A rebroadcast or receipt kept waiting [`STARVE_US`] (2 min)
//! past its time goes before custody frames once, if the low class's budget holds it: a hub
//! next to a bridge always has one due (50 nodes seed 16: a hub's own certifications waited
//! 2.6 hours; seeds 1–100, after the rescue of one-way senders: certifications late at a
//! bridge 55 → 18, items never delivered 47 → 28, seeds under 0.999 within the hour 11 → 7,
//! 1.58 × greedy; seed 70, congested, 0.9639 → 0.8942, payments late, none lost).
//!
//! ## Hooks in `mod.rs`
//! `handle_frame` (Reconcile and Receipt arms, and `handle_item` for broadcast items),
//! `handle_timeout`, `handle_receipt`, `restart`, `store_new`, `expire` / `make_room` (set
//! removals), `due` / `build` / `commit` (the [`Due`] kinds `Recon` and `Broadcast`),
//! `poll_timeout`.
//!
//! A receipt does not delete a broadcast item: every node is still owed it, so it keeps its
//! bytes (and its place in the reconciled set, which is the same on every node) until
//! [`BROADCAST_TTL_US`] (2 h) after its origin; an expired id is remembered so a late copy
//! is refused, and an item with less than 30 minutes left is not pushed. (Receipts used to
//! delete the bytes and keep a tombstone: a node that missed the item could never get it, and
//! nodes with and without the tombstone differed for 24 h, 39 differences per session.)
//! An item this node sent in the last 2 minutes is not pushed. The 2 heard bits
//! of a slot count copies heard while its rebroadcast waits, then (reset when it is
//! cancelled) reconciliation pushes: sharing them once forbade every push of an item whose
//! rebroadcast 3 copies had cancelled, so sessions found the difference and sent nothing.

//! A receipt naming an id the node never held is not remembered: it may name a certification
//! not received yet, and remembering it refused every later copy and push of it.
//!
//! Measured (`python3 tests/sweep.py --nodes N`, seeds 1–5 at 50 nodes, 1–3 at 200 and 1000):
//! certification coverage within the deadline 0.9985–0.9999 at 50 nodes, 0.9978–0.9996 at
//! 200 (a node not reached within the 2-h lifetime of an item is not reached at all);
//! receipt coverage 0.9976–1.0 and 0.9986–0.9995 (within 3 h). Reconciliation costs
//! 9.1–10.7 B per item at 50 nodes, digests included (20.4–27.0 before expiries agreed and
//! the set waited for maturity); sessions cost 10.7–13.8 B per differing item at 50 nodes
//! and 13.3–14.2 at 200, **over B6's 12 B**: the differences left are real misses, mostly
//! of 3 or more items (a sketch of 6 power sums and a Want), where before many were
//! single items in flight or expiring that the digest alone decoded (7.8–9.9 B then).
//! Receipts reaching every node cost +3–16 % frames at 50 nodes, +7–59 % at 200 and
//! +24–34 % at 1000 against the path-only rule (measured before the batching hold).

//! ## Not done
//! Sessions cost more than B6's 12 B per differing item (above). Ideas not kept: dropping an
//! answer when another neighbour's sketch to the same digest is overheard (9.8–11.6 B, but
//! coverage 0.9943 and a missed certification on seeds 1–12), sizing the answer by the set
//! sizes alone (no better). Receipts cost airtime in proportion to the mesh: every node
//! gets every receipt, and at 1000 nodes with many bridges a receipt carries few ids.
//! Digests piggybacked on frames that go anyway (branch `piggy`, a frame trailer) saved 1 %
//! of frames at 50 nodes and cost 18 % more at 200 (more sessions), so they are not merged.
//! At 1000 nodes, seed 1, a certification injected in a two-node pocket whose links to the
//! mesh are one-way never leaves it.

use heapless::Vec;

use crate::DecodeError;
use crate::crypto;
use crate::error::ErrorKind;
use crate::item::v2s::CallKind;
use crate::item::{Item, ItemId, ItemKind, ShortId};
use crate::radio::{Body, EntriesBuilder, FrameKind, FrameRepr, HEADER_LEN, MAX_FRAME_LEN};
use crate::recon::{self, Reconciler};

use super::slot::{MINUTE_US, REBASE_AFTER_US, RELAY, Slot, ticks};
use super::{Due, Engine, Event, Priority, SHORT_ID_LEN, Store};

/// Pending tree-relay rebroadcasts whose targets' coverage is tracked at once.
const COVER_LEN: usize = 8;
/// Copies of a broadcast item (or receipt) heard while our rebroadcast waits that cancel it.
pub const BROADCAST_K: u8 = 3;
/// Rebroadcast delay window (µs) of an item received from the air.
pub const RELAY_WINDOW_US: u64 = 20_000_000;
/// A tree relay's rebroadcast waits this (µs) divided by the number of its targets still
/// uncovered, plus a random part (half of [`RELAY_WINDOW_US`]), and again from each copy
/// heard while some are left: relays that reach the most go first (greedy cover order).
pub const COVER_ORDER_US: u64 = 60_000_000;
/// How long a due rebroadcast of a broadcast item waits for a second one to share its frame
/// (µs): two 112-byte certifications fit one frame, and the oracle counts one per frame.
pub const BATCH_HOLD_US: u64 = 120_000_000;
/// An own broadcast item is sent again when no copy from nearer a bridge was heard within
/// this (µs) of sending it, at most [`CONFIRM_TRIES`] times: its way to a bridge is the
/// rebroadcast of its parent, which a collision may have cost.
pub const CONFIRM_US: u64 = 180_000_000;
/// How long (µs) a due rebroadcast or receipt may wait behind custody frames before it goes
/// first: they are due only when no custody frame is, and a hub next to a bridge always has
/// one (50 nodes seed 16: an own certification waited 2.6 hours and never reached the
/// bridge within the hour).
pub const STARVE_US: u64 = 120_000_000;
/// Re-sends of an own broadcast item whose parent's copy was not heard.
const CONFIRM_TRIES: u8 = 2;
/// Shortest Trickle interval of the "are we in sync" digest (µs).
pub const TRICKLE_MIN_US: u64 = 30_000_000;
/// Longest Trickle interval (µs), the one after a restart's check: an interior node sends
/// one digest per this; a leaf that hears its parent's sends none.
pub const TRICKLE_MAX_US: u64 = 32 * 60_000_000;
/// A reconciled set that gained a late copy less than this ago (µs) is still settling: a
/// digest waits, and a neighbour's is not answered.
pub const SETTLE_US: u64 = 30_000_000;
/// Reconciliation pushes of one item by one node (its heard count saturates at 3).
const RECON_PUSHES: u8 = 3;
/// An item sent less than this ago (0.1 s ticks: 2 min) is in flight, not missing: a
/// neighbour's digest that lacks it does not trigger a push.
const PUSH_HOLDOFF_TICKS: u32 = 1_200;
/// How long a broadcast item is held and reconciled (µs): its receipt does not delete it
/// (a node that missed it is still owed it), the end of this lifetime does.
pub const BROADCAST_TTL_US: u64 = 2 * 3_600_000_000;
/// An item with less lifetime left than this (µs) is not pushed: neighbours that stored it
/// earlier have dropped it (and remember it), so the push would be wasted airtime.
const PUSH_MARGIN_US: u64 = 30 * 60_000_000;
/// A leaf that heard its parent's digest (consistent or not: either way the pair was
/// checked, an inconsistent one by the session the leaf answered) this recently sends none
/// of its own (µs): the longest gap between two digests of an interior node, which is never
/// suppressed.
const LEAF_QUIET_US: u64 = TRICKLE_MAX_US + TRICKLE_MAX_US / 2;
/// A rebroadcast due within this time rides in a custody forward that goes now, in the room
/// the payment leaves (a booked payment and a certification share a frame): the forward goes
/// anyway, and every neighbour that hears it takes the copy. 50 nodes seeds 1–40: 1.337 →
/// 1.255 × greedy (due now: 1.271; 20 s: 1.265; 90 s: 1.258; any waiting one: 1.263).
pub const RIDE_AHEAD_US: u64 = 60_000_000;
/// Differences one reconciliation session resolves (sketch capacity).
pub const RECON_CAP: usize = 128;
/// A digest's answers are spread over this many times the time on air of an
/// [`ANSWER_FRAME_LEN`]-byte frame (LongFast: 8 × 0.48 s). Neighbours of the digest's sender
/// that do not hear each other sense a free channel and answer together: on a 50-node run
/// (seed 3) 54 of 223 Sketch frames collided at their addressee, 36 of them with another
/// Sketch. With the spread, and an answer dropped when another neighbour's is heard first
/// ([`Reconciler::with_answer_window`]), 50 nodes seeds 1–12 went from 10.8 to 8.8 B per
/// differing item (16 slots: 9.0, 30 slots: 8.3 B but 1.313 against 1.295 × greedy).
pub const ANSWER_SLOTS: u64 = 8;
/// The length of a typical Sketch frame (header, 6 fields, 6 power sums).
pub const ANSWER_FRAME_LEN: usize = 32;

/// How long a digest's answers are spread over (µs) for this modulation.
pub fn answer_window(m: &super::duty::Modulation) -> u64 {
    m.time_on_air_us(ANSWER_FRAME_LEN)
        .saturating_mul(ANSWER_SLOTS)
}
/// Bytes of the digest frame (radio header + digest body): the idle check.
pub const DIGEST_FRAME_LEN: usize = HEADER_LEN + recon::wire::DIGEST_LEN;
/// Item ids per receipt: (255 − 4 header − 1 lifetime − 4 seq − 64 signature) / 8.
pub const RECEIPT_IDS: usize =
    (MAX_FRAME_LEN - HEADER_LEN - LIFE_LEN - RECEIPT_FIXED_LEN) / SHORT_ID_LEN;
/// How long a bridge batches confirmed ids before signing a receipt (µs).
pub const RECEIPT_HOLD_US: u64 = 3_600_000_000;
/// Receipt bytes besides the ids: sequence number (4) and signature (64).
const RECEIPT_FIXED_LEN: usize = 4 + 64;
/// Largest receipt body.
const RECEIPT_MAX_BODY: usize = RECEIPT_FIXED_LEN + RECEIPT_IDS * SHORT_ID_LEN;
/// The store's record kind of a signed receipt body. Receipts travel in
/// [`FrameKind::Receipt`] frames, never as item entries ([`Item::parse`] refuses this kind).
pub const RECEIPT_KIND: ItemKind = ItemKind::Unknown(0x52);
/// Domain separation of the signed receipt message.
const RECEIPT_DOMAIN: &[u8; 16] = b"toile receipt v1";

/// The frame kind of rebroadcast items: body = entry count `n` (u8, 1 to
/// [`BROADCAST_MAX_ENTRIES`]; bit 7, [`super::DIGEST_RIDES`]: the sender's digest follows,
/// [`recon::wire::DIGEST_LEN`] bytes; bit 6, [`super::HEARS_RIDES`]: then the relays it hears,
/// as in a forward, which is the only frame this engine sends them in), each entry's seconds
/// of lifetime left (`u16` LE × n), then
/// the `n` item entries ([`crate::radio::Entries`]). Engine-defined, like
/// [`super::FORWARD`]. A receiver keeps an item no longer than that, so every copy of an item
/// expires within about a second of the others wherever it is stored (a lifetime restarted at each store
/// let a copy pushed late outlive the others and come back to nodes that had dropped it:
/// 50 nodes seed 7, single items pushed 120 times over 7 hours).
pub const BROADCAST: FrameKind = FrameKind::Unknown(8);
/// Bytes of a lifetime left on air (seconds, `u16` little-endian).
pub const LIFE_LEN: usize = 2;
/// Unit of the lifetime left on air (µs): a second.
const LIFE_UNIT_US: u64 = 1_000_000;
/// Most entries of a [`BROADCAST`] frame (two certifications fit one).
pub const BROADCAST_MAX_ENTRIES: usize = 4;
/// Room kept before the entries while they are packed: the count and the most lifetimes (a
/// digest that rides moves the entries further when the frame has room for it).
const LIVES_ROOM: usize = 1 + LIFE_LEN * BROADCAST_MAX_ENTRIES;

/// Seconds left until `expires` (saturating at the `u16` of the wire).
fn life_left(expires: u64, now: u64) -> u16 {
    u16::try_from(expires.saturating_sub(now) / LIFE_UNIT_US).unwrap_or(u16::MAX)
}

/// A lifetime left from the wire (seconds, little-endian: the `u16` of a rebroadcast or a
/// receipt frame, the `u24` of a custody forward), in µs.
pub(super) fn life_us(wire: &[u8]) -> u64 {
    let secs = wire
        .iter()
        .rev()
        .fold(0u64, |a, &b| (a << 8) | u64::from(b));
    secs * LIFE_UNIT_US
}

/// Age (µs, from its origin) at which a broadcast entry joins the reconciled set. Younger
/// ones are still spreading by rebroadcast (a relay holds one up to [`BATCH_HOLD_US`] plus
/// its delay at every hop): counted, neighbours would differ on them most of the time and
/// sessions would find only items already on their way.
pub const MATURE_US: u64 = MATURE_MIN * 60_000_000;
const MATURE_MIN: u64 = 10;

/// When a broadcast entry joins the reconciled set: [`MATURE_US`] after its origin, i.e.
/// after its expiry less [`BROADCAST_TTL_US`] (expiries agree between nodes to the second:
/// the lifetime left travels with every copy).
fn matures_at(s: &Slot, epoch: u64) -> u64 {
    s.expires_us(epoch)
        .saturating_sub(BROADCAST_TTL_US)
        .saturating_add(MATURE_US)
}

/// Put a broadcast entry in the reconciled set if it is old enough and not there yet;
/// whether it joined now.
fn join_if_mature(recon: &mut Reconciler<RECON_CAP>, s: &mut Slot, epoch: u64, now: u64) -> bool {
    if !s.broadcast() || s.reconciled() || matures_at(s, epoch) > now {
        return false;
    }
    s.mark_reconciled();
    recon.insert(s.short());
    true
}

/// The next instant a slot changes by itself: a broadcast entry's maturity while it waits
/// for it, else its expiry (which comes later).
pub(super) fn slot_deadline(s: &Slot, epoch: u64) -> u64 {
    if s.broadcast() && !s.reconciled() {
        matures_at(s, epoch)
    } else {
        s.expires_us(epoch)
    }
}

/// Whether an item belongs to the broadcast class (reaches every node): certifications.
pub fn is_broadcast(item: &Item<'_>) -> bool {
    matches!(item, Item::Extrinsic(x) if x.call().kind() == CallKind::Certification)
}

/// [`is_broadcast`] for stored bytes (a stored receipt is broadcast too).
pub(super) fn is_broadcast_bytes(kind: ItemKind, bytes: &[u8]) -> bool {
    is_receipt(kind) || Item::parse(kind, bytes).is_ok_and(|i| is_broadcast(&i))
}

/// Whether a store record is a signed receipt ([`RECEIPT_KIND`]).
pub fn is_receipt(kind: ItemKind) -> bool {
    kind == RECEIPT_KIND
}

/// The content id of a receipt body (its [`ShortId`] is what reconciliation and the store use).
pub fn receipt_id(body: &[u8]) -> ItemId {
    ItemId(crypto::blake2_256(body))
}

/// A signed receipt: `seq u32 LE | short ids 8 × n (n ≥ 1) | Ed25519 signature 64`. A
/// [`FrameKind::Receipt`] frame's body is its lifetime left (seconds, `u16` LE, as in
/// [`BROADCAST`]) followed by the receipt. The signature covers
/// `"toile receipt v1" | seq | ids`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt<'a> {
    pub seq: u32,
    /// The ids, 8 little-endian bytes each.
    ids: &'a [u8],
    pub signature: &'a [u8; 64],
}

impl<'a> Receipt<'a> {
    /// Check a body (length only; [`Receipt::verify`] checks the signature).
    pub fn parse(body: &'a [u8]) -> Result<Self, DecodeError> {
        let bad = DecodeError::new(0, ErrorKind::OutOfRange);
        let (seq, rest) = body.split_first_chunk::<4>().ok_or(bad)?;
        let split = rest.len().checked_sub(64).ok_or(bad)?;
        let (ids, sig) = rest.split_at_checked(split).ok_or(bad)?;
        let signature: &[u8; 64] = sig.try_into().map_err(|_| bad)?;
        if ids.is_empty() || ids.len() % SHORT_ID_LEN != 0 || ids.len() > RECEIPT_IDS * 8 {
            return Err(bad);
        }
        Ok(Self {
            seq: u32::from_le_bytes(*seq),
            ids,
            signature,
        })
    }

    pub fn ids(&self) -> impl Iterator<Item = ShortId> + 'a {
        self.ids.chunks_exact(SHORT_ID_LEN).map(|c| {
            let mut b = [0u8; SHORT_ID_LEN];
            b.copy_from_slice(c);
            ShortId(u64::from_le_bytes(b))
        })
    }

    /// Whether one of `keys` signed it (checked by `ed25519`, e.g. [`super::Verifier::REAL`]'s).
    pub fn verify(
        &self,
        keys: &[[u8; 32]],
        ed25519: fn(&[u8; 32], &[u8; 64], &[u8]) -> bool,
    ) -> bool {
        let mut msg = [0u8; 16 + 4 + RECEIPT_IDS * SHORT_ID_LEN];
        let len = signed_message(&mut msg, self.seq, self.ids);
        let Some(m) = msg.get(..len) else {
            return false;
        };
        keys.iter().any(|k| ed25519(k, self.signature, m))
    }

    /// Sign `ids` (at most [`RECEIPT_IDS`]) with `seed` into `out`; the body length.
    pub fn sign(seed: &[u8; 32], seq: u32, ids: &[ShortId], out: &mut [u8]) -> Option<usize> {
        let n = ids.len();
        if n == 0 || n > RECEIPT_IDS {
            return None;
        }
        let mut raw = [0u8; RECEIPT_IDS * SHORT_ID_LEN];
        for (d, id) in raw.chunks_exact_mut(SHORT_ID_LEN).zip(ids) {
            d.copy_from_slice(&id.0.to_le_bytes());
        }
        let raw = raw.get(..n * SHORT_ID_LEN)?;
        let mut msg = [0u8; 16 + 4 + RECEIPT_IDS * SHORT_ID_LEN];
        let len = signed_message(&mut msg, seq, raw);
        let sig = crypto::ed25519_sign(seed, msg.get(..len)?);
        let total = 4 + raw.len() + 64;
        let out = out.get_mut(..total)?;
        let (a, rest) = out.split_at_mut(4);
        a.copy_from_slice(&seq.to_le_bytes());
        let (b, c) = rest.split_at_mut(raw.len());
        b.copy_from_slice(raw);
        c.copy_from_slice(&sig);
        Some(total)
    }
}

fn signed_message(msg: &mut [u8], seq: u32, ids: &[u8]) -> usize {
    let mut n = 0;
    for part in [RECEIPT_DOMAIN.as_slice(), &seq.to_le_bytes(), ids] {
        if let Some(d) = msg.get_mut(n..n + part.len()) {
            d.copy_from_slice(part);
            n += part.len();
        }
    }
    n
}

/// Emit a frame of `kind` with `bytes` as its body into `buf`; its length.
fn emit_other(
    header: crate::radio::Header,
    kind: FrameKind,
    bytes: &[u8],
    buf: &mut [u8],
) -> Option<usize> {
    let body = Body::Other { kind, bytes };
    FrameRepr { header, body }.emit(buf).ok()
}

/// Trickle timer of the digest.
#[derive(Debug, Clone, Copy)]
struct Trickle {
    interval: u64,
    /// When to send this interval's digest (taken when it fires).
    send_at: Option<u64>,
    end: u64,
}

/// The broadcast state of an engine (RAM; rebuilt at restart).
#[derive(Debug)]
pub(super) struct Gossip {
    recon: Reconciler<RECON_CAP>,
    trickle: Trickle,
    /// SNR of the frame being handled (sets the rebroadcast delay of what it carries).
    rx_snr: i8,
    /// Lifetime left (µs) that the frame being handled gives what it carries.
    rx_life: u64,
    /// The broadcast item being stored came from our parent.
    rx_parent: bool,
    /// ... and from this sender.
    rx_from: crate::radio::NodeAddr,
    /// Pending tree-relay rebroadcasts and their targets (children and parent, bits over the
    /// neighbour table) not yet covered by a copy heard from a node they hear.
    cover: Vec<(ShortId, u16), COVER_LEN>,

    bridge_keys: Option<&'static [[u8; 32]]>,
    receipt_key: Option<[u8; 32]>,
    receipt_seq: u32,
    receipt_out: Vec<ShortId, RECEIPT_IDS>,
    receipt_due: Option<u64>,
    /// The last built Reconcile frame was a digest.
    built_digest: bool,
    /// Our digest rides in the last built forward or broadcast frame.
    rider: bool,
    /// When the reconciled set last gained a late copy (one already mature when stored).
    changed: u64,
    /// When our parent's last digest was heard (0: not since the restart).
    parent_digest: u64,
}

impl Gossip {
    pub fn new(me: crate::radio::NodeAddr, answer_window_us: u64) -> Self {
        Self {
            recon: Reconciler::new(me).with_answer_window(answer_window_us),
            trickle: Trickle {
                interval: TRICKLE_MIN_US,
                send_at: None,
                end: 0,
            },
            rx_snr: 0,
            rx_life: u64::MAX,
            rx_parent: false,
            rx_from: super::NOBODY,
            cover: Vec::new(),
            bridge_keys: None,
            receipt_key: None,
            receipt_seq: 0,
            receipt_out: Vec::new(),
            receipt_due: None,
            built_digest: false,
            rider: false,
            changed: 0,
            parent_digest: 0,
        }
    }

    /// The rebroadcast of `short` is no longer tracked for coverage (it went out, was
    /// cancelled, or became a push).
    pub fn untrack(&mut self, short: ShortId) {
        self.cover.retain(|c| c.0 != short);
    }

    /// A frame is being built that carries no digest (set by each build of a forward or
    /// broadcast frame before [`Engine::ride_digest`] may set it again).
    pub fn clear_rider(&mut self) {
        self.rider = false;
    }

    /// A new frame is being handled: its SNR; no lifetime limit unless it carries one.
    pub fn set_rx(&mut self, snr: i8) {
        self.rx_snr = snr;
        self.rx_life = u64::MAX;
    }

    /// The entry about to be handled carries this lifetime left (µs).
    pub fn set_rx_life(&mut self, life: u64) {
        self.rx_life = life;
    }

    /// Lifetime left (µs) of an entry stored from the frame being handled.
    pub fn rx_life(&self) -> u64 {
        self.rx_life
    }
}

/// Where the waiting rebroadcasts and receipts stand in the transmit order
/// ([`Engine::gossip_broadcast_turn`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BroadcastTurn {
    NotDue,
    /// Due, after any custody frame.
    AfterCustody,
    /// Kept waiting [`STARVE_US`] by custody frames: goes before them.
    BeforeCustody,
}

impl<S: Store, const N: usize> Engine<S, N> {
    /// Accept signed receipts from these bridges (their Ed25519 public keys; a `&'static`
    /// list in flash like [`Engine::with_members`]). Without it receipts are ignored (counted
    /// in `bad_receipts`).
    pub fn with_bridge_keys(mut self, keys: &'static [[u8; 32]]) -> Self {
        self.gossip.bridge_keys = Some(keys);
        self
    }

    /// Bridge: sign on-air receipts for what the uplink confirms with this Ed25519 seed.
    pub fn with_receipt_key(mut self, seed: [u8; 32]) -> Self {
        self.gossip.receipt_key = Some(seed);
        // An engine built over a persisted store (after a power cut) queues the payments
        // its chain confirmed and no receipt named yet: `new` rebuilt the index before the
        // key was known. The time base is still the instant `new` was given.
        let now = self.epoch;
        self.queue_confirmed(now);
        self
    }

    /// Fix whether this node relays broadcast items and receipts, instead of the tree rule
    /// (`tree_relay`): a relay passes on every one it gets, any other node only
    /// its own (no leaf pass-up either). Bridges always relay. For a relay set planned with
    /// knowledge of the links, which the mesh does not have: `toile sim --relays oracle`
    /// measures what a perfect plan would save.
    pub fn with_relay_role(mut self, relay: bool) -> Self {
        self.relay_role = Some(relay);
        self
    }

    /// Bytes of the reconciliation digest frame (the idle "are we in sync" check).
    pub const fn idle_check_bytes(&self) -> usize {
        DIGEST_FRAME_LEN
    }

    /// Reconciler counters (observability).
    pub fn recon_counters(&self) -> &recon::Counters {
        self.gossip.recon.counters()
    }

    // ----- hooks -----

    /// Restart: rebuild the reconciled set from the index, restart Trickle at its minimum.
    pub(super) fn gossip_restart(&mut self, now: u64) {
        let keys = self.gossip.bridge_keys;
        let key = self.gossip.receipt_key;
        self.gossip = Gossip::new(self.config.addr, answer_window(&self.config.modulation));
        self.gossip.bridge_keys = keys;
        self.gossip.receipt_key = key;
        self.gossip_mature(now);
        self.trickle_reset(now);
        // Payments confirmed before the power cut go in the next receipt, which waits the
        // usual hold for more.
        self.queue_confirmed(now);
    }

    /// A node without a route relays little from the air (only once it has had none for
    /// [`super::BLIND_WAIT_US`]): reconciliation also spreads certifications in a mesh
    /// without bridges. When its reconciled set gains an item (at maturity, or a late
    /// copy), it checks with its neighbours soon instead of at the end of its longest
    /// interval.
    fn trickle_spread(&mut self, now: u64) {
        if self.parent.is_none() && !self.config.bridge {
            self.trickle_reset(now);
        }
    }

    fn trickle_reset(&mut self, now: u64) {
        self.gossip.trickle.interval = TRICKLE_MIN_US;
        self.trickle_begin(now);
    }

    fn trickle_begin(&mut self, now: u64) {
        let i = self.gossip.trickle.interval;
        let at = now + i / 2 + self.next_random() % (i / 2).max(1);
        let t = &mut self.gossip.trickle;
        t.send_at = Some(at);
        t.end = now + i;
    }

    /// A broadcast item entered the index: reconcile it and schedule its rebroadcast.
    pub(super) fn gossip_stored(&mut self, now: u64, slot: &mut Slot, from_air: bool) {
        slot.state |= super::slot::BCAST;
        // Relay along the gradient tree only: leaves are heard by their parent, which
        // relays, so only the origin, bridges and parents transmit.
        let from = self.gossip.rx_from;
        let tree = self.tree_relay();
        let fallback = from_air
            && !tree
            && !self.gossip.rx_parent
            && self.parent.is_some()
            && self.relay_role.is_none()
            && !self
                .neighbours
                .iter()
                .any(|n| Some(n.addr) == self.parent && n.hears.contains(&from));
        // A node long without route relays what it hears, like a leaf: the first copy heard
        // cancels it (module docs, "Without route").
        let routeless = from_air && self.relay_role.is_none() && self.long_without_route(now);
        let mut relay = !from_air || tree || fallback || routeless;
        let mut uncovered = 0;
        if from_air && tree && self.relay_role.is_none() {
            // Covered neighbours: those that hear the node we got it from have it (a relay
            // that knows no target relays as before).
            let targets = self.tree_targets();
            uncovered = targets & !self.covered_by(from);
            if uncovered != 0 {
                self.track_cover(slot.short(), uncovered);
            } else if targets != 0 {
                self.counters.bcast_covered += 1;
                relay = false;
            }
        }
        if relay {
            slot.state |= RELAY;
        }
        let delay = if fallback {
            // A leaf that got the item from another than its parent (a sibling's relay, or a
            // node of another bridge's tree) passes it up unless its parent's copy is heard
            // first: trees then join, and a parent that is no relay still gets it.
            2 * RELAY_WINDOW_US + self.next_random() % (2 * RELAY_WINDOW_US)
        } else if uncovered != 0 {
            self.cover_delay(uncovered)
        } else if from_air {
            // Weak copies (far senders) relay early: they reach more new nodes.
            let snr = i64::from(self.gossip.rx_snr).clamp(-20, 10) + 20;
            let half = RELAY_WINDOW_US / 2;
            half * snr.unsigned_abs() / 30 + self.next_random() % half
        } else {
            0
        };
        // Without a rebroadcast, next_try tells when it was last sent (the push hold-off
        // reads it): never. (Holding off a node that only received it kept a route-less
        // node from pushing it for 2 minutes, then for a whole digest interval.)
        slot.set_next_try(if slot.relay() {
            ticks(self.epoch, now + delay)
        } else {
            0
        });
        // An own item waits for its parent's copy (the tries bits count re-sends left; a
        // broadcast slot has no custody tries). So does a relayed one in a pocket: no copy
        // heard, no one else has sent it.
        if (!from_air && self.parent.is_some() && !self.config.bridge)
            || (routeless && self.in_pocket())
        {
            slot.set_tries(CONFIRM_TRIES);
        }
        // It joins the reconciled set once it is MATURE_US old (from its origin), at the
        // same second on every node; one that arrives older joins now (a late copy: the
        // set changed).
        if join_if_mature(&mut self.gossip.recon, slot, self.epoch, now) {
            self.gossip.changed = now;
            self.trickle_spread(now);
        }
    }

    /// Whether this node passes broadcast items and receipts on: it is a bridge, or some
    /// neighbour's last forward named it as parent (an interior node of the gradient tree).
    /// (A leaf passes on only what it did not get from its parent: `gossip_stored`.)
    /// Every routed node heard its parent (that is how it learnt its route), so the
    /// interior nodes cover every routed node; a leaf's rebroadcast would reach no one new.
    /// A node without a route is no tree relay: it relays from the air only once it has had
    /// no route for [`super::BLIND_WAIT_US`], like a leaf (module docs, "Without route"),
    /// and reconciliation (which answers route-less nodes) does the rest.
    /// A role set by [`Engine::with_relay_role`] replaces the rule.
    pub(super) fn tree_relay(&self) -> bool {
        self.config.bridge
            || self
                .relay_role
                .unwrap_or_else(|| self.neighbours.iter().any(|n| n.child))
    }

    /// The neighbours a tree relay's rebroadcast is for, as bits over the neighbour table:
    /// its children and its parent.
    fn tree_targets(&self) -> u16 {
        self.covered_where(|_| true)
    }

    /// The tree targets that hear `sender`: it is one of them, or one of the relays the
    /// target's last forward said it hears.
    fn covered_by(&self, sender: crate::radio::NodeAddr) -> u16 {
        self.covered_where(|n| n.addr == sender || (n.child && n.hears.contains(&sender)))
    }

    fn covered_where(&self, f: impl Fn(&super::Neighbour) -> bool) -> u16 {
        self.neighbours
            .iter()
            .enumerate()
            .filter(|(_, n)| (n.child || Some(n.addr) == self.parent) && f(n))
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    /// Track the tree targets a pending rebroadcast has left to cover (the oldest tracked
    /// one is forgotten when the table is full: it is then sent unless `BROADCAST_K` copies
    /// cancel it).
    fn track_cover(&mut self, short: ShortId, uncovered: u16) {
        self.gossip.untrack(short);
        if self.gossip.cover.is_full() {
            self.gossip.cover.remove(0);
        }
        let _ = self.gossip.cover.push((short, uncovered));
    }

    /// A copy of a tracked rebroadcast was heard from `sender`: the targets it leaves
    /// uncovered (`None` if untracked). At 0 every target is covered: the rebroadcast is
    /// cancelled and forgotten.
    fn cover_heard(&mut self, short: ShortId, sender: crate::radio::NodeAddr) -> Option<u16> {
        let heard = self.covered_by(sender);
        let i = self.gossip.cover.iter().position(|c| c.0 == short)?;
        let left = self.gossip.cover.get(i).map_or(0, |c| c.1 & !heard);
        if left == 0 {
            self.gossip.cover.remove(i);
        } else if let Some(c) = self.gossip.cover.get_mut(i) {
            c.1 = left;
        }
        Some(left)
    }

    /// How long a tree relay's rebroadcast waits with `uncovered` targets (bits) left: the
    /// more it would reach, the sooner ([`COVER_ORDER_US`]).
    fn cover_delay(&mut self, uncovered: u16) -> u64 {
        COVER_ORDER_US / u64::from(uncovered.count_ones().max(1))
            + self.next_random() % (RELAY_WINDOW_US / 2)
    }

    /// Whether `sender` (advertising `their_hops`) is at the other end of one of our tree
    /// edges (our parent or a child), or has no route (so no tree edge can reach it).
    fn tree_edge(&self, sender: crate::radio::NodeAddr, their_hops: u8) -> bool {
        Some(sender) == self.parent
            || their_hops >= super::NO_ROUTE
            || self.neighbours.iter().any(|n| n.addr == sender && n.child)
    }

    /// A slot leaves the index (receipt, expiry, eviction).
    pub(super) fn gossip_forget(&mut self, s: &Slot) {
        if s.reconciled() {
            self.gossip.recon.remove(s.short());
        }
    }

    /// A broadcast-class item from the air (already parsed).
    pub(super) fn gossip_item(
        &mut self,
        now: u64,
        sender: crate::radio::NodeAddr,
        their_hops: u8,
        item: &Item<'_>,
    ) {
        let id = item.id();
        if self.known_copy(now, &id, sender, their_hops) {
            return;
        }
        self.gossip.rx_parent = Some(sender) == self.parent;
        self.gossip.rx_from = sender;
        if self.admit_from_air(now, item) {
            self.accept(now, item, id, 0, true);
        }
    }

    /// Entry `i` of a [`BROADCAST`] body is being handled: its lifetime left (µs) from the
    /// body's `lives`, which its store takes (0: expired on its way).
    pub(super) fn gossip_entry_life(&mut self, lives: &[u8], i: usize) -> u64 {
        let life = lives
            .get(i * LIFE_LEN..(i + 1) * LIFE_LEN)
            .map_or(0, life_us);
        self.gossip.set_rx_life(life);
        life
    }

    /// A copy of a broadcast entry (item or receipt) arrived: whether it is one we hold or
    /// remember (a duplicate). A held copy counts towards cancelling our rebroadcast.
    fn known_copy(
        &mut self,
        now: u64,
        id: &ItemId,
        sender: crate::radio::NodeAddr,
        their_hops: u8,
    ) -> bool {
        let short = id.short();
        // A leaf's fallback rebroadcast (see `gossip_stored`) is cancelled by a second copy.
        let leaf = !self.tree_relay();
        // A copy from our parent or nearer a bridge: an own item is on its way.
        let uphill = Some(sender) == self.parent || their_hops < self.hops;
        if let Some(i) = self.slots.iter().position(|s| s.short() == short) {
            self.counters.duplicates += 1;
            let (relay, tries) = self
                .slots
                .get(i)
                .map_or((false, 0), |s| (s.relay(), s.tries()));
            // A tree relay's rebroadcast ends once every target is covered, and waits
            // again for what is left (others that reach more go first).
            let left = if relay && tries == 0 {
                self.cover_heard(short, sender)
            } else {
                None
            };
            let covered = left == Some(0);
            let wait = match left {
                Some(l) if l != 0 => Some(ticks(self.epoch, now + self.cover_delay(l))),
                _ => None,
            };
            let Some(s) = self.slots.get_mut(i) else {
                return true;
            };
            if relay && tries > 0 && uphill {
                self.counters.confirmed += 1;
                s.state &= !RELAY;
                s.set_tries(0);
                s.set_heard(0);
            } else if covered {
                s.state &= !RELAY;
                s.set_heard(0);
                self.counters.bcast_covered += 1;
            } else if relay {
                s.set_heard(s.heard() + 1);
                if s.heard() >= BROADCAST_K || leaf {
                    s.state &= !RELAY;
                    // The heard bits now count reconciliation pushes.
                    s.set_heard(0);
                    self.counters.bcast_suppressed += 1;
                    self.gossip.untrack(short);
                } else if let Some(t) = wait {
                    s.set_next_try(s.next_try().max(t));
                }
            }
            return true;
        }
        if self.seen(short) || self.store.find(id).is_some() {
            self.counters.duplicates += 1;
            return true;
        }
        false
    }

    /// A Reconcile frame body from `sender`.
    pub(super) fn gossip_recon_frame(
        &mut self,
        now: u64,
        sender: crate::radio::NodeAddr,
        their_hops: u8,
        body: &[u8],
    ) {
        // While items are in flight two neighbours differ for a moment: a digest heard then
        // would start a session for nothing. Sessions start only in a settled set.
        let digest = body
            .first()
            .is_some_and(|b| b & 0x0f == recon::wire::kind::DIGEST);
        if digest && self.unsettled(now) {
            self.counters.recon_deferred += 1;
            return;
        }
        // Sessions run along tree edges only: each is pairwise with a small difference, and
        // a digest is not answered by the whole neighbourhood at once.
        if digest && !self.tree_edge(sender, their_hops) {
            return;
        }
        if digest && Some(sender) == self.parent {
            self.gossip.parent_digest = now.max(1);
        }
        let ids = self
            .slots
            .iter()
            .filter(|s| s.reconciled())
            .map(|s| s.short());
        if self
            .gossip
            .recon
            .handle_frame(now, sender, body, ids)
            .is_err()
        {
            self.counters.malformed_frames += 1;
        }
        self.recon_events(now);
    }

    fn recon_events(&mut self, now: u64) {
        let t = ticks(self.epoch, now);
        let epoch = self.epoch;
        while let Some(e) = self.gossip.recon.poll_event() {
            match e {
                // Digest suppression reads when the parent's digest was heard, consistent
                // or not (`gossip_recon_frame`).
                recon::Event::InSync { .. } => {}
                recon::Event::Push { id, .. } => {
                    // The neighbour lacks it: rebroadcast (one frame serves every neighbour),
                    // unless we sent it moments ago (it is in flight, not missing) or already
                    // pushed it RECON_PUSHES times (a neighbour that keeps refusing it has
                    // its receipt: see "Not done").
                    let recent = t.saturating_sub(PUSH_HOLDOFF_TICKS);
                    if let Some(s) = self
                        .slots
                        .iter_mut()
                        .find(|s| s.short() == id && s.broadcast())
                        && !s.relay()
                        && s.expires_us(epoch) > now + PUSH_MARGIN_US
                        && s.next_try() <= recent
                        && s.heard() < RECON_PUSHES
                    {
                        // The heard bits keep counting across rebroadcasts: each push adds
                        // one, so a pushed copy is also cancelled by one more heard copy.
                        s.set_heard(s.heard() + 1);
                        s.state |= RELAY;
                        // Due at once: its batching hold counts as spent (a neighbour has
                        // waited for it long enough).
                        s.set_next_try(ticks(epoch, now.saturating_sub(BATCH_HOLD_US)));
                        self.counters.recon_pushes += 1;
                        // A push is for the neighbour that lacks it: no coverage ends it.
                        self.gossip.untrack(id);
                    }
                }
                recon::Event::Reconciled { differences, .. } => {
                    self.counters.recon_differences += u64::from(differences);
                }
                recon::Event::Failed { .. } => {}
            }
        }
    }

    /// Whether our digest has a use once the set is settled: an empty set offers nothing
    /// (neighbours holding items send their own digests, which tell this node what it lacks,
    /// and an empty mesh stays silent); interior nodes (and bridges) check their parent and
    /// children, a leaf only while its parent's digests are not heard.
    fn digest_wanted(&self, now: u64) -> bool {
        let heard = self.gossip.parent_digest;
        let leaf_quiet = !self.tree_relay()
            && self.parent.is_some()
            && heard != 0
            && now.saturating_sub(heard) < LEAF_QUIET_US;
        !leaf_quiet && !self.gossip.recon.is_empty()
    }

    /// The digest to put in the forward or broadcast frame being built, which has `room`
    /// bytes to spare: written into `buf`, or empty. Marks the frame as carrying it (the
    /// commit of the frame consumes it: [`Self::digest_committed`]).
    pub(super) fn ride_digest<'a>(
        &mut self,
        now: u64,
        room: usize,
        buf: &'a mut [u8; recon::wire::DIGEST_LEN],
    ) -> &'a [u8] {
        let rides = room >= buf.len()
            && self.digest_rider(now)
            && self.gossip.recon.emit_digest(buf).is_some();
        self.gossip.rider = rides;
        if rides { &buf[..] } else { &[] }
    }

    /// Whether our digest rides in the frame being built: the one queued and not sent yet,
    /// or this Trickle interval's, still to come, when it would be sent now (one digest per
    /// interval either way; riding in the interval's second half only, where Trickle draws
    /// its instant, let more digests go alone: 50 nodes seeds 1–12, digest frames 0.065
    /// against 0.042 per item, and sessions over 12 B per differing item on seed 3).
    fn digest_rider(&self, now: u64) -> bool {
        if self.gossip.recon.digest_queued() {
            return true;
        }
        let t = &self.gossip.trickle;
        t.send_at.is_some()
            && now >= t.end.saturating_sub(t.interval)
            && !self.unsettled(now)
            && self.digest_wanted(now)
    }

    /// A forward or broadcast frame is on the air: if our digest rode in it, it is this
    /// interval's.
    pub(super) fn digest_committed(&mut self) {
        if !self.gossip.rider {
            return;
        }
        self.gossip.trickle.send_at = None;
        self.gossip.recon.cancel_digest();
        self.counters.digest_rides += 1;
        self.counters.recon_bytes += recon::wire::DIGEST_LEN as u64;
    }

    /// The broadcast set changed less than [`SETTLE_US`] ago.
    fn unsettled(&self, now: u64) -> bool {
        self.gossip.changed != 0 && now.saturating_sub(self.gossip.changed) < SETTLE_US
    }

    /// A Receipt frame body. Invalid receipts change nothing but a counter. A valid new one
    /// deletes the items it names and is stored like a certification: rebroadcast along the
    /// tree and reconciled, so it reaches every node.
    pub(super) fn gossip_receipt_frame(
        &mut self,
        now: u64,
        sender: crate::radio::NodeAddr,
        their_hops: u8,
        frame_body: &[u8],
    ) {
        let Some((life, body)) = frame_body.split_first_chunk::<LIFE_LEN>() else {
            self.counters.bad_receipts += 1;
            return;
        };
        let Ok(r) = Receipt::parse(body) else {
            self.counters.bad_receipts += 1;
            return;
        };
        // A receipt's sender relays (a frame that does not parse says nothing).
        self.relay_heard(now, sender);
        let life = life_us(life);
        if life == 0 {
            // Expired on its way: dropped everywhere by now.
            return;
        }
        self.gossip.set_rx_life(life);
        let id = receipt_id(body);
        if self.known_copy(now, &id, sender, their_hops) {
            return;
        }
        let ed25519 = self.verifier.ed25519;
        if !self
            .gossip
            .bridge_keys
            .is_some_and(|k| r.verify(k, ed25519))
        {
            self.counters.bad_receipts += 1;
            return;
        }
        self.counters.receipts_rx += 1;
        for short in r.ids() {
            self.receipted(short);
        }
        self.gossip.rx_parent = Some(sender) == self.parent;
        self.gossip.rx_from = sender;
        self.store_receipt(now, id, body, true);
    }

    /// Store a verified (or own) receipt as a broadcast entry.
    fn store_receipt(&mut self, now: u64, id: ItemId, body: &[u8], from_air: bool) {
        let entry = super::NewEntry {
            id,
            kind: RECEIPT_KIND,
            bytes: body,
            priority: Priority::Low,
            bcast: true,
            hop_limit: 0,
        };
        if self.store_new(now, &entry, from_air) {
            self.event(Event::SignedReceipt {
                tag: id.short().0,
                own: !from_air,
            });
        }
    }

    /// Delete a receipted item (from a receipt frame or the uplink). A broadcast item's id
    /// stays in the index and the reconciled set until it expires ([`GONE`]). Whether a
    /// custody copy of it was held.
    pub(super) fn receipted(&mut self, short: ShortId) -> bool {
        if self
            .slots
            .iter()
            .any(|s| s.short() == short && s.broadcast())
        {
            return false;
        }
        let held = self.slots.iter().any(|s| s.short() == short);
        let id = self.store.find_short(short).map(|(r, _)| r.id);
        let removed = id.is_some_and(|id| self.store.remove(&id));
        self.slots.retain(|s| s.short() != short);
        // Only an id we held is remembered: a receipt may name a certification this node
        // has not received yet, and remembering it would refuse every later copy (and every
        // reconciliation push) of an item the node is still owed. A payment's late custody
        // copy is taken again anyway (see `handle_items`), so forgetting costs nothing there.
        if held {
            self.remember(short);
        }
        if let (true, Some(id)) = (removed, id) {
            self.event(Event::Receipted { id });
        }
        held
    }

    /// Bridge with a receipt key: the uplink confirmed a payment it holds. The payment stays
    /// in the store, marked ([`super::Record::handed_over`], which for a bridge means on
    /// chain), until the signed receipt naming it is stored (`sign_receipt`); a
    /// restart queues it again (`queue_confirmed`). `false`: nothing kept (no key,
    /// not held, or a broadcast item, which no receipt names).
    pub(super) fn confirmed(&mut self, short: ShortId) -> bool {
        if !self.signs_receipts() {
            return false;
        }
        if !self
            .slots
            .iter()
            .any(|s| s.short() == short && !s.broadcast())
        {
            return false;
        }
        let Some((record, _)) = self.store.find_short(short) else {
            return false;
        };
        if !record.handed_over {
            if !self.store.mark_handed_over(&record.id) {
                return false;
            }
            self.event(Event::Receipted { id: record.id });
        }
        true
    }

    /// Bridge with a receipt key: queue the payments its store marks as on chain and no
    /// signed receipt named yet (after a restart, or those a full queue left), oldest first,
    /// as many as one receipt holds, and time the receipt as for ids from the uplink.
    fn queue_confirmed(&mut self, now: u64) {
        if !self.signs_receipts() {
            return;
        }
        for i in 0..self.store.len() {
            if self.gossip.receipt_out.is_full() {
                break;
            }
            let Some((r, bytes)) = self.store.at(i) else {
                break;
            };
            let short = r.id.short();
            if r.handed_over
                && !is_receipt(r.kind)
                && !is_broadcast_bytes(r.kind, bytes)
                && !self.gossip.receipt_out.contains(&short)
            {
                let _ = self.gossip.receipt_out.push(short);
            }
        }
        if !self.gossip.receipt_out.is_empty() {
            self.time_receipt(now);
        }
    }

    /// A bridge configured to sign receipts ([`Engine::with_receipt_key`]).
    fn signs_receipts(&self) -> bool {
        self.config.bridge && self.gossip.receipt_key.is_some()
    }

    /// Ids are queued: the receipt is due now if it is full, else after the hold from the
    /// first one (an earlier due time stays).
    fn time_receipt(&mut self, now: u64) {
        if self.gossip.receipt_out.is_full() {
            self.gossip.receipt_due = Some(now);
        } else if self.gossip.receipt_due.is_none() {
            self.gossip.receipt_due = Some(now + RECEIPT_HOLD_US);
        }
    }

    /// A signed receipt was stored: the payments it names leave the store (after the
    /// receipt, so a power cut in between names them again in another receipt, and loses
    /// none).
    fn drop_confirmed(&mut self, short: ShortId) {
        let Some((record, _)) = self.store.find_short(short) else {
            return;
        };
        if record.handed_over && self.store.remove(&record.id) {
            self.slots.retain(|s| s.short() != short);
            self.remember(short);
        }
    }

    /// Bridge: the uplink confirmed `short`; queue it for the next signed receipt.
    pub(super) fn gossip_uplink_receipt(&mut self, now: u64, short: ShortId) {
        if self.gossip.receipt_key.is_none() || self.gossip.receipt_out.contains(&short) {
            return;
        }
        if self.gossip.receipt_out.push(short).is_err() {
            return;
        }
        self.time_receipt(now);
    }

    /// Timers: Trickle, reconciliation sessions, the index's time base.
    pub(super) fn gossip_timeout(&mut self, now: u64) {
        if now.saturating_sub(self.epoch) >= REBASE_AFTER_US {
            self.rebase(now);
        }
        if self.gossip.trickle.send_at.is_some_and(|t| t <= now) {
            self.gossip.trickle.send_at = None;
            if self.unsettled(now) {
                // Still settling: the digest waits for the set to settle (the interval
                // stretches to hold it), it is not dropped.
                let t = &mut self.gossip.trickle;
                let settled = self.gossip.changed.saturating_add(SETTLE_US);
                t.send_at = Some(settled);
                t.end = t.end.max(settled);
            } else if self.digest_wanted(now) {
                self.gossip.recon.start(now);
            }
        }
        if self.gossip.trickle.end <= now {
            let t = &mut self.gossip.trickle;
            // After the restart check, straight to the longest interval (doubling from
            // the shortest cost six digests per restart: a third of them at 50 nodes).
            t.interval = TRICKLE_MAX_US;
            self.trickle_begin(now);
        }
        if self.gossip.receipt_due.is_some_and(|t| t <= now) {
            self.sign_receipt(now);
        }
        if self.gossip_mature(now) {
            self.trickle_spread(now);
        }
        self.gossip.recon.handle_timeout(now);
        self.recon_events(now);
    }

    /// Held broadcast entries that reached [`MATURE_US`] join the reconciled set (their
    /// instants are among the slot timers of `poll_timeout`, [`slot_deadline`]); whether any
    /// did.
    fn gossip_mature(&mut self, now: u64) -> bool {
        let (epoch, recon) = (self.epoch, &mut self.gossip.recon);
        let mut joined = false;
        for s in self.slots.iter_mut() {
            joined |= join_if_mature(recon, s, epoch, now);
        }
        joined
    }

    /// Bridge: sign the queued ids into a receipt and store it (sent at once, then spread
    /// like a certification).
    fn sign_receipt(&mut self, now: u64) {
        self.gossip.receipt_due = None;
        let Some(key) = self.gossip.receipt_key else {
            return;
        };
        let mut body = [0u8; RECEIPT_MAX_BODY];
        let seq = self.gossip.receipt_seq;
        let Some(n) = Receipt::sign(&key, seq, &self.gossip.receipt_out, &mut body) else {
            return;
        };
        let named = core::mem::take(&mut self.gossip.receipt_out);
        self.gossip.receipt_seq = seq.wrapping_add(1);
        if let Some(b) = body.get(..n) {
            self.store_receipt(now, receipt_id(b), b, false);
        }
        for short in named {
            self.drop_confirmed(short);
        }
        // Confirmed payments a full queue left out go in the next receipt.
        self.queue_confirmed(now);
    }

    /// Move the index's epoch forward to the last whole minute before `now` (long uptimes).
    pub(super) fn rebase(&mut self, now: u64) {
        let shift = now.saturating_sub(self.epoch) / MINUTE_US;
        let shift = u16::try_from(shift).unwrap_or(u16::MAX);
        for s in self.slots.iter_mut() {
            s.rebase(shift);
        }
        self.epoch += u64::from(shift) * MINUTE_US;
    }

    /// Timers that are not transmissions (always armed).
    pub(super) fn gossip_timers(&self, at: &mut impl FnMut(u64)) {
        let t = &self.gossip.trickle;
        if let Some(s) = t.send_at {
            at(s);
        }
        at(t.end);
        if let Some(t) = self.gossip.receipt_due {
            at(t);
        }
        if let Some(s) = self.gossip.recon.poll_timeout() {
            at(s);
        }
        at(self.epoch.saturating_add(REBASE_AFTER_US));
    }

    /// When the waiting rebroadcasts make a frame due. A receipt goes alone: at its time. So
    /// does an own item (a crash while it waited would leave it to reconciliation alone: the
    /// index does not survive a restart). An item received waits (up to [`BATCH_HOLD_US`])
    /// for a second one to share its frame: due when a second one is, or the first has
    /// waited its hold.
    fn broadcast_due_at(&self) -> Option<u64> {
        let (mut alone, mut first, mut second) = (u64::MAX, u64::MAX, u64::MAX);
        for s in self.slots.iter().filter(|s| s.relay()) {
            let t = s.next_try_us(self.epoch);
            if s.receipt() || s.tries() == CONFIRM_TRIES {
                alone = alone.min(t);
            } else if t < first {
                second = first;
                first = t;
            } else if t < second {
                second = t;
            }
        }
        let due = alone.min(first.saturating_add(BATCH_HOLD_US)).min(second);
        (due < u64::MAX).then_some(due)
    }

    /// Whether waiting rebroadcasts and receipts make a frame due now, and where it goes
    /// (one scan of the index serves both): after custody frames, or before them once it
    /// has waited [`STARVE_US`] past its time and the low class's duty budget holds a full
    /// frame now. (Without the budget check, a rebroadcast the duty rule defers would hold
    /// custody frames back with it.)
    pub(super) fn gossip_broadcast_turn(&self, now: u64) -> BroadcastTurn {
        match self.broadcast_due_at() {
            Some(t)
                if t.saturating_add(STARVE_US) <= now
                    && self.duty.allows(
                        now,
                        self.config.modulation.time_on_air_us(MAX_FRAME_LEN),
                        Priority::Low.budget_permille(),
                    ) =>
            {
                BroadcastTurn::BeforeCustody
            }
            Some(t) if t <= now => BroadcastTurn::AfterCustody,
            _ => BroadcastTurn::NotDue,
        }
    }

    /// Transmissions waiting (armed only while the radio may contend).
    pub(super) fn gossip_tx_timers(&self, at: &mut impl FnMut(u64)) {
        if let Some(t) = self.broadcast_due_at() {
            at(t);
        }
        if let Some(t) = self.gossip.recon.answer_at() {
            at(t);
        }
    }

    /// A reconciliation frame is waiting (after custody items, at [`Priority::Low`]).
    pub(super) fn gossip_recon_due(&self, now: u64) -> Option<Due> {
        self.gossip.recon.has_output(now).then_some(Due::Recon)
    }

    /// Frame a gossip [`Due`]: (length, priority, slots packed).
    pub(super) fn gossip_build(
        &mut self,
        now: u64,
        due: Due,
        buf: &mut [u8],
    ) -> Option<(usize, Priority, Vec<usize, N>, usize)> {
        let mut body = [0u8; MAX_FRAME_LEN - HEADER_LEN];
        let header = self.header(0);
        match due {
            Due::Recon => {
                let n = self.gossip.recon.poll_frame(now, &mut body)?;
                let bytes = body.get(..n)?;
                self.gossip.built_digest = bytes
                    .first()
                    .is_some_and(|b| b & 0x0f == recon::wire::kind::DIGEST);
                let len = emit_other(header, FrameKind::Reconcile, bytes, buf)?;
                Some((len, Priority::Low, Vec::new(), 0))
            }
            Due::Broadcast => {
                self.gossip.clear_rider();
                let epoch = self.epoch;
                // Entries are packed after room for the most lifetimes, then moved down
                // next to the ones actually written.
                let mut b = EntriesBuilder::new(body.get_mut(LIVES_ROOM..)?);
                let mut packed: Vec<usize, N> = Vec::new();
                let mut lives: Vec<u16, BROADCAST_MAX_ENTRIES> = Vec::new();
                for (i, s) in self.slots.iter().enumerate() {
                    if !(s.relay() && s.next_try_us(epoch) <= now) {
                        continue;
                    }
                    let Some((r, bytes)) = self.store.find_short(s.short()) else {
                        continue;
                    };
                    let left = life_left(r.expires, now);
                    if is_receipt(r.kind) {
                        // A receipt (up to 244 bytes) goes alone in a Receipt frame, first
                        // when it is the first due entry, else in a later frame.
                        if packed.is_empty() {
                            // Nothing packed (and the builder unused from here): the body
                            // buffer takes the receipt instead.
                            body.get_mut(LIFE_LEN..LIFE_LEN + bytes.len())?
                                .copy_from_slice(bytes);
                            body.get_mut(..LIFE_LEN)?
                                .copy_from_slice(&left.to_le_bytes());
                            let fb = body.get(..LIFE_LEN + bytes.len())?;
                            let len = emit_other(header, FrameKind::Receipt, fb, buf)?;
                            let _ = packed.push(i);
                            return Some((len, Priority::Low, packed, 1));
                        }
                        continue;
                    }
                    if lives.is_full() {
                        break;
                    }
                    if b.try_push(r.kind, bytes) {
                        let _ = packed.push(i);
                        let _ = lives.push(left);
                    }
                }
                let n = b.finish()?.as_bytes().len();
                // Our digest rides in the room left, when one is due.
                let lives_len = LIFE_LEN * lives.len();
                let room = body.len().saturating_sub(1 + lives_len + n);
                let mut digest = [0u8; recon::wire::DIGEST_LEN];
                let digest = self.ride_digest(now, room, &mut digest);
                let counted = 1 + digest.len();
                let at = counted + lives_len;
                body.copy_within(LIVES_ROOM..LIVES_ROOM + n, at);
                super::write_entry_count(&mut body, lives.len(), digest, &[])?;
                for (d, l) in body
                    .get_mut(counted..at)?
                    .chunks_exact_mut(LIFE_LEN)
                    .zip(&lives)
                {
                    d.copy_from_slice(&l.to_le_bytes());
                }
                let len = emit_other(header, BROADCAST, body.get(..at + n)?, buf)?;
                Some((len, Priority::Low, packed, 0))
            }
            Due::Acks | Due::Advert | Due::Items | Due::Fragment => None,
        }
    }

    /// Bookkeeping once a gossip frame is on the air.
    pub(super) fn gossip_commit(
        &mut self,
        now: u64,
        due: Due,
        len: usize,
        sent: Vec<usize, N>,
        receipt: usize,
    ) {
        match due {
            Due::Recon => {
                self.counters.recon_tx += 1;
                self.counters.recon_bytes += len as u64;
                if self.gossip.built_digest {
                    self.counters.digest_tx += 1;
                }
            }
            Due::Broadcast => {
                self.digest_committed();
                if receipt > 0 {
                    self.counters.receipt_tx += 1;
                    self.counters.receipt_bytes += len as u64;
                } else {
                    self.counters.bcast_tx += 1;
                    self.counters.item_tx += sent.len() as u64;
                }
                // next_try now tells when it was sent (the push hold-off reads it).
                // An own item waiting for its parent's copy stays scheduled (`CONFIRM_US`).
                self.broadcast_sent(now, &sent);
            }
            Due::Acks | Due::Advert | Due::Items | Due::Fragment => {}
        }
    }

    /// Broadcast entries (in a Broadcast frame, or riding in a forward) are on the air.
    /// `next_try` now tells when each was sent (the push hold-off reads it). An own item
    /// waiting for its parent's copy stays scheduled (`CONFIRM_US`).
    pub(super) fn broadcast_sent(&mut self, now: u64, sent: &[usize]) {
        if sent.is_empty() {
            return;
        }
        let t = ticks(self.epoch, now);
        let again = ticks(
            self.epoch,
            now + CONFIRM_US + self.next_random() % (CONFIRM_US / 2),
        );
        // A route-less node repeats its relays only while it is still in a pocket (it may
        // have heard more neighbours since it stored the item).
        let repeat = self.parent.is_some() || self.in_pocket();
        for &i in sent {
            if let Some(s) = self.slots.get_mut(i) {
                self.gossip.untrack(s.short());
                self.counters.bcast_entries += 1;
                if s.tries() > 0 && repeat {
                    self.counters.confirm_waits += 1;
                    s.set_tries(s.tries() - 1);
                    s.set_next_try(again);
                } else {
                    s.state &= !RELAY;
                    s.set_next_try(t);
                }
            }
        }
    }

    /// Whether the waiting rebroadcast in `s` rides in the custody forward being built (a
    /// certification, not a receipt, which would not fit beside a payment).
    pub(super) fn rides_forward(&self, s: &Slot, now: u64) -> bool {
        s.relay()
            && !s.receipt()
            && s.tries() == 0
            && s.next_try_us(self.epoch) <= now.saturating_add(RIDE_AHEAD_US)
    }
}
