//! The frame header, the checked [`Frame`] view, its [`FrameRepr`], and the items body
//! ([`Entries`], [`EntriesBuilder`], [`FrameBuilder`]). Layouts are in the [module
//! doc](super).

use crate::crypto::{Sink, SliceSink};
use crate::item::ItemKind;
use crate::scale::{Reader, compact_len, put_compact};
use crate::{DecodeError, ErrorKind};

use super::FrameError;
use super::fragment::FragmentRepr;

/// Largest LoRa PHY payload (SX126x): one frame never exceeds it.
pub const MAX_FRAME_LEN: usize = 255;
/// Header length: every frame starts with exactly this many bytes.
pub const HEADER_LEN: usize = 4;
/// The frame format version this build reads and writes.
pub const VERSION: u8 = 0;
/// Bit 7 of an entry's kind byte: another entry follows, and this one has an explicit length.
pub const MORE_ENTRIES: u8 = 0x80;

/// Byte positions of the header fields.
mod field {
    use core::ops::{Range, RangeFrom};
    /// Version (bits 7..6) and kind (bits 5..0).
    pub const VERSION_KIND: usize = 0;
    /// Flags (bits 7..4) and hop limit (bits 3..0).
    pub const FLAGS_HOPS: usize = 1;
    pub const SENDER: Range<usize> = 2..4;
    pub const BODY: RangeFrom<usize> = 4..;
}

const VERSION_SHIFT: u8 = 6;
const KIND_MASK: u8 = 0x3f;
const FLAGS_SHIFT: u8 = 4;
const NIBBLE: u8 = 0x0f;

/// What a frame's body carries. Only [`Items`](Self::Items) and [`Fragment`](Self::Fragment)
/// bodies are defined by this module; the relay engine defines the others, which are carried
/// as opaque bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// One or more whole items ([`Entries`]).
    Items,
    /// One fragment of an item larger than a frame ([`FragmentRepr`]).
    Fragment,
    /// Set reconciliation between neighbours (engine-defined body).
    Reconcile,
    /// Custody acknowledgement: stops retransmission, never deletes (engine-defined body).
    CustodyAck,
    /// A bridge's signed receipt ("included in block N"), engine-defined body.
    Receipt,
    /// A bridge announces itself and its distance (engine-defined body).
    BridgeAdvert,
    /// A kind this build does not know (6 bits, 0..=63 on air).
    Unknown(u8),
}

impl FrameKind {
    pub const fn from_u8(b: u8) -> Self {
        match b {
            1 => Self::Items,
            2 => Self::Fragment,
            3 => Self::Reconcile,
            4 => Self::CustodyAck,
            5 => Self::Receipt,
            6 => Self::BridgeAdvert,
            other => Self::Unknown(other),
        }
    }
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Items => 1,
            Self::Fragment => 2,
            Self::Reconcile => 3,
            Self::CustodyAck => 4,
            Self::Receipt => 5,
            Self::BridgeAdvert => 6,
            Self::Unknown(b) => b,
        }
    }
}

/// A 16-bit radio node address (the sender of a frame, i.e. the previous hop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr(pub u16);

/// The 4 header flag bits. Their meaning belongs to the relay engine; this layer carries them
/// unchanged, including bits it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// Largest value that fits the 4 flag bits.
    pub const MAX: u8 = 0x0f;
    pub const EMPTY: Self = Self(0);

    /// `None` if `bits` does not fit in 4 bits.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        if bits <= Self::MAX {
            Some(Self(bits))
        } else {
            None
        }
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    pub const fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

/// The header fields a sender chooses (the kind follows from the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub flags: Flags,
    /// Hops this frame may still take, 0..=[`Header::MAX_HOP_LIMIT`].
    pub hop_limit: u8,
    pub sender: NodeAddr,
}

impl Header {
    pub const MAX_HOP_LIMIT: u8 = 15;

    fn emit(&self, kind: FrameKind, out: &mut [u8]) -> Result<(), DecodeError> {
        let kind = kind.to_u8();
        if kind > KIND_MASK || self.hop_limit > Self::MAX_HOP_LIMIT {
            return Err(DecodeError::new(0, ErrorKind::OutOfRange));
        }
        let sender = self.sender.0.to_le_bytes();
        let bytes = [
            (VERSION << VERSION_SHIFT) | kind,
            (self.flags.0 << FLAGS_SHIFT) | self.hop_limit,
            sender[0],
            sender[1],
        ];
        out.get_mut(..HEADER_LEN)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?
            .copy_from_slice(&bytes);
        Ok(())
    }
}

