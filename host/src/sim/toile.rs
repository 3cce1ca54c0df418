//! The Toile relay engine ([`toile_proto::engine`]) as a simulator [`Router`].
//!
//! A thin driver: it converts the simulator's time and context into the engine's, asks the
//! channel at the moment of `poll_transmit`, and maps engine events to [`RouterEvent`]s. A
//! bridge with its uplink up hands an item over as soon as it stores it and treats that as the
//! chain's receipt ([`Engine::handle_receipt`]) [`RECEIPT_DELAY`] later (block inclusion);
//! bridges sign on-air receipts with one community key ([`sim_bridge_seed`]: a simulation
//! simplification, the engine accepts a list) and every node verifies them. The store is a
//! [`MemStore`] standing for the node's flash: it survives `handle_reboot`, RAM state does not.

use std::collections::VecDeque;

use toile_proto::crypto::blake2_256;
use toile_proto::engine::{
    self, Config, DEFAULT_HOP_LIMIT, DEFAULT_ITEM_TTL_US, DutyRule, Engine, Event, MemStore,
};
use toile_proto::item::book::KeyBook;
use toile_proto::item::v2s::ChainProfile;
use toile_proto::item::{ItemId, ItemKind};
use toile_proto::radio::NodeAddr;

use super::router::{
    ChannelSense, DropReason, ItemKey, NodeContext, Router, RouterCounters, RouterEvent,
    RouterFactory, RxMeta, SubmitError, Transmit, TxBreakdown,
};
use super::time::Instant;

/// Delay between a bridge's uplink hand-over and the chain's confirmation.
pub const RECEIPT_DELAY: super::time::Duration = super::time::Duration::from_secs(30);

/// The Ed25519 seed the simulated bridges sign receipts with.
pub fn sim_bridge_seed() -> [u8; 32] {
    blake2_256(b"toile simulator bridge receipt key")
}

/// The bridge public keys every simulated node accepts receipts from.
pub fn sim_bridge_keys() -> &'static [[u8; 32]] {
    static KEYS: std::sync::OnceLock<[[u8; 32]; 1]> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| [toile_proto::crypto::ed25519_public(&sim_bridge_seed())])
}

/// The community key book of the simulated mesh: the workload's signers' account ids, sorted.
pub fn sim_key_book() -> KeyBook {
    static KEYS: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let mut k: Vec<[u8; 32]> = (0..super::engine::WORKLOAD_SIGNERS)
            .map(|i| super::engine::workload_signer(i).public())
            .collect();
        k.sort_unstable();
        k.dedup();
        k
    });
    KeyBook::new(keys).expect("sorted, deduplicated")
}

/// The engine's real signature checks, memoised per simulator thread: a thousand nodes
/// verify the same certification (and receipt) a thousand times, and a check is a pure
/// function of its bytes, so each distinct (profile, item) or (key, signature, message) is
/// checked once for real and its result reused. Nothing is skipped: a forged item still
/// fails, once per distinct forgery.
pub fn sim_verifier() -> engine::Verifier {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        /// blake2-256 of everything a check reads -> its real result.
        static CHECKED: RefCell<HashMap<[u8; 32], bool>> = RefCell::new(HashMap::new());
    }
    /// The result of `check` for these inputs: computed once, then reused.
    fn memoised(parts: &[&[u8]], check: impl FnOnce() -> bool) -> bool {
        let key = blake2_256(&parts.concat());
        if let Some(ok) = CHECKED.with(|m| m.borrow().get(&key).copied()) {
            return ok;
        }
        let ok = check();
        CHECKED.with(|m| m.borrow_mut().insert(key, ok));
        ok
    }
    fn item(item: &toile_proto::item::Item<'_>, profile: &ChainProfile) -> bool {
        let parts: [&[u8]; 5] = [
            b"item",
            &profile.genesis_hash,
            &profile.spec_version.to_le_bytes(),
            &profile.tx_version.to_le_bytes(),
            &[item.kind().to_u8()],
        ];
        memoised(&[&parts[..], &[item.bytes()]].concat(), || {
            (engine::Verifier::REAL.item)(item, profile)
        })
    }
    fn ed25519(public: &[u8; 32], signature: &[u8; 64], msg: &[u8]) -> bool {
        memoised(&[b"ed25519", public, signature, msg], || {
            (engine::Verifier::REAL.ed25519)(public, signature, msg)
        })
    }
    engine::Verifier { item, ed25519 }
}

/// Items a simulated node can hold.
pub const STORE_ITEMS: usize = 256;
/// Largest item a simulated node stores.
pub const STORE_ITEM_BYTES: usize = 256;

/// The engine type every simulated node runs.
pub type SimEngine = Engine<MemStore<STORE_ITEMS, STORE_ITEM_BYTES>, STORE_ITEMS>;

