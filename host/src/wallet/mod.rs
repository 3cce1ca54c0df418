//! Wallet keys.
//!
//! | source | scheme | how |
//! |---|---|---|
//! | Cesium / Duniter CLI "salt + password" | ed25519 | `scrypt(password, salt, N=4096, r=16, p=1, 32 B)` is the seed |
//! | BIP-39 mnemonic (Ğecko, polkadot.js) | sr25519 | `substrate_bip39::mini_secret_from_entropy`, expanded "Ed25519 mode" |
//! | BIP-39 mnemonic | ed25519 | first 32 bytes of `substrate_bip39::seed_from_entropy` |
//!
//! Mnemonics accept Substrate derivation paths (`//hard`, `/soft`, `///password`) exactly as
//! `sp-core`'s secret URIs do, so `… //2` is the same account in Ğecko and here.
//! Keys are kept in an encrypted [`keystore`] file. [`amount`] parses Ğ1 amounts exactly;
//! [`offline`] signs payments and certifications from a chain snapshot and queues them.

pub mod amount;
pub mod keys;
pub mod keystore;
pub mod offline;

pub use amount::{Amount, AmountError};
pub use keys::{KeyError, Keypair, Scheme};
