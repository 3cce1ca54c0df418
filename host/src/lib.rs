//! # toile-host — the host side of Toile, as a library used by the `toile` binary and by tests
//!
//! - [`wallet`]: keys (Cesium salt + password, BIP-39 mnemonics with Substrate derivation
//!   paths), Ğ1 addresses, and the encrypted keystore file.
//! - [`store`]: the bridge's SQLite store (items, outbox, receipts, Noise keys, chain
//!   snapshots, sync log).
//! - [`chain`]: the chain snapshot file format (`toile chain import`).
//! - [`sim`]: the deterministic discrete-event LoRa mesh simulator and its baseline routers.
//!
//! The `toile` binary (`src/main.rs`, `src/cli/`) is a thin layer over these modules.
#![forbid(unsafe_code)]

pub mod chain;
pub mod link;
pub mod node;
pub mod sim;
pub mod store;
pub mod sync;
pub mod wallet;
