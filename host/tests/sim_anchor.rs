//! Meshtasticator's anchor (radio.md): 50 nodes in 6x6 km, LongFast, 150 B per node every
//! 10 min, hop limit 3. Meshtastic measured 75-79 % of (item, node) pairs delivered with
//! 11-12 transmissions per item; the flood baseline must land within 5 points (70-84 %).
//! Two seeds in CI; the five-seed sweep is `cargo test -p toile-host --release --test
//! sim_anchor -- --ignored --nocapture`.
use toile_host::sim::flood::FloodFactory;
use toile_host::sim::phy::{Preset, Region};
use toile_host::sim::scenario::Scenario;
use toile_host::sim::toile::ToileFactory;
use toile_host::sim::{Metrics, run};

fn anchor(seed: u64) -> Metrics {
    run(Scenario::anchor(seed), &FloodFactory::default())
        .unwrap()
        .metrics
}

fn check_band(seed: u64, m: &Metrics) {
    assert!(
        (0.70..=0.84).contains(&m.delivered_ratio),
        "seed {seed}: delivered {m:?}"
    );
    assert!(
        (9.0..=14.0).contains(&m.tx_per_item),
        "seed {seed}: tx/item {m:?}"
    );
    assert!(m.greedy_tx_per_item < m.tx_per_item);
}

#[test]
fn flood_baseline_reproduces_meshtastic_anchor() {
    for seed in [1, 2] {
        check_band(seed, &anchor(seed));
    }
}

#[test]
#[ignore = "five-seed sweep (~1 s in release); run with --ignored"]
fn anchor_sweep_five_seeds() {
    let mut failed = Vec::new();
    for seed in 1..=5 {
        let m = anchor(seed);
        println!(
            "seed {seed}: delivered {:.3}, tx/item {:.2}, greedy {:.2}, mean latency {:.1} s",
            m.delivered_ratio,
            m.tx_per_item,
            m.greedy_tx_per_item,
            m.mean_latency_s.unwrap_or(f64::NAN)
        );
        if !(0.70..=0.84).contains(&m.delivered_ratio) {
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "seeds outside 70-84 %: {failed:?}");
}

/// The "done means" for the shutdown scenario at one size: Toile within the deadline
/// and the flood baseline alongside. Reports both and asserts the targets.
fn shutdown_targets(nodes: usize, seeds: std::ops::RangeInclusive<u64>) {
    for seed in seeds {
        let s = Scenario::shutdown(nodes, Preset::LongFast, Region::Eu868TenPercent, seed);
        let t = run(s.clone(), &ToileFactory).unwrap().metrics;
        let f = run(s, &FloodFactory::default()).unwrap().metrics;
        println!(
            "{nodes} nodes seed {seed}: toile within deadline {:.4}, tx/item {:.2} (greedy {:.2}), \
             duty violations {}, lost {}, load {:.2}; flood {:.4}, tx/item {:.2}",
            t.delivered_within_deadline_ratio,
            t.tx_per_item,
            t.greedy_tx_per_item,
            t.duty_violations,
            t.lost_items,
            t.load_of_capacity,
            f.delivered_within_deadline_ratio,
            f.tx_per_item
        );
        assert_eq!(t.duty_violations, 0);
        assert_eq!(f.duty_violations, 0);
        assert!(t.load_of_capacity <= 0.7 + 1e-9);
        assert!(
            t.delivered_within_deadline_ratio >= 0.999,
            "seed {seed}: {t:?}"
        );
        assert_eq!(t.lost_items, 0, "seed {seed}");
        if nodes == 50 {
            assert!(
                t.tx_per_item <= 1.25 * t.greedy_tx_per_item,
                "seed {seed}: {t:?}"
            );
            // The flood baseline in the same run: within 5 points of Meshtastic's 75-79 %.
            assert!(
                (0.70..=0.84).contains(&f.delivered_ratio),
                "seed {seed}: flood {f:?}"
            );
        }
    }
}

/// One seed of each larger size in CI (the sweeps below run seeds 1-5).
#[test]
fn shutdown_200_nodes_seed_1() {
    shutdown_targets(200, 1..=1);
}

#[test]
fn shutdown_1000_nodes_seed_1() {
    shutdown_targets(1000, 1..=1);
}

#[test]
#[ignore = "issue 3 targets for 50 nodes, seeds 1-5; run with --ignored"]
fn shutdown_50_nodes_sweep() {
    shutdown_targets(50, 1..=5);
}

#[test]
#[ignore = "issue 3 targets for 200 nodes in 12x12 km; run with --ignored"]
fn shutdown_200_nodes_sweep() {
    shutdown_targets(200, 1..=5);
}

#[test]
#[ignore = "issue 3 targets for 1000 nodes in 27x27 km; run with --ignored"]
fn shutdown_1000_nodes_sweep() {
    shutdown_targets(1000, 1..=5);
}
