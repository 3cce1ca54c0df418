//! The Toile relay engine in the simulator: deterministic, within the duty budget, and
//! delivering real signed items to the bridge.

use toile_host::sim::phy::{Preset, Region};
use toile_host::sim::run;
use toile_host::sim::scenario::Scenario;
use toile_host::sim::toile::ToileFactory;

#[test]
fn shutdown_one_hour_is_deterministic_audited_and_delivers() {
    let mut s = Scenario::shutdown(50, Preset::LongFast, Region::Eu868TenPercent, 1);
    s.hours = 1.0;
    let a = run(s.clone(), &ToileFactory).unwrap().metrics;
    let b = run(s, &ToileFactory).unwrap().metrics;
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap(),
        "same seed, same metrics"
    );
    assert_eq!(a.duty_violations, 0);
    assert_eq!(a.invalid_transmits, 0);
    assert!(a.items > 100);
    assert!(
        a.delivered_ratio > 0.5,
        "real signed items reach the bridge: {}",
        a.delivered_ratio
    );
}

#[test]
fn one_percent_region_stays_within_budget() {
    let mut s = Scenario::shutdown(50, Preset::LongFast, Region::Eu868OnePercent, 3);
    s.hours = 1.0;
    let m = run(s, &ToileFactory).unwrap().metrics;
    assert_eq!(m.duty_violations, 0);
}
