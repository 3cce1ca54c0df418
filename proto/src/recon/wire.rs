//! Reconciliation message bodies: the checked view [`Message`] and the value [`ReconRepr`]
//! (`parse` / `buffer_len` / `emit`). Byte layouts are in the [module doc](super).

use crate::crypto::{Sink, SliceSink};
use crate::radio::{FrameError, HEADER_LEN, MAX_FRAME_LEN, NodeAddr};
use crate::scale::Reader;
use crate::{DecodeError, ErrorKind};

use super::Projection;

/// Message types (low 4 bits of byte 0).
pub mod kind {
    pub const DIGEST: u8 = 0;
    pub const MORE: u8 = 1;
    pub const EXTEND: u8 = 2;
    pub const WANT: u8 = 3;
    pub const SKETCH: u8 = 4;
}
/// Bit of byte 0 selecting the [`Projection`] (More, Extend, Want).
pub const PROJECTION_BIT: u8 = 0x80;
const KIND_MASK: u8 = 0x0f;

/// Longest body: what a radio frame leaves after its header.
pub const MAX_BODY_LEN: usize = MAX_FRAME_LEN - HEADER_LEN;
/// Body length of a digest (17 bytes: a 21-byte radio frame).
pub const DIGEST_LEN: usize = 17;
/// Body length of a More request.
pub const MORE_LEN: usize = 6;
/// Bytes before the power sums of an Extend.
pub const EXTEND_HEADER: usize = 4;
/// Bytes before the power sums of a Sketch.
pub const SKETCH_HEADER: usize = 6;
/// Bytes before the prefixes of a Want.
pub const WANT_HEADER: usize = 3;
/// Bytes of one power sum (one field element, [`super::gf`]) on air.
pub const SYNDROME_LEN: usize = 3;
/// Bytes of one wanted element on air (the whole projected element).
pub const PREFIX_LEN: usize = 3;
/// Mask of the bits of a projected element a Want carries (all of them).
pub const PREFIX_MASK: u32 = super::gf::MASK;

