//! Scenarios: topology, radio, workload, churn, bridges, delivery rule, and the capacity model.

use serde::Serialize;

use super::phy::{LINK_SIGMA_DB, MediumModel, PathLossModel, Preset, RadioConfig, Region};
use super::topology::{Placement, Topology};

/// What counts as delivering an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// radio.md's metric: an item is delivered when a bridge hands it to its uplink. Only items
    /// whose origin can reach a bridge (directed links closing at sensitivity, any number of
    /// hops) that has an uplink before the item's deadline count; the rest are
    /// `undeliverable_items`.
    Bridges,
    /// Meshtasticator's metric: every (item, other node) pair is a delivery target, counted
    /// when the node first receives the item. Pairs the node cannot physically reach from the
    /// origin are `undeliverable_items` (which then counts pairs).
    Broadcast,
}

/// Which nodes relay broadcast items and receipts (routers that have the notion: toile).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelayPlan {
    /// The router's own rule (toile: the interior of its gradient tree).
    #[default]
    Tree,
    /// A what-if: the greedy connected relay set from the bridges over the links that close
    /// both ways, computed from the true link graph before the run, which no mesh knows.
    /// It measures what relay selection alone could save.
    Oracle,
}

impl RelayPlan {
    /// The default (left out of the JSON, which stays as it was before plans existed).
    pub fn is_tree(&self) -> bool {
        *self == RelayPlan::Tree
    }
}

/// Item sizes and the payment / certification mix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ItemMix {
    /// Share of payments (the rest are certifications), 0..=1.
    pub payment_share: f64,
    /// Payment size in bytes (Ğ1 v2 transfer extrinsic: 142-145 B).
    pub payment_bytes: usize,
    /// Certification size in bytes (111-112 B).
    pub certification_bytes: usize,
}

impl ItemMix {
    /// 80 % payments of 144 B, 20 % certifications of 112 B.
    pub const G1: ItemMix = ItemMix {
        payment_share: 0.8,
        payment_bytes: 144,
        certification_bytes: 112,
    };

    /// A single item size.
    pub const fn fixed(bytes: usize) -> ItemMix {
        ItemMix {
            payment_share: 1.0,
            payment_bytes: bytes,
            certification_bytes: bytes,
        }
    }

    /// Mean item size in bytes.
    pub fn mean_bytes(&self) -> f64 {
        let p = self.payment_share.clamp(0.0, 1.0);
        p * self.payment_bytes as f64 + (1.0 - p) * self.certification_bytes as f64
    }
}

/// One simulation's full description. Same scenario and seed: same result, bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Name used in reports.
    pub name: String,
    /// Number of nodes (ignored when `topology` is given).
    pub nodes: usize,
    /// Side of the square area (m).
    pub side_m: f64,
    /// How nodes are placed.
    pub placement: Placement,
    /// Imported topology overriding `nodes`, `side_m` and `placement`.
    #[serde(skip)]
    pub topology: Option<Topology>,
    /// Radio environment.
    pub radio: RadioConfig,
    /// Length of the injection window (h).
    pub hours: f64,
    /// Extra simulated time after the injection window with no new items (s).
    pub drain_s: f64,
    /// Master seed.
    pub seed: u64,
    /// Users per node (workload).
    pub users_per_node: f64,
    /// Items each user submits per hour (workload).
    pub items_per_user_per_hour: f64,
    /// Cap on the injection rate as a share of [`capacity`] (radio.md: 0.7), `None` for no cap.
    pub max_load: Option<f64>,
    /// Items per hour injected over the whole mesh (Poisson, spread evenly over nodes); set by
    /// [`Scenario::apply_workload`] from the fields above.
    pub items_per_hour: f64,
    /// What users would offer (users x items per user per hour x nodes), for the report.
    pub offered_items_per_hour: f64,
    /// Item sizes.
    pub mix: ItemMix,
    /// Delivery rule.
    pub delivery: DeliveryMode,
    /// Number of bridges placed when the topology does not mark any (bridge mode only).
    pub bridges: usize,
    /// Bridges' uplink comes up at this time (s); 0 = up from the start.
    pub uplink_after_s: f64,
    /// Fraction of nodes crashing per hour (each node: Poisson with this rate).
    pub churn_per_hour: f64,
    /// How long a crashed node stays down (s).
    pub churn_down_s: f64,
    /// Deadline for `delivered_within_deadline_ratio` (s).
    pub deadline_s: f64,
    /// Inject real signed v2s extrinsics (`transfer_keep_alive` for payments, `add_cert` for
    /// certifications, signed for [`super::toile::sim_profile`]) instead of filler bytes of
    /// the mix's sizes. Filler items are unique but not valid items: only flooding carries
    /// them.
    pub signed_items: bool,
    /// Every node has the community's key book (the workload's signers, see
    /// [`super::toile::sim_key_book`]): custody forwards carry known keys as 2-byte indexes
    /// (`toile_proto::item::book`). Only signed items can be booked.
    pub key_book: bool,
    /// Broadcast relays: the router's rule, or the oracle's set (a what-if).
    #[serde(skip_serializing_if = "RelayPlan::is_tree")]
    pub relays: RelayPlan,
}

