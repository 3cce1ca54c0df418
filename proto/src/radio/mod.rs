//! # Radio frame container
//!
//! What one LoRa packet (at most [`MAX_FRAME_LEN`] = 255 bytes of PHY payload) carries.
//! Airtime is the scarcest resource of the whole system, so the container is as small as it can
//! be while staying versioned and forward compatible: a 4-byte header, then a body whose
//! meaning depends on the frame kind.
//!
//! ## Header (4 bytes, always)
//!
//! | byte | bits | field | notes |
//! |---|---|---|---|
//! | 0 | 7..6 | version | [`VERSION`] = 0; any other value is [`FrameError::UnknownVersion`] |
//! | 0 | 5..0 | kind | [`FrameKind`]: 1 Items, 2 Fragment, 3 Reconcile, 4 CustodyAck, 5 Receipt, 6 BridgeAdvert; others `Unknown` |
//! | 1 | 7..4 | flags | [`Flags`], meaning defined by the relay engine; unknown bits are carried, never an error |
//! | 1 | 3..0 | hop limit | hops this frame may still take (0..=15; Meshtastic's maximum is 7) |
//! | 2..4 | | sender | [`NodeAddr`], little-endian: the transmitting node (the previous hop) |
//! | 4.. | | body | runs to the end of the PHY payload |
//!
//! The frame length comes from the PHY (explicit-header LoRa packets carry it), so no length
//! field is spent on air. Two version bits are enough: a new version can reclaim the kind bits
//! or add a header extension behind a flag.
//!
//! ## Items body ([`FrameKind::Items`], also used for link batches)
//!
//! A sequence of entries ([`Entries`]):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | bit 7: [`MORE_ENTRIES`] (another entry follows); bits 6..0: [`ItemKind`] byte |
//! | 0 or 1..=9 | if `MORE_ENTRIES`: the item length as a SCALE compact (1 byte up to 63, 2 bytes up to 16 383) |
//! | n | the item bytes; the **last entry runs to the end of the body** |
//!
//! A single item therefore costs header + 1 = **5 bytes** of framing (goal B1: ≤ 6); each further
//! batched item costs 1 kind byte + 1–2 length bytes. [`FrameBuilder`] packs queued items while
//! they fit. Items never are empty, and a body has at least one entry.
//!
//! ## Fragment body ([`FrameKind::Fragment`])
//!
//! For an item larger than one frame (a DUBP transaction can approach 1 KiB):
//!
//! | bytes | field | present |
//! |---|---|---|
//! | 1 | tag, chosen by the sender, unique per sender among its items in flight | always |
//! | 1 | bits 7..4: index; bits 3..0: last index (count − 1, so 2..=16 fragments) | always |
//! | 1 | item kind byte | index 0 |
//! | 1..=9 | total item length, SCALE compact | index 0 |
//! | 1..=9 | chunk length, SCALE compact: the data length of every other fragment | last index |
//! | n | data: item bytes `[index × chunk, index × chunk + n)` | always, n ≥ 1 |
//!
//! Every fragment but the last carries exactly `chunk` bytes, so each fragment can be placed on
//! arrival in any order; only the first pays for kind and total length and only the last for the
//! chunk length. [`Fragmenter`] splits an item, [`Reassembler`] puts it back together with
//! bounded memory, keyed by (sender, tag), with caller-driven expiry and visible eviction.
//!
//! The relay engine sends an engine-defined frame body in fragments too (a custody forward of
//! an item longer than one frame): its first fragment's kind byte is `0x80 | frame kind`
//! (`engine::FORWARD_FRAGMENTS`), never an item kind (those stay below `0x80`).
//!
//! ## Why there is no CRC or MAC in the container
//!
//! - Every frame goes out as an explicit-header LoRa packet with the SX126x PHY CRC-16 on; the
//!   radio drops packets whose CRC fails, so random corruption reaches us only with probability
//!   ~2⁻¹⁶ per corrupted packet, and the header itself has its own header checksum.
//! - Items (the only things a node stores, forwards and pays for) are signed chain objects; a
//!   relay verifies the signature before storing or forwarding, so a corrupted item that slips
//!   past the PHY CRC is dropped at the first hop. The frame container adds nothing to that.
//! - Unsigned control frames (custody acks, reconciliation sketches, bridge adverts) can, in the
//!   rare undetected case, be wrong. The worst outcomes are: an ack for the wrong [`ShortId`]
//!   (the sender keeps or re-offers an item: costs airtime, loses nothing), a reconciliation
//!   that believes the wrong difference (one extra round or a redundant transfer), a wrong
//!   route hint (a detour). None of them deletes data, **because a node deletes an item only
//!   on a signed receipt or on expiry** (mission goal 2); custody acks only stop *retransmission*.
//!   A forged (not just corrupted) control frame is the same class of risk, and a CRC would not
//!   stop a forger anyway.
//! - A 2- or 4-byte check per frame would cost 1–2 % of every frame's airtime to protect
//!   against an event that the PHY already makes rare and whose damage is bounded to airtime.
//!
//! [`ShortId`]: crate::item::ShortId
//! [`ItemKind`]: crate::item::ItemKind

