//! Ğ1 v2s (Duniter v2s, Substrate) signed extrinsics: a checked zero-copy view
//! ([`Extrinsic`]), their signature check against a [`ChainProfile`], and (with `std`) the
//! wallet-side builder ([`build_signed`]).
//!
//! ## Byte layout
//! The item is the byte string `author_submitExtrinsic` takes, length prefix included
//! (`UncheckedExtrinsic` v4 of the g1 runtime):
//!
//! | field | bytes | accepted values |
//! |---|---|---|
//! | length | 1–5 | SCALE `Compact<u32>`, must equal the number of bytes that follow |
//! | version | 1 | `0x84` (signed, format 4); `0x04` (unsigned) and others refused |
//! | signer | 33 | `MultiAddress::Id`: `0x00` + 32-byte account id; other variants refused |
//! | signature | 65 / 66 | `MultiSignature`: `0x00` Ed25519 (64 B), `0x01` Sr25519 (64 B), `0x02` Ecdsa (65 B) |
//! | era | 1 | `0x00` (immortal) only: a mortal era dies in ~3.4 h, mesh items must not |
//! | nonce | 1–5 | `Compact<u32>` |
//! | tip | 1–9 | `Compact<u64>` |
//! | metadata-hash mode | 1 | `0x00` (disabled) only |
//! | call | 2+ | pallet index, call index, arguments: see [`Call`] |
//!
//! The transaction extensions (CheckNonZeroSender, CheckSpecVersion, CheckTxVersion,
//! CheckGenesis, CheckEra, CheckNonce, CheckWeight, ChargeTransactionPayment,
//! CheckMetadataHash) contribute only era, nonce, tip and mode to the bytes; the others add
//! *implicit* data to what is signed:
//!
//! ```text
//! payload = call ++ era ++ nonce ++ tip ++ mode
//!         ++ spec_version (u32 LE) ++ tx_version (u32 LE)
//!         ++ genesis_hash ++ genesis_hash (era birth block of an immortal era) ++ 0x00 (no metadata hash)
//! signed  = payload            if payload.len() <= 256
//!         = blake2_256(payload) otherwise
//! ```
//!
//! ECDSA signatures are *parsed* (so such an item can be named and relayed) but
//! [`Extrinsic::verify`] answers [`VerifyError::UnsupportedKeyType`]; so does sr25519 without
//! the `std` feature. Ed25519 is verified by streaming the payload, with no buffer.
//!
//! Calls outside the supported set ([`Call`]) are refused with
//! [`ExtrinsicError::UnsupportedCall`]: the mesh only carries what it can classify.

mod call;

#[cfg(feature = "std")]
mod build;

pub use call::*;

#[cfg(feature = "std")]
pub use build::{Signer, build_signed};

use core::fmt;

use crate::crypto::{Blake2b256, Counter, Ed25519Verifier, Sink};
use crate::scale::{Reader, put_compact};
use crate::{DecodeError, ErrorKind, VerifyError};

/// Version byte of a signed v4 extrinsic.
pub const VERSION_SIGNED_V4: u8 = 0x84;
/// Version byte of an unsigned (bare) v4 extrinsic.
pub const VERSION_UNSIGNED_V4: u8 = 0x04;
/// `MultiSignature::Ed25519` tag.
pub const SIGNATURE_ED25519: u8 = 0;
/// `MultiSignature::Sr25519` tag.
pub const SIGNATURE_SR25519: u8 = 1;
/// `MultiSignature::Ecdsa` tag.
pub const SIGNATURE_ECDSA: u8 = 2;
/// `Era::Immortal` encoding.
pub const ERA_IMMORTAL: u8 = 0x00;
/// `CheckMetadataHash` mode: disabled.
pub const METADATA_HASH_DISABLED: u8 = 0x00;
/// Payloads longer than this are signed through their blake2-256 hash.
pub const MAX_UNHASHED_PAYLOAD: usize = 256;
/// Bytes the runtime adds to the signed payload after call and extra: spec_version,
/// tx_version, genesis hash, era birth hash, `Option<metadata hash>::None`.
pub const IMPLICIT_LEN: usize = 4 + 4 + 32 + 32 + 1;

