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
//! - [`scenario`], [`metrics`], [`svg`]: what to run, what it measured, how it looked.
//!
//! # Use
//! ```no_run
//! use toile_host::sim::{run, flood::FloodFactory, scenario::Scenario};
//! let out = run(Scenario::anchor(1), &FloodFactory::default()).unwrap();
//! println!("{}", out.metrics.delivered_ratio);
//! ```

pub mod engine;
pub mod flood;
pub mod metrics;
pub mod phy;
pub mod router;
pub mod scenario;
pub mod svg;
pub mod time;
pub mod topology;

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
