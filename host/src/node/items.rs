//! Deterministic generator of real signed items, for tests, benchmarks and `--preload`.

use toile_proto::crypto::blake2_256;
use toile_proto::item::ItemKind;
use toile_proto::item::v2s::{Call, ChainProfile, build_signed};

use crate::wallet::Keypair;

/// Signers per generated set: item `i` is signed by signer `i % SIGNERS` with nonce
/// `i / SIGNERS`, so every item is unique.
pub const SIGNERS: usize = 16;

/// A development chain profile: what the emulated node verifies against when it was never
/// given a snapshot (`toile node --emulate --chain`), and what the link benchmark signs for.
pub fn dev_profile() -> ChainProfile {
    ChainProfile {
        genesis_hash: blake2_256(b"toile dev chain"),
        spec_version: 1_000,
        tx_version: 1,
    }
}

/// `count` signed `Balances.transfer_keep_alive` extrinsics (ed25519), determined by `seed`.
pub fn signed_items(seed: u64, count: usize, profile: &ChainProfile) -> Vec<(ItemKind, Vec<u8>)> {
    let keys: Vec<Keypair> = (0..SIGNERS)
        .map(|i| {
            let mut m = seed.to_le_bytes().to_vec();
            m.extend_from_slice(&(i as u64).to_le_bytes());
            Keypair::from_ed25519_seed(blake2_256(&m))
        })
        .collect();
    let signers: Vec<_> = keys.iter().map(Keypair::v2s_signer).collect();
    (0..count)
        .map(|i| {
            let s = i % SIGNERS;
            let dest = keys.get((s + 1) % SIGNERS).map_or([0; 32], Keypair::public);
            let call = Call::TransferKeepAlive {
                dest: &dest,
                value: 100 + (i as u64 % 10_000),
            };
            let nonce = u32::try_from(i / SIGNERS).unwrap_or(u32::MAX);
            let bytes = signers.get(s).map_or_else(Vec::new, |signer| {
                build_signed(&call, signer, nonce, 0, profile)
            });
            (ItemKind::Extrinsic, bytes)
        })
        .collect()
}
