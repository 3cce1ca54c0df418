//! What a run measured, and the greedy relay-set oracle.
//!
//! # Fields the flood router cannot have
//! `recon_bytes_per_item` and `idle_check_bytes` are `null` for routers that report no such
//! counters (flooding has no reconciliation). `store_high_water` is the largest queue/store a
//! router reported (`Router::store_len`, the flood router's transmit queue).
//!
//! # The greedy relay-set oracle (`greedy_tx_per_item`)
//! Computed on the directed graph of links that close at the preset's sensitivity (per-link
//! offsets included, no collisions, no churn), averaged over deliverable items:
//! - bridge delivery: for a payment, the number of hops on a shortest path from the origin to
//!   the nearest bridge (the cheapest path: each hop is one transmission; 0 when the origin is
//!   a bridge) plus its share of a signed receipt that must reach every node: the smallest
//!   greedy connected relay set of a bridge divided by the ids one receipt frame carries
//!   ([`RECEIPT_IDS`], 22); for a certification, which must reach every node as well as a
//!   bridge, the size of its greedy connected relay set (below), so the oracle stays the
//!   floor of what the issue requires. (`greedy_without_receipts_tx_per_item` leaves the
//!   receipt share out: the oracle before receipts had to reach every node.)
//! - broadcast delivery: the size of a greedy connected relay set: the origin transmits, then
//!   repeatedly the node that already holds the item and whose transmission would reach the
//!   most nodes not yet reached transmits (ties: lowest id), until every node reachable from
//!   the origin holds it. This is the classic greedy connected-dominating-set heuristic, a
//!   floor that no flooding scheme without collisions can beat by much.

use serde::Serialize;
use toile_proto::engine::RECEIPT_IDS;

use super::engine::ItemRec;
use super::router::{RouterCounters, TxBreakdown};
use super::scenario::{Capacity, DeliveryMode, Scenario, capacity};
use super::time::{Duration, Instant};
use super::topology::{Links, Position, Topology};

