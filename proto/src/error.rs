//! Errors for untrusted bytes ([`DecodeError`]) and for signatures ([`VerifyError`]).
//!
//! A [`DecodeError`] always says *where* (byte offset into the buffer that was given to the
//! decoder) and *why*. Format-specific reasons live next to their format and are wrapped here,
//! so `toile decode` can print "byte 37: extrinsic: unsupported call 6.0" for any decoder.

use core::fmt;

/// Untrusted bytes were refused. `offset` is relative to the start of the buffer handed to the
/// decoder that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub kind: ErrorKind,
}

impl DecodeError {
    pub const fn new(offset: usize, kind: ErrorKind) -> Self {
        Self { offset, kind }
    }

    /// Shift the offset when an inner decoder worked on a sub-slice starting at `base`.
    pub const fn at(self, base: usize) -> Self {
        Self {
            offset: self.offset + base,
            kind: self.kind,
        }
    }
}

/// Why bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the structure did.
    Truncated,
    /// Bytes remain after a complete structure that must fill its buffer.
    TrailingBytes,
    /// A SCALE compact integer is malformed, non-canonical or too large.
    BadCompact,
    /// A length field is inconsistent with the data or exceeds a bound.
    BadLength,
    /// A value has more than one encoding and this one is not the canonical one.
    NonCanonical,
    /// A value is outside its allowed range.
    OutOfRange,
    /// The output buffer is too small for the value being emitted.
    BufferTooSmall,
    /// A Ğ1 v2s extrinsic-specific reason.
    Extrinsic(crate::item::v2s::ExtrinsicError),
    /// A DUBP document-specific reason.
    Dubp(crate::item::dubp::DubpError),
    /// A radio-frame-specific reason.
    Frame(crate::radio::FrameError),
    /// A host-link-specific reason.
    Link(crate::link::LinkError),
    /// The item kind byte is not one this build knows.
    UnknownItemKind(u8),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ends too early"),
            Self::TrailingBytes => f.write_str("unexpected bytes after the end"),
            Self::BadCompact => f.write_str("malformed SCALE compact integer"),
            Self::BadLength => f.write_str("length field out of bounds"),
            Self::NonCanonical => f.write_str("non-canonical encoding"),
            Self::OutOfRange => f.write_str("value out of range"),
            Self::BufferTooSmall => f.write_str("output buffer too small"),
            Self::Extrinsic(e) => write!(f, "extrinsic: {e}"),
            Self::Dubp(e) => write!(f, "DUBP document: {e}"),
            Self::Frame(e) => write!(f, "radio frame: {e}"),
            Self::Link(e) => write!(f, "host link: {e}"),
            Self::UnknownItemKind(k) => write!(f, "unknown item kind {k}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// A signature check failed. Decoding succeeded; the item is well-formed but not authentic
/// (or not for this chain profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The public key bytes are not a valid curve point.
    BadPublicKey,
    /// The signature bytes are malformed (e.g. a non-canonical scalar).
    MalformedSignature,
    /// The signature does not match the signed bytes (tampered item, or another chain profile:
    /// genesis hash and runtime versions are part of what a v2s extrinsic signs).
    BadSignature,
    /// This build cannot check this key type (sr25519 needs the `std` feature; ECDSA is not
    /// supported).
    UnsupportedKeyType,
    /// The document names another currency than the one expected.
    WrongCurrency,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadPublicKey => "public key is not a valid curve point",
            Self::MalformedSignature => "signature bytes are malformed",
            Self::BadSignature => {
                "signature does not match (tampered, or signed for another chain)"
            }
            Self::UnsupportedKeyType => "key type not supported by this build",
            Self::WrongCurrency => "document is for another currency",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for VerifyError {}
