//! Fuzz entry points: one plain function per decoder (rust-lightning's pattern).
//!
//! Each function takes arbitrary bytes and must never panic; where a decode succeeds it also
//! checks the format's round-trip invariants (re-encoding gives the same bytes). They are
//! driven by cargo-fuzz (`proto/fuzz/`, nightly) and replayed from the committed corpus in
//! `proto/fuzz/corpus/<target>/` by the ordinary test suite (`proto/tests/fuzz_corpus.rs`).
//!
//! | target | decoder |
//! |---|---|
//! | [`radio_frame`] | radio frame container, item entries, fragment reassembly |
//! | [`item`] | an item of either kind, kind chosen by the first byte |
//! | [`dubp_compact`] | DUBP compact documents, rendering, verification |
//! | [`v2s_extrinsic`] | Ğ1 v2s extrinsics, call decoding, verification |
//! | [`link_stream`] | host-link byte stream: COBS + CRC frames, packets, messages |
//! | [`recon`] | reconciliation bodies, the reconciler's handling of them, sketch decoding |

use crate::item::{Item, ItemKind, v2s::ChainProfile};

/// Radio frames.
pub fn radio_frame(data: &[u8]) {
    crate::radio::fuzz(data);
}

/// Items: first byte is the kind, the rest the item bytes. Parsing must never panic; a parsed
/// item must re-expose exactly its bytes and survive id and signature computation.
pub fn item(data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    if let Ok(item) = Item::parse(ItemKind::from_u8(kind), bytes) {
        assert_eq!(item.bytes(), bytes);
        let _ = item.id();
        let profile = ChainProfile {
            genesis_hash: [0; 32],
            spec_version: 1100,
            tx_version: 1,
        };
        let _ = item.verify(&profile);
    }
}

/// DUBP compact documents.
pub fn dubp_compact(data: &[u8]) {
    crate::item::dubp::fuzz(data);
}

/// Ğ1 v2s extrinsics.
pub fn v2s_extrinsic(data: &[u8]) {
    crate::item::v2s::fuzz(data);
}

/// Host-link byte streams.
pub fn link_stream(data: &[u8]) {
    crate::link::fuzz(data);
}

/// Set-reconciliation bodies and raw sketches.
pub fn recon(data: &[u8]) {
    crate::recon::fuzz(data);
}
