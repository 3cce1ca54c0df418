//! The discrete-event core: virtual clock, event queue, medium, nodes, audit and metrics.
//!
//! Layers, bottom up: [`super::phy`] (numbers), [`super::topology`] (who hears whom, computed
//! once), this module (time and the shared medium), [`super::router`] (the protocol seam).
//!
//! Events live in a binary heap ordered by `(time, sequence number)`: ties are broken by
//! insertion order, so a run is a pure function of its [`Scenario`]. All randomness comes from
//! ChaCha8 generators seeded from the scenario seed, one per purpose and node. No hash map is
//! iterated.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::rc::Rc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use toile_proto::item::v2s::{Call, Signer, build_signed};

use super::SimError;
use super::metrics::{self, Outcome, RunRecord};
use super::phy::{DutyRule, MAX_PHY_PAYLOAD, MediumModel};
use super::router::{
    ChannelSense, ItemKey, NodeContext, Router, RouterEvent, RouterFactory, RxMeta,
};
use super::scenario::{DeliveryMode, RelayPlan, Scenario};
use super::time::{Duration, Instant};
use super::topology::{Link, LinkModel, Links, Topology};
use super::trace::{Mention, Trace, TraceTarget, describe};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TxEnd { slot: u32 },
    Timer { node: u32, generation: u64 },
    Inject { node: u32 },
    Crash { node: u32 },
    Restart { node: u32 },
    Uplink { up: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Event {
    at: Instant,
    seq: u64,
    kind: Kind,
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, Copy)]
struct Arrival {
    slot: u32,
    start: Instant,
    end: Instant,
    rssi: f32,
    ok: bool,
    /// Whether it can still destroy later arrivals (always, except in Meshtasticator's medium
    /// for a packet that lost a collision when it arrived).
    interferes: bool,
}

#[derive(Debug)]
struct Tx {
    sender: u32,
    start: Instant,
    frame: Rc<[u8]>,
}

struct Node<R> {
    router: R,
    up: bool,
    tx: Option<u32>,
    timer_at: Option<Instant>,
    timer_gen: u64,
    same_instant_timers: u32,
    arrivals: Vec<Arrival>,
    duty_log: VecDeque<(Instant, Duration)>,
    duty_sum: Duration,
    inject_rng: ChaCha8Rng,
    churn_rng: ChaCha8Rng,
    waiting_items: Vec<u32>,
    link_use: Vec<u32>,
}

struct Sense<'a> {
    arrivals: &'a [Arrival],
    now: Instant,
    sensitivity: f32,
    cad_threshold: f32,
    cad_latency: Duration,
}

impl ChannelSense for Sense<'_> {
    fn busy(&self) -> bool {
        self.arrivals.iter().any(|a| {
            (a.ok && a.rssi >= self.sensitivity)
                || (a.rssi >= self.cad_threshold && self.now >= a.start + self.cad_latency)
        })
    }
}

/// Per-item bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct ItemRec {
    pub origin: u32,
    pub injected: Instant,
    pub delivered: Option<Instant>,
    pub dropped_at_origin: bool,
    /// A certification (broadcast class: it must also reach every node).
    pub cert: bool,
}

/// One simulation in progress. Build with [`Simulator::new`], then [`Simulator::run`].
pub struct Simulator<F: RouterFactory> {
    scenario: Scenario,
    factory_name: &'static str,
    topo: Topology,
    links: Links,
    /// `Some` when receptions are computed the reference way (see
    /// [`Simulator::reference_reception`]).
    reference: Option<LinkModel>,
    nodes: Vec<Node<F::Router>>,
    queue: BinaryHeap<Reverse<Event>>,
    seq: u64,
    now: Instant,
    end: Instant,
    inject_end: Instant,
    txs: Vec<Option<Tx>>,
    free_slots: Vec<u32>,
    items: Vec<ItemRec>,
    /// Broadcast mode: per item, which nodes hold it (bitset).
    holders: Vec<Vec<u64>>,
    /// Signed on-air receipts by name (looked up, never iterated) -> index in
    /// `rec.receipts`, and per receipt which nodes got it (bitset).
    receipt_index: HashMap<u64, u32>,
    receipt_holders: Vec<Vec<u64>>,
    rec: RunRecord,
    /// Item index by content key (looked up, never iterated).
    keys: HashMap<ItemKey, u32>,
    /// Signers of the workload's signed items (fixed seeds).
    signers: Vec<Signer>,
    sensitivity: f32,
    cad_threshold: f32,
    uplink: bool,
    /// `toile sim --trace`: one item followed through the run (stderr).
    trace: Option<Trace>,
}

