//! DUBP v10 documents in compact binary form (STUB — being written).
use crate::crypto::Sink;
use crate::{DecodeError, VerifyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DubpError {
    UnknownType(u8),
}
impl core::fmt::Display for DubpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    bytes: &'a [u8],
}
impl<'a> Document<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Self { bytes })
    }
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn render<S: Sink + ?Sized>(&self, _sink: &mut S) {}
    pub fn verify(&self) -> Result<(), VerifyError> {
        Err(VerifyError::BadSignature)
    }
}

/// Fuzz entry (stub).
pub fn fuzz(_data: &[u8]) {}
