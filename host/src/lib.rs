//! `toile-host`: the host side of Toile as a library, used by the `toile` binary and by tests.
//!
//! Modules:
//! - [`sim`]: the deterministic discrete-event LoRa mesh simulator and its baseline routers.
#![forbid(unsafe_code)]

pub mod sim;
