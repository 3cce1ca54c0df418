//! The seam where protocols plug into the simulator: a sans-IO [`Router`].
//!
//! A router is one node's protocol engine. It never reads a clock, an RNG source of its own
//! choosing, or a radio: every input carries `now`, outputs are pulled with `poll_*`, and the
//! simulator (or, later, the firmware runner) is a thin driver around it.
//!
//! # Call order (the drain order)
//! After **any** input (`handle_frame`, `handle_timeout`, `handle_tx_done`, `handle_uplink`,
//! `handle_reboot`, `submit`) the driver drains, in this order:
//! 1. [`Router::poll_transmit`], only while the node's radio is idle; a returned [`Transmit`]
//!    starts on the air at `now` (so a router that wants to send later arms a timeout instead),
//!    and the driver stops polling transmits until [`Router::handle_tx_done`];
//! 2. [`Router::poll_timeout`]: the earliest instant the router wants `handle_timeout` (the
//!    driver keeps only the latest answer; `None` cancels);
//! 3. [`Router::poll_event`] until `None`.
//!
//! # Guarantees the simulator gives
//! - Frames are real bytes: the bytes a router writes into `buf` are what receivers get in
//!   `handle_frame`; the simulator only reads their length (for time on air).
//! - Half duplex: a node that is transmitting receives nothing; starting to transmit aborts the
//!   receptions in progress.
//! - `handle_timeout` may be called early or spuriously (a router must check its own timers),
//!   never later than the simulator's next event after the instant asked for.
//! - A crashed node gets no input until it restarts; then `handle_reboot` tells the router to
//!   drop whatever a power cut would lose (RAM) and keep what its flash would keep.
//! - Duty cycle is *audited* by the simulator, not enforced: a router that transmits too much
//!   is counted in `duty_violations`. [`NodeContext::hourly_budget`] tells it the rule.

use super::phy::{MediumModel, Preset, Region};
use super::time::{Duration, Instant};

/// Identity of an item, as the simulator's metrics see it.
///
/// The item's content id as the mesh names it: the [`ShortId`] of `blake2_256(bytes)`, which
/// is [`Item::id`] for the v2s extrinsics the workload injects. Use [`ItemKey::of`] to
/// compute a key from an item's bytes; routers treat items as opaque bytes otherwise.
///
/// [`ShortId`]: toile_proto::item::ShortId
/// [`Item::id`]: toile_proto::item::Item::id
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemKey(pub u64);

impl ItemKey {
    /// The key of an item: the short id of its content hash.
    pub fn of(item: &[u8]) -> ItemKey {
        ItemKey(
            toile_proto::item::ItemId(toile_proto::crypto::blake2_256(item))
                .short()
                .0,
        )
    }
}

/// What a node's radio measured about a received frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RxMeta {
    /// Received signal strength (dBm).
    pub rssi: f32,
    /// Signal-to-noise ratio (dB): RSSI minus the channel's noise floor.
    pub snr: f32,
}

/// A frame the router wants on the air now; its bytes are `buf[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Frame length in bytes (1..=255; anything else is rejected by the simulator and
    /// counted as `invalid_transmits`).
    pub len: usize,
}

/// Listen-before-talk, answered by the simulator at the moment of the call.
pub trait ChannelSense {
    /// True when the radio is receiving a packet or CAD detects energy of a LoRa packet on the
    /// channel (above the CAD threshold, started long enough ago for CAD to notice it).
    fn busy(&self) -> bool;
}

/// A channel that is always free (for unit tests of routers).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClearChannel;

impl ChannelSense for ClearChannel {
    fn busy(&self) -> bool {
        false
    }
}

/// Why a router gave up on an item or a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue or store was full.
    Overflow,
    /// Sending would have exceeded the duty-cycle budget.
    DutyCycle,
    /// The item could not be framed (too large).
    TooLarge,
}

