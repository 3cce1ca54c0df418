//! Fragments of items larger than one frame: [`FragmentRepr`] (layout in the [module
//! doc](super)), [`Fragmenter`] (split) and [`Reassembler`] (join, bounded memory).

use heapless::Vec;

use crate::crypto::{Counter, Sink, SliceSink};
use crate::item::ItemKind;
use crate::scale::{Reader, compact_len, put_compact};
use crate::{DecodeError, ErrorKind};

use super::FrameError;
use super::frame::{Body, FrameRepr, HEADER_LEN, Header, MAX_FRAME_LEN, NodeAddr};

/// Most fragments one item can be split into (4 bits of last index).
pub const MAX_FRAGMENTS: usize = 16;

/// Tag and index byte, always present.
const FIXED_LEN: usize = 2;
const INDEX_SHIFT: u8 = 4;
const NIBBLE: u8 = 0x0f;

/// What only the first fragment (index 0) carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstFragment {
    pub kind: ItemKind,
    /// Length of the whole item.
    pub total_len: usize,
}

/// One fragment as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentRepr<'a> {
    pub tag: u8,
    pub index: u8,
    /// Count − 1, at least 1.
    pub last_index: u8,
    /// `Some` exactly when `index == 0`.
    pub first: Option<FirstFragment>,
    /// `Some` exactly when `index == last_index`: the data length of every other fragment.
    pub chunk_len: Option<usize>,
    pub data: &'a [u8],
}

impl<'a> FragmentRepr<'a> {
    /// Parse a fragment body (the bytes after the frame header). Checks everything a single
    /// fragment can show: count, index, non-empty data, and lengths consistent with each other.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let tag = r.u8()?;
        let at = r.pos();
        let b = r.u8()?;
        let (index, last_index) = (b >> INDEX_SHIFT, b & NIBBLE);
        if last_index == 0 {
            return Err(DecodeError::new(at, FrameError::FragmentCount.into()));
        }
        if index > last_index {
            return Err(DecodeError::new(at, FrameError::FragmentIndex.into()));
        }
        let mut total_at = 0;
        let first = if index == 0 {
            let kind = ItemKind::from_u8(r.u8()?);
            total_at = r.pos();
            let total_len = to_usize(r.compact()?, total_at)?;
            Some(FirstFragment { kind, total_len })
        } else {
            None
        };
        let chunk_len = if index == last_index {
            let at = r.pos();
            Some(to_usize(r.compact()?, at)?)
        } else {
            None
        };
        let data_at = r.pos();
        let data = r.rest();
        let bad_len = |at| Err(DecodeError::new(at, FrameError::FragmentLength.into()));
        if data.is_empty() {
            return Err(DecodeError::new(data_at, FrameError::EmptyItem.into()));
        }
        if let Some(chunk) = chunk_len
            && data.len() > chunk
        {
            return bad_len(data_at);
        }
        if let Some(first) = first {
            // Fragment 0 is never the last: its data length is the chunk length.
            let chunk = data.len() as u64;
            let last = u64::from(last_index);
            let total = first.total_len as u64;
            if total <= last * chunk || total > (last + 1) * chunk {
                return bad_len(total_at);
            }
        }
        Ok(Self {
            tag,
            index,
            last_index,
            first,
            chunk_len,
            data,
        })
    }

    /// Bytes [`FragmentRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let mut c = Counter::default();
        self.write(&mut c);
        c.0
    }

    /// Write the fragment body; returns its length. `OutOfRange` if the optional fields do
    /// not match the index (see the field docs) or an index does not fit 4 bits.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, DecodeError> {
        let shape_ok = self.last_index >= 1
            && self.last_index <= NIBBLE
            && self.index <= self.last_index
            && self.first.is_some() == (self.index == 0)
            && self.chunk_len.is_some() == (self.index == self.last_index);
        if !shape_ok {
            return Err(DecodeError::new(0, ErrorKind::OutOfRange));
        }
        let len = self.buffer_len();
        let out = out
            .get_mut(..len)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        let mut sink = SliceSink::new(out);
        self.write(&mut sink);
        sink.finish()
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))
    }

    fn write<S: Sink>(&self, s: &mut S) {
        s.put(&[self.tag, (self.index << INDEX_SHIFT) | self.last_index]);
        if let Some(first) = self.first {
            s.put(&[first.kind.to_u8()]);
            put_compact(s, first.total_len as u64);
        }
        if let Some(chunk) = self.chunk_len {
            put_compact(s, chunk as u64);
        }
        s.put(self.data);
    }

    /// Length of every fragment's data except the last one's.
    pub fn chunk(&self) -> usize {
        self.chunk_len.unwrap_or(self.data.len())
    }
}