/// Named presets of scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioKind {
    /// Meshtasticator's anchor: 50 nodes, 6x6 km, LongFast, 150 B per node every 10 min.
    Anchor,
    /// radio.md's shutdown scenario.
    Shutdown,
}

impl Scenario {
    /// Meshtasticator's anchor (radio.md): 50 nodes in 6x6 km placed like Meshtasticator
    /// (each within range of an earlier one), US915 defaults (30 dBm, 908.75 MHz), LongFast,
    /// 3GPP suburban, sigma 3 dB, a 150 B item per node every 10 min (exponential), hop limit
    /// 3, broadcast delivery. One hour of injection plus 5 minutes to settle.
    pub fn anchor(seed: u64) -> Scenario {
        Scenario {
            name: "anchor".into(),
            nodes: 50,
            side_m: 6_000.0,
            placement: Placement::UniformConnected,
            topology: None,
            radio: RadioConfig {
                preset: Preset::LongFast,
                region: Region::Us915,
                path_loss: PathLossModel::ThreeGppSuburban,
                link_sigma_db: LINK_SIGMA_DB,
                medium: MediumModel::Meshtasticator,
            },
            hours: 1.0,
            drain_s: 300.0,
            seed,
            users_per_node: 1.0,
            items_per_user_per_hour: 6.0,
            max_load: None,
            items_per_hour: 50.0 * 6.0,
            offered_items_per_hour: 50.0 * 6.0,
            mix: ItemMix::fixed(150),
            delivery: DeliveryMode::Broadcast,
            bridges: 0,
            uplink_after_s: 0.0,
            churn_per_hour: 0.0,
            churn_down_s: 0.0,
            deadline_s: 3600.0,
            signed_items: false,
            key_book: false,
            relays: RelayPlan::Tree,
        }
    }

    /// radio.md's "shutdown": `nodes` in the standard area for that size (6 km for 50, 12 km
    /// for 200, 27 km for 1000; otherwise the same density as 1000 in 27 km), 10 users per
    /// node at 1 item per user per hour capped at 70 % of [`capacity`], 10 % churn per hour
    /// (15 min down), one bridge per 50 nodes, deadline 1 h / 3 h / 6 h by size, 6 h.
    pub fn shutdown(nodes: usize, preset: Preset, region: Region, seed: u64) -> Scenario {
        let side_m = standard_side_m(nodes);
        let radio = RadioConfig {
            preset,
            region,
            path_loss: PathLossModel::ThreeGppSuburban,
            link_sigma_db: LINK_SIGMA_DB,
            medium: MediumModel::Physical,
        };
        let mix = ItemMix::G1;
        let bridges = nodes.div_ceil(50).max(1);
        let deadline_s = if nodes <= 50 {
            3600.0
        } else if nodes <= 200 {
            3.0 * 3600.0
        } else {
            6.0 * 3600.0
        };
        let mut s = Scenario {
            name: "shutdown".into(),
            nodes,
            side_m,
            placement: Placement::Uniform,
            topology: None,
            radio,
            hours: 6.0,
            drain_s: 3600.0,
            seed,
            users_per_node: 10.0,
            items_per_user_per_hour: 1.0,
            max_load: Some(0.7),
            items_per_hour: 0.0,
            offered_items_per_hour: 0.0,
            mix,
            delivery: DeliveryMode::Bridges,
            bridges,
            uplink_after_s: 0.0,
            churn_per_hour: 0.1,
            churn_down_s: 900.0,
            deadline_s,
            signed_items: true,
            key_book: true,
            relays: RelayPlan::Tree,
        };
        s.apply_workload();
        s
    }

    /// Recompute `offered_items_per_hour` (nodes x users x rate) and `items_per_hour` (offered,
    /// capped at `max_load` x [`capacity`] of this size, area and bridge count). Call after
    /// changing nodes, area, radio, mix, bridges or the workload fields.
    pub fn apply_workload(&mut self) {
        let nodes = self
            .topology
            .as_ref()
            .map_or(self.nodes, |t| t.positions.len());
        let side = self.topology.as_ref().map_or(self.side_m, |t| t.side_m);
        let bridges = self
            .topology
            .as_ref()
            .map(|t| t.bridges.iter().filter(|&&b| b).count())
            .filter(|&b| b > 0)
            .unwrap_or(self.bridges);
        let offered =
            nodes as f64 * self.users_per_node.max(0.0) * self.items_per_user_per_hour.max(0.0);
        self.offered_items_per_hour = offered;
        self.items_per_hour = match self.max_load {
            Some(load) => {
                let cap = capacity(
                    &self.radio,
                    nodes,
                    side,
                    self.mix.mean_bytes(),
                    bridges,
                    None,
                );
                offered.min(load.max(0.0) * cap.items_per_hour)
            }
            None => offered,
        };
    }
}

