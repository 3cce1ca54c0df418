//! The simulator benchmark (radio.md B14): wall time and events per second of the shutdown
//! scenario at several sizes, each run twice in the same process: with the link table built
//! once (what every run uses) and with the reference reception path
//! ([`Simulator::reference_reception`]: every node visited and every link budget recomputed
//! for each transmission, Meshtasticator's O(N) per packet). Both runs must give the same
//! metrics byte for byte; the ratio of their wall times is the speed-up of the algorithm.

use std::time::Instant as WallClock;

use serde::Serialize;

use super::flood::FloodFactory;
use super::phy::{Preset, Region};
use super::scenario::Scenario;
use super::toile::ToileFactory;
use super::{RouterFactory, SimError, Simulator};

/// One line of the benchmark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRow {
    /// Nodes in the mesh.
    pub nodes: usize,
    /// Router under test.
    pub router: &'static str,
    /// Simulated hours of injection (plus the scenario's drain).
    pub hours: f64,
    /// Events processed (same in both runs).
    pub events: u64,
    /// Transmissions (same in both runs).
    pub transmissions: u64,
    /// Wall time with the link table (s).
    pub wall_s: f64,
    /// Wall time with the reference reception path (s).
    pub reference_wall_s: f64,
    /// Events per second with the link table.
    pub events_per_s: f64,
    /// Events per second with the reference path.
    pub reference_events_per_s: f64,
    /// `reference_wall_s / wall_s`.
    pub speedup: f64,
    /// Both runs produced the same metrics JSON.
    pub identical: bool,
}

fn timed<F: RouterFactory>(
    s: &Scenario,
    f: &F,
    reference: bool,
) -> Result<(f64, String, u64, u64), SimError> {
    let started = WallClock::now();
    let sim = Simulator::new(s.clone(), f)?;
    let sim = if reference {
        sim.reference_reception()
    } else {
        sim
    };
    let out = sim.run();
    let wall = started.elapsed().as_secs_f64();
    let json = serde_json::to_string(&out.metrics).unwrap_or_default();
    Ok((wall, json, out.metrics.events, out.metrics.transmissions))
}

fn row<F: RouterFactory>(s: &Scenario, f: &F) -> Result<BenchRow, SimError> {
    let (wall, a, events, transmissions) = timed(s, f, false)?;
    let (reference_wall, b, _, _) = timed(s, f, true)?;
    let per_s = |w: f64| events as f64 / w.max(1e-9);
    Ok(BenchRow {
        nodes: s.nodes,
        router: f.name(),
        hours: s.hours,
        events,
        transmissions,
        wall_s: wall,
        reference_wall_s: reference_wall,
        events_per_s: per_s(wall),
        reference_events_per_s: per_s(reference_wall),
        speedup: reference_wall / wall.max(1e-9),
        identical: a == b,
    })
}

/// Run the shutdown scenario (LongFast, EU 10 %) at each size for `hours`, flood and toile
/// routers, fast and reference paths.
pub fn run(sizes: &[usize], hours: f64, seed: u64) -> Result<Vec<BenchRow>, SimError> {
    let mut rows = Vec::new();
    for &n in sizes {
        let mut s = Scenario::shutdown(n, Preset::LongFast, Region::Eu868TenPercent, seed);
        s.hours = hours;
        rows.push(row(&s, &FloodFactory::default())?);
        rows.push(row(&s, &ToileFactory)?);
    }
    Ok(rows)
}