/// A checked view over a frame's bytes. Once [`Frame::new_checked`] accepted the buffer no
/// accessor can fail or panic, and [`Frame::entries`] iterates without errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap without checking. Accessors still never panic (they read missing bytes as 0), but
    /// the values are meaningless unless [`Frame::check`] passes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wrap untrusted bytes: header, version, length bound and (for Items and Fragment frames)
    /// the whole body structure are checked.
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let frame = Self::new_unchecked(buffer);
        frame.check()?;
        Ok(frame)
    }

    /// See [`Frame::new_checked`].
    pub fn check(&self) -> Result<(), DecodeError> {
        let buf = self.buffer.as_ref();
        if buf.len() > MAX_FRAME_LEN {
            return Err(DecodeError::new(MAX_FRAME_LEN, FrameError::TooLong.into()));
        }
        if buf.len() < HEADER_LEN {
            return Err(DecodeError::new(buf.len(), ErrorKind::Truncated));
        }
        if self.version() != VERSION {
            return Err(DecodeError::new(
                field::VERSION_KIND,
                FrameError::UnknownVersion(self.version()).into(),
            ));
        }
        match self.kind() {
            FrameKind::Items => Entries::new_checked(self.body())
                .map(|_| ())
                .map_err(|e| e.at(HEADER_LEN)),
            FrameKind::Fragment => FragmentRepr::parse(self.body())
                .map(|_| ())
                .map_err(|e| e.at(HEADER_LEN)),
            _ => Ok(()),
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn byte(&self, i: usize) -> u8 {
        self.buffer.as_ref().get(i).copied().unwrap_or(0)
    }

    pub fn version(&self) -> u8 {
        self.byte(field::VERSION_KIND) >> VERSION_SHIFT
    }

    pub fn kind(&self) -> FrameKind {
        FrameKind::from_u8(self.byte(field::VERSION_KIND) & KIND_MASK)
    }

    pub fn flags(&self) -> Flags {
        Flags(self.byte(field::FLAGS_HOPS) >> FLAGS_SHIFT)
    }

    pub fn hop_limit(&self) -> u8 {
        self.byte(field::FLAGS_HOPS) & NIBBLE
    }

    pub fn sender(&self) -> NodeAddr {
        NodeAddr(u16::from_le_bytes([
            self.byte(field::SENDER.start),
            self.byte(field::SENDER.start + 1),
        ]))
    }

    pub fn header(&self) -> Header {
        Header {
            flags: self.flags(),
            hop_limit: self.hop_limit(),
            sender: self.sender(),
        }
    }

    /// Everything after the header.
    pub fn body(&self) -> &[u8] {
        self.buffer.as_ref().get(field::BODY).unwrap_or(&[])
    }

    /// The items of an Items frame; empty for any other kind.
    pub fn entries(&self) -> Entries<'_> {
        match self.kind() {
            FrameKind::Items => Entries(self.body()),
            _ => Entries(&[]),
        }
    }

    /// The fragment of a Fragment frame.
    pub fn fragment(&self) -> Result<FragmentRepr<'_>, DecodeError> {
        match self.kind() {
            FrameKind::Fragment => FragmentRepr::parse(self.body()).map_err(|e| e.at(HEADER_LEN)),
            _ => Err(DecodeError::new(0, FrameError::WrongKind.into())),
        }
    }
}

/// A frame's body as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    Items(Entries<'a>),
    Fragment(FragmentRepr<'a>),
    /// Any other kind: the bytes are defined by the relay engine. `kind` must not be
    /// `Items` or `Fragment`.
    Other {
        kind: FrameKind,
        bytes: &'a [u8],
    },
}

impl Body<'_> {
    pub fn kind(&self) -> FrameKind {
        match self {
            Self::Items(_) => FrameKind::Items,
            Self::Fragment(_) => FrameKind::Fragment,
            Self::Other { kind, .. } => *kind,
        }
    }
}

/// A frame as a value: parse from bytes, size, emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRepr<'a> {
    pub header: Header,
    pub body: Body<'a>,
}