fn to_usize(v: u64, at: usize) -> Result<usize, DecodeError> {
    usize::try_from(v).map_err(|_| DecodeError::new(at, ErrorKind::BadLength))
}

/// Splits one item into Fragment frames. Every fragment but the last carries the same number
/// of item bytes, as large as `max_frame` allows.
#[derive(Debug, Clone)]
pub struct Fragmenter<'a> {
    header: Header,
    tag: u8,
    kind: ItemKind,
    item: &'a [u8],
    chunk: usize,
    last_index: u8,
    next: u8,
}

impl<'a> Fragmenter<'a> {
    /// Plan the fragments of `item` for frames of at most `max_frame` bytes (capped at
    /// [`MAX_FRAME_LEN`]; a smaller value serves dwell-time limits). Fails with
    /// `Frame(ItemTooLarge)` beyond [`MAX_FRAGMENTS`] fragments, `Frame(EmptyItem)` for an item
    /// shorter than 2 bytes, and `BufferTooSmall` if `max_frame` leaves no room for data.
    pub fn new(
        header: Header,
        tag: u8,
        kind: ItemKind,
        item: &'a [u8],
        max_frame: usize,
    ) -> Result<Self, DecodeError> {
        let total = item.len();
        if total < 2 {
            return Err(DecodeError::new(0, FrameError::EmptyItem.into()));
        }
        let first_overhead = HEADER_LEN + FIXED_LEN + 1 + compact_len(total as u64);
        let max_chunk = max_frame
            .min(MAX_FRAME_LEN)
            .checked_sub(first_overhead)
            .filter(|&c| c > 0)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        // At least two fragments: an item that fits one frame belongs in an Items frame, but
        // splitting it anyway is legal.
        let chunk = if total <= max_chunk {
            total.div_ceil(2)
        } else {
            max_chunk
        };
        let count = total.div_ceil(chunk);
        let last_index = u8::try_from(count - 1)
            .ok()
            .filter(|&l| usize::from(l) < MAX_FRAGMENTS)
            .ok_or(DecodeError::new(0, FrameError::ItemTooLarge.into()))?;
        Ok(Self {
            header,
            tag,
            kind,
            item,
            chunk,
            last_index,
            next: 0,
        })
    }

    /// Number of fragments (frames) this item takes.
    pub fn fragments(&self) -> usize {
        usize::from(self.last_index) + 1
    }

    /// The fragment `index` as a value.
    pub fn fragment(&self, index: u8) -> Option<FragmentRepr<'a>> {
        if index > self.last_index {
            return None;
        }
        let start = usize::from(index) * self.chunk;
        let end = (start + self.chunk).min(self.item.len());
        Some(FragmentRepr {
            tag: self.tag,
            index,
            last_index: self.last_index,
            first: (index == 0).then_some(FirstFragment {
                kind: self.kind,
                total_len: self.item.len(),
            }),
            chunk_len: (index == self.last_index).then_some(self.chunk),
            data: self.item.get(start..end)?,
        })
    }
}

impl Iterator for Fragmenter<'_> {
    type Item = Vec<u8, MAX_FRAME_LEN>;

    fn next(&mut self) -> Option<Self::Item> {
        let fragment = self.fragment(self.next)?;
        self.next += 1;
        let repr = FrameRepr {
            header: self.header,
            body: Body::Fragment(fragment),
        };
        let mut out = Vec::new();
        out.resize(repr.buffer_len(), 0).ok()?;
        let n = repr.emit(&mut out).ok()?;
        out.truncate(n);
        Some(out)
    }
}

/// Identifies one item being reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    pub sender: NodeAddr,
    pub tag: u8,
}

/// Why a partial item was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No fragment arrived for the reassembler's timeout.
    Expired,
    /// All slots were busy and this was the oldest partial item.
    Evicted,
}

/// A partial item that was given up to make room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub key: FragmentKey,
    pub reason: DropReason,
    /// Fragments that had arrived.
    pub received: u8,
}

/// A complete item, borrowed from the reassembler until its next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reassembled<'r> {
    pub key: FragmentKey,
    pub kind: ItemKind,
    pub bytes: &'r [u8],
}

