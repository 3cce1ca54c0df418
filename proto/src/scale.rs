//! A bounds-checked reader over untrusted bytes, and SCALE compact integers.
//!
//! Compact integers come from `parity-scale-codec` (the Substrate codec), which also rejects
//! non-canonical encodings; this module only adds byte offsets to its errors and an
//! allocation-free way to emit into a [`Sink`]. All compact binary forms in Toile (extrinsics,
//! DUBP compact documents, frame lengths) use this one integer encoding.

use parity_scale_codec::{Compact, Decode, Encode, Output};

use crate::crypto::Sink;
use crate::{DecodeError, ErrorKind};

/// Cursor over untrusted bytes. Every read is checked; a failed read returns a
/// [`DecodeError`] carrying the offset where it happened.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Current offset from the start of the buffer.
    pub const fn pos(&self) -> usize {
        self.pos
    }

    pub const fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn err(&self, kind: ErrorKind) -> DecodeError {
        DecodeError::new(self.pos, kind)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(self.err(ErrorKind::BadLength))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(self.err(ErrorKind::Truncated))?;
        self.pos = end;
        Ok(out)
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    pub fn array<const N: usize>(&mut self) -> Result<&'a [u8; N], DecodeError> {
        let pos = self.pos;
        self.bytes(N)?
            .try_into()
            .map_err(|_| DecodeError::new(pos, ErrorKind::Truncated))
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16_le(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(*self.array()?))
    }

    pub fn u32_le(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(*self.array()?))
    }

    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(*self.array()?))
    }

    /// A canonical SCALE `Compact<u64>`.
    pub fn compact(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut input = self.buf.get(self.pos..).unwrap_or(&[]);
        let before = input.len();
        let v = Compact::<u64>::decode(&mut input)
            .map_err(|_| DecodeError::new(start, ErrorKind::BadCompact))?
            .0;
        self.pos += before - input.len();
        Ok(v)
    }

    /// A canonical SCALE `Compact<u32>`.
    pub fn compact_u32(&mut self) -> Result<u32, DecodeError> {
        let start = self.pos;
        u32::try_from(self.compact()?).map_err(|_| DecodeError::new(start, ErrorKind::OutOfRange))
    }

    /// A compact length that must not exceed `max` nor the bytes left.
    pub fn compact_len(&mut self, max: usize) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.compact()?;
        match usize::try_from(n) {
            Ok(n) if n <= max && n <= self.remaining() => Ok(n),
            Ok(n) if n <= max => Err(DecodeError::new(start, ErrorKind::Truncated)),
            _ => Err(DecodeError::new(start, ErrorKind::BadLength)),
        }
    }

    /// A SCALE `Vec<u8>` (compact length + bytes), borrowed.
    pub fn compact_bytes(&mut self, max: usize) -> Result<&'a [u8], DecodeError> {
        let n = self.compact_len(max)?;
        self.bytes(n)
    }

    /// Fail unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.err(ErrorKind::TrailingBytes))
        }
    }
}

struct SinkOutput<'s, S: Sink + ?Sized>(&'s mut S);

impl<S: Sink + ?Sized> Output for SinkOutput<'_, S> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.put(bytes);
    }
}

/// Emit `v` as a SCALE `Compact<u64>`.
pub fn put_compact<S: Sink + ?Sized>(sink: &mut S, v: u64) {
    Compact(v).encode_to(&mut SinkOutput(sink));
}

/// Encoded length of `v` as a SCALE compact.
pub fn compact_len(v: u64) -> usize {
    use parity_scale_codec::CompactLen;
    Compact::<u64>::compact_len(&v)
}

/// Emit a SCALE `Vec<u8>`.
pub fn put_compact_bytes<S: Sink + ?Sized>(sink: &mut S, bytes: &[u8]) {
    put_compact(sink, bytes.len() as u64);
    sink.put(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SliceSink;

    #[test]
    fn compact_round_trip_and_offsets() {
        for v in [
            0u64,
            1,
            63,
            64,
            16_383,
            16_384,
            (1 << 30) - 1,
            1 << 30,
            u64::MAX,
        ] {
            let mut buf = [0u8; 16];
            let mut s = SliceSink::new(&mut buf);
            put_compact(&mut s, v);
            let n = s.finish().unwrap();
            assert_eq!(n, compact_len(v));
            let mut r = Reader::new(&buf[..n]);
            assert_eq!(r.compact().unwrap(), v);
            r.finish().unwrap();
        }
        // 0x01 0x00 is `1 << 6 | 0b01` with value 0: non-canonical for 0.
        let mut r = Reader::new(&[0xaa, 0x01, 0x00]);
        r.u8().unwrap();
        assert_eq!(r.compact(), Err(DecodeError::new(1, ErrorKind::BadCompact)));
    }

    #[test]
    fn reader_never_panics_on_short_input() {
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.u32_le(), Err(DecodeError::new(0, ErrorKind::Truncated)));
        r.u8().unwrap();
        assert_eq!(r.bytes(usize::MAX).unwrap_err().kind, ErrorKind::BadLength);
        let mut r = Reader::new(&[0x08, 1]);
        assert_eq!(
            r.compact_bytes(10),
            Err(DecodeError::new(0, ErrorKind::Truncated))
        );
    }
}