impl<'a> FrameRepr<'a> {
    /// Parse untrusted bytes (everything [`Frame::new_checked`] checks).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let frame = Frame::new_checked(bytes)?;
        let body = bytes.get(field::BODY).unwrap_or(&[]);
        let body = match frame.kind() {
            FrameKind::Items => Body::Items(Entries(body)),
            FrameKind::Fragment => {
                Body::Fragment(FragmentRepr::parse(body).map_err(|e| e.at(HEADER_LEN))?)
            }
            kind => Body::Other { kind, bytes: body },
        };
        Ok(Self {
            header: frame.header(),
            body,
        })
    }

    /// Bytes [`FrameRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match &self.body {
                Body::Items(e) => e.as_bytes().len(),
                Body::Fragment(f) => f.buffer_len(),
                Body::Other { bytes, .. } => bytes.len(),
            }
    }

    /// Write the frame into `out`; returns its length. Fails with `BufferTooSmall`, with
    /// `OutOfRange` for a header field or kind that does not fit its bits (or an `Other` body
    /// naming Items/Fragment), or with `Frame(TooLong)` beyond [`MAX_FRAME_LEN`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, DecodeError> {
        let len = self.buffer_len();
        if len > MAX_FRAME_LEN {
            return Err(DecodeError::new(MAX_FRAME_LEN, FrameError::TooLong.into()));
        }
        let kind = self.body.kind();
        if matches!(self.body, Body::Other { .. })
            && matches!(kind, FrameKind::Items | FrameKind::Fragment)
        {
            return Err(DecodeError::new(0, ErrorKind::OutOfRange));
        }
        let out = out
            .get_mut(..len)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        self.header.emit(kind, out)?;
        let body = out.get_mut(HEADER_LEN..).unwrap_or(&mut []);
        match &self.body {
            Body::Items(e) => body.copy_from_slice(e.as_bytes()),
            Body::Fragment(f) => {
                f.emit(body).map_err(|e| e.at(HEADER_LEN))?;
            }
            Body::Other { bytes, .. } => body.copy_from_slice(bytes),
        }
        Ok(len)
    }
}

/// A checked sequence of `(ItemKind, bytes)` entries (layout in the [module doc](super)).
/// The items body of a radio frame, and the batch format of the host link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entries<'a>(&'a [u8]);

impl<'a> Entries<'a> {
    /// No entries: not a valid items body, but iterates (to nothing); used for empty batches.
    pub const EMPTY: Entries<'static> = Entries(&[]);

    /// Check every entry of untrusted bytes; afterwards iteration cannot fail.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.remaining() == 0 {
            return Err(r.err(FrameError::NoEntries.into()));
        }
        loop {
            let at = r.pos();
            let kind = r.u8()?;
            let item = if kind & MORE_ENTRIES != 0 {
                let n = r.compact_len(usize::MAX)?;
                r.bytes(n)?
            } else {
                r.rest()
            };
            if item.is_empty() {
                return Err(DecodeError::new(at, FrameError::EmptyItem.into()));
            }
            if kind & MORE_ENTRIES == 0 {
                return Ok(Self(bytes));
            }
            if r.remaining() == 0 {
                return Err(r.err(ErrorKind::Truncated));
            }
        }
    }

    /// The encoded entries.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    pub fn iter(&self) -> EntryIter<'a> {
        EntryIter {
            reader: Reader::new(self.0),
            done: self.0.is_empty(),
        }
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.iter().count()
    }
}

impl<'a> IntoIterator for Entries<'a> {
    type Item = (ItemKind, &'a [u8]);
    type IntoIter = EntryIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over checked [`Entries`]: yields `(kind, item bytes)` without copying.
#[derive(Debug, Clone)]
pub struct EntryIter<'a> {
    reader: Reader<'a>,
    done: bool,
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = (ItemKind, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = |r: &mut Reader<'a>| -> Result<(u8, &'a [u8]), DecodeError> {
            let kind = r.u8()?;
            if kind & MORE_ENTRIES != 0 {
                let n = r.compact_len(usize::MAX)?;
                Ok((kind, r.bytes(n)?))
            } else {
                Ok((kind, r.rest()))
            }
        };
        match step(&mut self.reader) {
            Ok((kind, item)) => {
                self.done = kind & MORE_ENTRIES == 0 || self.reader.remaining() == 0;
                Some((ItemKind::from_u8(kind & !MORE_ENTRIES), item))
            }
            // Unreachable for checked entries; ends the iteration otherwise.
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// Appends entries into a caller buffer, rewriting the previous last entry (adding its
/// `MORE_ENTRIES` bit and length) when another one is pushed.
#[derive(Debug)]
pub struct EntriesBuilder<'b> {
    buf: &'b mut [u8],
    len: usize,
    /// Offset of the last entry's kind byte and its item length.
    last: Option<(usize, usize)>,
    count: usize,
}

impl<'b> EntriesBuilder<'b> {
    /// Build into `buf`; its length is the capacity.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            last: None,
            count: 0,
        }
    }