/// What a router reports to its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterEvent {
    /// This node holds the item for the first time (received from the air, not submitted).
    /// `hops`: transmissions it took, when the router knows.
    Received {
        /// The item.
        item: ItemKey,
        /// Number of hops it travelled, if known.
        hops: Option<u8>,
    },
    /// A bridge handed the item to its uplink (the item is delivered).
    Delivered {
        /// The item.
        item: ItemKey,
    },
    /// A signed on-air receipt (routers that have them): `signed` — this bridge signed it
    /// and it is on the air now; else this node got its first valid copy. `receipt` names
    /// it on every node.
    Receipt {
        /// The receipt's name.
        receipt: u64,
        /// Signed here (else received).
        signed: bool,
    },
    /// The router dropped an item (its own copy; other nodes may still hold one).
    Dropped {
        /// The item.
        item: ItemKey,
        /// Why.
        reason: DropReason,
    },
}

/// Error returned by [`Router::submit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The node's store is full; try again after it forwarded some items.
    #[error("the node's store is full; retry after it has forwarded some items")]
    StoreFull,
    /// The item does not fit in a frame.
    #[error("the item is too large for this router ({0} bytes)")]
    TooLarge(usize),
    /// The router refused the item for another reason (malformed, bad signature, member
    /// filter, quota), said in words.
    #[error("the node refused the item: {0}")]
    Refused(&'static str),
}

/// Counters the simulator reads at the end of a run; routers without such a notion keep the
/// defaults (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RouterCounters {
    /// Bytes sent for set reconciliation.
    pub recon_bytes: Option<u64>,
    /// Of those, bytes of "are we in sync" digests.
    pub digest_bytes: Option<u64>,
    /// Items reconciliation sessions found one side lacking.
    pub recon_differences: Option<u64>,
    /// Bytes of one "are we in sync" check while nothing changes (the digest frame).
    pub idle_check_bytes: Option<u64>,
    /// Receipt frames sent (signed on-air receipts, own and relayed).
    pub receipt_tx: Option<u64>,
    /// What the transmissions were spent on, for routers that count it.
    pub tx_breakdown: Option<TxBreakdown>,
}

/// What a router's transmissions carried (summed over nodes; per item in the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct TxBreakdown {
    /// Frames carrying items on the custody path (payments towards bridges).
    pub item_frames: f64,
    /// Item transmissions that repeated an unacknowledged one.
    pub item_retries: f64,
    /// Hops items made (custody taken from the air).
    pub item_hops: f64,
    /// Frames carrying only custody acks.
    pub ack_frames: f64,
    /// Frames carrying only a hop count (adverts and solicitations).
    pub advert_frames: f64,
    /// Broadcast-class frames (certification rebroadcasts and reconciliation pushes).
    pub broadcast_frames: f64,
    /// Reconciliation frames (digests included).
    pub recon_frames: f64,
    /// Of those, "are we in sync" digests.
    pub digest_frames: f64,
    /// Signed receipt frames (own and passed on).
    pub receipt_frames: f64,
}

impl TxBreakdown {
    /// Field-wise sum.
    pub fn plus(self, o: Self) -> Self {
        Self {
            item_frames: self.item_frames + o.item_frames,
            item_retries: self.item_retries + o.item_retries,
            item_hops: self.item_hops + o.item_hops,
            ack_frames: self.ack_frames + o.ack_frames,
            advert_frames: self.advert_frames + o.advert_frames,
            broadcast_frames: self.broadcast_frames + o.broadcast_frames,
            recon_frames: self.recon_frames + o.recon_frames,
            digest_frames: self.digest_frames + o.digest_frames,
            receipt_frames: self.receipt_frames + o.receipt_frames,
        }
    }