/// The chain the simulated workload signs for (a test profile: no real chain is involved).
pub fn sim_profile() -> ChainProfile {
    ChainProfile {
        genesis_hash: blake2_256(b"toile simulator chain"),
        spec_version: 1_000,
        tx_version: 1,
    }
}

/// Builds [`ToileRouter`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToileFactory;

impl RouterFactory for ToileFactory {
    type Router = ToileRouter;
    fn name(&self) -> &'static str {
        "toile"
    }
    fn build(&self, ctx: &NodeContext) -> ToileRouter {
        ToileRouter::new(ctx)
    }
}

/// One simulated node running the relay engine.
#[derive(Debug)]
pub struct ToileRouter {
    engine: SimEngine,
    events: VecDeque<RouterEvent>,
    /// Bridge: items handed to the uplink, confirmed by the chain at the given instant.
    confirming: VecDeque<(Instant, ItemId)>,
}

/// The engine configuration of a simulated node.
pub fn config(ctx: &NodeContext) -> Config {
    let budget_us = ctx.hourly_budget.as_micros();
    Config {
        addr: NodeAddr(ctx.id as u16),
        bridge: ctx.bridge,
        profile: sim_profile(),
        modulation: ctx.preset.modulation(),
        duty: match ctx.max_dwell {
            Some(d) => DutyRule::Dwell {
                max_us: d.as_micros(),
                budget_us,
            },
            None => DutyRule::PerHour { budget_us },
        },
        seed: ctx.seed,
        hop_limit: DEFAULT_HOP_LIMIT,
        item_ttl_us: DEFAULT_ITEM_TTL_US,
    }
}

fn key(id: &ItemId) -> ItemKey {
    ItemKey(id.short().0)
}

impl ToileRouter {
    pub fn new(ctx: &NodeContext) -> Self {
        let mut engine = Engine::new(config(ctx), MemStore::new(), 0)
            .with_bridge_keys(sim_bridge_keys())
            .with_verifier(sim_verifier());
        if let Some(relay) = ctx.relay {
            engine = engine.with_relay_role(relay);
        }
        if ctx.key_book {
            engine = engine.with_key_book(sim_key_book());
        }
        if ctx.bridge {
            engine = engine.with_receipt_key(sim_bridge_seed());
        }
        ToileRouter {
            engine,
            events: VecDeque::new(),
            confirming: VecDeque::new(),
        }
    }

    /// The engine (for tests and reports).
    pub fn engine(&self) -> &SimEngine {
        &self.engine
    }

    /// Move engine events to the router's queue (after every input, where `now` is known:
    /// a bridge's uplink hand-over is confirmed [`RECEIPT_DELAY`] later).
    fn pump(&mut self, now: Instant) {
        while self.confirming.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, id)) = self.confirming.pop_front() {
                self.engine.handle_receipt(now.0, &id);
            }
        }
        while let Some(e) = self.engine.poll_event() {
            match e {
                Event::Stored { id, from_air: true } => {
                    self.events.push_back(RouterEvent::Received {
                        item: key(&id),
                        hops: None,
                    })
                }
                Event::Uplink { id } => {
                    self.events
                        .push_back(RouterEvent::Delivered { item: key(&id) });
                    self.confirming.push_back((now + RECEIPT_DELAY, id));
                }
                Event::Overflow { id, .. } => self.events.push_back(RouterEvent::Dropped {
                    item: key(&id),
                    reason: DropReason::Overflow,
                }),
                Event::SignedReceipt { tag, own } => self.events.push_back(RouterEvent::Receipt {
                    receipt: tag,
                    signed: own,
                }),
                Event::Stored { .. }
                | Event::Rejected { .. }
                | Event::Receipted { .. }
                | Event::Released { .. }
                | Event::Expired { .. }
                | Event::Route { .. } => {}
            }
        }
    }
}

impl Router for ToileRouter {
    fn handle_frame(&mut self, now: Instant, meta: RxMeta, frame: &[u8]) {
        let meta = engine::RxMeta {
            rssi_dbm: meta.rssi as i16,
            snr_db: meta.snr as i8,
        };
        self.engine.handle_frame(now.0, meta, frame);
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.engine.handle_timeout(now.0);
        self.pump(now);
    }

    fn handle_tx_done(&mut self, now: Instant) {
        self.engine.handle_tx_done(now.0);
        self.pump(now);
    }

    fn handle_uplink(&mut self, now: Instant, up: bool) {
        self.engine.handle_uplink(now.0, up);
        self.pump(now);
    }

    fn handle_reboot(&mut self, now: Instant) {
        // Confirmations in flight are the chain's: they still arrive.
        self.engine.restart(now.0);
        self.pump(now);
    }