/// Why an extrinsic was refused (wrapped in [`ErrorKind::Extrinsic`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtrinsicError {
    /// The length prefix does not match the bytes that follow it.
    LengthPrefix { declared: u64, actual: usize },
    /// An unsigned extrinsic: the mesh only carries signed ones.
    Unsigned,
    /// A version byte other than signed v4 (`0x84`).
    UnsupportedVersion(u8),
    /// A `MultiAddress` other than `Id` (AccountId32).
    UnsupportedAddress(u8),
    /// A `MultiSignature` tag other than Ed25519, Sr25519 or Ecdsa.
    UnknownSignatureType(u8),
    /// A mortal era: mesh items must be immortal.
    MortalEra,
    /// The `CheckMetadataHash` mode is not "disabled".
    MetadataHashMode(u8),
    /// A call this build does not carry.
    UnsupportedCall { pallet: u8, call: u8 },
}

impl fmt::Display for ExtrinsicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthPrefix { declared, actual } => write!(
                f,
                "length prefix says {declared} bytes but {actual} follow (cut or padded item)"
            ),
            Self::Unsigned => f.write_str("unsigned extrinsic; only signed ones can be relayed"),
            Self::UnsupportedVersion(v) => {
                write!(
                    f,
                    "extrinsic version byte {v:#04x}; expected 0x84 (signed v4)"
                )
            }
            Self::UnsupportedAddress(t) => write!(
                f,
                "address kind {t}; only MultiAddress::Id (a 32-byte account) is supported"
            ),
            Self::UnknownSignatureType(t) => write!(f, "unknown signature type {t}"),
            Self::MortalEra => {
                f.write_str("mortal era; re-sign with an immortal era to relay over the mesh")
            }
            Self::MetadataHashMode(m) => {
                write!(
                    f,
                    "metadata-hash mode {m}; re-sign with the check disabled (0)"
                )
            }
            Self::UnsupportedCall { pallet, call } => write!(f, "unsupported call {pallet}.{call}"),
        }
    }
}

/// What a v2s extrinsic signature commits to besides the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainProfile {
    pub genesis_hash: [u8; 32],
    pub spec_version: u32,
    pub tx_version: u32,
}

/// Signature scheme of a `MultiSignature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Ed25519,
    Sr25519,
    Ecdsa,
}

impl KeyType {
    /// Lower-case name (`"ed25519"`, `"sr25519"`, `"ecdsa"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Sr25519 => "sr25519",
            Self::Ecdsa => "ecdsa",
        }
    }
}

/// A borrowed SCALE `MultiSignature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiSignature<'a> {
    Ed25519(&'a [u8; 64]),
    Sr25519(&'a [u8; 64]),
    Ecdsa(&'a [u8; 65]),
}

impl<'a> MultiSignature<'a> {
    pub fn parse(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let at = r.pos();
        match r.u8()? {
            SIGNATURE_ED25519 => Ok(Self::Ed25519(r.array()?)),
            SIGNATURE_SR25519 => Ok(Self::Sr25519(r.array()?)),
            SIGNATURE_ECDSA => Ok(Self::Ecdsa(r.array()?)),
            t => Err(DecodeError::new(
                at,
                ErrorKind::Extrinsic(ExtrinsicError::UnknownSignatureType(t)),
            )),
        }
    }

    pub fn encode<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(&[match self {
            Self::Ed25519(_) => SIGNATURE_ED25519,
            Self::Sr25519(_) => SIGNATURE_SR25519,
            Self::Ecdsa(_) => SIGNATURE_ECDSA,
        }]);
        sink.put(self.bytes());
    }

    pub const fn key_type(&self) -> KeyType {
        match self {
            Self::Ed25519(_) => KeyType::Ed25519,
            Self::Sr25519(_) => KeyType::Sr25519,
            Self::Ecdsa(_) => KeyType::Ecdsa,
        }
    }

    /// The raw signature bytes (without the type tag).
    pub const fn bytes(&self) -> &'a [u8] {
        match self {
            Self::Ed25519(s) | Self::Sr25519(s) => s.as_slice(),
            Self::Ecdsa(s) => s.as_slice(),
        }
    }
}

