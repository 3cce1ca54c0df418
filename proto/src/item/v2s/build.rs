//! Wallet side (`std`): sign a call for offline submission. Immortal era, no tip by default,
//! metadata-hash check disabled: the only shape [`Extrinsic::parse`](super::Extrinsic::parse)
//! accepts.

use std::vec::Vec;

use super::{Call, ChainProfile, KeyType, MAX_UNHASHED_PAYLOAD, MultiSignature};
use crate::crypto::{blake2_256, ed25519_public, ed25519_sign};

/// Substrate's sr25519 signing context.
const SR25519_CONTEXT: &[u8] = b"substrate";

/// A signing key: Ed25519 from a 32-byte seed (Cesium / Duniter "salt + password" keys), or
/// sr25519 (mnemonic wallets).
pub struct Signer(Key);

enum Key {
    Ed25519 { seed: [u8; 32], public: [u8; 32] },
    Sr25519(schnorrkel::Keypair),
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print secret material.
        write!(f, "Signer({}, public ", self.key_type().as_str())?;
        for b in self.public() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl Signer {
    /// Ed25519 from its 32-byte seed.
    pub fn ed25519(seed: &[u8; 32]) -> Self {
        Self(Key::Ed25519 {
            seed: *seed,
            public: ed25519_public(seed),
        })
    }

    /// sr25519 from a 32-byte mini secret key, expanded the way Substrate does
    /// (`MiniSecretKey::expand_to_keypair(ExpansionMode::Ed25519)`).
    pub fn sr25519_from_seed(seed: &[u8; 32]) -> Self {
        // A 32-byte array is always a valid mini secret key.
        let mini = match schnorrkel::MiniSecretKey::from_bytes(seed) {
            Ok(m) => m,
            Err(_) => unreachable!("MiniSecretKey::from_bytes accepts any 32 bytes"),
        };
        Self(Key::Sr25519(
            mini.expand_to_keypair(schnorrkel::ExpansionMode::Ed25519),
        ))
    }

    /// An existing sr25519 key pair.
    pub fn sr25519(keypair: schnorrkel::Keypair) -> Self {
        Self(Key::Sr25519(keypair))
    }

    /// The 32-byte public key, which is also the account id.
    pub fn public(&self) -> [u8; 32] {
        match &self.0 {
            Key::Ed25519 { public, .. } => *public,
            Key::Sr25519(kp) => kp.public.to_bytes(),
        }
    }

    pub fn key_type(&self) -> KeyType {
        match self.0 {
            Key::Ed25519 { .. } => KeyType::Ed25519,
            Key::Sr25519(_) => KeyType::Sr25519,
        }
    }

    /// Sign `msg` (sr25519 signatures are randomized).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        match &self.0 {
            Key::Ed25519 { seed, .. } => ed25519_sign(seed, msg),
            Key::Sr25519(kp) => kp.sign_simple(SR25519_CONTEXT, msg).to_bytes(),
        }
    }
}

/// Build a signed, immortal extrinsic for `call`, ready for `author_submitExtrinsic` and for
/// the mesh (length prefix included).
pub fn build_signed(
    call: &Call<'_>,
    signer: &Signer,
    nonce: u32,
    tip: u64,
    profile: &ChainProfile,
) -> Vec<u8> {
    let mut call_bytes = Vec::new();
    call.encode(&mut call_bytes);
    let mut extra = Vec::new();
    super::put_extra(&mut extra, nonce, tip);
    let sig = signer.sign(&signing_message(&call_bytes, &extra, profile));
    let signature = match signer.key_type() {
        KeyType::Sr25519 => MultiSignature::Sr25519(&sig),
        _ => MultiSignature::Ed25519(&sig),
    };
    let mut out = Vec::with_capacity(call_bytes.len() + 110);
    super::encode_signed(&mut out, &signer.public(), &signature, nonce, tip, call);
    out
}

/// The bytes the signature covers: the payload, or its blake2-256 hash when longer than
/// 256 bytes.
pub(super) fn signing_message(call_bytes: &[u8], extra: &[u8], profile: &ChainProfile) -> Vec<u8> {
    let mut payload = Vec::with_capacity(call_bytes.len() + extra.len() + super::IMPLICIT_LEN);
    super::put_payload(&mut payload, call_bytes, extra, profile);
    if payload.len() > MAX_UNHASHED_PAYLOAD {
        blake2_256(&payload).to_vec()
    } else {
        payload
    }
}