/// Accounts signing the workload's items; items are unique by (signer, nonce).
pub(crate) const WORKLOAD_SIGNERS: usize = 16;

/// The `i`-th signer of the workload's items (deterministic: the same in every run).
pub(crate) fn workload_signer(i: usize) -> Signer {
    Signer::ed25519(&[i as u8 + 1; 32])
}

fn sub_seed(seed: u64, purpose: u64, node: u64) -> u64 {
    let mut z = seed
        ^ purpose.wrapping_mul(0xA076_1D64_78BD_642F)
        ^ node.wrapping_mul(0xE703_7ED1_A0B4_28DB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn exp_secs(rng: &mut ChaCha8Rng, rate_per_s: f64) -> Duration {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    Duration::from_secs_f64(-u.ln() / rate_per_s)
}

/// [`RelayPlan::Oracle`]: whether each node is in the greedy connected relay set from the
/// bridges over the links that close both ways at the preset's sensitivity (a relay's
/// children can answer it, and a certification can climb the same links a receipt comes
/// down).
fn oracle_relays(topo: &Topology, links: &Links, s: &Scenario) -> Result<Vec<bool>, SimError> {
    let bridges: Vec<u32> = (0..topo.bridges.len() as u32)
        .filter(|&b| topo.bridges[b as usize])
        .collect();
    if bridges.is_empty() {
        return Err(SimError::Config(
            "the oracle's relay set grows from the bridges: the scenario has none".into(),
        ));
    }
    let both = two_way(&links.closing(s.radio.preset.sensitivity_dbm()));
    let mut relay = vec![false; both.len()];
    for r in metrics::greedy_relays(&both, &bridges).0 {
        relay[r as usize] = true;
    }
    Ok(relay)
}

/// The links of `adj` that close both ways.
fn two_way(adj: &[Vec<u32>]) -> Vec<Vec<u32>> {
    adj.iter()
        .enumerate()
        .map(|(u, out)| {
            out.iter()
                .copied()
                .filter(|&v| adj[v as usize].contains(&(u as u32)))
                .collect()
        })
        .collect()
}

impl<F: RouterFactory> Simulator<F> {
    /// Prepare a run: place nodes, compute links, build one router per node, schedule the
    /// first events.
    pub fn new(scenario: Scenario, factory: &F) -> Result<Self, SimError> {
        let s = &scenario;
        if !(s.hours.is_finite() && s.hours > 0.0 && s.hours <= 24.0 * 365.0) {
            return Err(SimError::Config("hours must be in (0, 8760]".into()));
        }
        if !(s.drain_s.is_finite() && s.drain_s >= 0.0) {
            return Err(SimError::Config(
                "drain must be a non-negative number of seconds".into(),
            ));
        }
        if !(s.items_per_hour.is_finite() && s.items_per_hour >= 0.0) {
            return Err(SimError::Config("items per hour must be >= 0".into()));
        }
        let mut topo = match &s.topology {
            Some(t) => t.clone(),
            None => {
                if s.nodes < 2 || s.nodes > 100_000 {
                    return Err(SimError::Config("nodes must be in 2..=100000".into()));
                }
                Topology::generate(s.nodes, s.side_m, s.placement, &s.radio, s.seed)
            }
        };
        if s.delivery == DeliveryMode::Bridges && !topo.bridges.iter().any(|&b| b) {
            topo.place_bridges(s.bridges.max(1));
        }
        let n = topo.positions.len();
        let links = Links::build(&topo, &s.radio, sub_seed(s.seed, 1, 0));
        let relays = match s.relays {
            RelayPlan::Tree => None,
            RelayPlan::Oracle => Some(oracle_relays(&topo, &links, s)?),
        };
        let (max_dwell, hourly_budget) = match s.radio.region.duty_rule() {
            DutyRule::Dwell(d) => (Some(d), s.radio.region.hourly_budget()),
            DutyRule::PerHour(b) => (None, b),
        };
        let nodes = (0..n)
            .map(|i| {
                let ctx = NodeContext {
                    id: i as u32,
                    preset: s.radio.preset,
                    region: s.radio.region,
                    medium: s.radio.medium,
                    hourly_budget,
                    max_dwell,
                    bridge: topo.bridges[i],
                    seed: sub_seed(s.seed, 2, i as u64),
                    relay: relays.as_ref().map(|r| r[i]),
                    key_book: s.key_book && s.signed_items,
                };
                Node {
                    router: factory.build(&ctx),
                    up: true,
                    tx: None,
                    timer_at: None,
                    timer_gen: 0,
                    same_instant_timers: 0,
                    arrivals: Vec::new(),
                    duty_log: VecDeque::new(),
                    duty_sum: Duration::ZERO,
                    inject_rng: ChaCha8Rng::seed_from_u64(sub_seed(s.seed, 3, i as u64)),
                    churn_rng: ChaCha8Rng::seed_from_u64(sub_seed(s.seed, 4, i as u64)),
                    waiting_items: Vec::new(),
                    link_use: vec![0; links.out[i].len()],
                }
            })
            .collect();
        let inject_end = Instant::ZERO + Duration::from_secs_f64(s.hours * 3600.0);
        let end = inject_end + Duration::from_secs_f64(s.drain_s);
        let rec = RunRecord::new(&topo, &links, s);
        let mut sim = Simulator {
            factory_name: factory.name(),
            sensitivity: s.radio.preset.sensitivity_dbm() as f32,
            cad_threshold: s.radio.preset.cad_threshold_dbm() as f32,
            scenario: scenario.clone(),
            topo,
            links,
            reference: None,
            nodes,
            queue: BinaryHeap::new(),
            seq: 0,
            now: Instant::ZERO,
            end,
            inject_end,
            txs: Vec::new(),
            free_slots: Vec::new(),
            items: Vec::new(),
            holders: Vec::new(),
            receipt_index: HashMap::new(),
            receipt_holders: Vec::new(),
            rec,
            keys: HashMap::new(),
            signers: (0..WORKLOAD_SIGNERS).map(workload_signer).collect(),
            uplink: false,
            trace: None,
        };
        sim.schedule_initial();
        Ok(sim)
    }

    /// Follow one item through the run, or list the lost ones ([`TraceTarget`]), on stderr.
    /// The run's results are unchanged.
    pub fn trace(mut self, target: TraceTarget) -> Self {
        self.trace = Some(Trace::new(target, self.nodes.len()));
        self
    }

    /// Compute every reception the way Meshtasticator does, as a reference for the benchmark:
    /// for each transmission, every node of the mesh is visited and the link budget (path
    /// loss, per-link offset) is recomputed, O(N) per transmission instead of O(neighbours)
    /// from the link table built once. Same model, same results byte for byte (tested); only
    /// slower.
    pub fn reference_reception(mut self) -> Self {
        self.reference = Some(LinkModel::new(
            &self.scenario.radio,
            sub_seed(self.scenario.seed, 1, 0),
        ));
        self
    }

    /// Receivers of a transmission by `node` in the reference way (every node visited).
    fn reference_links(&self, model: &LinkModel, node: u32) -> Vec<Link> {
        (0..self.nodes.len() as u32)
            .filter_map(|b| model.link(&self.topo, node, b))
            .collect()
    }

    fn push(&mut self, at: Instant, kind: Kind) {
        self.seq += 1;
        self.queue.push(Reverse(Event {
            at,
            seq: self.seq,
            kind,
        }));
    }

    fn schedule_initial(&mut self) {
        let n = self.nodes.len();
        let per_node_rate = self.scenario.items_per_hour / 3600.0 / n as f64;
        let churn_rate = self.scenario.churn_per_hour.max(0.0) / 3600.0;
        if self.scenario.uplink_after_s <= 0.0 {
            self.push(Instant::ZERO, Kind::Uplink { up: true });
        } else {
            let at = Instant::ZERO + Duration::from_secs_f64(self.scenario.uplink_after_s);
            self.push(at, Kind::Uplink { up: true });
        }
        for i in 0..n {
            if per_node_rate > 0.0 {
                let d = exp_secs(&mut self.nodes[i].inject_rng, per_node_rate);
                if Instant::ZERO + d < self.inject_end {
                    self.push(Instant::ZERO + d, Kind::Inject { node: i as u32 });
                }
            }
            if churn_rate > 0.0 {
                let d = exp_secs(&mut self.nodes[i].churn_rng, churn_rate);
                if Instant::ZERO + d < self.end {
                    self.push(Instant::ZERO + d, Kind::Crash { node: i as u32 });
                }
            }
        }
    }

    /// Run to the end and compute the metrics.
    pub fn run(self) -> Outcome {
        self.run_with_progress(&mut |_| {})
    }

    /// Run to the end, calling `progress` with the fraction of simulated time done (at most
    /// once per simulated minute).
    pub fn run_with_progress(mut self, progress: &mut dyn FnMut(f64)) -> Outcome {
        let minute = Duration::from_secs(60);
        let mut next_report = Instant::ZERO + minute;
        // Boot: every router gets its first drain (timers, transmits) at time zero.
        for i in 0..self.nodes.len() {
            self.drain(i as u32);
        }
        while let Some(Reverse(ev)) = self.queue.pop() {
            if ev.at > self.end {
                break;
            }
            self.now = ev.at;
            self.rec.events += 1;
            if self.now >= next_report {
                progress(self.now.as_secs_f64() / self.end.as_secs_f64().max(1e-9));
                next_report = self.now + minute;
            }
            self.dispatch(ev.kind);
        }
        progress(1.0);
        self.finish()
    }

    fn dispatch(&mut self, kind: Kind) {
        match kind {
            Kind::TxEnd { slot } => self.tx_end(slot),
            Kind::Timer { node, generation } => {
                let now = self.now;
                let nd = &mut self.nodes[node as usize];
                if nd.timer_gen != generation || !nd.up {
                    return;
                }
                nd.timer_at = None;
                nd.router.handle_timeout(now);
                self.drain(node);
            }
            Kind::Inject { node } => self.inject(node),
            Kind::Crash { node } => self.crash(node),
            Kind::Restart { node } => self.restart(node),
            Kind::Uplink { up } => {
                self.uplink = up;
                for i in 0..self.nodes.len() {
                    if self.topo.bridges[i] && self.nodes[i].up {
                        let now = self.now;
                        self.nodes[i].router.handle_uplink(now, up);
                        self.drain(i as u32);
                    }
                }
            }
        }
    }

    fn item_bytes(&self, idx: u32, rng_byte: u8) -> Vec<u8> {
        let mix = self.scenario.mix;
        let payment = f64::from(rng_byte) / 256.0 < mix.payment_share;
        if self.scenario.signed_items {
            return self.signed_item(idx, payment);
        }
        let len = if payment {
            mix.payment_bytes
        } else {
            mix.certification_bytes
        }
        .max(9);
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(&u64::from(idx).to_le_bytes());
        v.push(if payment { 1 } else { 2 });
        while v.len() < len {
            v.push((v.len() as u8).wrapping_mul(31) ^ idx as u8);
        }
        v
    }

    /// A real signed extrinsic: item `idx` is signed by signer `idx % 16` with nonce
    /// `idx / 16`, so every item of a run is unique.
    fn signed_item(&self, idx: u32, payment: bool) -> Vec<u8> {
        let n = self.signers.len().max(1);
        let i = idx as usize % n;
        let nonce = idx / n as u32;
        let dest = self.signers[(i + 1) % n].public();
        let call = if payment {
            Call::TransferKeepAlive {
                dest: &dest,
                value: 100 + u64::from(idx % 10_000),
            }
        } else {
            Call::AddCert { receiver: idx }
        };
        build_signed(
            &call,
            &self.signers[i],
            nonce,
            0,
            &super::toile::sim_profile(),
        )
    }

    fn inject(&mut self, node: u32) {
        let now = self.now;
        let n = self.nodes.len();
        let rate = self.scenario.items_per_hour / 3600.0 / n as f64;
        let i = node as usize;
        let d = exp_secs(&mut self.nodes[i].inject_rng, rate);
        if now + d < self.inject_end {
            self.push(now + d, Kind::Inject { node });
        }
        let idx = self.items.len() as u32;
        self.items.push(ItemRec {
            origin: node,
            injected: now,
            delivered: None,
            dropped_at_origin: false,
            cert: false,
        });
        // Broadcast mode: every item; bridge mode: certifications (coverage), tracked per node.
        {
            let mut bits = vec![0u64; n.div_ceil(64)];
            bits[i / 64] |= 1 << (i % 64);
            self.holders.push(bits);
        }
        if self.nodes[i].up {
            self.submit(node, idx);
        } else {
            self.nodes[i].waiting_items.push(idx);
        }
    }

    fn submit(&mut self, node: u32, idx: u32) {
        let now = self.now;
        let byte = self.nodes[node as usize].inject_rng.r#gen::<u8>();
        let bytes = self.item_bytes(idx, byte);
        if let Some(it) = self.items.get_mut(idx as usize) {
            it.cert = f64::from(byte) / 256.0 >= self.scenario.mix.payment_share;
        }
        self.keys.insert(ItemKey::of(&bytes), idx);
        if let Some(t) = &mut self.trace {
            t.injected(now, node, idx, &bytes);
        }
        if self.nodes[node as usize]
            .router
            .submit(now, &bytes)
            .is_err()
            && let Some(it) = self.items.get_mut(idx as usize)
        {
            it.dropped_at_origin = true;
        }
        self.drain(node);
    }

    fn crash(&mut self, node: u32) {
        let i = node as usize;
        if !self.nodes[i].up {
            return;
        }
        if self.trace.as_ref().is_some_and(|t| t.holds(node)) {
            Trace::log(self.now, node, "crash (RAM lost, store kept)");
        }
        let nd = &mut self.nodes[i];
        nd.up = false;
        nd.timer_gen += 1;
        nd.timer_at = None;
        nd.arrivals.clear();
        let down = Duration::from_secs_f64(self.scenario.churn_down_s);
        let at = self.now + down;
        self.push(at, Kind::Restart { node });
        self.rec.crashes += 1;
    }

    fn restart(&mut self, node: u32) {
        let now = self.now;
        let i = node as usize;
        let churn_rate = self.scenario.churn_per_hour.max(0.0) / 3600.0;
        self.nodes[i].up = true;
        if self.trace.as_ref().is_some_and(|t| t.holds(node)) {
            Trace::log(now, node, "restart");
        }
        self.nodes[i].router.handle_reboot(now);
        if self.topo.bridges[i] {
            let up = self.uplink;
            self.nodes[i].router.handle_uplink(now, up);
        }
        self.drain(node);
        let waiting = std::mem::take(&mut self.nodes[i].waiting_items);
        for idx in waiting {
            self.submit(node, idx);
        }
        if churn_rate > 0.0 {
            let d = exp_secs(&mut self.nodes[i].churn_rng, churn_rate);
            if now + d < self.end {
                self.push(now + d, Kind::Crash { node });
            }
        }
    }

    /// After any input: drain poll_transmit, then poll_timeout, then poll_event.
    fn drain(&mut self, node: u32) {
        let now = self.now;
        let i = node as usize;
        if !self.nodes[i].up {
            return;
        }
        let mut buf = [0u8; MAX_PHY_PAYLOAD];
        if self.nodes[i].tx.is_none() {
            let cad_latency = self.scenario.radio.preset.cad_latency();
            let Node {
                router, arrivals, ..
            } = &mut self.nodes[i];
            let sense = Sense {
                arrivals,
                now,
                sensitivity: self.sensitivity,
                cad_threshold: self.cad_threshold,
                cad_latency,
            };
            if let Some(t) = router.poll_transmit(now, &sense, &mut buf) {
                self.start_tx(node, &buf, t.len);
            }
        }
        let nd = &mut self.nodes[i];
        match nd.router.poll_timeout() {
            Some(t) => {
                if nd.timer_at != Some(t) {
                    nd.timer_gen += 1;
                    nd.timer_at = Some(t);
                    let mut at = t.max(now);
                    if at == now {
                        nd.same_instant_timers += 1;
                        if nd.same_instant_timers > 64 {
                            at = now + Duration::from_micros(1);
                        }
                    } else {
                        nd.same_instant_timers = 0;
                    }
                    let generation = nd.timer_gen;
                    self.push(at, Kind::Timer { node, generation });
                }
            }
            None => {
                nd.timer_at = None;
                nd.timer_gen += 1;
            }
        }
        let store = self.nodes[i].router.store_len();
        self.rec.store_high_water = self.rec.store_high_water.max(store);
        if let Some(t) = &mut self.trace
            && let Some(bytes) = t.bytes()
        {
            let state = self.nodes[i].router.trace_state(bytes);
            t.node_state(now, node, state);
        }
        while let Some(ev) = self.nodes[i].router.poll_event() {
            self.on_event(node, ev);
        }
    }

    fn on_event(&mut self, node: u32, ev: RouterEvent) {
        let now = self.now;
        match ev {
            RouterEvent::Received { item, hops } => {
                let Some(rec) = self.item_for(item) else {
                    return;
                };
                let injected = rec.injected;
                if let Some(h) = hops {
                    let lat = now.saturating_since(injected).as_secs_f64() / f64::from(h + 1);
                    self.rec.hop_latencies.push(lat);
                }
                let broadcast = self.scenario.delivery == DeliveryMode::Broadcast;
                if let Some(&idx) = self.keys.get(&item)
                    && (broadcast || self.items.get(idx as usize).is_some_and(|r| r.cert))
                {
                    let (i, n) = (idx as usize, node as usize);
                    if let Some(bits) = self.holders.get_mut(i) {
                        let w = &mut bits[n / 64];
                        if *w & (1 << (n % 64)) == 0 {
                            *w |= 1 << (n % 64);
                            if broadcast {
                                self.rec.pair_latencies.push((idx, node, now));
                            } else {
                                self.rec.cert_pair_latencies.push((idx, node, now));
                            }
                        }
                    }
                }
            }
            RouterEvent::Delivered { item } => {
                if self.scenario.delivery == DeliveryMode::Bridges
                    && self.topo.bridges[node as usize]
                    && let Some(&idx) = self.keys.get(&item)
                    && let Some(rec) = self.items.get_mut(idx as usize)
                    && rec.delivered.is_none()
                {
                    rec.delivered = Some(now);
                    if self.trace.as_ref().is_some_and(|t| t.is(item)) {
                        Trace::log(now, node, "delivered (uplink)");
                    }
                }
            }
            RouterEvent::Receipt { receipt, signed } => self.on_receipt(node, receipt, signed),
            RouterEvent::Dropped { .. } => self.rec.drops += 1,
        }
    }

    /// Receipt coverage: who signed each receipt when, and each node's first copy.
    fn on_receipt(&mut self, node: u32, receipt: u64, signed: bool) {
        let n = self.nodes.len();
        let idx = if signed {
            if self.receipt_index.contains_key(&receipt) {
                return;
            }
            let idx = self.rec.receipts.len() as u32;
            self.receipt_index.insert(receipt, idx);
            self.rec.receipts.push((node, self.now));
            let mut bits = vec![0u64; n.div_ceil(64)];
            bits[node as usize / 64] |= 1 << (node % 64);
            self.receipt_holders.push(bits);
            return;
        } else if let Some(&idx) = self.receipt_index.get(&receipt) {
            idx
        } else {
            return;
        };
        if let Some(bits) = self.receipt_holders.get_mut(idx as usize) {
            let w = &mut bits[node as usize / 64];
            if *w & (1 << (node % 64)) == 0 {
                *w |= 1 << (node % 64);
                self.rec.receipt_pairs.push((idx, node, self.now));
            }
        }
    }

    fn item_for(&self, key: ItemKey) -> Option<&ItemRec> {
        self.keys
            .get(&key)
            .and_then(|&i| self.items.get(i as usize))
    }

    fn start_tx(&mut self, node: u32, buf: &[u8], len: usize) {
        let now = self.now;
        let i = node as usize;
        let Some(frame) = buf.get(..len).filter(|_| len > 0) else {
            self.rec.invalid_transmits += 1;
            // Unstick the router: the "transmission" ends at once.
            self.nodes[i].router.handle_tx_done(now);
            return;
        };
        let preset = self.scenario.radio.preset;
        let toa = self.scenario.radio.time_on_air(len);
        let end = now + toa;
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None => {
                self.txs.push(None);
                (self.txs.len() - 1) as u32
            }
        };
        self.txs[slot as usize] = Some(Tx {
            sender: node,
            start: now,
            frame: Rc::from(frame),
        });
        if let Some(m) = self.trace.as_ref().and_then(|t| t.mention(frame)) {
            let what = if m == Mention::Item { "item" } else { "its id" };
            Trace::log(
                now,
                node,
                &format!("TX {} carrying {what}", describe(frame)),
            );
        }
        // Half duplex: transmitting aborts receptions in progress.
        for a in &mut self.nodes[i].arrivals {
            a.ok = false;
        }
        self.nodes[i].tx = Some(slot);
        let sens = self.sensitivity;
        let medium = self.scenario.radio.medium;
        // A later packet survives an earlier one it overlaps only from its critical section on.
        // Meshtasticator's `phy.py` `timing_collision` computes that offset in seconds
        // (`2 ** sf / bw * (NPREAM - 5)`) and adds it to a clock in milliseconds, so there any
        // overlap collides: its medium starts the critical section at the packet's start.
        let cs = match medium {
            MediumModel::Physical => now + preset.critical_offset(),
            MediumModel::Meshtasticator => now,
        };
        let reference = self.reference.map(|m| self.reference_links(&m, node));
        let count = reference.as_ref().map_or(self.links.out[i].len(), Vec::len);
        for k in 0..count {
            let link = match &reference {
                Some(v) => v[k],
                None => self.links.out[i][k],
            };
            let r = &mut self.nodes[link.to as usize];
            if !r.up {
                continue;
            }
            let mut new = Arrival {
                slot,
                start: now,
                end,
                rssi: link.rssi,
                ok: link.rssi >= sens && r.tx.is_none(),
                interferes: medium.interferes(link.rssi, sens),
            };
            let mut lost = false;
            for o in &mut r.arrivals {
                if cs < o.end && new.interferes && o.interferes {
                    let diff = f64::from(new.rssi) - f64::from(o.rssi);
                    if diff.abs() < super::phy::CAPTURE_THRESHOLD_DB {
                        if new.ok || o.ok {
                            self.rec.collisions += u64::from(new.ok) + u64::from(o.ok);
                        }
                        new.ok = false;
                        o.ok = false;
                        lost = true;
                    } else if diff < 0.0 {
                        self.rec.collisions += u64::from(new.ok);
                        new.ok = false;
                        lost = true;
                    } else {
                        self.rec.collisions += u64::from(o.ok);
                        o.ok = false;
                    }
                }
            }
            if lost && medium == MediumModel::Meshtasticator {
                // Meshtasticator keeps a packet that collided on arrival out of `packetsAtN`.
                new.interferes = false;
            }
            r.arrivals.push(new);
        }
        // Duty-cycle audit, independent of the router.
        let nd = &mut self.nodes[i];
        match self.scenario.radio.region.duty_rule() {
            DutyRule::Dwell(max) => {
                if toa > max {
                    self.rec.duty_violations += 1;
                }
            }
            DutyRule::PerHour(budget) => {
                let window = Duration::from_secs(3600);
                nd.duty_log.push_back((now, toa));
                nd.duty_sum = nd.duty_sum + toa;
                while let Some(&(t, d)) = nd.duty_log.front() {
                    if t + window <= end {
                        nd.duty_sum = Duration(nd.duty_sum.0.saturating_sub(d.0));
                        nd.duty_log.pop_front();
                    } else {
                        break;
                    }
                }
                if nd.duty_sum > budget {
                    self.rec.duty_violations += 1;
                }
            }
        }
        self.rec.transmissions += 1;
        self.rec.airtime = self.rec.airtime + toa;
        self.push(end, Kind::TxEnd { slot });
    }

    fn tx_end(&mut self, slot: u32) {
        let now = self.now;
        let Some(tx) = self.txs.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.free_slots.push(slot);
        let s = tx.sender as usize;
        let _ = tx.start;
        self.nodes[s].tx = None;
        if self.nodes[s].up {
            self.nodes[s].router.handle_tx_done(now);
            self.drain(tx.sender);
        }
        let noise = self.scenario.radio.preset.noise_floor_dbm() as f32;
        let traced = self
            .trace
            .as_ref()
            .and_then(|t| t.mention(&tx.frame))
            .is_some();
        let reference = self.reference.map(|m| self.reference_links(&m, tx.sender));
        let count = reference.as_ref().map_or(self.links.out[s].len(), Vec::len);
        for k in 0..count {
            let (link, k) = match &reference {
                Some(v) => {
                    let l = v[k];
                    // Link-use accounting (for the map) is indexed like the link table.
                    let idx = self.links.out[s].binary_search_by_key(&l.to, |x| x.to);
                    (l, idx.unwrap_or(usize::MAX))
                }
                None => (self.links.out[s][k], k),
            };
            let r = link.to as usize;
            let Some(pos) = self.nodes[r].arrivals.iter().position(|a| a.slot == slot) else {
                continue;
            };
            let a = self.nodes[r].arrivals.swap_remove(pos);
            let heard = a.ok && self.nodes[r].up && self.nodes[r].tx.is_none() && a.end == now;
            if traced {
                let why = if heard {
                    "received".to_string()
                } else if a.rssi < self.sensitivity {
                    format!("below sensitivity ({:.1} dBm)", a.rssi)
                } else if self.nodes[r].tx.is_some() {
                    "missed: transmitting".to_string()
                } else {
                    "missed: collision or half duplex".to_string()
                };
                Trace::log(now, link.to, &format!("RX from {}: {why}", tx.sender));
            }
            if heard {
                if let Some(u) = self.nodes[s].link_use.get_mut(k) {
                    *u += 1;
                }
                self.rec.receptions += 1;
                let meta = RxMeta {
                    rssi: a.rssi,
                    snr: a.rssi - noise,
                };
                self.nodes[r].router.handle_frame(now, meta, &tx.frame);
                self.drain(link.to);
            }
        }
    }

    fn finish(self) -> Outcome {
        if let Some(t) = &self.trace
            && t.target == TraceTarget::Lost
        {
            let deadline = Duration::from_secs_f64(self.scenario.deadline_s);
            for (idx, it) in self.items.iter().enumerate() {
                let kind = if it.cert { "certification" } else { "payment" };
                let what = match it.delivered {
                    None => "never delivered".to_string(),
                    Some(t) if t.saturating_since(it.injected) > deadline => format!(
                        "delivered late, after {:.0} s",
                        t.saturating_since(it.injected).as_secs_f64()
                    ),
                    Some(_) => continue,
                };
                Trace::log(
                    it.injected,
                    it.origin,
                    &format!("{kind} {idx} {what} (trace it: --trace {idx})"),
                );
            }
        }
        let counters: Vec<_> = self.nodes.iter().map(|n| n.router.counters()).collect();
        let link_use: Vec<Vec<u32>> = self.nodes.into_iter().map(|n| n.link_use).collect();
        metrics::compute(
            &self.scenario,
            self.factory_name,
            &self.topo,
            &self.links,
            &self.items,
            &self.holders,
            self.rec,
            &counters,
            link_use,
            self.inject_end,
            self.end,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::phy::{Preset, Region};

    /// The oracle's relays (200 nodes, 4 bridges) cover every node that a bridge reaches
    /// over links that close both ways, and each relay hears another relay or is a bridge
    /// (the set is connected from the bridges); they are a small part of the mesh.
    #[test]
    fn the_oracles_relays_dominate_the_two_way_mesh_from_the_bridges() {
        let s = Scenario::shutdown(200, Preset::LongFast, Region::Eu868TenPercent, 2);
        let mut topo = Topology::generate(s.nodes, s.side_m, s.placement, &s.radio, s.seed);
        topo.place_bridges(s.bridges.max(1));
        let links = Links::build(&topo, &s.radio, sub_seed(s.seed, 1, 0));
        let relay = oracle_relays(&topo, &links, &s).unwrap();
        let links = two_way(&links.closing(s.radio.preset.sensitivity_dbm()));
        let both = |u: usize, v: usize| links[u].contains(&(v as u32));
        let n = links.len();
        let bridges: Vec<u32> = (0..n as u32)
            .filter(|&b| topo.bridges[b as usize])
            .collect();
        let reach = metrics::bfs_reach(&links, &bridges);
        for u in (0..n).filter(|&u| reach[u]) {
            assert!(
                relay[u] || (0..n).any(|r| relay[r] && both(r, u)),
                "node {u} hears no relay"
            );
        }
        for r in (0..n).filter(|&r| relay[r] && !topo.bridges[r]) {
            assert!(
                (0..n).any(|q| q != r && relay[q] && both(q, r)),
                "relay {r} is cut off"
            );
        }
        let count = relay.iter().filter(|&&r| r).count();
        assert!(
            count >= bridges.len() && count < n / 3,
            "{count} relays of {n}"
        );
    }
}