/// A checked signed extrinsic. Once [`Extrinsic::parse`] succeeded, no accessor panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extrinsic<'a> {
    bytes: &'a [u8],
    signer: &'a [u8; 32],
    signature: MultiSignature<'a>,
    nonce: u32,
    tip: u64,
    /// era ++ nonce ++ tip ++ mode, exactly as carried (and signed).
    extra: &'a [u8],
    call_bytes: &'a [u8],
    call: Call<'a>,
}

impl<'a> Extrinsic<'a> {
    /// Check `bytes` (the whole buffer) as a signed extrinsic of the supported shape. Does not
    /// check the signature: see [`Extrinsic::verify`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let declared = r.compact()?;
        let actual = r.remaining();
        if usize::try_from(declared) != Ok(actual) {
            return Err(DecodeError::new(
                0,
                ErrorKind::Extrinsic(ExtrinsicError::LengthPrefix { declared, actual }),
            ));
        }

        let at = r.pos();
        match r.u8()? {
            VERSION_SIGNED_V4 => {}
            VERSION_UNSIGNED_V4 => return Err(ext_err(at, ExtrinsicError::Unsigned)),
            v => return Err(ext_err(at, ExtrinsicError::UnsupportedVersion(v))),
        }
        let signer = parse_address(&mut r)?;
        let signature = MultiSignature::parse(&mut r)?;

        let mut extra_r = r.clone();
        let at = r.pos();
        if r.u8()? != ERA_IMMORTAL {
            return Err(ext_err(at, ExtrinsicError::MortalEra));
        }
        let nonce = r.compact_u32()?;
        let tip = r.compact()?;
        let at = r.pos();
        match r.u8()? {
            METADATA_HASH_DISABLED => {}
            m => return Err(ext_err(at, ExtrinsicError::MetadataHashMode(m))),
        }
        let extra = extra_r.bytes(r.pos() - extra_r.pos())?;

        let mut call_r = r.clone();
        let call = Call::parse(&mut r)?;
        let call_bytes = call_r.bytes(r.pos() - call_r.pos())?;
        r.finish()?;

