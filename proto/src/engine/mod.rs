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
//! - this module: verification, duplicate suppression, the bridge gradient, custody,
//!   channel access and the transmit scheduler.
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
//! ## Protocol (version 0)
//! - **Gradient**: every frame's 4 flag bits carry the sender's hop count to the nearest
//!   bridge (`0` = a bridge, [`NO_ROUTE`] = unknown). A node adopts `1 + h` from the
//!   neighbour with the smallest `h` (its parent) and follows its parent's changes. Explicit
//!   [`FrameKind::BridgeAdvert`] frames (4 bytes, empty body) go out only when the node's hop
//!   count changes, when a node without a route asks (an advert with [`NO_ROUTE`] is a
//!   solicitation), or every [`ADVERT_REFRESH_US`]; there is no fixed beacon.
//! - **Verify before forward**: an item that fails [`Item::parse`] or [`Item::verify`] is
//!   never stored or relayed ([`Event::Rejected`], [`Counters`]).
//! - **Custody**: a node takes an item only from a neighbour uphill of it (higher hop count),
//!   stores it, and answers with a [`FrameKind::CustodyAck`] (body: 8-byte little-endian
//!   [`ShortId`]s). The sender retransmits with exponential backoff until an ack, or until it
//!   overhears a downhill node sending the item on; then it stops pushing but **keeps** the
//!   item until [`Engine::handle_receipt`] or expiry. Bridges take every item and hand it to
//!   their uplink ([`Event::Uplink`]).
//! - **Duplicates** are suppressed by content id (store) and a ring of recently seen
//!   [`ShortId`]s; a duplicate from uphill is acknowledged again (the ack was lost).
//! - **Channel access**: every transmission waits a random number of contention slots;
//!   a busy channel doubles the window (listen before talk, half duplex: nothing is polled
//!   while transmitting).
//! - **Duty cycle**: a frame goes out only if the rolling hour stays within the region's
//!   budget; lower priorities may use a smaller share of it ([`Priority::budget_permille`]),
//!   so they are deferred first.
//!
//! ## Not done yet
//! Set reconciliation ([`FrameKind::Reconcile`]), on-air signed receipts
//! ([`FrameKind::Receipt`]), fragmentation of items larger than one frame (refused with
//! [`SubmitError::TooLarge`]), spreading certifications to all nodes (they travel to bridges
//! like payments, at a lower priority), and carrying an item's expiry on air (each hop restarts
//! [`Config::item_ttl_us`]).

pub mod duty;
pub mod store;

pub use duty::{DutyCycle, DutyRule, Modulation};
pub use store::{MemStore, Record, Store, StoreError};

use heapless::{Deque, Vec};

use crate::item::v2s::{CallKind, ChainProfile};
use crate::item::{Item, ItemId, ItemKind, ShortId};
use crate::radio::{
    Body, Flags, FrameBuilder, FrameKind, FrameRepr, HEADER_LEN, Header, MAX_FRAME_LEN, NodeAddr,
};

/// Hop count meaning "no route to a bridge" (the largest value of the 4 flag bits).
pub const NO_ROUTE: u8 = 15;
/// Hop limit given to items submitted here.
pub const DEFAULT_HOP_LIMIT: u8 = 10;
/// How long an item is kept without a receipt (24 h).
pub const DEFAULT_ITEM_TTL_US: u64 = 24 * 3_600_000_000;
/// A node re-advertises its gradient this often, even when nothing changed (30 min).
pub const ADVERT_REFRESH_US: u64 = 30 * 60_000_000;
/// A route is forgotten when the parent was not heard for this long.
pub const ROUTE_TIMEOUT_US: u64 = 75 * 60_000_000;
/// A node answers a solicitation only if its last advert is older than this.
pub const SOLICIT_HOLDOFF_US: u64 = 60_000_000;
/// Transmissions of an item without an ack before the node parks it.
pub const MAX_TRIES: u8 = 4;
/// A parked item is offered again after this long.
pub const PARK_US: u64 = 10 * 60_000_000;
/// Recently seen short ids remembered for duplicate suppression.
pub const SEEN_LEN: usize = 256;
/// Custody acks waiting to be sent (one frame carries them all).
pub const MAX_ACKS: usize = 16;
/// Events buffered between drains.
pub const EVENT_QUEUE: usize = 64;
/// Contention window in slots at the first attempt; doubled on a busy channel.
pub const CW_MIN_SLOTS: u32 = 16;
/// Largest contention window in slots.
pub const CW_MAX_SLOTS: u32 = 256;
/// Symbols per contention slot (covers a CAD and the rx/tx turnaround).
pub const SLOT_SYMBOLS: u64 = 4;
/// Bytes of a [`ShortId`] on air.
const SHORT_ID_LEN: usize = 8;

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