/// A sequence of `W`-byte little-endian values, either checked wire bytes or values to emit.
#[derive(Debug, Clone, Copy)]
pub enum Elems<'a, const W: usize> {
    /// Checked bytes from the air: a nonzero multiple of `W`.
    Wire(&'a [u8]),
    /// Values to emit (only their low `8 × W` bits are sent).
    Values(&'a [u32]),
}

impl<'a, const W: usize> Elems<'a, W> {
    pub fn len(&self) -> usize {
        match self {
            Self::Wire(b) => b.len() / W,
            Self::Values(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        let (wire, values): (&'a [u8], &'a [u32]) = match *self {
            Self::Wire(b) => (b, &[]),
            Self::Values(v) => (&[], v),
        };
        wire.chunks_exact(W)
            .map(|c| {
                let mut b = [0u8; 4];
                for (d, s) in b.iter_mut().zip(c) {
                    *d = *s;
                }
                u32::from_le_bytes(b)
            })
            .chain(values.iter().map(|&v| v & mask::<W>()))
    }
}

const fn mask<const W: usize>() -> u32 {
    if W >= 4 {
        u32::MAX
    } else {
        (1u32 << (8 * W)) - 1
    }
}

impl<const W: usize> PartialEq for Elems<'_, W> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}
impl<const W: usize> Eq for Elems<'_, W> {}

/// Power sums s₂ᵢ₊₁ of an Extend.
pub type Syndromes<'a> = Elems<'a, SYNDROME_LEN>;
/// Wanted-element prefixes of a Want.
pub type Prefixes<'a> = Elems<'a, PREFIX_LEN>;

/// A checked reconciliation body (the body of a [`crate::radio::FrameKind::Reconcile`]
/// frame). Once checked, no accessor panics and [`ReconRepr::parse`] succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<T: AsRef<[u8]>>(T);

impl<T: AsRef<[u8]>> Message<T> {
    /// Check untrusted bytes: a known type and the exact length that type requires.
    pub fn new_checked(bytes: T) -> Result<Self, DecodeError> {
        ReconRepr::parse(bytes.as_ref())?;
        Ok(Self(bytes))
    }
    /// The message type (low 4 bits of byte 0).
    pub fn kind(&self) -> u8 {
        self.0.as_ref().first().map_or(0, |b| b & KIND_MASK)
    }
    /// The addressed node (`None` for a digest, which every neighbour may answer).
    pub fn to(&self) -> Option<NodeAddr> {
        let b = self.0.as_ref();
        match (self.kind(), b.get(1..3)) {
            (kind::DIGEST, _) | (_, None) => None,
            (_, Some(&[lo, hi])) => Some(NodeAddr(u16::from_le_bytes([lo, hi]))),
            _ => None,
        }
    }
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// A reconciliation message as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconRepr<'a> {
    /// "Are we in sync?": the sender's set size (saturating), 64-bit set hash, and its
    /// capacity-2 sketch in projection 0 (3 bytes per power sum on air). Answered only on
    /// mismatch.
    Digest {
        count: u16,
        hash: u64,
        sketch: [u32; 2],
    },
    /// Ask `to` for its power sums `from..upto` (indices of odd power sums) in `projection`;
    /// `check` is the low byte of the digest hash the asker works from, so that `to`
    /// notices when its set changed meanwhile and sends a fresh digest instead.
    More {
        to: NodeAddr,
        projection: Projection,
        check: u8,
        from: u8,
        upto: u8,
    },
    /// Power sums `offset..offset + len` of the sender's set in `projection`, for `to`.
    Extend {
        to: NodeAddr,
        projection: Projection,
        offset: u8,
        syndromes: Syndromes<'a>,
    },
    /// The sender's own power sums `0..n` in `projection` for `to` to decode (sent instead
    /// of More when the sender holds fewer ids than the digest's sender, who then decodes and
    /// pushes without a Want), with its set size and the low byte of its set hash.
    Sketch {
        to: NodeAddr,
        projection: Projection,
        count: u16,
        check: u8,
        syndromes: Syndromes<'a>,
    },
    /// The elements (24-bit prefixes of their projection) the sender lacks and asks `to`
    /// to push.
    Want {
        to: NodeAddr,
        projection: Projection,
        prefixes: Prefixes<'a>,
    },
}

/// A 3-byte little-endian field element.
fn u24(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let [a, b, c] = *r.array::<3>()?;
    Ok(u32::from_le_bytes([a, b, c, 0]))
}

impl<'a> ReconRepr<'a> {
    /// Parse untrusted bytes. The whole buffer must be the message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_BODY_LEN {
            return Err(DecodeError::new(MAX_BODY_LEN, FrameError::TooLong.into()));
        }
        let mut r = Reader::new(bytes);
        let b0 = r.u8()?;
        let projection = if b0 & PROJECTION_BIT != 0 {
            Projection::High
        } else {
            Projection::Low
        };
        if b0 & !(KIND_MASK | PROJECTION_BIT) != 0 {
            return Err(DecodeError::new(0, ErrorKind::OutOfRange));
        }
        let k = b0 & KIND_MASK;
        if k == kind::DIGEST && projection == Projection::High {
            return Err(DecodeError::new(0, ErrorKind::OutOfRange));
        }
        let repr = match k {
            kind::DIGEST => Self::Digest {
                count: r.u16_le()?,
                hash: r.u64_le()?,
                sketch: [u24(&mut r)?, u24(&mut r)?],
            },
            kind::MORE => {
                let to = NodeAddr(r.u16_le()?);
                let check = r.u8()?;
                let from = r.u8()?;
                let upto = r.u8()?;
                if from >= upto {
                    return Err(r.err(ErrorKind::OutOfRange));
                }
                Self::More {
                    to,
                    projection,
                    check,
                    from,
                    upto,
                }
            }
            kind::EXTEND => {
                let to = NodeAddr(r.u16_le()?);
                let offset = r.u8()?;
                let rest = r.rest();
                if rest.is_empty() || !rest.len().is_multiple_of(SYNDROME_LEN) {
                    return Err(DecodeError::new(EXTEND_HEADER, ErrorKind::BadLength));
                }
                if usize::from(offset) + rest.len() / SYNDROME_LEN > usize::from(u8::MAX) {
                    return Err(DecodeError::new(EXTEND_HEADER, ErrorKind::OutOfRange));
                }
                Self::Extend {
                    to,
                    projection,
                    offset,
                    syndromes: Elems::Wire(rest),
                }
            }
            kind::SKETCH => {
                let to = NodeAddr(r.u16_le()?);
                let count = r.u16_le()?;
                let check = r.u8()?;
                let rest = r.rest();
                if rest.is_empty()
                    || !rest.len().is_multiple_of(SYNDROME_LEN)
                    || rest.len() / SYNDROME_LEN > usize::from(u8::MAX)
                {
                    return Err(DecodeError::new(SKETCH_HEADER, ErrorKind::BadLength));
                }
                Self::Sketch {
                    to,
                    projection,
                    count,
                    check,
                    syndromes: Elems::Wire(rest),
                }
            }
            kind::WANT => {
                let to = NodeAddr(r.u16_le()?);
                let rest = r.rest();
                if rest.is_empty() || !rest.len().is_multiple_of(PREFIX_LEN) {
                    return Err(DecodeError::new(WANT_HEADER, ErrorKind::BadLength));
                }
                Self::Want {
                    to,
                    projection,
                    prefixes: Elems::Wire(rest),
                }
            }
            _ => return Err(DecodeError::new(0, ErrorKind::OutOfRange)),
        };
        r.finish()?;
        Ok(repr)
    }

    /// Bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Digest { .. } => DIGEST_LEN,
            Self::More { .. } => MORE_LEN,
            Self::Extend { syndromes, .. } => EXTEND_HEADER + SYNDROME_LEN * syndromes.len(),
            Self::Sketch { syndromes, .. } => SKETCH_HEADER + SYNDROME_LEN * syndromes.len(),
            Self::Want { prefixes, .. } => WANT_HEADER + PREFIX_LEN * prefixes.len(),
        }
    }

    /// Write the message into `out`; returns its length. Fails with `BufferTooSmall`, or
    /// `OutOfRange` for an empty Extend/Want or an Extend past index 255.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, DecodeError> {
        let len = self.buffer_len();
        let dst = out
            .get_mut(..len)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        let mut s = SliceSink::new(dst);
        let p = |projection: &Projection| match projection {
            Projection::Low => 0,
            Projection::High => PROJECTION_BIT,
        };
        match self {
            Self::Digest {
                count,
                hash,
                sketch,
            } => {
                s.put(&[kind::DIGEST]);
                s.put(&count.to_le_bytes());
                s.put(&hash.to_le_bytes());
                for v in sketch {
                    s.put(v.to_le_bytes().get(..SYNDROME_LEN).unwrap_or(&[]));
                }
            }
            Self::More {
                to,
                projection,
                check,
                from,
                upto,
            } => {
                if from >= upto {
                    return Err(DecodeError::new(0, ErrorKind::OutOfRange));
                }
                s.put(&[kind::MORE | p(projection)]);
                s.put(&to.0.to_le_bytes());
                s.put(&[*check, *from, *upto]);
            }
            Self::Extend {
                to,
                projection,
                offset,
                syndromes,
            } => {
                if syndromes.is_empty()
                    || usize::from(*offset) + syndromes.len() > usize::from(u8::MAX)
                {
                    return Err(DecodeError::new(0, ErrorKind::OutOfRange));
                }
                s.put(&[kind::EXTEND | p(projection)]);
                s.put(&to.0.to_le_bytes());
                s.put(&[*offset]);
                for v in syndromes.iter() {
                    s.put(v.to_le_bytes().get(..SYNDROME_LEN).unwrap_or(&[]));
                }
            }
            Self::Sketch {
                to,
                projection,
                count,
                check,
                syndromes,
            } => {
                if syndromes.is_empty() || syndromes.len() > usize::from(u8::MAX) {
                    return Err(DecodeError::new(0, ErrorKind::OutOfRange));
                }
                s.put(&[kind::SKETCH | p(projection)]);
                s.put(&to.0.to_le_bytes());
                s.put(&count.to_le_bytes());
                s.put(&[*check]);
                for v in syndromes.iter() {
                    s.put(v.to_le_bytes().get(..SYNDROME_LEN).unwrap_or(&[]));
                }
            }
            Self::Want {
                to,
                projection,
                prefixes,
            } => {
                if prefixes.is_empty() {
                    return Err(DecodeError::new(0, ErrorKind::OutOfRange));
                }
                s.put(&[kind::WANT | p(projection)]);
                s.put(&to.0.to_le_bytes());
                for v in prefixes.iter() {
                    s.put(v.to_le_bytes().get(..PREFIX_LEN).unwrap_or(&[]));
                }
            }
        }
        s.finish()
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))
    }
}
