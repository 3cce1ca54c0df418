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

/// The 50-node shutdown scenario (6 h, EU 10 %, LongFast, churn) on seed 3: the delivery,
/// duty and loss targets of issue 3, and its efficiency target: 1.25 x greedy (receipts'
/// floor included). This seed gives 1.06 x with certifications and receipts relayed along
/// the gradient tree in greedy cover order, two certifications to a frame, payments between
/// members booked two to a forward and rebroadcasts riding in custody forwards (1.30 x
/// without the key book, with which no certification fits beside a payment). Certification
/// coverage 0.9987 (asserted >= 0.997; the issue asks 0.999 of deliveries, not of pairs).
/// Receipts reach every node: 0.998 of (receipt, node) pairs within the hour (asserted >=
/// 0.995) for 0.48 receipt frames per item (asserted <= 0.8). Reconciliation costs 8.6 B
/// per item in all; sessions cost 9.1 B per differing item here, asserted <= 12 B (B6;
/// seeds 1-12 max 9.5, since a digest's answers are spread and the later ones yield).
#[test]
fn shutdown_50_nodes_delivers_within_the_hour() {
    let s = Scenario::shutdown(50, Preset::LongFast, Region::Eu868TenPercent, 3);
    let m = run(s, &ToileFactory).unwrap().metrics;
    assert_eq!(m.duty_violations, 0);
    assert_eq!(m.lost_items, 0, "{m:?}");
    assert!(
        m.delivered_within_deadline_ratio >= 0.999,
        "within 1 h: {}",
        m.delivered_within_deadline_ratio
    );
    let coverage = m.broadcast_coverage.unwrap_or(0.0);
    assert!(coverage >= 0.997, "certification coverage {coverage}");
    // Receipts reach every node (stored, relayed along the tree and reconciled like
    // certifications): 0.48 frames per item on this seed (0.24 when they went down the
    // receipted payments' paths only, reaching 0.58-0.71 of the pairs).
    let receipts = m.receipt_tx_per_item.unwrap_or(f64::MAX);
    assert!(receipts <= 0.8, "receipt frames per item {receipts}");
    let reached = m.receipt_coverage.unwrap_or(0.0);
    assert!(reached >= 0.995, "receipt coverage {reached}");
    let session = m.session_bytes_per_difference.unwrap_or(f64::MAX);
    assert!(
        session <= 12.0,
        "session bytes per differing item {session}"
    );
    assert!(
        m.tx_per_item <= 1.25 * m.greedy_tx_per_item,
        "tx/item {} vs greedy {}",
        m.tx_per_item,
        m.greedy_tx_per_item
    );
}

/// The sweep of radio.md (seeds 1-5, 50 nodes): prints each seed's figures against the
/// issue's targets. `cargo nextest run -p toile-host --release --run-ignored only sweep`.
#[test]
#[ignore = "sweep: run by hand in release"]
fn shutdown_50_nodes_sweep() {
    let mut worst = 1.0f64;
    for seed in 1..=5 {
        let s = Scenario::shutdown(50, Preset::LongFast, Region::Eu868TenPercent, seed);
        let m = run(s, &ToileFactory).unwrap().metrics;
        println!(
            "seed {seed}: within 1 h {:.4}, delivered {:.4}, tx/item {:.2} (greedy {:.2}, {:.2} x), \
             duty violations {}, lost {}",
            m.delivered_within_deadline_ratio,
            m.delivered_ratio,
            m.tx_per_item,
            m.greedy_tx_per_item,
            m.tx_per_item / m.greedy_tx_per_item,
            m.duty_violations,
            m.lost_items
        );
        assert_eq!(m.duty_violations, 0);
        assert_eq!(m.lost_items, 0, "seed {seed}");
        worst = worst.min(m.delivered_within_deadline_ratio);
    }
    println!("worst within-deadline ratio: {worst:.4} (target 0.999)");
    assert!(worst >= 0.999);
}