/// Signal measurements of a received frame (informational).
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
    /// The item does not fit one frame (or the region's dwell limit).
    TooLarge,
    /// The store is full of items of equal or higher priority: retry later.
    StoreFull,
}

impl core::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Malformed => "not a well-formed item: check its kind and bytes",
            Self::BadSignature => "the signature does not verify for this chain: re-sign it",
            Self::TooLarge => "the item does not fit one radio frame",
            Self::StoreFull => "the node's store is full; retry after it forwarded some items",
        })
    }
}

/// Why an item from the air was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Format check failed.
    Malformed,
    /// Signature check failed.
    BadSignature,
}

/// What the engine reports to its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An item was stored for the first time (`from_air`: received, else submitted).
    Stored { id: ItemId, from_air: bool },
    /// Bridge with an uplink: hand this item over (once per item and uplink period), then
    /// call [`Engine::handle_receipt`] when the chain included it.
    Uplink { id: ItemId },
    /// An item from the air failed verification and was dropped.
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
    /// Items received again.
    pub duplicates: u64,
    pub frames_tx: u64,
    pub item_tx: u64,
    pub ack_tx: u64,
    pub advert_tx: u64,
    /// Airtime used (µs).
    pub airtime_us: u64,
    /// Transmissions deferred by the duty-cycle budget.
    pub duty_deferrals: u64,
    /// Overflow events (evictions and refusals).
    pub overflows: u64,
    /// Events dropped because the driver did not drain them (should stay 0).
    pub events_lost: u64,
}

/// Volatile per-item forwarding state (rebuilt from the store after a restart).
#[derive(Debug, Clone, Copy)]
struct Slot {
    id: ItemId,
    short: ShortId,
    priority: Priority,
    expires: u64,
    hop_limit: u8,
    /// Still pushed towards the bridge.
    pending: bool,
    next_try: u64,
    tries: u8,
    /// Bridge: already handed to the uplink.
    uplinked: bool,
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

#[derive(Debug, Clone, Copy)]
struct Route {
    hops: u8,
    parent: Option<NodeAddr>,
    heard_at: u64,
}

/// What a [`Transmit`] carried, to finish bookkeeping at `handle_tx_done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Nothing,
    Frame,
}

