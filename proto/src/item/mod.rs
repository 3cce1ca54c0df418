//! Items: the signed chain objects the mesh carries.
//!
//! | kind | bytes on air and in stores | content id ([`ItemId`]) |
//! |---|---|---|
//! | [`ItemKind::Extrinsic`] | a Ğ1 v2s signed extrinsic, byte-exact as `author_submitExtrinsic` takes it (SCALE compact length prefix included) | `blake2_256(bytes)`: the chain's own extrinsic hash |
//! | [`ItemKind::Dubp`] | a DUBP v10 document in Toile's compact binary form ([`dubp`]) | `sha256(signed text)`: the v1 transaction hash for transactions |
//!
//! The content id is the full 32-byte hash; the [`ShortId`] (its first 8 bytes) names an item
//! on air, in reconciliation and in acknowledgements.

pub mod book;
pub mod dubp;
pub mod v2s;

use crate::crypto::Sha256;
use crate::{DecodeError, ErrorKind, VerifyError};

/// Which format an item's bytes are in. Forward compatible: an unknown kind is kept as
/// `Unknown(byte)` so containers can skip it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    Extrinsic,
    Dubp,
    Unknown(u8),
}

impl ItemKind {
    pub const fn from_u8(b: u8) -> Self {
        match b {
            1 => Self::Extrinsic,
            2 => Self::Dubp,
            other => Self::Unknown(other),
        }
    }
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Extrinsic => 1,
            Self::Dubp => 2,
            Self::Unknown(b) => b,
        }
    }
}

/// Full content id of an item (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub [u8; 32]);

/// Short on-air id: the first 8 bytes of the [`ItemId`], little-endian. With 10⁶ items in
/// flight the chance that any two collide is ~3·10⁻⁸; a collision only costs a reconciliation
/// round (full ids are compared before an item is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortId(pub u64);

impl ItemId {
    pub fn short(&self) -> ShortId {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        ShortId(u64::from_le_bytes(b))
    }
}

/// A checked, borrowed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Extrinsic(v2s::Extrinsic<'a>),
    Dubp(dubp::Document<'a>),
}

impl<'a> Item<'a> {
    /// Check `bytes` as an item of `kind`. The whole buffer must be the item.
    pub fn parse(kind: ItemKind, bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match kind {
            ItemKind::Extrinsic => v2s::Extrinsic::parse(bytes).map(Self::Extrinsic),
            ItemKind::Dubp => dubp::Document::parse(bytes).map(Self::Dubp),
            ItemKind::Unknown(k) => Err(DecodeError::new(0, ErrorKind::UnknownItemKind(k))),
        }
    }

    pub fn kind(&self) -> ItemKind {
        match self {
            Self::Extrinsic(_) => ItemKind::Extrinsic,
            Self::Dubp(_) => ItemKind::Dubp,
        }
    }

    /// The item's bytes as carried on air.
    pub fn bytes(&self) -> &'a [u8] {
        match self {
            Self::Extrinsic(x) => x.bytes(),
            Self::Dubp(d) => d.bytes(),
        }
    }

    /// Content id (see the module table).
    pub fn id(&self) -> ItemId {
        match self {
            Self::Extrinsic(x) => ItemId(crate::crypto::blake2_256(x.bytes())),
            Self::Dubp(d) => {
                let mut h = Sha256::new();
                d.render(&mut h);
                ItemId(h.finish())
            }
        }
    }

    /// Check the signature(s). A v2s extrinsic signs the chain profile (genesis hash, spec and
    /// transaction versions), so an extrinsic for another chain or runtime fails here.
    pub fn verify(&self, profile: &v2s::ChainProfile) -> Result<(), VerifyError> {
        match self {
            Self::Extrinsic(x) => x.verify(profile),
            Self::Dubp(d) => d.verify(),
        }
    }
}
