//! # toile-proto — the protocol core shared by firmware, host bridge and simulator
//!
//! `no_std`, `#![forbid(unsafe_code)]`, and no allocation with default features.
//! The `std` feature adds what only a host needs: parsing DUBP text, building and signing
//! items, and sr25519 verification.
//!
//! ## Layers (bottom up)
//! - [`error`]: one error type for untrusted bytes, [`DecodeError`], which names the byte
//!   offset and the reason, and [`VerifyError`] for signatures.
//! - [`crypto`]: hashing and *streaming* Ed25519 verification through the [`crypto::Sink`]
//!   trait, so a document can be verified while it is rendered, without a buffer.
//! - [`item`]: the signed chain objects the mesh carries — Ğ1 v2s extrinsics ([`item::v2s`])
//!   and DUBP v10 documents in compact binary form ([`item::dubp`]) — with their content id
//!   ([`item::ItemId`]) and short on-air id ([`item::ShortId`]).
//! - [`radio`]: the radio frame container (checked view + `Repr`), batching several items per
//!   frame, and bounded fragmentation/reassembly for items larger than one LoRa frame.
//! - [`link`]: host-link framing (COBS + CRC-32) and the versioned messages that travel inside
//!   Noise transport messages over USB serial, BLE and TCP.
//! - [`engine`]: the sans-IO relay engine (store and forward towards bridges, custody,
//!   duty cycle, channel access) over a [`engine::Store`].
//! - [`recon`]: set reconciliation between neighbours (PinSketch over GF(2²⁴)): an idle
//!   check of one 21-byte frame, at most 10 bytes per differing item between two nodes.
//! - [`fuzz`]: one plain function per decoder, driven by cargo-fuzz and replayed from a corpus
//!   by the ordinary test suite.
//!
//! Every decoder takes untrusted bytes and never panics: malformed input is a
//! [`DecodeError`], never an index out of bounds.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

pub mod address;
pub mod crypto;
pub mod engine;
pub mod error;
pub mod fuzz;
pub mod item;
pub mod link;
pub mod radio;
pub mod recon;
pub mod scale;

pub use error::{DecodeError, ErrorKind, VerifyError};