/// The relay engine of one node: `N` items tracked, items kept in `S`.
#[derive(Debug)]
pub struct Engine<S: Store, const N: usize> {
    config: Config,
    store: S,
    slots: Vec<Slot, N>,
    seen: Deque<ShortId, SEEN_LEN>,
    acks: Vec<ShortId, MAX_ACKS>,
    events: Deque<Event, EVENT_QUEUE>,
    rng: u64,
    duty: DutyCycle,
    route: Route,
    advert_due: Option<u64>,
    last_advert: Option<u64>,
    access: Access,
    duty_wait: Option<u64>,
    sent: Sent,
    uplink: bool,
    counters: Counters,
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
            seen: Deque::new(),
            acks: Vec::new(),
            events: Deque::new(),
            rng: config.seed ^ 0x9E37_79B9_7F4A_7C15,
            duty: DutyCycle::new(config.duty),
            route: Route {
                hops: NO_ROUTE,
                parent: None,
                heard_at: now,
            },
            advert_due: None,
            last_advert: None,
            access: Access::Idle,
            duty_wait: None,
            sent: Sent::Nothing,
            uplink: false,
            counters: Counters::default(),
        };
        e.restart(now);
        e
    }

    /// What a power cut does: forget all RAM state (route, queues, backoffs, duty history —
    /// which is why a real node should persist it or wait an hour; the simulator audits
    /// it) and rebuild the item table from the store.
    pub fn restart(&mut self, now: u64) {
        let seed = self.rng;
        self.slots.clear();
        self.seen.clear();
        self.acks.clear();
        self.access = Access::Idle;
        self.duty_wait = None;
        self.sent = Sent::Nothing;
        self.uplink = false;
        self.rng = seed;
        self.route = Route {
            hops: if self.config.bridge { 0 } else { NO_ROUTE },
            parent: None,
            heard_at: now,
        };
        for i in 0..self.store.len() {
            let Some((r, _)) = self.store.at(i) else {
                break;
            };
            let slot = Slot {
                id: r.id,
                short: r.id.short(),
                priority: r.priority,
                expires: r.expires,
                hop_limit: r.hop_limit,
                pending: !r.handed_over && !self.config.bridge,
                next_try: now,
                tries: 0,
                uplinked: false,
            };
            if self.slots.push(slot).is_err() {
                break;
            }
        }
        // Bridges announce themselves; others ask for a route.
        let jitter = self.jitter_us();
        self.advert_due = Some(now + jitter);
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
        (self.route.hops < NO_ROUTE).then_some(self.route.hops)
    }

    /// Kind and bytes of a held item (a bridge uploads them on [`Event::Uplink`]).
    pub fn item(&self, id: &ItemId) -> Option<(ItemKind, &[u8])> {
        self.store.find(id).map(|(r, b)| (r.kind, b))
    }

    /// Whether the item is still pushed by this node (not acknowledged downstream).
    pub fn is_pending(&self, id: &ItemId) -> bool {
        self.slots.iter().any(|s| s.id == *id && s.pending)
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
        let frame_len = HEADER_LEN + 1 + bytes.len();
        if frame_len > MAX_FRAME_LEN
            || !self.duty_fits(self.config.modulation.time_on_air_us(frame_len))
        {
            return Err(SubmitError::TooLarge);
        }
        item.verify(&self.config.profile)
            .map_err(|_| SubmitError::BadSignature)?;
        let id = item.id();
        if self.holds(&id) {
            return Ok(id);
        }
        let hop_limit = self.config.hop_limit.min(NO_ROUTE);
        if self.accept(now, &item, id, hop_limit, false) {
            Ok(id)
        } else {
            Err(SubmitError::StoreFull)
        }
    }

    /// A frame was received intact.
    pub fn handle_frame(&mut self, now: u64, _meta: RxMeta, bytes: &[u8]) {
        self.counters.frames_rx += 1;
        let Ok(frame) = FrameRepr::parse(bytes) else {
            self.counters.malformed_frames += 1;
            return;
        };
        let sender = frame.header.sender;
        let their_hops = frame.header.flags.bits() & 0x0f;
        match frame.body {
            Body::Items(entries) => {
                for (kind, item) in entries.iter() {
                    self.handle_item(now, sender, their_hops, frame.header.hop_limit, kind, item);
                }
            }
            Body::Other {
                kind: FrameKind::CustodyAck,
                bytes,
            } if their_hops < self.route.hops => {
                for chunk in bytes.chunks_exact(SHORT_ID_LEN) {
                    let mut b = [0u8; SHORT_ID_LEN];
                    b.copy_from_slice(chunk);
                    self.hand_over(ShortId(u64::from_le_bytes(b)));
                }
            }
            // Adverts carry their information in the header; fragments, reconciliation and
            // receipts are not implemented yet (see the module doc).
            _ => {}
        }
        self.hear(now, sender, their_hops);
    }

    /// Timers: expiry, route timeout, periodic advert.
    pub fn handle_timeout(&mut self, now: u64) {
        self.expire(now);
        if !self.config.bridge
            && self.route.hops < NO_ROUTE
            && now.saturating_sub(self.route.heard_at) > ROUTE_TIMEOUT_US
        {
            self.set_route(now, NO_ROUTE, None);
        }
        if self.route.hops < NO_ROUTE
            && self.advert_due.is_none()
            && self
                .last_advert
                .is_none_or(|t| now.saturating_sub(t) >= ADVERT_REFRESH_US)
        {
            let j = self.jitter_us();
            self.advert_due = Some(now + j);
        }
        if self.duty_wait.is_some_and(|t| t <= now) {
            self.duty_wait = None;
        }
    }

    /// The last [`Transmit`] has left the antenna.
    pub fn handle_tx_done(&mut self, _now: u64) {
        self.sent = Sent::Nothing;
    }

    /// Bridge only: the uplink went up or down.
    pub fn handle_uplink(&mut self, _now: u64, up: bool) {
        self.uplink = up && self.config.bridge;
        if self.uplink {
            let mut i = 0;
            while let Some(s) = self.slots.get_mut(i) {
                if !s.uplinked {
                    s.uplinked = true;
                    let id = s.id;
                    self.event(Event::Uplink { id });
                }
                i += 1;
            }
        }
    }

    /// The chain included the item (a bridge saw it in a block, or a signed receipt arrived):
    /// delete it for good.
    pub fn handle_receipt(&mut self, _now: u64, id: &ItemId) {
        let removed = self.store.remove(id);
        self.slots.retain(|s| s.id != *id);
        self.remember(id.short());
        if removed {
            self.event(Event::Receipted { id: *id });
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
        if self.sent != Sent::Nothing {
            return None;
        }
        let Some(due) = self.due(now) else {
            self.access = Access::Idle;
            return None;
        };
        let (at, since, window) = match self.access {
            Access::Idle => {
                let w = CW_MIN_SLOTS;
                let at = now + self.backoff_us(w);
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
            self.access = Access::Waiting {
                at,
                since,
                window: w,
            };
            return None;
        }
        let Some((len, priority, packed)) = self.build(now, due, buf) else {
            // Nothing could be framed (a buffer shorter than a frame): drop acks, park items.
            self.access = Access::Idle;
            self.acks.clear();
            self.advert_due = None;
            for s in self
                .slots
                .iter_mut()
                .filter(|s| s.pending && s.next_try <= now)
            {
                s.next_try = now + PARK_US;
            }
            return None;
        };
        let toa = self.config.modulation.time_on_air_us(len);
        if !self.duty.allows(now, toa, priority.budget_permille()) {
            self.counters.duty_deferrals += 1;
            self.duty_wait = Some(self.duty.next_change(now));
            self.access = Access::Idle;
            return None;
        }
        self.commit(now, due, packed);
        self.duty.record(now, toa);
        self.counters.frames_tx += 1;
        self.counters.airtime_us += toa;
        self.access = Access::Idle;
        self.sent = Sent::Frame;
        Some(Transmit {
            len,
            priority,
            not_before: since,
        })
    }

    /// When to call [`Engine::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut at = |x: u64| t = Some(t.map_or(x, |y| y.min(x)));
        // While transmitting, `handle_tx_done` is the next chance to send.
        if self.sent == Sent::Nothing {
            if let Access::Waiting { at: a, .. } = self.access {
                at(a);
            } else if let Some(w) = self.duty_wait {
                at(w);
            } else {
                if let Some(a) = self.advert_due {
                    at(a);
                }
                if self.route.hops < NO_ROUTE && !self.config.bridge {
                    for s in self.slots.iter().filter(|s| s.pending) {
                        at(s.next_try);
                    }
                }
            }
        }
        for s in &self.slots {
            at(s.expires);
        }
        if self.route.hops < NO_ROUTE {
            if !self.config.bridge {
                at(self.route.heard_at.saturating_add(ROUTE_TIMEOUT_US + 1));
            }
            if let (None, Some(l)) = (self.advert_due, self.last_advert) {
                at(l.saturating_add(ADVERT_REFRESH_US));
            }
        }
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
        // splitmix64
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

    fn jitter_us(&mut self) -> u64 {
        let w = u64::from(CW_MAX_SLOTS) * self.slot_us();
        self.next_random() % w.max(1)
    }

    fn ack_timeout_us(&mut self) -> u64 {
        let m = &self.config.modulation;
        let base = 2 * m.time_on_air_us(MAX_FRAME_LEN)
            + m.time_on_air_us(HEADER_LEN + MAX_ACKS * SHORT_ID_LEN)
            + u64::from(CW_MAX_SLOTS) * self.slot_us();
        base + self.backoff_us(CW_MAX_SLOTS)
    }

    fn duty_fits(&self, toa: u64) -> bool {
        self.config.duty.max_dwell_us().is_none_or(|m| toa <= m)
    }

    fn holds(&self, id: &ItemId) -> bool {
        self.slots.iter().any(|s| s.id == *id) || self.store.find(id).is_some()
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

    fn queue_ack(&mut self, short: ShortId) {
        if !self.acks.contains(&short) {
            // A full ack queue drops the ack: the sender retransmits and is acked then.
            let _ = self.acks.push(short);
        }
    }

    /// Mark the item with `short` as taken over downstream: stop pushing it.
    fn hand_over(&mut self, short: ShortId) {
        let mut id = None;
        for s in self
            .slots
            .iter_mut()
            .filter(|s| s.short == short && s.pending)
        {
            s.pending = false;
            id = Some(s.id);
        }
        if let Some(id) = id {
            self.store.mark_handed_over(&id);
        }
    }

    fn handle_item(
        &mut self,
        now: u64,
        sender: NodeAddr,
        their_hops: u8,
        hop_limit: u8,
        kind: ItemKind,
        bytes: &[u8],
    ) {
        let Ok(item) = Item::parse(kind, bytes) else {
            self.counters.rejected_format += 1;
            self.event(Event::Rejected {
                reason: RejectReason::Malformed,
            });
            return;
        };
        let id = item.id();
        let short = id.short();
        let downhill = self.config.bridge || self.route.hops < their_hops;
        if self.holds(&id) || self.seen(short) {
            self.counters.duplicates += 1;
            if downhill {
                self.queue_ack(short);
            } else if their_hops < self.route.hops {
                // Overheard a node closer to a bridge carrying it: it is on its way.
                self.hand_over(short);
            }
            return;
        }
        let _ = sender;
        if !downhill || (hop_limit == 0 && !self.config.bridge) {
            return;
        }
        if item.verify(&self.config.profile).is_err() {
            self.counters.rejected_signature += 1;
            self.event(Event::Rejected {
                reason: RejectReason::BadSignature,
            });
            return;
        }
        if self.accept(now, &item, id, hop_limit.saturating_sub(1), true) {
            self.queue_ack(short);
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
        let priority = Priority::of(item);
        let record = Record {
            id,
            kind: item.kind(),
            priority,
            expires: now.saturating_add(self.config.item_ttl_us),
            hop_limit,
            handed_over: self.config.bridge,
        };
        if !self.make_room(now, priority) {
            self.counters.overflows += 1;
            self.event(Event::Overflow { id, evicted: false });
            return false;
        }
        if self.store.insert(&record, item.bytes()).is_err() {
            self.counters.overflows += 1;
            self.event(Event::Overflow { id, evicted: false });
            return false;
        }
        let slot = Slot {
            id,
            short: id.short(),
            priority,
            expires: record.expires,
            hop_limit,
            pending: !self.config.bridge,
            next_try: now,
            tries: 0,
            uplinked: self.uplink,
        };
        if self.slots.push(slot).is_err() {
            // make_room keeps slots and store in step; this is unreachable in practice.
            self.store.remove(&id);
            self.event(Event::Overflow { id, evicted: false });
            return false;
        }
        self.remember(id.short());
        self.event(Event::Stored { id, from_air });
        if self.uplink {
            self.event(Event::Uplink { id });
        }
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
                    Some((b, x)) if x.priority <= s.priority => Some(b),
                    _ => Some(i),
                };
            }
            best
        };
        let victim = pick(&|s: &Slot| !s.pending, &self.slots)
            .or_else(|| pick(&|s: &Slot| s.pending && s.priority < incoming, &self.slots));
        let Some(v) = victim.and_then(|i| self.slots.get(i).copied()) else {
            return false;
        };
        self.store.remove(&v.id);
        self.slots.retain(|s| s.id != v.id);
        self.remember(v.short);
        if v.pending {
            self.counters.overflows += 1;
            self.event(Event::Overflow {
                id: v.id,
                evicted: true,
            });
        } else {
            self.event(Event::Released { id: v.id });
        }
        true
    }

    fn expire(&mut self, now: u64) {
        let mut i = 0;
        while let Some(s) = self.slots.get(i).copied() {
            if s.expires <= now {
                self.store.remove(&s.id);
                self.slots.swap_remove(i);
                self.event(Event::Expired { id: s.id });
            } else {
                i += 1;
            }
        }
    }

    /// Learn from any frame's header: the sender's hop count to a bridge.
    fn hear(&mut self, now: u64, sender: NodeAddr, their_hops: u8) {
        if their_hops >= NO_ROUTE {
            // A solicitation (or a node without route): answer if we can help.
            if self.route.hops < NO_ROUTE
                && self.advert_due.is_none()
                && self
                    .last_advert
                    .is_none_or(|t| now.saturating_sub(t) >= SOLICIT_HOLDOFF_US)
            {
                let j = self.jitter_us();
                self.advert_due = Some(now + j);
            }
            if self.route.parent == Some(sender) {
                self.set_route(now, NO_ROUTE, None);
            }
            return;
        }
        if self.config.bridge {
            return;
        }
        let cand = their_hops + 1;
        if self.route.parent == Some(sender) {
            self.route.heard_at = now;
            if cand != self.route.hops {
                self.set_route(now, cand.min(NO_ROUTE), Some(sender));
            }
        } else if cand < self.route.hops {
            self.set_route(now, cand, Some(sender));
        }
    }

    fn set_route(&mut self, now: u64, hops: u8, parent: Option<NodeAddr>) {
        let had = self.route.hops < NO_ROUTE;
        self.route = Route {
            hops,
            parent: if hops < NO_ROUTE { parent } else { None },
            heard_at: now,
        };
        let j = self.jitter_us();
        if hops < NO_ROUTE {
            self.advert_due = Some(self.advert_due.map_or(now + j, |d| d.min(now + j)));
            if !had {
                for s in self.slots.iter_mut().filter(|s| s.pending) {
                    s.next_try = now;
                    s.tries = 0;
                }
            }
        }
        self.event(Event::Route {
            hops: (hops < NO_ROUTE).then_some(hops),
        });
    }

    /// What could go out now, highest priority first.
    fn due(&self, now: u64) -> Option<Due> {
        if !self.acks.is_empty() {
            return Some(Due::Acks);
        }
        if self.duty_wait.is_some_and(|t| t > now) {
            return None;
        }
        if self.advert_due.is_some_and(|t| t <= now) {
            return Some(Due::Advert);
        }
        if self.route.hops < NO_ROUTE
            && !self.config.bridge
            && self.slots.iter().any(|s| s.pending && s.next_try <= now)
        {
            return Some(Due::Items);
        }
        None
    }

    fn header(&self, hop_limit: u8) -> Header {
        Header {
            flags: Flags::from_bits(self.route.hops.min(NO_ROUTE)).unwrap_or(Flags::EMPTY),
            hop_limit: hop_limit.min(NO_ROUTE),
            sender: self.config.addr,
        }
    }

    fn build(
        &mut self,
        now: u64,
        due: Due,
        buf: &mut [u8],
    ) -> Option<(usize, Priority, Vec<usize, N>)> {
        match due {
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
                    .map(|len| (len, Priority::Control, Vec::new()))
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
                    .map(|len| (len, Priority::Control, Vec::new()))
            }
            Due::Items => {
                let order = self.item_order(now);
                let first = order.first().and_then(|&i| self.slots.get(i))?;
                let hop_limit = order
                    .iter()
                    .filter_map(|&i| self.slots.get(i))
                    .map(|s| s.hop_limit)
                    .min()
                    .unwrap_or(first.hop_limit);
                let priority = first.priority;
                let header = self.header(hop_limit);
                let mut b = FrameBuilder::new(buf, header).ok()?;
                let mut packed: Vec<usize, N> = Vec::new();
                for &i in &order {
                    let Some(s) = self.slots.get(i) else { continue };
                    let Some((r, bytes)) = self.store.find(&s.id) else {
                        continue;
                    };
                    if b.try_push(r.kind, bytes) {
                        let _ = packed.push(i);
                    }
                }
                b.finish().map(|len| (len, priority, packed))
            }
        }
    }

    /// Indices of due pending slots, highest priority then oldest first.
    fn item_order(&self, now: u64) -> Vec<usize, N> {
        let mut v: Vec<usize, N> = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            if s.pending && s.next_try <= now {
                let _ = v.push(i);
            }
        }
        v.sort_unstable_by(|&a, &b| {
            let (Some(x), Some(y)) = (self.slots.get(a), self.slots.get(b)) else {
                return core::cmp::Ordering::Equal;
            };
            y.priority.cmp(&x.priority).then(a.cmp(&b))
        });
        v
    }

    /// Bookkeeping once a built frame is committed to the air.
    fn commit(&mut self, now: u64, due: Due, sent: Vec<usize, N>) {
        match due {
            Due::Acks => {
                self.acks.clear();
                self.counters.ack_tx += 1;
            }
            Due::Advert => {
                self.advert_due = None;
                self.last_advert = Some(now);
                self.counters.advert_tx += 1;
            }
            Due::Items => {
                for i in sent {
                    let timeout = self.ack_timeout_us();
                    if let Some(s) = self.slots.get_mut(i) {
                        s.tries = s.tries.saturating_add(1);
                        self.counters.item_tx += 1;
                        if s.tries >= MAX_TRIES {
                            s.tries = 0;
                            s.next_try = now + PARK_US;
                        } else {
                            s.next_try = now + (timeout << (s.tries - 1));
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Acks,
    Advert,
    Items,
}
