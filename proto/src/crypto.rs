//! Hashing and streaming signature verification.
//!
//! Everything that renders bytes to be signed or hashed writes into a [`Sink`], so the same
//! renderer can feed a hash, a signature verifier, a length counter or a buffer — a DUBP
//! document is verified while it is rendered, with no text buffer on the microcontroller.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ed25519_dalek::{Signature, StreamVerifier, VerifyingKey};

use crate::VerifyError;

/// Something that consumes a byte stream.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

/// Counts bytes (to size a buffer before rendering into it).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counter(pub usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// Writes into a caller-provided slice; remembers overflow instead of panicking.
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> SliceSink<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            overflow: false,
        }
    }
    /// Bytes written, or `None` if the buffer was too small.
    pub fn finish(self) -> Option<usize> {
        (!self.overflow).then_some(self.len)
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(bytes);
                self.len = end;
            }
            _ => self.overflow = true,
        }
    }
}

#[cfg(feature = "std")]
impl Sink for std::vec::Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Blake2b with a 256-bit output: Substrate's `blake2_256`, used for extrinsic hashes and for
/// signing payloads longer than 256 bytes.
#[derive(Debug, Clone, Default)]
pub struct Blake2b256(Blake2b<U32>);

impl Blake2b256 {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl Sink for Blake2b256 {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// `blake2_256(data)`.
pub fn blake2_256(data: &[u8]) -> [u8; 32] {
    let mut h = Blake2b256::new();
    h.put(data);
    h.finish()
}

/// SHA-256, DUBP's document and block hash.
#[derive(Debug, Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Incremental Ed25519 verification (RFC 8032, the same acceptance rules as
/// `ed25519_dalek::VerifyingKey::verify`). Feed the signed message through [`Sink::put`],
/// then call [`Ed25519Verifier::finish`].
pub struct Ed25519Verifier(StreamVerifier);

impl core::fmt::Debug for Ed25519Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Ed25519Verifier")
    }
}

impl Ed25519Verifier {
    pub fn new(public_key: &[u8; 32], signature: &[u8; 64]) -> Result<Self, VerifyError> {
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| VerifyError::BadPublicKey)?;
        let sig = Signature::from_bytes(signature);
        key.verify_stream(&sig)
            .map(Self)
            .map_err(|_| VerifyError::MalformedSignature)
    }

    pub fn finish(self) -> Result<(), VerifyError> {
        self.0
            .finalize_and_verify()
            .map_err(|_| VerifyError::BadSignature)
    }
}

impl Sink for Ed25519Verifier {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// One-shot Ed25519 verification over a contiguous message.
pub fn ed25519_verify(
    public_key: &[u8; 32],
    signature: &[u8; 64],
    msg: &[u8],
) -> Result<(), VerifyError> {
    let mut v = Ed25519Verifier::new(public_key, signature)?;
    v.put(msg);
    v.finish()
}

/// sr25519 verification with Substrate's signing context (`b"substrate"`). Host only.
#[cfg(feature = "std")]
pub fn sr25519_verify(
    public_key: &[u8; 32],
    signature: &[u8; 64],
    msg: &[u8],
) -> Result<(), VerifyError> {
    let key =
        schnorrkel::PublicKey::from_bytes(public_key).map_err(|_| VerifyError::BadPublicKey)?;
    let sig = schnorrkel::Signature::from_bytes(signature)
        .map_err(|_| VerifyError::MalformedSignature)?;
    key.verify_simple(b"substrate", msg, &sig)
        .map_err(|_| VerifyError::BadSignature)
}

/// Ed25519 signing for the host wallet, test vectors, and a bridge's on-air receipts (so it is
/// available without `std`).
pub fn ed25519_sign(seed: &[u8; 32], msg: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer;
    ed25519_dalek::SigningKey::from_bytes(seed)
        .sign(msg)
        .to_bytes()
}

/// The Ed25519 public key of a 32-byte seed.
pub fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blake2_256_empty_matches_substrate() {
        // sp_core::hashing::blake2_256(b"")
        assert_eq!(
            blake2_256(b""),
            [
                0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2, 0xe8, 0xab, 0x2e, 0xb0, 0x60, 0x99,
                0xda, 0xa1, 0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f, 0x77, 0x87, 0xfa, 0xab, 0x45, 0xcd,
                0xf1, 0x2f, 0xe3, 0xa8
            ]
        );
    }

    #[test]
    fn slice_sink_reports_overflow() {
        let mut buf = [0u8; 3];
        let mut s = SliceSink::new(&mut buf);
        s.put(b"ab");
        s.put(b"cd");
        assert_eq!(s.finish(), None);
    }

    #[cfg(feature = "std")]
    #[test]
    fn streaming_verify_equals_one_shot() {
        let seed = [7u8; 32];
        let pk = ed25519_public(&seed);
        let sig = ed25519_sign(&seed, b"hello world");
        let mut v = Ed25519Verifier::new(&pk, &sig).unwrap();
        v.put(b"hello ");
        v.put(b"world");
        assert_eq!(v.finish(), Ok(()));
        assert_eq!(
            ed25519_verify(&pk, &sig, b"hello worle"),
            Err(VerifyError::BadSignature)
        );
    }
}