/// The standard square side for a node count (radio.md): 6 / 12 / 27 km, else the density of
/// 1000 nodes in 27x27 km.
pub fn standard_side_m(nodes: usize) -> f64 {
    match nodes {
        50 => 6_000.0,
        200 => 12_000.0,
        1000 => 27_000.0,
        n => 27_000.0 * (n as f64 / 1000.0).sqrt(),
    }
}

/// radio.md's capacity model, reported next to every run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Capacity {
    /// Items per hour the mesh can carry (the smaller of the two figures below).
    pub items_per_hour: f64,
    /// `cells x U x 3600 / (tx per item x time on air)`, U = 25 %.
    pub channel_items_per_hour: f64,
    /// Items per hour one relay can forward within its hourly duty budget.
    pub relay_cap_items_per_hour: f64,
    /// Time on air of one item (s): the item's bytes alone, as radio.md counts (its "~39
    /// items/h at 1 %" for 90 B at LongFast is 36 s / ToA(90 B) = 36 / 0.928).
    pub time_on_air_s: f64,
    /// Where `channel_items_per_hour` comes from: `"radio.md"` (the published figures for
    /// 50 / 200 / 1000 nodes at the standard areas, scaled by time on air) or `"geometric"`.
    pub source: &'static str,
}

/// radio.md's published channel capacity for 90-byte items at LongFast, per standard size.
const PUBLISHED: [(usize, f64); 3] = [(50, 511.0), (200, 401.0), (1000, 441.0)];

/// radio.md's capacity model: `cells x U x 3600 / (tx per item x time on air)` with U = 25 %,
/// capped by one relay's duty-cycle budget.
///
/// For the standard sizes (50 / 200 / 1000 nodes in 6 / 12 / 27 km) the channel term uses the
/// figures radio.md publishes (511 / 401 / 441 items/h for 90-byte items at LongFast) scaled
/// by the ratio of times on air (the item's bytes at the preset over 90 B at LongFast), because radio.md does not define `cells` and `tx per item`
/// precisely enough to recompute them. Other sizes use a geometric estimate: cells = area /
/// (pi r^2) at the nominal range r, tx per item = the greedy oracle's figure when known, else
/// the mean distance to a bridge over r (at least 1).
pub fn capacity(
    radio: &RadioConfig,
    nodes: usize,
    side_m: f64,
    item_bytes: f64,
    bridges: usize,
    tx_per_item: Option<f64>,
) -> Capacity {
    let toa = radio
        .preset
        .time_on_air(item_bytes.max(0.0) as usize)
        .as_secs_f64()
        .max(1e-6);
    let reference_toa = Preset::LongFast.time_on_air(90).as_secs_f64();
    let relay = radio.region.hourly_budget().as_secs_f64() / toa;
    let published = PUBLISHED
        .iter()
        .find(|(n, _)| *n == nodes && (standard_side_m(nodes) - side_m).abs() < 1.0)
        .map(|(_, c)| c * reference_toa / toa);
    let (channel, source) = match published {
        Some(c) => (c, "radio.md"),
        None => {
            let range = radio.nominal_range_m().max(1.0);
            let cells = (side_m * side_m / (std::f64::consts::PI * range * range)).max(1.0);
            let b = bridges.max(1) as f64;
            let hops =
                tx_per_item.unwrap_or_else(|| (0.38 * side_m / b.sqrt() / range).ceil().max(1.0));
            (cells * 0.25 * 3600.0 / (hops * toa), "geometric")
        }
    };
    Capacity {
        items_per_hour: channel.min(relay),
        channel_items_per_hour: channel,
        relay_cap_items_per_hour: relay,
        time_on_air_s: toa,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_matches_radio_md_for_90_byte_items() {
        let mut radio = Scenario::shutdown(50, Preset::LongFast, Region::Eu868TenPercent, 1).radio;
        let c = capacity(&radio, 1000, 27_000.0, 90.0, 20, None);
        assert!((c.relay_cap_items_per_hour - 388.0).abs() < 8.0, "{c:?}");
        assert!((c.channel_items_per_hour - 441.0).abs() < 10.0, "{c:?}");
        radio.region = Region::Eu868OnePercent;
        let c = capacity(&radio, 50, 6_000.0, 90.0, 1, None);
        assert!((c.items_per_hour - 39.0).abs() < 1.5, "{c:?}");
    }
}