    /// Every field divided by `n` (per item).
    pub fn per(self, n: f64) -> Self {
        let d = |x: f64| if n > 0.0 { x / n } else { 0.0 };
        Self {
            item_frames: d(self.item_frames),
            item_retries: d(self.item_retries),
            item_hops: d(self.item_hops),
            ack_frames: d(self.ack_frames),
            advert_frames: d(self.advert_frames),
            broadcast_frames: d(self.broadcast_frames),
            recon_frames: d(self.recon_frames),
            digest_frames: d(self.digest_frames),
            receipt_frames: d(self.receipt_frames),
        }
    }
}

/// What a router knows about its node when it is created.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeContext {
    /// Node index, 0-based, stable for the run.
    pub id: u32,
    /// Modem preset of the mesh.
    pub preset: Preset,
    /// Region of the mesh.
    pub region: Region,
    /// Time-on-air formula of the medium (what the simulator charges for a frame).
    pub medium: MediumModel,
    /// Transmit time allowed per rolling hour by the region.
    pub hourly_budget: Duration,
    /// Longest single transmission the region allows, if it has a dwell rule.
    pub max_dwell: Option<Duration>,
    /// Whether the node is a bridge (it may have an uplink; see `handle_uplink`).
    pub bridge: bool,
    /// Per-node seed: routers needing randomness seed their own PRNG from it.
    pub seed: u64,
    /// Whether the node relays broadcast items, when the scenario plans it
    /// ([`super::scenario::RelayPlan::Oracle`]); `None`: the router decides.
    pub relay: Option<bool>,
    /// Whether the node has the community's key book (`Scenario::key_book`).
    pub key_book: bool,
}

impl NodeContext {
    /// Time on air of a frame of `len` bytes at the mesh's preset.
    pub fn time_on_air(&self, len: usize) -> Duration {
        self.preset.time_on_air_as(self.medium, len)
    }
}

/// One node's protocol engine, driven by the simulator. See the module docs for the call
/// order and the guarantees.
pub trait Router {
    /// A frame was received intact (no collision, above sensitivity, radio not transmitting).
    fn handle_frame(&mut self, now: Instant, meta: RxMeta, frame: &[u8]);

    /// The instant last returned by `poll_timeout` has come (or a spurious wake-up).
    fn handle_timeout(&mut self, now: Instant);

    /// The transmission started by the last [`Transmit`] has left the antenna.
    fn handle_tx_done(&mut self, now: Instant);

    /// A bridge's uplink went up or down. Never called on non-bridges.
    fn handle_uplink(&mut self, now: Instant, up: bool);

    /// The node restarted after a crash or power cut: forget what RAM would lose.
    fn handle_reboot(&mut self, now: Instant);

    /// A user injects an item at this node.
    fn submit(&mut self, now: Instant, item: &[u8]) -> Result<(), SubmitError>;

    /// The next frame to put on the air now, written into `buf` (255 bytes). `channel`
    /// answers listen-before-talk at this instant.
    fn poll_transmit(
        &mut self,
        now: Instant,
        channel: &dyn ChannelSense,
        buf: &mut [u8],
    ) -> Option<Transmit>;

    /// When the router next wants `handle_timeout`.
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// The next event for the driver.
    fn poll_event(&mut self) -> Option<RouterEvent>;

    /// Items (or frames) currently held in the node's queue or store.
    fn store_len(&self) -> usize;

    /// For `toile sim --trace`: what this node knows of the item with these bytes (`None`:
    /// not held). Read-only.
    fn trace_state(&self, _item: &[u8]) -> Option<String> {
        None
    }

    /// End-of-run counters.
    fn counters(&self) -> RouterCounters {
        RouterCounters::default()
    }
}

/// Builds one router per node; called again is never needed (reboots go through
/// [`Router::handle_reboot`]).
pub trait RouterFactory {
    /// The router type built.
    type Router: Router;
    /// Short name used in reports (`"flood"`, `"toile"`).
    fn name(&self) -> &'static str;
    /// A router for the node described by `ctx`.
    fn build(&self, ctx: &NodeContext) -> Self::Router;
}