        Ok(Self {
            bytes,
            signer,
            signature,
            nonce,
            tip,
            extra,
            call_bytes,
            call,
        })
    }

    /// The item's bytes, length prefix included (what `author_submitExtrinsic` takes).
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false` for a parsed extrinsic; here for API symmetry with `len`.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The signer's 32-byte account id (its public key).
    pub const fn signer(&self) -> &'a [u8; 32] {
        self.signer
    }

    pub const fn key_type(&self) -> KeyType {
        self.signature.key_type()
    }

    pub const fn signature(&self) -> MultiSignature<'a> {
        self.signature
    }

    pub const fn nonce(&self) -> u32 {
        self.nonce
    }

    pub const fn tip(&self) -> u64 {
        self.tip
    }

    pub const fn call(&self) -> Call<'a> {
        self.call
    }

    /// The encoded call (pallet index, call index, arguments).
    pub const fn call_bytes(&self) -> &'a [u8] {
        self.call_bytes
    }

    /// Re-encode from the decoded fields. For a parsed extrinsic this writes exactly
    /// [`Extrinsic::bytes`] (SCALE decoding here is canonical-only).
    pub fn encode<S: Sink + ?Sized>(&self, sink: &mut S) {
        encode_signed(
            sink,
            self.signer,
            &self.signature,
            self.nonce,
            self.tip,
            &self.call,
        );
    }

    /// Check the signature against `profile` (genesis hash and runtime versions are signed).
    pub fn verify(&self, profile: &ChainProfile) -> Result<(), VerifyError> {
        let payload_len = self.call_bytes.len() + self.extra.len() + IMPLICIT_LEN;
        match self.signature {
            MultiSignature::Ed25519(sig) => {
                let mut v = Ed25519Verifier::new(self.signer, sig)?;
                if payload_len > MAX_UNHASHED_PAYLOAD {
                    let mut h = Blake2b256::new();
                    put_payload(&mut h, self.call_bytes, self.extra, profile);
                    v.put(&h.finish());
                } else {
                    put_payload(&mut v, self.call_bytes, self.extra, profile);
                }
                v.finish()
            }
            #[cfg(feature = "std")]
            MultiSignature::Sr25519(sig) => {
                let msg = build::signing_message(self.call_bytes, self.extra, profile);
                crate::crypto::sr25519_verify(self.signer, sig, &msg)
            }
            #[cfg(not(feature = "std"))]
            MultiSignature::Sr25519(_) => Err(VerifyError::UnsupportedKeyType),
            MultiSignature::Ecdsa(_) => Err(VerifyError::UnsupportedKeyType),
        }
    }
}

/// Write the signed payload (before the >256-byte hashing rule) into `sink`.
fn put_payload<S: Sink + ?Sized>(
    sink: &mut S,
    call_bytes: &[u8],
    extra: &[u8],
    profile: &ChainProfile,
) {
    sink.put(call_bytes);
    sink.put(extra);
    sink.put(&profile.spec_version.to_le_bytes());
    sink.put(&profile.tx_version.to_le_bytes());
    sink.put(&profile.genesis_hash);
    sink.put(&profile.genesis_hash); // era birth hash: the genesis for an immortal era
    sink.put(&[0]); // Option<metadata hash>::None
}

/// Write the extra (era, nonce, tip, metadata-hash mode) of an immortal extrinsic.
fn put_extra<S: Sink + ?Sized>(sink: &mut S, nonce: u32, tip: u64) {
    sink.put(&[ERA_IMMORTAL]);
    put_compact(sink, u64::from(nonce));
    put_compact(sink, tip);
    sink.put(&[METADATA_HASH_DISABLED]);
}

/// The one extrinsic encoder: used by [`Extrinsic::encode`] and by the builder.
fn encode_signed<S: Sink + ?Sized>(
    sink: &mut S,
    signer: &[u8; 32],
    signature: &MultiSignature<'_>,
    nonce: u32,
    tip: u64,
    call: &Call<'_>,
) {
    let mut len = Counter::default();
    put_body(&mut len, signer, signature, nonce, tip, call);
    put_compact(sink, len.0 as u64);
    put_body(sink, signer, signature, nonce, tip, call);
}

/// Everything after the length prefix.
fn put_body<S: Sink + ?Sized>(
    sink: &mut S,
    signer: &[u8; 32],
    signature: &MultiSignature<'_>,
    nonce: u32,
    tip: u64,
    call: &Call<'_>,
) {
    sink.put(&[VERSION_SIGNED_V4]);
    put_address(sink, signer);
    signature.encode(sink);
    put_extra(sink, nonce, tip);
    call.encode(sink);
}

fn ext_err(at: usize, e: ExtrinsicError) -> DecodeError {
    DecodeError::new(at, ErrorKind::Extrinsic(e))
}

/// A sink that compares what is written against expected bytes, without a buffer.
struct CompareSink<'e> {
    expected: &'e [u8],
    pos: usize,
    equal: bool,
}

impl Sink for CompareSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if self.expected.get(self.pos..end) != Some(bytes) {
            self.equal = false;
        }
        self.pos = end;
    }
}

impl<'e> CompareSink<'e> {
    fn new(expected: &'e [u8]) -> Self {
        Self {
            expected,
            pos: 0,
            equal: true,
        }
    }
    fn matched(&self) -> bool {
        self.equal && self.pos == self.expected.len()
    }
}

/// Fuzz entry point: parse arbitrary bytes; when they parse, the re-encoding must be
/// byte-identical (extrinsic and call) and `verify` must return (any result) without panic.
/// Panics only on a real bug.
pub fn fuzz(data: &[u8]) {
    let Ok(x) = Extrinsic::parse(data) else {
        return;
    };
    let mut cmp = CompareSink::new(data);
    x.encode(&mut cmp);
    assert!(cmp.matched(), "extrinsic re-encoding differs");
    let mut cmp = CompareSink::new(x.call_bytes());
    x.call().encode(&mut cmp);
    assert!(cmp.matched(), "call re-encoding differs");
    assert_eq!(x.call().encoded_len(), x.call_bytes().len());
    assert_eq!(Call::decode(x.call_bytes()), Ok(x.call()));
    assert_eq!(x.len(), data.len());
    let profile = ChainProfile {
        genesis_hash: [0x11; 32],
        spec_version: 1100,
        tx_version: 1,
    };
    let _ = x.verify(&profile);
}

#[cfg(feature = "std")]
impl std::error::Error for ExtrinsicError {}

#[cfg(test)]
mod tests {
    //! Runs with and without `std`: the no-alloc parse and streaming Ed25519 paths.
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn vector(json: &str) -> (Vec<u8>, ChainProfile) {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let bytes = hex::decode(v["extrinsic_hex"].as_str().unwrap()).unwrap();
        let mut genesis_hash = [0u8; 32];
        hex::decode_to_slice(v["genesis_hash_hex"].as_str().unwrap(), &mut genesis_hash).unwrap();
        let profile = ChainProfile {
            genesis_hash,
            spec_version: v["spec_version"].as_u64().unwrap() as u32,
            tx_version: v["tx_version"].as_u64().unwrap() as u32,
        };
        (bytes, profile)
    }

    #[test]
    fn ed25519_streaming_verify_short_payload() {
        let (b, p) = vector(include_str!(
            "../../../tests/vectors/v2s/add_cert_ed25519.json"
        ));
        let x = Extrinsic::parse(&b).unwrap();
        assert_eq!(x.call(), Call::AddCert { receiver: 4242 });
        assert!(x.call_bytes().len() + x.extra.len() + IMPLICIT_LEN <= MAX_UNHASHED_PAYLOAD);
        assert_eq!(x.verify(&p), Ok(()));
        fuzz(&b);
    }

    #[test]
    fn ed25519_streaming_verify_hashed_payload() {
        let (b, p) = vector(include_str!(
            "../../../tests/vectors/v2s/revoke_identity_legacy_ed25519.json"
        ));
        let x = Extrinsic::parse(&b).unwrap();
        assert!(x.call_bytes().len() + x.extra.len() + IMPLICIT_LEN > MAX_UNHASHED_PAYLOAD);
        assert_eq!(x.verify(&p), Ok(()));
        let mut other = p;
        other.genesis_hash[0] ^= 0x80;
        assert_eq!(x.verify(&other), Err(VerifyError::BadSignature));
    }

    #[test]
    fn sr25519_needs_std() {
        let (b, p) = vector(include_str!(
            "../../../tests/vectors/v2s/add_cert_sr25519.json"
        ));
        let x = Extrinsic::parse(&b).unwrap();
        assert_eq!(x.key_type(), KeyType::Sr25519);
        let expected = if cfg!(feature = "std") {
            Ok(())
        } else {
            Err(VerifyError::UnsupportedKeyType)
        };
        assert_eq!(x.verify(&p), expected);
    }

    #[test]
    fn display_says_what_to_do() {
        let e = DecodeError::new(100, ErrorKind::Extrinsic(ExtrinsicError::MortalEra));
        assert_eq!(
            std::format!("{e}"),
            "byte 100: extrinsic: mortal era; re-sign with an immortal era to relay over the mesh"
        );
        let e = ExtrinsicError::UnsupportedCall { pallet: 6, call: 0 };
        assert_eq!(std::format!("{e}"), "unsupported call 6.0");
    }
}
