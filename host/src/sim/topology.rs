//! Node positions and the precomputed link table.
//!
//! Positions are generated (uniform, uniform with Meshtasticator's "at least one neighbour"
//! rule, grid) or imported (JSON or CSV). [`Links::build`] then computes, per transmitter, the
//! receivers whose received power is at or above the interference floor (sensitivity minus the
//! 6 dB capture margin), using a spatial grid so the cost is O(N x neighbours) rather than
//! O(N^2). Each directed link gets a fixed offset drawn from N(0, sigma); candidates are
//! searched out to the distance where the mean link is 5 sigma above the floor (links beyond
//! would need a > 5 sigma draw, probability < 3e-7, and are treated as silent).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::SimError;
use super::phy::RadioConfig;

/// A node's position in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Position {
    /// East (m).
    pub x: f64,
    /// North (m).
    pub y: f64,
}

/// Positions plus which nodes are bridges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topology {
    /// Node positions; the index is the node id.
    pub positions: Vec<Position>,
    /// Bridge flag per node.
    pub bridges: Vec<bool>,
    /// Side of the square area (m), for drawing and capacity.
    pub side_m: f64,
}

/// How to place nodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Uniform in the square.
    Uniform,
    /// Meshtasticator's `find_random_position`: uniform, at least 10 m from every node and
    /// within nominal range of at least one earlier node (up to 1000 tries per node).
    UniformConnected,
    /// A square grid filling the area.
    Grid,
}

impl Topology {
    /// Generate `n` nodes in a square of `side_m` metres.
    pub fn generate(
        n: usize,
        side_m: f64,
        placement: Placement,
        radio: &RadioConfig,
        seed: u64,
    ) -> Topology {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7070_0001);
        let side = if side_m.is_finite() && side_m > 0.0 {
            side_m
        } else {
            1.0
        };
        let mut positions: Vec<Position> = Vec::with_capacity(n);
        match placement {
            Placement::Uniform => {
                for _ in 0..n {
                    positions.push(Position {
                        x: rng.gen_range(0.0..side),
                        y: rng.gen_range(0.0..side),
                    });
                }
            }
            Placement::UniformConnected => {
                let range = radio.nominal_range_m();
                for _ in 0..n {
                    let mut pos = Position { x: 0.0, y: 0.0 };
                    for _ in 0..1000 {
                        pos = Position {
                            x: rng.gen_range(0.0..side),
                            y: rng.gen_range(0.0..side),
                        };
                        let mut near = positions.is_empty();
                        let mut too_close = false;
                        for p in &positions {
                            let d = dist(p, &pos);
                            if d < 10.0 {
                                too_close = true;
                                break;
                            }
                            if d <= range {
                                near = true;
                            }
                        }
                        if near && !too_close {
                            break;
                        }
                    }
                    positions.push(pos);
                }
            }
            Placement::Grid => {
                let k = (n as f64).sqrt().ceil().max(1.0) as usize;
                let step = side / k as f64;
                for i in 0..n {
                    positions.push(Position {
                        x: (i % k) as f64 * step + step / 2.0,
                        y: (i / k) as f64 * step + step / 2.0,
                    });
                }
            }
        }
        Topology {
            bridges: vec![false; n],
            positions,
            side_m: side,
        }
    }

    /// Mark `count` bridges: the nodes nearest to evenly spread points of the area (the
    /// centre for one bridge), ties broken by node id.
    pub fn place_bridges(&mut self, count: usize) {
        let n = self.positions.len();
        let count = count.min(n);
        let k = (count as f64).sqrt().ceil().max(1.0) as usize;
        let step = self.side_m / k as f64;
        let mut placed = 0;
        for i in 0..k * k {
            if placed >= count {
                break;
            }
            let target = Position {
                x: (i % k) as f64 * step + step / 2.0,
                y: (i / k) as f64 * step + step / 2.0,
            };
            let best = (0..n).filter(|&j| !self.bridges[j]).min_by(|&a, &b| {
                dist(&self.positions[a], &target)
                    .total_cmp(&dist(&self.positions[b], &target))
                    .then(a.cmp(&b))
            });
            if let Some(b) = best {
                self.bridges[b] = true;
                placed += 1;
            }
        }
    }

    /// Import positions (metres) from JSON (`[{"x":..,"y":..,"bridge":true}, ..]`) or CSV
    /// (`x,y[,bridge]` per line, `#` comments and a non-numeric header line allowed).
    pub fn import(text: &str) -> Result<Topology, SimError> {
        let trimmed = text.trim_start();
        let mut positions = Vec::new();
        let mut bridges = Vec::new();
        if trimmed.starts_with('[') || trimmed.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| SimError::Topology(format!("invalid JSON: {e}")))?;
            let arr = v
                .get("nodes")
                .unwrap_or(&v)
                .as_array()
                .ok_or_else(|| SimError::Topology("expected an array of nodes".into()))?;
            for (i, node) in arr.iter().enumerate() {
                let num = |k: &str| node.get(k).and_then(|x| x.as_f64());
                let (Some(x), Some(y)) = (num("x"), num("y")) else {
                    return Err(SimError::Topology(format!(
                        "node {i}: needs numeric x and y"
                    )));
                };
                positions.push(Position { x, y });
                bridges.push(
                    node.get("bridge")
                        .and_then(|b| b.as_bool())
                        .unwrap_or(false),
                );
            }
        } else {
            for (lineno, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let cols: Vec<&str> = line.split(',').map(str::trim).collect();
                let x = cols.first().and_then(|c| c.parse::<f64>().ok());
                let y = cols.get(1).and_then(|c| c.parse::<f64>().ok());
                match (x, y) {
                    (Some(x), Some(y)) => {
                        positions.push(Position { x, y });
                        let b = cols
                            .get(2)
                            .is_some_and(|c| matches!(*c, "1" | "true" | "bridge" | "yes"));
                        bridges.push(b);
                    }
                    _ if positions.is_empty() => continue, // header line
                    _ => {
                        return Err(SimError::Topology(format!(
                            "line {}: expected x,y[,bridge]",
                            lineno + 1
                        )));
                    }
                }
            }
        }
        if positions
            .iter()
            .any(|p| !p.x.is_finite() || !p.y.is_finite())
        {
            return Err(SimError::Topology(
                "positions must be finite numbers".into(),
            ));
        }
        if positions.len() < 2 {
            return Err(SimError::Topology(
                "a topology needs at least two nodes".into(),
            ));
        }
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in &positions {
            minx = minx.min(p.x);
            miny = miny.min(p.y);
            maxx = maxx.max(p.x);
            maxy = maxy.max(p.y);
        }
        for p in &mut positions {
            p.x -= minx;
            p.y -= miny;
        }
        let side_m = (maxx - minx).max(maxy - miny).max(1.0);
        Ok(Topology {
            positions,
            bridges,
            side_m,
        })
    }
}