    /// Append an item if it fits; `false` (and nothing changed) if it does not fit, is empty
    /// or its kind does not fit 7 bits.
    pub fn try_push(&mut self, kind: ItemKind, item: &[u8]) -> bool {
        let k = kind.to_u8();
        if k & MORE_ENTRIES != 0 || item.is_empty() {
            return false;
        }
        let extra = self.last.map_or(0, |(_, n)| compact_len(n as u64));
        let Some(need) = self
            .len
            .checked_add(extra)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_add(item.len()))
        else {
            return false;
        };
        if need > self.buf.len() {
            return false;
        }
        if let Some((at, n)) = self.last {
            // Make room for the previous entry's length, then write it and the MORE bit.
            self.buf.copy_within(at + 1..self.len, at + 1 + extra);
            let Some(dst) = self.buf.get_mut(at + 1..at + 1 + extra) else {
                return false;
            };
            let mut sink = SliceSink::new(dst);
            put_compact(&mut sink, n as u64);
            if let Some(b) = self.buf.get_mut(at) {
                *b |= MORE_ENTRIES;
            }
            self.len += extra;
        }
        let at = self.len;
        let Some(dst) = self.buf.get_mut(at..need) else {
            return false;
        };
        let mut sink = SliceSink::new(dst);
        sink.put(&[k]);
        sink.put(item);
        self.len = need;
        self.last = Some((at, item.len()));
        self.count += 1;
        true
    }

    /// Bytes that pushing `item_len` more bytes would take now (kind byte, the previous
    /// entry's new length field, the item).
    pub fn cost(&self, item_len: usize) -> usize {
        1 + item_len + self.last.map_or(0, |(_, n)| compact_len(n as u64))
    }

    /// Entries pushed so far.
    pub const fn count(&self) -> usize {
        self.count
    }

    /// Bytes written so far.
    pub const fn len(&self) -> usize {
        self.len
    }

    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The entries written; `None` if nothing was pushed.
    pub fn finish(self) -> Option<Entries<'b>> {
        if self.count == 0 {
            return None;
        }
        let buf: &'b [u8] = self.buf;
        buf.get(..self.len).map(Entries)
    }
}

/// Packs as many queued items as fit into one Items frame over a caller buffer.
///
/// ```
/// use toile_proto::item::ItemKind;
/// use toile_proto::radio::{FrameBuilder, Header, Flags, NodeAddr};
/// let mut buf = [0u8; 255];
/// let header = Header { flags: Flags::EMPTY, hop_limit: 3, sender: NodeAddr(0x1234) };
/// let mut b = FrameBuilder::new(&mut buf, header).unwrap();
/// assert!(b.try_push(ItemKind::Extrinsic, &[0xaa; 140]));
/// assert!(!b.try_push(ItemKind::Extrinsic, &[0xbb; 140])); // does not fit: next frame
/// let len = b.finish().unwrap();
/// assert_eq!(len, 4 + 1 + 140);
/// ```
#[derive(Debug)]
pub struct FrameBuilder<'b> {
    entries: EntriesBuilder<'b>,
}

impl<'b> FrameBuilder<'b> {
    /// Write `header` into `buf` (at most [`MAX_FRAME_LEN`] bytes of it are used).
    pub fn new(buf: &'b mut [u8], header: Header) -> Result<Self, DecodeError> {
        let cap = buf.len().min(MAX_FRAME_LEN);
        let buf = buf.get_mut(..cap).unwrap_or(&mut []);
        if cap <= HEADER_LEN {
            return Err(DecodeError::new(cap, ErrorKind::BufferTooSmall));
        }
        header.emit(FrameKind::Items, buf)?;
        let (_, body) = buf.split_at_mut(HEADER_LEN);
        Ok(Self {
            entries: EntriesBuilder::new(body),
        })
    }

    /// See [`EntriesBuilder::try_push`].
    pub fn try_push(&mut self, kind: ItemKind, item: &[u8]) -> bool {
        self.entries.try_push(kind, item)
    }

    /// Items in the frame so far.
    pub const fn count(&self) -> usize {
        self.entries.count()
    }

    /// Frame length so far.
    pub const fn len(&self) -> usize {
        HEADER_LEN + self.entries.len()
    }

    pub const fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Frame length, or `None` if no item was pushed (an empty Items frame is invalid).
    pub fn finish(self) -> Option<usize> {
        self.entries
            .finish()
            .map(|e| HEADER_LEN + e.as_bytes().len())
    }
}
