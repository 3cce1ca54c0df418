//! Ğ1 v2s signed extrinsics (STUB — being written).
use crate::{DecodeError, VerifyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtrinsicError {
    Unsigned,
}
impl core::fmt::Display for ExtrinsicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// What a v2s extrinsic signature commits to besides the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainProfile {
    pub genesis_hash: [u8; 32],
    pub spec_version: u32,
    pub tx_version: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extrinsic<'a> {
    bytes: &'a [u8],
}
impl<'a> Extrinsic<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Self { bytes })
    }
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn verify(&self, _p: &ChainProfile) -> Result<(), VerifyError> {
        Err(VerifyError::BadSignature)
    }
}

/// Fuzz entry (stub).
pub fn fuzz(_data: &[u8]) {}