mod fragment;
mod frame;

pub use fragment::{
    DropReason, Dropped, FirstFragment, FragmentKey, FragmentRepr, Fragmenter, MAX_FRAGMENTS,
    Reassembled, Reassembler, Reassembly,
};
pub use frame::{
    Body, Entries, EntriesBuilder, EntryIter, Flags, Frame, FrameBuilder, FrameKind, FrameRepr,
    HEADER_LEN, Header, MAX_FRAME_LEN, MORE_ENTRIES, NodeAddr, VERSION,
};

use core::fmt;

/// Why a radio frame (or a fragment) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The header's version bits name a format this build does not know.
    UnknownVersion(u8),
    /// More bytes than one LoRa PHY payload can hold.
    TooLong,
    /// An items body without any entry.
    NoEntries,
    /// An entry (or fragment) with zero item bytes.
    EmptyItem,
    /// A fragment claims fewer than 2 fragments in total.
    FragmentCount,
    /// A fragment's index is past its last index.
    FragmentIndex,
    /// A fragment's lengths (total, chunk, data) contradict each other.
    FragmentLength,
    /// A fragment disagrees with earlier fragments of the same (sender, tag).
    FragmentMismatch,
    /// The item is larger than this receiver can reassemble (or than 16 fragments carry).
    ItemTooLarge,
    /// The frame kind does not carry what the caller asked for (e.g. not a fragment).
    WrongKind,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownVersion(v) => write!(
                f,
                "frame format version {v} is not supported by this build (upgrade the firmware)"
            ),
            Self::TooLong => write!(f, "frame longer than {MAX_FRAME_LEN} bytes"),
            Self::NoEntries => f.write_str("items frame carries no item"),
            Self::EmptyItem => f.write_str("entry with an empty item"),
            Self::FragmentCount => f.write_str("fragment claims fewer than 2 fragments"),
            Self::FragmentIndex => f.write_str("fragment index is past the last index"),
            Self::FragmentLength => f.write_str("fragment lengths are inconsistent"),
            Self::FragmentMismatch => f.write_str(
                "fragment disagrees with earlier fragments of the same item (sender reused a tag?)",
            ),
            Self::ItemTooLarge => f.write_str("item too large to reassemble"),
            Self::WrongKind => f.write_str("frame is not of the expected kind"),
        }
    }
}

impl From<FrameError> for crate::ErrorKind {
    fn from(e: FrameError) -> Self {
        Self::Frame(e)
    }
}

/// Fuzz target: parse arbitrary bytes as a frame, walk its entries, feed fragments to a small
/// reassembler, and check that every parsed [`FrameRepr`] re-emits to bytes that parse to the
/// same value. Panics only on a real bug.
pub fn fuzz(data: &[u8]) {
    let mut reassembler: Reassembler<2, 512> = Reassembler::new(1_000);
    // Consider every 255-byte window boundary so one input exercises several frames.
    for (i, chunk) in data.chunks(MAX_FRAME_LEN).enumerate() {
        fuzz_one(chunk, i as u64, &mut reassembler);
        // Also the input as a whole, and each prefix length class.
        if let Some(prefix) = chunk.get(..chunk.len() / 2) {
            fuzz_one(prefix, i as u64, &mut reassembler);
        }
    }
    // Entries alone, as the link batches use them.
    if let Ok(entries) = Entries::new_checked(data) {
        let mut n = 0usize;
        for (_kind, item) in entries.iter() {
            assert!(!item.is_empty());
            n += 1;
        }
        assert_eq!(n, entries.count());
    }
    while reassembler.poll_expired(u64::MAX).is_some() {}
}

fn fuzz_one<const S: usize, const M: usize>(
    bytes: &[u8],
    now: u64,
    reassembler: &mut Reassembler<S, M>,
) {
    let Ok(frame) = Frame::new_checked(bytes) else {
        return;
    };
    for (_kind, item) in frame.entries().iter() {
        assert!(!item.is_empty());
    }
    let Ok(repr) = FrameRepr::parse(bytes) else {
        panic!("checked frame did not parse as a Repr");
    };
    let mut out = [0u8; MAX_FRAME_LEN];
    let len = repr.buffer_len();
    let Ok(n) = repr.emit(&mut out) else {
        panic!("parsed Repr did not re-emit");
    };
    assert_eq!(n, len);
    assert_eq!(out.get(..n), Some(bytes), "re-emitted bytes differ");
    assert_eq!(FrameRepr::parse(out.get(..n).unwrap_or(&[])), Ok(repr));
    if let Body::Fragment(f) = repr.body {
        let _ = reassembler.handle(now, repr.header.sender, &f);
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FrameError {}
