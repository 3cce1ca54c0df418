//! # toile-host — the host side of Toile
//!
//! - [`wallet`]: keys (Cesium salt + password, BIP-39 mnemonics with Substrate derivation
//!   paths), Ğ1 addresses, and the encrypted keystore file.
//!
//! The `toile` binary (`src/main.rs`, `src/cli/`) is a thin layer over these modules.

pub mod wallet;
