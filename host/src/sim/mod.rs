//! Deterministic discrete-event LoRa mesh simulator.
//!
//! # Layers
//! - [`phy`]: presets, regions, path loss, time on air, sensitivities (Meshtasticator's model);
//! - [`topology`]: positions (generated or imported) and the link table, computed once with a
//!   spatial grid so a transmission costs O(neighbours);
//! - [`engine`]: virtual clock (µs), event heap with sequence-number tie-breaking, the shared
//!   medium (collisions with capture, half duplex, CAD), churn, bridges' uplinks, and an
//!   independent duty-cycle audit;
//! - [`router`]: the sans-IO [`Router`] trait every protocol implements (drain order:
//!   `poll_transmit`, then `poll_timeout`, then `poll_event`);
//! - [`flood`]: the Meshtastic-style managed-flooding baseline;
//! - [`toile`]: the Toile relay engine ([`toile_proto::engine`]) as a router;
//! - [`scenario`], [`metrics`], [`svg`]: what to run, what it measured, how it looked.
//!
//! # The anchor (radio.md) and how close the flood baseline gets
//! The anchor was measured with Meshtasticator, so the anchor scenario runs its medium and MAC
//! ([`phy::MediumModel::Meshtasticator`]: its time on air with `CRMODEM = 8`, only decodable
//! packets collide, collided arrivals stop interfering, its slot time / `CWmin` / RSSI-based
//! SNR / phantom busy channel) and the flood router sends broadcasts reliably (implicit-ACK
//! retransmissions, as Meshtasticator does, dropped once a rebroadcast is heard; frames of the
//! item plus its 16-byte header; any overlap collides, see [`phy::MediumModel`]).
//! `toile sim --scenario anchor --seed S --json`, seeds 1-5: delivered 75.2 / 74.4 / 74.1 /
//! 72.8 / 71.4 % of (item, node) pairs (Meshtastic: 75-79 %), 10.0 / 9.7 / 10.2 / 11.3 / 9.5
//! transmissions per item (11-12), mean delay 30-61 s (37-75 s). Before these changes
//! (physical airtime, firmware MAC, no retransmission) it gave 81.8-86.4 %; with
//! retransmissions that a rebroadcast heard did not cancel, 69.8-75.5 %. Remaining
//! differences: no mobile nodes, a one-hour injection window, and Meshtasticator's
//! generator, which waits out an origin's retries before drawing its next message.
//!
//! # Speed
//! Receivers of a transmission come from the link table built once ([`topology::Links`]),
//! so a transmission costs O(neighbours); [`Simulator::reference_reception`] keeps
//! Meshtasticator's O(N) path as a reference with byte-identical results, and
//! `toile sim --bench` ([`bench`]) prints both side by side.
//!
//! # What is not modelled yet
//! Node mobility; frequency hopping (one channel, so collisions only need the same SF);
//! churn does not change the reachability used for `undeliverable_items` (topology is static,
//! crashed nodes come back).
//!
//! # Use
//! ```no_run
//! use toile_host::sim::{run, flood::FloodFactory, scenario::Scenario};
//! let out = run(Scenario::anchor(1), &FloodFactory::default()).unwrap();
//! println!("{}", out.metrics.delivered_ratio);
//! ```

pub mod bench;
pub mod engine;
pub mod flood;
pub mod metrics;
pub mod phy;
pub mod router;
pub mod scenario;
pub mod svg;
pub mod time;
pub mod toile;
pub mod topology;
pub mod trace;

pub use engine::Simulator;
pub use metrics::{Metrics, Outcome};
pub use router::{Router, RouterFactory};

/// Errors from building or running a simulation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// A scenario parameter is out of range.
    #[error("invalid simulation parameter: {0}")]
    Config(String),
    /// An imported topology could not be used.
    #[error(
        "invalid topology file: {0} (expected JSON [{{\"x\":m,\"y\":m,\"bridge\":bool}}] or CSV x,y[,bridge])"
    )]
    Topology(String),
}

/// Build and run `scenario` with routers from `factory`.
pub fn run<F: RouterFactory>(
    scenario: scenario::Scenario,
    factory: &F,
) -> Result<Outcome, SimError> {
    Ok(Simulator::new(scenario, factory)?.run())
}
