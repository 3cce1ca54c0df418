//! Meshtasticator's anchor (radio.md): 50 nodes in 6x6 km, LongFast, 150 B per node every
//! 10 min, hop limit 3. Meshtastic measured 75-79 % of (item, node) pairs delivered with
//! 11-12 transmissions per item; the flood baseline must land within 5 points.
use toile_host::sim::flood::FloodFactory;
use toile_host::sim::run;
use toile_host::sim::scenario::Scenario;

#[test]
fn flood_baseline_reproduces_meshtastic_anchor() {
    let m = run(Scenario::anchor(1), &FloodFactory::default())
        .unwrap()
        .metrics;
    assert!(
        (0.70..=0.84).contains(&m.delivered_ratio),
        "delivered {m:?}"
    );
    assert!((9.0..=14.0).contains(&m.tx_per_item), "tx/item {m:?}");
    assert!(m.greedy_tx_per_item < m.tx_per_item);
}