    fn submit(&mut self, now: Instant, item: &[u8]) -> Result<(), SubmitError> {
        let r = self.engine.submit(now.0, ItemKind::Extrinsic, item);
        self.pump(now);
        match r {
            Ok(_) => Ok(()),
            Err(engine::SubmitError::StoreFull) => Err(SubmitError::StoreFull),
            Err(engine::SubmitError::TooLarge) => Err(SubmitError::TooLarge(item.len())),
            Err(e) => Err(SubmitError::Refused(e.as_str())),
        }
    }

    fn poll_transmit(
        &mut self,
        now: Instant,
        channel: &dyn ChannelSense,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        self.engine
            .poll_transmit(now.0, channel.busy(), buf)
            .map(|t| Transmit { len: t.len })
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let confirm = self.confirming.front().map(|(t, _)| t.0);
        match (self.engine.poll_timeout(), confirm) {
            (Some(a), Some(b)) => Some(Instant(a.min(b))),
            (a, b) => a.or(b).map(Instant),
        }
    }

    fn poll_event(&mut self) -> Option<RouterEvent> {
        self.events.pop_front()
    }

    fn store_len(&self) -> usize {
        self.engine.store_len()
    }

    fn trace_state(&self, item: &[u8]) -> Option<String> {
        let id = toile_proto::item::Item::parse(ItemKind::Extrinsic, item)
            .ok()?
            .id();
        self.engine.item(&id)?;
        let e = &self.engine;
        let mut s = format!(
            "held, {} (parent {:?}, hops {:?}; neighbours addr/hops/cost/failed/acked:",
            if e.is_pending(&id) {
                "pending"
            } else {
                "handed over"
            },
            e.parent().map(|a| a.0),
            e.route_hops()
        );
        for (a, hops, cost, failed, acked) in e.neighbours().filter(|n| n.1 < 3) {
            s.push_str(&format!(" {}/{hops}/{cost}/{failed}/{acked}", a.0));
        }
        s.push(')');
        Some(s)
    }

    fn counters(&self) -> RouterCounters {
        let c = self.engine.counters();
        if std::env::var_os("TOILE_DBG").is_some() {
            eprintln!("DBG {c:?} {:?}", self.engine.recon_counters());
        }
        RouterCounters {
            recon_bytes: Some(c.recon_bytes),
            // A digest that rode in another frame cost its body alone.
            digest_bytes: Some(
                c.digest_tx * self.engine.idle_check_bytes() as u64
                    + c.digest_rides * toile_proto::recon::wire::DIGEST_LEN as u64,
            ),
            recon_differences: Some(c.recon_differences),
            idle_check_bytes: Some(self.engine.idle_check_bytes() as u64),
            receipt_tx: Some(c.receipt_tx),
            tx_breakdown: Some(TxBreakdown {
                item_frames: c
                    .frames_tx
                    .saturating_sub(c.ack_tx + c.advert_tx + c.bcast_tx + c.recon_tx + c.receipt_tx)
                    as f64,
                item_retries: c.item_retries as f64,
                item_hops: c.items_taken as f64,
                ack_frames: c.ack_tx as f64,
                advert_frames: c.advert_tx as f64,
                broadcast_frames: c.bcast_tx as f64,
                recon_frames: c.recon_tx as f64,
                digest_frames: c.digest_tx as f64,
                receipt_frames: c.receipt_tx as f64,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toile_proto::item::Item;
    use toile_proto::item::v2s::{Call, Signer, build_signed};

    #[test]
    fn the_memoised_verifier_gives_the_real_answers() {
        let good = build_signed(
            &Call::AddCert { receiver: 3 },
            &Signer::ed25519(&[5; 32]),
            0,
            0,
            &sim_profile(),
        );
        let mut forged = good.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let other = ChainProfile {
            spec_version: 999,
            ..sim_profile()
        };
        let v = sim_verifier();
        for _ in 0..2 {
            let g = Item::parse(ItemKind::Extrinsic, &good).unwrap();
            let f = Item::parse(ItemKind::Extrinsic, &forged).unwrap();
            assert!((v.item)(&g, &sim_profile()));
            assert!(
                !(v.item)(&f, &sim_profile()),
                "a forged item fails, memo or not"
            );
            assert!(!(v.item)(&g, &other), "the profile is part of the memo key");
        }
        let seed = sim_bridge_seed();
        let msg = b"receipt";
        let sig = toile_proto::crypto::ed25519_sign(&seed, msg);
        let public = sim_bridge_keys()[0];
        for _ in 0..2 {
            assert!((v.ed25519)(&public, &sig, msg));
            assert!(!(v.ed25519)(&public, &sig, b"receipu"));
        }
    }
}