/// Euclidean distance in metres.
pub fn dist(a: &Position, b: &Position) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// One directed link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Receiving node.
    pub to: u32,
    /// Received power (dBm), offset included.
    pub rssi: f32,
}

/// Per transmitter, every receiver at or above the interference floor, sorted by id.
#[derive(Debug, Clone)]
pub struct Links {
    /// `out[tx]`: links from `tx`.
    pub out: Vec<Vec<Link>>,
}

impl Links {
    /// Compute the link table (spatial grid; per-link offsets from `seed`).
    pub fn build(topo: &Topology, radio: &RadioConfig, seed: u64) -> Links {
        let n = topo.positions.len();
        let model = LinkModel::new(radio, seed);
        let reach = model.reach_m;
        let cell = reach;
        let cols = ((topo.side_m / cell).ceil() as usize).clamp(1, 4096);
        let cell_of = |p: &Position| {
            let cx = ((p.x / cell).floor().max(0.0) as usize).min(cols - 1);
            let cy = ((p.y / cell).floor().max(0.0) as usize).min(cols - 1);
            (cx, cy)
        };
        let mut grid: Vec<Vec<u32>> = vec![Vec::new(); cols * cols];
        for (i, p) in topo.positions.iter().enumerate() {
            let (cx, cy) = cell_of(p);
            grid[cy * cols + cx].push(i as u32);
        }
        let mut out = Vec::with_capacity(n);
        for (a, pa) in topo.positions.iter().enumerate() {
            let (cx, cy) = cell_of(pa);
            let mut links = Vec::new();
            for gy in cy.saturating_sub(1)..=(cy + 1).min(cols - 1) {
                for gx in cx.saturating_sub(1)..=(cx + 1).min(cols - 1) {
                    for &b in &grid[gy * cols + gx] {
                        if let Some(l) = model.link(topo, a as u32, b) {
                            links.push(l);
                        }
                    }
                }
            }
            links.sort_by_key(|l| l.to);
            out.push(links);
        }
        Links { out }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Directed adjacency of links that close at `sensitivity` (dBm).
    pub fn closing(&self, sensitivity: f64) -> Vec<Vec<u32>> {
        self.out
            .iter()
            .map(|ls| {
                ls.iter()
                    .filter(|l| f64::from(l.rssi) >= sensitivity)
                    .map(|l| l.to)
                    .collect()
            })
            .collect()
    }
}

/// The link budget of one directed pair, computed on demand: what [`Links::build`] tabulates
/// once, and what the reference medium (`Simulator::reference_reception`) recomputes for every
/// (transmission, node) pair the way Meshtasticator does.
#[derive(Debug, Clone, Copy)]
pub struct LinkModel {
    radio: RadioConfig,
    seed: u64,
    floor: f64,
    sigma: f64,
    /// Distance beyond which a link would need a > 5 sigma offset to reach the floor; such
    /// links are treated as silent (probability < 3e-7).
    pub reach_m: f64,
}

impl LinkModel {
    /// The model for `radio`, per-link offsets drawn from `seed`.
    pub fn new(radio: &RadioConfig, seed: u64) -> LinkModel {
        let floor = radio.interference_floor_dbm();
        let sigma = if radio.link_sigma_db.is_finite() {
            radio.link_sigma_db.max(0.0)
        } else {
            0.0
        };
        let budget = radio.region.tx_power_dbm() - floor + 5.0 * sigma;
        let reach_m = radio
            .path_loss
            .range_m(budget, radio.region.frequency_hz())
            .max(1.0);
        LinkModel {
            radio: *radio,
            seed,
            floor,
            sigma,
            reach_m,
        }
    }