/// Everything a run reports (one JSON object under `"metrics"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Delivery rule used for the ratios.
    pub delivery_mode: DeliveryMode,
    /// Items injected.
    pub items: u64,
    /// Items (bridge mode) or (item, node) pairs (broadcast mode) physics cannot deliver.
    pub undeliverable_items: u64,
    /// Delivered share of deliverable items (or pairs) by the end of the run.
    pub delivered_ratio: f64,
    /// Delivered within `deadline_s` of injection.
    pub delivered_within_deadline_ratio: f64,
    /// The deadline (s).
    pub deadline_s: f64,
    /// Transmissions per injected item.
    pub tx_per_item: f64,
    /// The greedy oracle's transmissions per deliverable item (see module docs).
    pub greedy_tx_per_item: f64,
    /// The same oracle without the payments' receipt share.
    pub greedy_without_receipts_tx_per_item: f64,
    /// Transmit airtime per injected item (s).
    pub airtime_per_item_s: f64,
    /// Median delivery latency (s); `null` when nothing was delivered.
    pub p50_latency_s: Option<f64>,
    /// 95th percentile delivery latency (s).
    pub p95_latency_s: Option<f64>,
    /// Mean delivery latency (s).
    pub mean_latency_s: Option<f64>,
    /// Median of (first-receipt latency / transmissions it took), over all first receipts.
    pub p50_hop_latency_s: Option<f64>,
    /// Transmissions breaking the region's rule (rolling-hour budget or dwell time).
    pub duty_violations: u64,
    /// Reconciliation bytes per item; `null` for routers without reconciliation.
    pub recon_bytes_per_item: Option<f64>,
    /// Reconciliation bytes (digests included) per item a session found one side lacking
    /// (B6's "per differing item"); `null` without reconciliation or differences.
    pub recon_bytes_per_difference: Option<f64>,
    /// The same without the digests (what the sessions themselves cost).
    pub session_bytes_per_difference: Option<f64>,
    /// Bytes of one idle "are we in sync" check (the digest frame, the largest any node
    /// uses); `null` for routers without it.
    pub idle_check_bytes: Option<u64>,
    /// Bridge mode: share of (certification, node) pairs that physics allows (the node is
    /// reachable from the origin over closing links) reached within the deadline; `null` in
    /// broadcast mode (see `delivered_within_deadline_ratio`) or without certifications.
    pub broadcast_coverage: Option<f64>,
    /// Receipt frames sent per injected item; `null` for routers without on-air receipts.
    pub receipt_tx_per_item: Option<f64>,
    /// Share of (signed receipt, node) pairs that physics allows (the node is reachable over
    /// closing links from the bridge that signed it, and the receipt deadline ends within the
    /// run) where the node got the receipt within the receipt deadline of its signing: the
    /// scenario's deadline, at most [`RECEIPT_DEADLINE_S`]; `null` when no receipt counts
    /// (routers without on-air receipts).
    pub receipt_coverage: Option<f64>,
    /// Per injected item: what the transmissions carried (item frames, retries, item hops,
    /// ack frames, advert frames); `null` for routers that do not count it.
    pub tx_per_item_breakdown: Option<TxBreakdown>,
    /// Largest store / queue any node reported.
    pub store_high_water: usize,
    /// Deliverable items (pairs in broadcast mode) not delivered by the end of the run.
    pub lost_items: u64,
    /// Bridge mode: of the deliverable items that missed the deadline (late or lost), how
    /// many were certifications (the rest are payments); `null` in broadcast mode.
    pub certifications_missed: Option<u64>,
    /// Broadcast mode: Meshtasticator's "nodes reached" (first receipts / (items x (N-1))),
    /// with no reachability filter.
    pub reach_ratio: Option<f64>,
    /// Transmissions started.
    pub transmissions: u64,
    /// Simulator events processed (transmission ends, timers, injections, churn).
    pub events: u64,
    /// Frames received intact.
    pub receptions: u64,
    /// Receptions destroyed by collisions.
    pub collisions: u64,
    /// Items or frames routers dropped (queue overflow, duty budget).
    pub router_drops: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Transmits with an invalid length.
    pub invalid_transmits: u64,
    /// Bridges in the topology.
    pub bridges: usize,
    /// Mean number of neighbours per node (links closing at sensitivity).
    pub mean_neighbours: f64,
    /// Injection rate (items per hour).
    pub items_per_hour: f64,
    /// What the users would offer (items per hour).
    pub offered_items_per_hour: f64,
    /// radio.md capacity model for this topology.
    pub capacity: Capacity,
    /// `items_per_hour / capacity.items_per_hour` (radio.md: the shutdown scenario runs at
    /// <= 0.7).
    pub load_of_capacity: f64,
}

/// Data for drawing a run.
#[derive(Debug, Clone, PartialEq)]
pub struct MapData {
    /// Area side (m).
    pub side_m: f64,
    /// Node positions.
    pub positions: Vec<Position>,
    /// Bridge flags.
    pub bridges: Vec<bool>,
    /// `(from, to, successful receptions)` for every used link.
    pub links: Vec<(u32, u32, u32)>,
    /// Injection times (s).
    pub injections_s: Vec<f64>,
    /// Delivery times (s) (first receipts in broadcast mode).
    pub deliveries_s: Vec<f64>,
    /// Per injected item: (injection time (s), deliverable targets, undeliverable targets);
    /// targets are the item (bridge mode) or its (item, node) pairs (broadcast mode).
    pub targets: Vec<(f64, u32, u32)>,
    /// End of the run (s).
    pub end_s: f64,
}

/// Metrics plus drawing data.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The numbers.
    pub metrics: Metrics,
    /// The map and timeline.
    pub map: MapData,
}

/// Counters the engine accumulates.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunRecord {
    pub transmissions: u64,
    pub receptions: u64,
    pub collisions: u64,
    pub airtime: Duration,
    pub duty_violations: u64,
    pub invalid_transmits: u64,
    pub store_high_water: usize,
    pub drops: u64,
    pub crashes: u64,
    pub events: u64,
    pub hop_latencies: Vec<f64>,
    pub pair_latencies: Vec<(u32, u32, Instant)>,
    /// Bridge mode: first receipts of certifications (item, node, instant).
    pub cert_pair_latencies: Vec<(u32, u32, Instant)>,
    /// Signed on-air receipts: (bridge that signed it, instant it went on the air).
    pub receipts: Vec<(u32, Instant)>,
    /// First copy of a receipt at a node: (receipt index, node, instant).
    pub receipt_pairs: Vec<(u32, u32, Instant)>,
}