/// What a fragment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassembly<'r> {
    /// Stored; more fragments are needed. `dropped` names a partial item given up to make
    /// room for this one (never silent).
    Pending { dropped: Option<Dropped> },
    /// This fragment was already stored; nothing changed.
    Duplicate,
    /// The last missing fragment arrived.
    Complete(Reassembled<'r>),
}

#[derive(Debug, Clone)]
struct Slot<const MAX_ITEM: usize> {
    key: Option<FragmentKey>,
    last_index: u8,
    chunk: usize,
    /// Bit `i` set when fragment `i` is stored.
    received: u16,
    first: Option<FirstFragment>,
    last_len: Option<usize>,
    started: u64,
    last_seen: u64,
    buf: [u8; MAX_ITEM],
}

impl<const MAX_ITEM: usize> Slot<MAX_ITEM> {
    const FREE: Self = Self {
        key: None,
        last_index: 0,
        chunk: 0,
        received: 0,
        first: None,
        last_len: None,
        started: 0,
        last_seen: 0,
        buf: [0; MAX_ITEM],
    };

    fn dropped(&self, key: FragmentKey, reason: DropReason) -> Dropped {
        Dropped {
            key,
            reason,
            received: self.received.count_ones() as u8,
        }
    }
}

/// Joins fragments back into items with fixed memory: `SLOTS` partial items of at most
/// `MAX_ITEM` bytes each (`SLOTS × MAX_ITEM` bytes plus a few words per slot), keyed by
/// (sender, tag). Sans-IO: the caller passes `now` (any monotonic unit, the same as
/// `timeout`); a partial item expires `timeout` after its latest fragment.
///
/// Fragments may arrive in any order and more than once. When every slot is busy, an expired
/// slot is reused first, then the oldest partial item is evicted; both are reported in
/// [`Reassembly::Pending`]. Call [`Reassembler::poll_expired`] to reclaim expired slots
/// eagerly (for example from a timer).
#[derive(Debug, Clone)]
pub struct Reassembler<const SLOTS: usize, const MAX_ITEM: usize> {
    slots: [Slot<MAX_ITEM>; SLOTS],
    timeout: u64,
}

impl<const SLOTS: usize, const MAX_ITEM: usize> Reassembler<SLOTS, MAX_ITEM> {
    pub fn new(timeout: u64) -> Self {
        Self {
            slots: core::array::from_fn(|_| Slot::FREE),
            timeout,
        }
    }

    /// Partial items held.
    pub fn in_progress(&self) -> usize {
        self.slots.iter().filter(|s| s.key.is_some()).count()
    }

    fn expired(&self, slot: &Slot<MAX_ITEM>, now: u64) -> bool {
        now.saturating_sub(slot.last_seen) >= self.timeout
    }