    /// The directed link `a -> b` if its received power is at or above the interference floor.
    pub fn link(&self, topo: &Topology, a: u32, b: u32) -> Option<Link> {
        if a == b {
            return None;
        }
        let d = dist(
            topo.positions.get(a as usize)?,
            topo.positions.get(b as usize)?,
        );
        if d > self.reach_m {
            return None;
        }
        let rssi = self.radio.mean_rssi_dbm(d) - self.sigma * link_normal(self.seed, a, b);
        (rssi >= self.floor).then_some(Link {
            to: b,
            rssi: rssi as f32,
        })
    }
}

/// A standard normal draw that depends only on `(seed, a, b)`: SplitMix64 into Box-Muller.
/// Hand-written because each directed link needs its own stateless draw (independent of the
/// order links are visited in); `rand_distr` is not a dependency of this crate.
pub fn link_normal(seed: u64, a: u32, b: u32) -> f64 {
    let mut s = seed ^ (u64::from(a) << 32 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let u1 = ((splitmix(&mut s) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = ((splitmix(&mut s) >> 11) as f64) / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn splitmix(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::phy::{MediumModel, PathLossModel, Preset, Region};

    #[test]
    fn link_offsets_are_standard_normal() {
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|i| link_normal(42, i, i + 1)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
        assert_ne!(link_normal(1, 2, 3), link_normal(1, 3, 2));
    }

    #[test]
    fn grid_links_match_brute_force() {
        let radio = RadioConfig {
            preset: Preset::LongFast,
            region: Region::Us915,
            path_loss: PathLossModel::ThreeGppSuburban,
            link_sigma_db: 3.0,
            medium: MediumModel::Physical,
        };
        let topo = Topology::generate(300, 20_000.0, Placement::Uniform, &radio, 5);
        let links = Links::build(&topo, &radio, 9);
        let floor = radio.interference_floor_dbm();
        for a in 0..300u32 {
            let mut want = Vec::new();
            for b in 0..300u32 {
                if a == b {
                    continue;
                }
                let d = dist(&topo.positions[a as usize], &topo.positions[b as usize]);
                let r = radio.mean_rssi_dbm(d) - 3.0 * link_normal(9, a, b);
                if r >= floor {
                    want.push(b);
                }
            }
            let got: Vec<u32> = links.out[a as usize].iter().map(|l| l.to).collect();
            assert_eq!(got, want, "node {a}");
        }
    }

    #[test]
    fn import_json_and_csv() {
        let t = Topology::import(r#"[{"x":0,"y":0,"bridge":true},{"x":100,"y":5}]"#).unwrap();
        assert_eq!(t.positions.len(), 2);
        assert!(t.bridges[0] && !t.bridges[1]);
        let t = Topology::import("x,y,bridge\n0,0,1\n10,20,0\n# c\n30,40\n").unwrap();
        assert_eq!(t.positions.len(), 3);
        assert!(Topology::import("0,0\nfoo,bar\n").is_err());
        assert!(Topology::import("[1,2]").is_err());
        assert!(Topology::import("").is_err());
    }
}