impl RunRecord {
    pub fn new(_topo: &Topology, _links: &Links, _s: &Scenario) -> Self {
        RunRecord::default()
    }
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Which nodes `sources` reach over `adj`.
pub(crate) fn bfs_reach(adj: &[Vec<u32>], sources: &[u32]) -> Vec<bool> {
    bfs(adj, sources).iter().map(Option::is_some).collect()
}

fn bfs(adj: &[Vec<u32>], sources: &[u32]) -> Vec<Option<u32>> {
    let mut dist = vec![None; adj.len()];
    let mut q = std::collections::VecDeque::new();
    for &s in sources {
        if let Some(d) = dist.get_mut(s as usize) {
            *d = Some(0);
            q.push_back(s);
        }
    }
    while let Some(u) = q.pop_front() {
        let du = dist[u as usize].unwrap_or(0);
        for &v in &adj[u as usize] {
            if dist[v as usize].is_none() {
                dist[v as usize] = Some(du + 1);
                q.push_back(v);
            }
        }
    }
    dist
}

/// Greedy connected relay set from `origin` over `adj`: (transmissions, reachable nodes
/// other than the origin).
pub fn greedy_broadcast(adj: &[Vec<u32>], origin: u32) -> (u32, u32) {
    let (relays, targets) = greedy_relays(adj, &[origin]);
    (relays.len() as u32, targets)
}

/// The greedy connected relay set that reaches every node reachable from `origins` over
/// `adj`: the origins transmit, then repeatedly the node that holds the item and would
/// reach the most nodes not yet reached (ties: lowest id). Returns the transmitters in
/// that order and the number of reachable nodes other than the origins.
pub fn greedy_relays(adj: &[Vec<u32>], origins: &[u32]) -> (Vec<u32>, u32) {
    let n = adj.len();
    let reach = bfs(adj, origins);
    let reachable = reach.iter().filter(|d| d.is_some()).count() as u32;
    let mut holds = vec![false; n];
    let mut sent = vec![false; n];
    let mut held = 0u32;
    for &o in origins {
        if !holds[o as usize] {
            holds[o as usize] = true;
            held += 1;
        }
    }
    let targets = reachable - held;
    let mut relays = Vec::new();
    let mut queue: Vec<u32> = origins.iter().rev().copied().collect();
    while let Some(u) = queue.pop() {
        if sent[u as usize] {
            continue;
        }
        sent[u as usize] = true;
        relays.push(u);
        for &v in &adj[u as usize] {
            if !holds[v as usize] {
                holds[v as usize] = true;
                held += 1;
            }
        }
        if held >= reachable {
            break;
        }
        if !queue.is_empty() {
            continue;
        }
        let mut best: Option<(u32, u32)> = None;
        for c in 0..n as u32 {
            if !holds[c as usize] || sent[c as usize] {
                continue;
            }
            let gain = adj[c as usize]
                .iter()
                .filter(|&&v| !holds[v as usize])
                .count() as u32;
            if gain > 0 && best.is_none_or(|(g, _)| gain > g) {
                best = Some((gain, c));
            }
        }
        if let Some((_, c)) = best {
            queue.push(c);
        }
    }
    (relays, targets)
}

/// Longest receipt deadline (s) of `receipt_coverage`: with the 6-h deadline of a 6-h run no
/// receipt would count.
pub const RECEIPT_DEADLINE_S: f64 = 3.0 * 3600.0;

/// `receipt_coverage` (see [`Metrics`]): pairs reached in time over pairs physics allows.
fn receipt_coverage(
    adj: &[Vec<u32>],
    rec: &RunRecord,
    deadline: Duration,
    end: Instant,
) -> Option<f64> {
    let mut reach_cache: Vec<Option<Vec<bool>>> = vec![None; adj.len()];
    let mut counted = vec![false; rec.receipts.len()];
    let mut pairs = 0u64;
    for (i, &(bridge, signed)) in rec.receipts.iter().enumerate() {
        if signed + deadline > end {
            continue;
        }
        counted[i] = true;
        let reach = reach_cache[bridge as usize].get_or_insert_with(|| bfs_reach(adj, &[bridge]));
        pairs += reach.iter().filter(|r| **r).count().saturating_sub(1) as u64;
    }
    let reached = rec
        .receipt_pairs
        .iter()
        .filter(|&&(r, node, t)| {
            rec.receipts
                .get(r as usize)
                .is_some_and(|&(bridge, signed)| {
                    counted[r as usize]
                        && t.saturating_since(signed) <= deadline
                        && reach_cache[bridge as usize]
                            .as_ref()
                            .is_some_and(|c| c.get(node as usize).copied().unwrap_or(false))
                })
        })
        .count() as u64;
    (pairs > 0).then(|| reached as f64 / pairs as f64)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn compute(
    s: &Scenario,
    _router: &str,
    topo: &Topology,
    links: &Links,
    items: &[ItemRec],
    holders: &[Vec<u64>],
    rec: RunRecord,
    counters: &[RouterCounters],
    link_use: Vec<Vec<u32>>,
    _inject_end: Instant,
    end: Instant,
) -> Outcome {
    let n = topo.positions.len();
    let adj = links.closing(s.radio.preset.sensitivity_dbm());
    let mean_neighbours = adj.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1) as f64;
    let deadline = Duration::from_secs_f64(s.deadline_s);
    let bridges: Vec<u32> = (0..n as u32)
        .filter(|&i| topo.bridges[i as usize])
        .collect();
    let uplink_at = Instant::ZERO + Duration::from_secs_f64(s.uplink_after_s.max(0.0));
    let mut latencies = Vec::new();
    let mut deliveries_s = Vec::new();
    let mut targets_s = Vec::with_capacity(items.len());
    let (mut deliverable, mut delivered, mut in_deadline, mut undeliverable) =
        (0u64, 0u64, 0u64, 0u64);
    let mut greedy_sum = 0f64;
    let mut greedy_receipts = 0f64;
    let mut greedy_n = 0u64;
    let mut reach_ratio = None;
    let mut coverage = None;
    let mut certs_missed = None;
    match s.delivery {
        DeliveryMode::Bridges => {
            let mut radj = vec![Vec::new(); n];
            for (u, vs) in adj.iter().enumerate() {
                for &v in vs {
                    radj[v as usize].push(u as u32);
                }
            }
            let to_bridge = bfs(&radj, &bridges);
            let mut cache: Vec<Option<(u32, u32)>> = vec![None; n];
            // A payment's receipt: the cheapest bridge's relay set, shared by a full receipt.
            let receipt_share = bridges
                .iter()
                .map(|&b| *cache[b as usize].get_or_insert_with(|| greedy_broadcast(&adj, b)))
                .map(|(tx, _)| f64::from(tx))
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))))
                .unwrap_or(0.0)
                / RECEIPT_IDS as f64;
            // Coverage of certifications: pairs reached in time over pairs physics allows.
            let mut reach_cache: Vec<Option<Vec<bool>>> = vec![None; n];
            let (mut pairs, mut reached) = (0u64, 0u64);
            for it in items.iter().filter(|it| it.cert) {
                let reach = reach_cache[it.origin as usize]
                    .get_or_insert_with(|| bfs_reach(&adj, &[it.origin]));
                pairs += reach.iter().filter(|r| **r).count().saturating_sub(1) as u64;
            }
            for &(item, node, t) in &rec.cert_pair_latencies {
                if let Some(it) = items.get(item as usize)
                    && t.saturating_since(it.injected) <= deadline
                    && reach_cache[it.origin as usize]
                        .as_ref()
                        .is_some_and(|r| r.get(node as usize).copied().unwrap_or(false))
                {
                    reached += 1;
                }
            }
            if pairs > 0 {
                coverage = Some(reached as f64 / pairs as f64);
            }
            for it in items {
                let hops = to_bridge[it.origin as usize];
                let ok = hops.is_some() && uplink_at <= it.injected + deadline;
                let t_in = it.injected.as_secs_f64();
                if !ok {
                    undeliverable += 1;
                    targets_s.push((t_in, 0, 1));
                    continue;
                }
                deliverable += 1;
                targets_s.push((t_in, 1, 0));
                // A certification must reach every node (and a bridge): its floor is the
                // greedy connected relay set from its origin; a payment's the shortest path.
                greedy_sum += if it.cert {
                    f64::from(
                        cache[it.origin as usize]
                            .get_or_insert_with(|| greedy_broadcast(&adj, it.origin))
                            .0,
                    )
                } else {
                    greedy_receipts += receipt_share;
                    f64::from(hops.unwrap_or(0))
                };
                greedy_n += 1;
                let on_time = it
                    .delivered
                    .is_some_and(|t| t.saturating_since(it.injected) <= deadline);
                if it.cert && !on_time {
                    *certs_missed.get_or_insert(0) += 1;
                } else if it.cert {
                    certs_missed.get_or_insert(0);
                }
                if let Some(t) = it.delivered {
                    delivered += 1;
                    let lat = t.saturating_since(it.injected);
                    if lat <= deadline {
                        in_deadline += 1;
                    }
                    latencies.push(lat.as_secs_f64());
                    deliveries_s.push(t.as_secs_f64());
                }
            }
        }
        DeliveryMode::Broadcast => {
            let mut cache: Vec<Option<(u32, u32)>> = vec![None; n];
            let mut reach_cache: Vec<Option<Vec<bool>>> = vec![None; n];
            let mut first_receipts = 0u64;
            for (idx, it) in items.iter().enumerate() {
                let o = it.origin as usize;
                let (tx, targets) =
                    *cache[o].get_or_insert_with(|| greedy_broadcast(&adj, it.origin));
                let reach = reach_cache[o].get_or_insert_with(|| bfs_reach(&adj, &[it.origin]));
                let missing = (n as u32).saturating_sub(1).saturating_sub(targets);
                targets_s.push((it.injected.as_secs_f64(), targets, missing));
                undeliverable += (n as u64 - 1) - u64::from(targets);
                deliverable += u64::from(targets);
                if targets > 0 {
                    greedy_sum += f64::from(tx);
                    greedy_n += 1;
                }
                if let Some(bits) = holders.get(idx) {
                    for (node, r) in reach.iter().enumerate() {
                        let has = bits[node / 64] & (1 << (node % 64)) != 0;
                        if node != o && has {
                            first_receipts += 1;
                            if *r {
                                delivered += 1;
                            }
                        }
                    }
                }
            }
            for &(item, _node, t) in &rec.pair_latencies {
                if let Some(it) = items.get(item as usize) {
                    let lat = t.saturating_since(it.injected);
                    if lat <= deadline {
                        in_deadline += 1;
                    }
                    latencies.push(lat.as_secs_f64());
                    deliveries_s.push(t.as_secs_f64());
                }
            }
            let denom = items.len() as f64 * (n as f64 - 1.0);
            reach_ratio = Some(if denom > 0.0 {
                first_receipts as f64 / denom
            } else {
                0.0
            });
        }
    }
    latencies.sort_by(f64::total_cmp);
    let receipt_deadline = Duration::from_secs_f64(s.deadline_s.min(RECEIPT_DEADLINE_S));
    let receipt_coverage = receipt_coverage(&adj, &rec, receipt_deadline, end);
    let mut hop = rec.hop_latencies;
    hop.sort_by(f64::total_cmp);
    let n_items = items.len() as u64;
    let per_item = |x: f64| if n_items > 0 { x / n_items as f64 } else { 0.0 };
    let ratio = |a: u64| {
        if deliverable > 0 {
            a as f64 / deliverable as f64
        } else {
            0.0
        }
    };
    let recon: Option<u64> = counters.iter().map(|c| c.recon_bytes).sum();
    let digests: Option<u64> = counters.iter().map(|c| c.digest_bytes).sum();
    let diffs: Option<u64> = counters.iter().map(|c| c.recon_differences).sum();
    let per_diff = |b: u64| diffs.filter(|d| *d > 0).map(|d| b as f64 / d as f64);
    let idle: Option<u64> = counters
        .iter()
        .map(|c| c.idle_check_bytes)
        .try_fold(0, |m, b| b.map(|b| b.max(m)));
    let receipts: Option<u64> = counters.iter().map(|c| c.receipt_tx).sum();
    let breakdown: Option<TxBreakdown> = counters
        .iter()
        .map(|c| c.tx_breakdown)
        .try_fold(TxBreakdown::default(), |acc, b| b.map(|b| acc.plus(b)))
        .map(|b| b.per(n_items as f64));
    let mean_latency = if latencies.is_empty() {
        None
    } else {
        Some(latencies.iter().sum::<f64>() / latencies.len() as f64)
    };
    let cap = capacity(
        &s.radio,
        n,
        topo.side_m,
        s.mix.mean_bytes(),
        bridges.len(),
        None,
    );
    let mut used = Vec::new();
    for (from, uses) in link_use.iter().enumerate() {
        for (k, &u) in uses.iter().enumerate() {
            if u > 0
                && let Some(l) = links.out[from].get(k)
            {
                used.push((from as u32, l.to, u));
            }
        }
    }
    let metrics = Metrics {
        delivery_mode: s.delivery,
        items: n_items,
        undeliverable_items: undeliverable,
        delivered_ratio: ratio(delivered),
        delivered_within_deadline_ratio: ratio(in_deadline),
        deadline_s: s.deadline_s,
        tx_per_item: per_item(rec.transmissions as f64),
        greedy_tx_per_item: if greedy_n > 0 {
            (greedy_sum + greedy_receipts) / greedy_n as f64
        } else {
            0.0
        },
        greedy_without_receipts_tx_per_item: if greedy_n > 0 {
            greedy_sum / greedy_n as f64
        } else {
            0.0
        },
        airtime_per_item_s: per_item(rec.airtime.as_secs_f64()),
        p50_latency_s: percentile(&latencies, 0.5),
        p95_latency_s: percentile(&latencies, 0.95),
        mean_latency_s: mean_latency,
        p50_hop_latency_s: percentile(&hop, 0.5),
        duty_violations: rec.duty_violations,
        recon_bytes_per_item: recon.map(|b| per_item(b as f64)),
        recon_bytes_per_difference: recon.and_then(per_diff),
        session_bytes_per_difference: recon
            .zip(digests)
            .and_then(|(r, d)| per_diff(r.saturating_sub(d))),
        idle_check_bytes: idle,
        broadcast_coverage: coverage,
        receipt_tx_per_item: receipts.map(|r| per_item(r as f64)),
        receipt_coverage,
        tx_per_item_breakdown: breakdown,
        store_high_water: rec.store_high_water,
        lost_items: deliverable.saturating_sub(delivered),
        certifications_missed: certs_missed,
        reach_ratio,
        transmissions: rec.transmissions,
        events: rec.events,
        receptions: rec.receptions,
        collisions: rec.collisions,
        router_drops: rec.drops,
        crashes: rec.crashes,
        invalid_transmits: rec.invalid_transmits,
        bridges: bridges.len(),
        mean_neighbours,
        items_per_hour: s.items_per_hour,
        offered_items_per_hour: s.offered_items_per_hour,
        load_of_capacity: s.items_per_hour / cap.items_per_hour.max(1e-9),
        capacity: cap,
    };
    let map = MapData {
        side_m: topo.side_m,
        positions: topo.positions.clone(),
        bridges: topo.bridges.clone(),
        links: used,
        injections_s: items.iter().map(|i| i.injected.as_secs_f64()).collect(),
        deliveries_s,
        targets: targets_s,
        end_s: end.as_secs_f64(),
    };
    Outcome { metrics, map }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_on_a_line_and_a_star() {
        // 0 - 1 - 2 - 3 (bidirectional line): 0, 1, 2 transmit.
        let line = vec![vec![1], vec![0, 2], vec![1, 3], vec![2]];
        assert_eq!(greedy_broadcast(&line, 0), (3, 3));
        // Star centred on 0: one transmission.
        let star = vec![vec![1, 2, 3], vec![0], vec![0], vec![0]];
        assert_eq!(greedy_broadcast(&star, 0), (1, 3));
        // From a leaf: leaf then centre.
        assert_eq!(greedy_broadcast(&star, 1), (2, 3));
        // Isolated node.
        let lone = vec![vec![], vec![]];
        assert_eq!(greedy_broadcast(&lone, 0), (1, 0));
    }

    #[test]
    fn greedy_relays_from_several_origins() {
        // 0 - 1 - 2 - 3 - 4 - 5: both ends transmit, then the node reaching the most.
        let line: Vec<Vec<u32>> = (0..6u32)
            .map(|i| {
                [i.checked_sub(1), (i < 5).then_some(i + 1)]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .collect();
        assert_eq!(greedy_relays(&line, &[0, 5]), (vec![0, 5, 1, 2], 4));
        // Single origin: the same set as the oracle's broadcast.
        assert_eq!(greedy_relays(&line, &[0]).0, vec![0, 1, 2, 3, 4]);
        assert_eq!(greedy_broadcast(&line, 0), (5, 5));
    }

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.5), Some(2.0));
        assert_eq!(percentile(&v, 0.95), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
