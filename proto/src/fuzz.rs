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
//! | [`engine`] | two relay engines on a channel the fuzzer controls (raw and mutated frames, clock, submissions, receipts, restarts) |

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

/// The relay engine: two engines (node 1 and node 2) share a channel the input controls.
///
/// The input is a script, one op per byte (`op % 8`), operands from the following bytes:
/// advance the clock and fire timers; submit one of a few valid (and one wrongly signed)
/// items; let a node transmit; deliver the last frame to the other node, optionally with one
/// byte flipped; hand a node raw bytes as a frame; restart a node over its store (a power cut);
/// a receipt for an item; toggle a bridge's uplink. Whatever happens, nothing may panic, the
/// store stays within its capacity, every frame fits the radio and was due, and no event is
/// dropped when the driver drains after every input. Needs `std` (items are signed once).
#[cfg(feature = "std")]
pub fn engine(data: &[u8]) {
    use crate::engine::{
        Config, DEFAULT_ITEM_TTL_US, DutyRule, Engine, MAX_ITEM_LEN, MemStore, Modulation, RxMeta,
    };
    use crate::item::ItemKind;
    use crate::radio::{MAX_FRAME_LEN, NodeAddr};
    use lora_modulation::{Bandwidth, BaseBandModulationParams, CodingRate, SpreadingFactor};
    use std::sync::OnceLock;
    use std::vec::Vec;

    type E = Engine<MemStore<6, MAX_ITEM_LEN>, 6>;
    static ITEMS: OnceLock<Vec<(ItemKind, Vec<u8>)>> = OnceLock::new();
    let profile = ChainProfile {
        genesis_hash: crate::crypto::blake2_256(b"toile fuzz chain"),
        spec_version: 1,
        tx_version: 1,
    };
    let items = ITEMS.get_or_init(|| {
        use crate::item::v2s::{Call, Signer, build_signed};
        let other = ChainProfile {
            genesis_hash: [1; 32],
            ..profile
        };
        let mut v = Vec::new();
        for n in 0..4u32 {
            let call = Call::TransferKeepAlive {
                dest: &[7; 32],
                value: 1_000 + u64::from(n),
            };
            v.push((
                ItemKind::Extrinsic,
                build_signed(&call, &Signer::ed25519(&[9; 32]), n, 0, &profile),
            ));
        }
        for n in 0..2u32 {
            let call = Call::AddCert { receiver: n };
            v.push((
                ItemKind::Extrinsic,
                build_signed(&call, &Signer::ed25519(&[5; 32]), n, 0, &profile),
            ));
        }
        let call = Call::TransferKeepAlive {
            dest: &[7; 32],
            value: 1,
        };
        v.push((
            ItemKind::Extrinsic,
            build_signed(&call, &Signer::ed25519(&[9; 32]), 9, 0, &other),
        ));
        // A DUBP certification (278 bytes): longer than a frame, it travels in fragments.
        let hex = include_str!("../tests/vectors/dubp/certification.hex").trim();
        let cert = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        v.push((ItemKind::Dubp, cert));
        v
    });
    let Some((&first, mut script)) = data.split_first() else {
        return;
    };
    let config = |addr: u16, bridge: bool| Config {
        addr: NodeAddr(addr),
        bridge,
        profile,
        modulation: Modulation {
            params: BaseBandModulationParams::new(
                SpreadingFactor::_11,
                Bandwidth::_250KHz,
                CodingRate::_4_5,
            ),
            preamble: 16,
        },
        duty: DutyRule::PerHour {
            budget_us: 360_000_000,
        },
        seed: u64::from(first),
        hop_limit: 10,
        item_ttl_us: if first & 2 != 0 {
            600_000_000
        } else {
            DEFAULT_ITEM_TTL_US
        },
    };
    let mut now = 1_000_000u64;
    // Node 2 (a bridge when the first byte is odd) signs receipts; both trust its key.
    static BRIDGE_KEYS: OnceLock<[[u8; 32]; 1]> = OnceLock::new();
    let keys = BRIDGE_KEYS.get_or_init(|| [crate::crypto::ed25519_public(&[42; 32])]);
    let mut nodes: [E; 2] = [
        Engine::new(config(1, false), MemStore::new(), now).with_bridge_keys(keys),
        Engine::new(config(2, first & 1 != 0), MemStore::new(), now)
            .with_bridge_keys(keys)
            .with_receipt_key([42; 32]),
    ];
    let mut air: Option<(usize, Vec<u8>)> = None;
    let mut buf = [0u8; MAX_FRAME_LEN];
    let next = |script: &mut &[u8]| -> u8 {
        let (b, rest) = script.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        *script = rest;
        b
    };
    let mut ops = 0;
    while !script.is_empty() && ops < 512 {
        ops += 1;
        let op = next(&mut script);
        let who = usize::from(op >> 7);
        match op % 8 {
            0 => {
                now += u64::from(next(&mut script)) * 1_000_000 + 1;
                for n in &mut nodes {
                    if n.poll_timeout().is_some_and(|t| t <= now) {
                        n.handle_timeout(now);
                    }
                }
            }
            1 => {
                let (kind, item) = &items[usize::from(next(&mut script)) % items.len()];
                let _ = nodes[who].submit(now, *kind, item);
            }
            2 => {
                let busy = next(&mut script) & 1 != 0;
                if let Some(t) = nodes[who].poll_transmit(now, busy, &mut buf) {
                    assert!(t.len <= MAX_FRAME_LEN && t.not_before <= now);
                    air = Some((who, buf[..t.len].to_vec()));
                    now += 1_500_000;
                    nodes[who].handle_tx_done(now);
                }
            }
            3 => {
                let (pos, xor) = (next(&mut script), next(&mut script));
                if let Some((from, frame)) = &air {
                    let mut f = frame.clone();
                    if let Some(b) = f.get_mut(usize::from(pos)) {
                        *b ^= xor;
                    }
                    let meta = RxMeta {
                        rssi_dbm: -100,
                        snr_db: (pos as i8) / 8,
                    };
                    nodes[1 - from].handle_frame(now, meta, &f);
                }
            }
            4 => {
                let len = usize::from(next(&mut script)).min(script.len());
                let (raw, rest) = script.split_at(len);
                script = rest;
                nodes[who].handle_frame(now, RxMeta::default(), raw);
            }
            5 => nodes[who].restart(now),
            6 => {
                let (kind, item) = &items[usize::from(next(&mut script)) % items.len()];
                if let Ok(parsed) = crate::item::Item::parse(*kind, item) {
                    nodes[who].handle_receipt(now, &parsed.id());
                }
            }
            _ => {
                let up = next(&mut script) & 1 != 0;
                nodes[who].handle_uplink(now, up);
            }
        }
        for n in &mut nodes {
            let mut drained = 0;
            while n.poll_event().is_some() {
                drained += 1;
                assert!(drained <= 64, "the event queue is bounded");
            }
            assert!(n.store_len() <= 6, "the store stays within its capacity");
            assert_eq!(
                n.counters().events_lost,
                0,
                "events drained after every input"
            );
        }
    }
}