    /// Free one expired slot and name it; `None` when no slot has expired.
    pub fn poll_expired(&mut self, now: u64) -> Option<Dropped> {
        let timeout = self.timeout;
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.key.is_some() && now.saturating_sub(s.last_seen) >= timeout)?;
        let key = slot.key.take()?;
        Some(slot.dropped(key, DropReason::Expired))
    }

    /// Take one fragment received from `sender` at `now`.
    ///
    /// Errors (the fragment is refused, stored state is unchanged): `FragmentMismatch` if it
    /// contradicts earlier fragments with the same key, `ItemTooLarge` if the item cannot fit
    /// `MAX_ITEM`, and the [`FragmentRepr::parse`] checks for a hand-built `FragmentRepr`.
    pub fn handle(
        &mut self,
        now: u64,
        sender: NodeAddr,
        fragment: &FragmentRepr<'_>,
    ) -> Result<Reassembly<'_>, FrameError> {
        let f = fragment;
        if f.last_index == 0 || usize::from(f.last_index) >= MAX_FRAGMENTS {
            return Err(FrameError::FragmentCount);
        }
        if f.index > f.last_index {
            return Err(FrameError::FragmentIndex);
        }
        if f.data.is_empty() {
            return Err(FrameError::EmptyItem);
        }
        let chunk = f.chunk();
        let is_last = f.index == f.last_index;
        if (is_last && f.data.len() > chunk) || (!is_last && f.data.len() != chunk) {
            return Err(FrameError::FragmentLength);
        }
        // Where the data goes, and the smallest the whole item can be.
        let offset = usize::from(f.index)
            .checked_mul(chunk)
            .ok_or(FrameError::ItemTooLarge)?;
        let end = offset
            .checked_add(f.data.len())
            .ok_or(FrameError::ItemTooLarge)?;
        let min_total = usize::from(f.last_index)
            .checked_mul(chunk)
            .and_then(|n| n.checked_add(1))
            .ok_or(FrameError::ItemTooLarge)?;
        if end > MAX_ITEM || min_total > MAX_ITEM {
            return Err(FrameError::ItemTooLarge);
        }
        if let Some(first) = f.first
            && (first.total_len > MAX_ITEM
                || first.total_len < min_total
                || first.total_len > min_total - 1 + chunk)
        {
            return Err(if first.total_len > MAX_ITEM {
                FrameError::ItemTooLarge
            } else {
                FrameError::FragmentLength
            });
        }
        let key = FragmentKey { sender, tag: f.tag };
        let bit = 1u16 << f.index;

        let mut dropped = None;
        let found = self.slots.iter().position(|s| s.key == Some(key));
        let idx = match found {
            Some(i) if self.slots.get(i).is_some_and(|s| !self.expired(s, now)) => {
                let slot = self.slots.get(i).ok_or(FrameError::ItemTooLarge)?;
                if slot.last_index != f.last_index || slot.chunk != chunk {
                    return Err(FrameError::FragmentMismatch);
                }
                if slot.received & bit != 0 {
                    return Ok(Reassembly::Duplicate);
                }
                // Both ends known: they must agree on the total length.
                let total = f
                    .first
                    .map(|x| x.total_len)
                    .or(slot.first.map(|x| x.total_len));
                let last_len = if is_last {
                    Some(f.data.len())
                } else {
                    slot.last_len
                };
                if let (Some(t), Some(l)) = (total, last_len)
                    && t != usize::from(f.last_index) * chunk + l
                {
                    return Err(FrameError::FragmentMismatch);
                }
                i
            }
            _ => {
                let i = match found {
                    // Same key, but expired: start over in place.
                    Some(i) => {
                        if let Some(s) = self.slots.get(i) {
                            dropped = Some(s.dropped(key, DropReason::Expired));
                        }
                        i
                    }
                    None => {
                        let (i, reason) = self.choose_slot(now);
                        if let (Some(reason), Some(s)) = (reason, self.slots.get(i))
                            && let Some(old) = s.key
                        {
                            dropped = Some(s.dropped(old, reason));
                        }
                        i
                    }
                };
                let slot = self.slots.get_mut(i).ok_or(FrameError::ItemTooLarge)?;
                slot.key = Some(key);
                slot.last_index = f.last_index;
                slot.chunk = chunk;
                slot.received = 0;
                slot.first = None;
                slot.last_len = None;
                slot.started = now;
                i
            }
        };

        let slot = self.slots.get_mut(idx).ok_or(FrameError::ItemTooLarge)?;
        slot.buf
            .get_mut(offset..end)
            .ok_or(FrameError::ItemTooLarge)?
            .copy_from_slice(f.data);
        slot.received |= bit;
        slot.last_seen = now;
        if f.first.is_some() {
            slot.first = f.first;
        }
        if is_last {
            slot.last_len = Some(f.data.len());
        }
        let all = (1u32 << (u32::from(slot.last_index) + 1)) - 1;
        if u32::from(slot.received) != all {
            return Ok(Reassembly::Pending { dropped });
        }
        // Complete: fragment 0 and the last one are in, and their lengths were checked.
        slot.key = None;
        let first = slot.first.ok_or(FrameError::FragmentLength)?;
        let bytes = slot
            .buf
            .get(..first.total_len)
            .ok_or(FrameError::ItemTooLarge)?;
        Ok(Reassembly::Complete(Reassembled {
            key,
            kind: first.kind,
            bytes,
        }))
    }

    /// A free slot, else an expired one, else the oldest partial item.
    fn choose_slot(&self, now: u64) -> (usize, Option<DropReason>) {
        if let Some(i) = self.slots.iter().position(|s| s.key.is_none()) {
            return (i, None);
        }
        if let Some(i) = self.slots.iter().position(|s| self.expired(s, now)) {
            return (i, Some(DropReason::Expired));
        }
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.started)
            .map_or(0, |(i, _)| i);
        (oldest, Some(DropReason::Evicted))
    }
}
