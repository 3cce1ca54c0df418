//! Radio frame container: fixtures (`tests/vectors/radio/*.hex`, each file starts with a
//! comment naming what it is), every error path, truncation, round trips, batching,
//! fragmentation and reassembly.

mod common;

use toile_proto::item::ItemKind;
use toile_proto::radio::{
    self, Body, DropReason, Entries, EntriesBuilder, Flags, FragmentKey, FragmentRepr, Fragmenter,
    Frame, FrameBuilder, FrameError, FrameKind, FrameRepr, HEADER_LEN, Header, MAX_FRAME_LEN,
    NodeAddr, Reassembler, Reassembly,
};
use toile_proto::{DecodeError, ErrorKind};

fn vector(name: &str) -> Vec<u8> {
    common::hex_fixture("radio", name)
}

fn frame_err(offset: usize, e: FrameError) -> DecodeError {
    DecodeError::new(offset, ErrorKind::Frame(e))
}

const HDR: Header = Header {
    flags: Flags::EMPTY,
    hop_limit: 3,
    sender: NodeAddr(0x1234),
};

fn round_trip(bytes: &[u8]) -> FrameRepr<'_> {
    let repr = FrameRepr::parse(bytes).unwrap();
    let mut out = [0u8; MAX_FRAME_LEN];
    assert_eq!(repr.buffer_len(), bytes.len());
    let n = repr.emit(&mut out).unwrap();
    assert_eq!(&out[..n], bytes);
    repr
}

#[test]
fn fixture_items_single() {
    let bytes = vector("items_single");
    let f = Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(f.version(), 0);
    assert_eq!(f.kind(), FrameKind::Items);
    assert_eq!(f.hop_limit(), 3);
    assert_eq!(f.flags(), Flags::EMPTY);
    assert_eq!(f.sender(), NodeAddr(0x1234));
    let items: Vec<_> = f.entries().iter().collect();
    assert_eq!(
        items,
        vec![(ItemKind::Extrinsic, &[0xde, 0xad, 0xbe, 0xef][..])]
    );
    round_trip(&bytes);
}

#[test]
fn fixture_items_batch() {
    let bytes = vector("items_batch");
    let f = Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(f.flags().bits(), 5);
    assert!(f.flags().contains(4));
    assert_eq!(f.hop_limit(), 7);
    assert_eq!(f.sender(), NodeAddr(0xbeef));
    let items: Vec<_> = f.entries().into_iter().collect();
    assert_eq!(
        items,
        vec![
            (ItemKind::Extrinsic, &[0xaa, 0xbb, 0xcc][..]),
            (ItemKind::Dubp, &[0x11, 0x22][..])
        ]
    );
    // The builder produces exactly the fixture.
    let mut buf = [0u8; 255];
    let hdr = Header {
        flags: Flags::from_bits(5).unwrap(),
        hop_limit: 7,
        sender: NodeAddr(0xbeef),
    };
    let mut b = FrameBuilder::new(&mut buf, hdr).unwrap();
    assert!(b.try_push(ItemKind::Extrinsic, &[0xaa, 0xbb, 0xcc]));
    assert!(b.try_push(ItemKind::Dubp, &[0x11, 0x22]));
    assert_eq!(b.count(), 2);
    let n = b.finish().unwrap();
    assert_eq!(&buf[..n], &bytes[..]);
    round_trip(&bytes);
}

#[test]
fn fixture_fragments_reassemble() {
    let frames = [
        vector("fragment_first"),
        vector("fragment_middle"),
        vector("fragment_last"),
    ];
    let first = Frame::new_checked(&frames[0][..]).unwrap();
    assert_eq!(first.kind(), FrameKind::Fragment);
    assert!(first.entries().iter().next().is_none());
    let f0 = first.fragment().unwrap();
    assert_eq!(f0.tag, 0x2a);
    assert_eq!(f0.last_index, 2);
    assert_eq!(f0.first.unwrap().total_len, 10);
    assert_eq!(f0.first.unwrap().kind, ItemKind::Dubp);
    for f in &frames {
        round_trip(f);
    }
    // The fragmenter produces exactly the fixtures.
    let item: Vec<u8> = (0..10).collect();
    let hdr = Header {
        flags: Flags::EMPTY,
        hop_limit: 2,
        sender: NodeAddr(1),
    };
    let made: Vec<_> = Fragmenter::new(hdr, 0x2a, ItemKind::Dubp, &item, 12)
        .unwrap()
        .collect();
    assert_eq!(made.len(), 3);
    for (m, f) in made.iter().zip(&frames) {
        assert_eq!(&m[..], &f[..]);
    }
    // Reassemble in every order.
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
        let mut r: Reassembler<2, 64> = Reassembler::new(100);
        for (step, &i) in order.iter().enumerate() {
            let frame = Frame::new_checked(&frames[i][..]).unwrap();
            let frag = frame.fragment().unwrap();
            let ev = r.handle(0, frame.sender(), &frag).unwrap();
            if step < 2 {
                assert_eq!(ev, Reassembly::Pending { dropped: None });
            } else {
                let Reassembly::Complete(done) = ev else {
                    panic!("{ev:?}")
                };
                assert_eq!(done.bytes, &item[..]);
                assert_eq!(done.kind, ItemKind::Dubp);
                assert_eq!(
                    done.key,
                    FragmentKey {
                        sender: NodeAddr(1),
                        tag: 0x2a
                    }
                );
            }
        }
        assert_eq!(r.in_progress(), 0);
    }
}

#[test]
fn fixture_opaque_body() {
    let bytes = vector("receipt_opaque");
    let repr = round_trip(&bytes);
    assert_eq!(
        repr.body,
        Body::Other {
            kind: FrameKind::Receipt,
            bytes: &[0xff, 0xee]
        }
    );
    let f = Frame::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        f.fragment().unwrap_err(),
        frame_err(0, FrameError::WrongKind)
    );
}

#[test]
fn fixture_errors() {
    assert_eq!(
        Frame::new_checked(&vector("err_unknown_version")[..]).unwrap_err(),
        frame_err(0, FrameError::UnknownVersion(1))
    );
    assert_eq!(
        Frame::new_checked(&vector("err_more_without_next")[..]).unwrap_err(),
        DecodeError::new(9, ErrorKind::Truncated)
    );
}

#[test]
fn all_frame_kinds_round_trip_their_code() {
    for b in 0..64u8 {
        assert_eq!(FrameKind::from_u8(b).to_u8(), b);
    }
    assert_eq!(FrameKind::from_u8(6), FrameKind::BridgeAdvert);
    assert_eq!(FrameKind::from_u8(4), FrameKind::CustodyAck);
    assert_eq!(FrameKind::from_u8(3), FrameKind::Reconcile);
    assert_eq!(FrameKind::from_u8(9), FrameKind::Unknown(9));
}

#[test]
fn header_errors() {
    assert_eq!(
        Frame::new_checked(&[0x01u8, 0, 0][..]).unwrap_err(),
        DecodeError::new(3, ErrorKind::Truncated)
    );
    let long = [0x05u8; 256];
    assert_eq!(
        Frame::new_checked(&long[..]).unwrap_err(),
        frame_err(MAX_FRAME_LEN, FrameError::TooLong)
    );
    for v in 1..4u8 {
        assert_eq!(
            Frame::new_checked(&[(v << 6) | 1, 0, 0, 0, 1, 1][..]).unwrap_err(),
            frame_err(0, FrameError::UnknownVersion(v))
        );
    }
    // Unknown kinds are carried, not refused.
    let f = Frame::new_checked(&[0x3f, 0, 0, 0][..]).unwrap();
    assert_eq!(f.kind(), FrameKind::Unknown(63));
}

#[test]
fn items_body_errors() {
    // No entries.
    assert_eq!(
        Frame::new_checked(&[1u8, 0, 0, 0][..]).unwrap_err(),
        frame_err(4, FrameError::NoEntries)
    );
    // Last entry empty.
    assert_eq!(
        Frame::new_checked(&[1u8, 0, 0, 0, 1][..]).unwrap_err(),
        frame_err(4, FrameError::EmptyItem)
    );
    // A middle entry with length 0.
    assert_eq!(
        Frame::new_checked(&[1u8, 0, 0, 0, 0x81, 0x00, 1, 9][..]).unwrap_err(),
        frame_err(4, FrameError::EmptyItem)
    );
    // Length past the end.
    assert_eq!(
        Frame::new_checked(&[1u8, 0, 0, 0, 0x81, 0x10, 1][..]).unwrap_err(),
        DecodeError::new(5, ErrorKind::Truncated)
    );
    // Non-canonical compact length (2-byte form of 3).
    assert_eq!(
        Frame::new_checked(&[1u8, 0, 0, 0, 0x81, 0x0d, 0x00, 1, 2, 3, 1, 1][..]).unwrap_err(),
        DecodeError::new(5, ErrorKind::BadCompact)
    );
    // Entries alone.
    assert_eq!(
        Entries::new_checked(&[]).unwrap_err(),
        frame_err(0, FrameError::NoEntries)
    );
}

#[test]
fn fragment_errors() {
    fn parse(b: &[u8]) -> Result<FragmentRepr<'_>, DecodeError> {
        FragmentRepr::parse(b)
    }
    // last index 0: fewer than 2 fragments.
    assert_eq!(
        parse(&[7, 0x00, 1, 4, 1]).unwrap_err(),
        frame_err(1, FrameError::FragmentCount)
    );
    // index 3 > last index 2.
    assert_eq!(
        parse(&[7, 0x32, 1]).unwrap_err(),
        frame_err(1, FrameError::FragmentIndex)
    );
    // total 20 with chunk 4 and 3 fragments: impossible.
    assert_eq!(
        parse(&[7, 0x02, 1, 20 << 2, 1, 2, 3, 4]).unwrap_err(),
        frame_err(3, FrameError::FragmentLength)
    );
    // total 8 = 2 x 4: the last fragment would be empty.
    assert_eq!(
        parse(&[7, 0x02, 1, 8 << 2, 1, 2, 3, 4]).unwrap_err(),
        frame_err(3, FrameError::FragmentLength)
    );
    // Last fragment longer than the chunk.
    assert_eq!(
        parse(&[7, 0x22, 2 << 2, 1, 2, 3]).unwrap_err(),
        frame_err(3, FrameError::FragmentLength)
    );
    // Empty data.
    assert_eq!(
        parse(&[7, 0x12]).unwrap_err(),
        frame_err(2, FrameError::EmptyItem)
    );
    // Truncated header and bad compact.
    assert_eq!(
        parse(&[7]).unwrap_err(),
        DecodeError::new(1, ErrorKind::Truncated)
    );
    assert_eq!(
        parse(&[7, 0x02, 1]).unwrap_err(),
        DecodeError::new(3, ErrorKind::BadCompact)
    );
    // Wrapped in a frame the offsets move by the header length.
    assert_eq!(
        Frame::new_checked(&[2u8, 0, 0, 0, 7, 0x32, 1][..]).unwrap_err(),
        frame_err(5, FrameError::FragmentIndex)
    );
}

#[test]
fn emit_errors() {
    let mut out = [0u8; 255];
    let entries = Entries::new_checked(&[1, 9]).unwrap();
    let mut repr = FrameRepr {
        header: HDR,
        body: Body::Items(entries),
    };
    assert_eq!(repr.emit(&mut out), Ok(6));
    assert_eq!(
        repr.emit(&mut out[..5]),
        Err(DecodeError::new(0, ErrorKind::BufferTooSmall))
    );
    repr.header.hop_limit = 16;
    assert_eq!(
        repr.emit(&mut out),
        Err(DecodeError::new(0, ErrorKind::OutOfRange))
    );
    repr.header.hop_limit = 1;
    repr.body = Body::Other {
        kind: FrameKind::Items,
        bytes: &[1],
    };
    assert_eq!(
        repr.emit(&mut out),
        Err(DecodeError::new(0, ErrorKind::OutOfRange))
    );
    repr.body = Body::Other {
        kind: FrameKind::Unknown(64),
        bytes: &[1],
    };
    assert_eq!(
        repr.emit(&mut out),
        Err(DecodeError::new(0, ErrorKind::OutOfRange))
    );
    repr.body = Body::Other {
        kind: FrameKind::Receipt,
        bytes: &[0; 252],
    };
    assert_eq!(
        repr.emit(&mut out),
        Err(frame_err(MAX_FRAME_LEN, FrameError::TooLong))
    );
    assert!(Flags::from_bits(16).is_none());
    // A fragment whose optional fields do not match its index.
    let bad = FragmentRepr {
        tag: 0,
        index: 1,
        last_index: 2,
        first: None,
        chunk_len: Some(3),
        data: &[1],
    };
    assert_eq!(
        bad.emit(&mut out),
        Err(DecodeError::new(0, ErrorKind::OutOfRange))
    );
}

#[test]
fn truncation_at_every_length_never_panics() {
    for name in [
        "items_single",
        "items_batch",
        "fragment_first",
        "fragment_middle",
        "fragment_last",
        "receipt_opaque",
        "err_more_without_next",
    ] {
        let bytes = vector(name);
        for n in 0..=bytes.len() {
            let cut = &bytes[..n];
            if let Ok(f) = Frame::new_checked(cut) {
                let _ = f.entries().iter().count();
                round_trip(cut);
            }
            radio::fuzz(cut);
        }
    }
}

#[test]
fn single_item_overhead_is_five_bytes() {
    let item = [0x42u8; 145]; // a Ğ1 v2 transfer extrinsic is 142-145 B
    let mut buf = [0u8; 255];
    let mut b = FrameBuilder::new(&mut buf, HDR).unwrap();
    assert!(b.try_push(ItemKind::Extrinsic, &item));
    let n = b.finish().unwrap();
    let overhead = n - item.len();
    println!("B1: single-item radio frame overhead = {overhead} bytes");
    assert_eq!(overhead, HEADER_LEN + 1);
    assert!(overhead <= 6);
}

#[test]
fn builder_packs_items_until_full() {
    let mut buf = [0u8; 300];
    let mut b = FrameBuilder::new(&mut buf, HDR).unwrap();
    let items: Vec<Vec<u8>> = (0..20u8)
        .map(|i| vec![i + 1; 40 + usize::from(i)])
        .collect();
    let mut pushed = 0;
    for it in &items {
        if !b.try_push(ItemKind::Extrinsic, it) {
            break;
        }
        pushed += 1;
    }
    let n = b.finish().unwrap();
    assert!(n <= MAX_FRAME_LEN);
    // 4 + (1 + 1 + 40) + (1 + 1 + 41) + (1 + 1 + 42) + (1 + 1 + 43)... the 5th would overflow
    assert_eq!(pushed, 5);
    let bytes = &buf[..n];
    let f = Frame::new_checked(bytes).unwrap();
    let got: Vec<_> = f.entries().iter().map(|(_, b)| b.to_vec()).collect();
    assert_eq!(got, items[..pushed].to_vec());
    let item_bytes: usize = items[..pushed].iter().map(Vec::len).sum();
    println!(
        "batched {pushed} items: framing {} B total, {:.1} B/item",
        n - item_bytes,
        (n - item_bytes) as f64 / pushed as f64
    );
    round_trip(bytes);
}

#[test]
fn builder_refusals_leave_frame_unchanged() {
    let mut buf = [0u8; 255];
    let mut b = FrameBuilder::new(&mut buf, HDR).unwrap();
    assert!(b.is_empty());
    assert!(!b.try_push(ItemKind::Unknown(0x80), &[1]));
    assert!(!b.try_push(ItemKind::Extrinsic, &[]));
    assert!(b.try_push(ItemKind::Extrinsic, &[7; 200]));
    let len = b.len();
    // 205 bytes so far; a second entry costs 2 length bytes for the first + 1 kind byte.
    assert!(!b.try_push(ItemKind::Dubp, &[8; 48]));
    assert_eq!(b.len(), len);
    assert!(b.try_push(ItemKind::Dubp, &[8; 47]));
    assert_eq!(b.len(), MAX_FRAME_LEN);
    let n = b.finish().unwrap();
    let f = Frame::new_checked(&buf[..n]).unwrap();
    assert_eq!(f.entries().count(), 2);
    // No items: no frame.
    let mut buf = [0u8; 255];
    assert_eq!(FrameBuilder::new(&mut buf, HDR).unwrap().finish(), None);
    assert_eq!(
        FrameBuilder::new(&mut buf[..4], HDR).unwrap_err(),
        DecodeError::new(4, ErrorKind::BufferTooSmall)
    );
    let bad = Header {
        hop_limit: 16,
        ..HDR
    };
    assert_eq!(
        FrameBuilder::new(&mut buf, bad).unwrap_err(),
        DecodeError::new(0, ErrorKind::OutOfRange)
    );
    // Entries builder with a large entry needs a 2-byte length.
    let mut buf = [0u8; 400];
    let mut e = EntriesBuilder::new(&mut buf);
    assert_eq!(e.cost(100), 101);
    assert!(e.try_push(ItemKind::Extrinsic, &[1; 100]));
    assert_eq!(e.cost(10), 1 + 10 + 2);
    assert!(e.try_push(ItemKind::Dubp, &[2; 10]));
    let entries = e.finish().unwrap();
    assert_eq!(entries.as_bytes().len(), 1 + 2 + 100 + 1 + 10);
    assert_eq!(entries.count(), 2);
}

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn fragment_large_item_any_order_with_duplicates() {
    let item: Vec<u8> = (0..1_000u32).map(|i| (i * 7 % 251) as u8).collect();
    for max_frame in [255usize, 128, 96] {
        let frames: Vec<_> = Fragmenter::new(HDR, 9, ItemKind::Dubp, &item, max_frame)
            .unwrap()
            .collect();
        assert!(frames.iter().all(|f| f.len() <= max_frame));
        let overhead: usize = frames.iter().map(|f| f.len()).sum::<usize>() - item.len();
        println!(
            "1000-byte item at {max_frame}-byte frames: {} fragments, {overhead} B framing",
            frames.len()
        );
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ max_frame as u64;
        for _round in 0..20 {
            // Shuffle and duplicate some.
            let mut order: Vec<usize> = (0..frames.len()).collect();
            for i in (1..order.len()).rev() {
                let j = (xorshift(&mut seed) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            let dup = order[0];
            order.insert(1, dup);
            let mut r: Reassembler<2, 1_024> = Reassembler::new(10);
            let mut done = None;
            for (k, &i) in order.iter().enumerate() {
                let f = Frame::new_checked(&frames[i][..]).unwrap();
                match r.handle(5, f.sender(), &f.fragment().unwrap()).unwrap() {
                    Reassembly::Complete(c) => {
                        assert_eq!(k, order.len() - 1);
                        done = Some(c.bytes.to_vec());
                    }
                    Reassembly::Duplicate => assert_eq!(k, 1),
                    Reassembly::Pending { dropped } => assert_eq!(dropped, None),
                }
            }
            assert_eq!(done.as_deref(), Some(&item[..]));
        }
    }
}

#[test]
fn fragmenter_errors() {
    assert_eq!(
        Fragmenter::new(HDR, 0, ItemKind::Dubp, &[1], 255).unwrap_err(),
        frame_err(0, FrameError::EmptyItem)
    );
    let big = vec![1u8; 16 * 248 + 1];
    assert_eq!(
        Fragmenter::new(HDR, 0, ItemKind::Dubp, &big, 255).unwrap_err(),
        frame_err(0, FrameError::ItemTooLarge)
    );
    assert_eq!(
        Fragmenter::new(HDR, 0, ItemKind::Dubp, &[1; 100], 9).unwrap_err(),
        DecodeError::new(0, ErrorKind::BufferTooSmall)
    );
    // A small item is still split in two.
    let f = Fragmenter::new(HDR, 0, ItemKind::Dubp, &[1, 2, 3], 255).unwrap();
    assert_eq!(f.fragments(), 2);
    assert!(f.fragment(2).is_none());
}

fn frags(tag: u8, item: &[u8], max: usize) -> Vec<Vec<u8>> {
    Fragmenter::new(HDR, tag, ItemKind::Dubp, item, max)
        .unwrap()
        .map(|v| v.to_vec())
        .collect()
}

fn feed<'r, const S: usize, const M: usize>(
    r: &'r mut Reassembler<S, M>,
    now: u64,
    sender: u16,
    frame: &[u8],
) -> Result<Reassembly<'r>, FrameError> {
    let f = Frame::new_checked(frame).unwrap();
    let frag = f.fragment().unwrap();
    r.handle(now, NodeAddr(sender), &frag)
}

#[test]
fn reassembler_expiry() {
    let item = [5u8; 30];
    let fs = frags(1, &item, 24);
    let mut r: Reassembler<2, 64> = Reassembler::new(100);
    assert!(matches!(
        feed(&mut r, 0, 1, &fs[0]),
        Ok(Reassembly::Pending { dropped: None })
    ));
    assert_eq!(r.poll_expired(99), None);
    let d = r.poll_expired(100).unwrap();
    assert_eq!(d.reason, DropReason::Expired);
    assert_eq!(d.received, 1);
    assert_eq!(r.in_progress(), 0);
    // A late fragment of an expired item restarts it and says so.
    assert!(matches!(
        feed(&mut r, 200, 1, &fs[0]),
        Ok(Reassembly::Pending { dropped: None })
    ));
    let ev = feed(&mut r, 400, 1, &fs[1]).unwrap();
    let Reassembly::Pending { dropped: Some(d) } = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(d.reason, DropReason::Expired);
    assert_eq!(
        d.key,
        FragmentKey {
            sender: NodeAddr(1),
            tag: 1
        }
    );
    // Activity refreshes the deadline: 2 fragments 90 apart complete.
    let mut r: Reassembler<1, 64> = Reassembler::new(100);
    let fs = frags(2, &[6u8; 60], 30);
    for (i, f) in fs.iter().enumerate() {
        let ev = feed(&mut r, 90 * i as u64, 1, f).unwrap();
        assert_eq!(matches!(ev, Reassembly::Complete(_)), i == fs.len() - 1);
    }
}

#[test]
fn reassembler_eviction_is_reported() {
    let a = frags(1, &[1u8; 30], 24);
    let b = frags(2, &[2u8; 30], 24);
    let c = frags(3, &[3u8; 30], 24);
    let mut r: Reassembler<2, 64> = Reassembler::new(1_000);
    feed(&mut r, 0, 1, &a[0]).unwrap();
    feed(&mut r, 1, 1, &b[0]).unwrap();
    // Full: an expired slot goes first, else the oldest partial item.
    let ev = feed(&mut r, 2, 1, &c[0]).unwrap();
    let Reassembly::Pending { dropped: Some(d) } = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(d.reason, DropReason::Evicted);
    assert_eq!(d.key.tag, 1);
    // b and c still complete.
    assert!(
        matches!(feed(&mut r, 3, 1, &b[1]), Ok(Reassembly::Complete(x)) if x.bytes == [2u8; 30])
    );
    assert!(
        matches!(feed(&mut r, 3, 1, &c[1]), Ok(Reassembly::Complete(x)) if x.bytes == [3u8; 30])
    );
    // Expired preferred over evicting a live one.
    let mut r: Reassembler<2, 64> = Reassembler::new(10);
    feed(&mut r, 0, 1, &a[0]).unwrap();
    feed(&mut r, 8, 1, &b[0]).unwrap();
    let ev = feed(&mut r, 12, 1, &c[0]).unwrap();
    let Reassembly::Pending { dropped: Some(d) } = ev else {
        panic!("{ev:?}")
    };
    assert_eq!((d.reason, d.key.tag), (DropReason::Expired, 1));
    // Same tag from two senders are two items.
    let mut r: Reassembler<2, 64> = Reassembler::new(10);
    feed(&mut r, 0, 1, &a[0]).unwrap();
    feed(&mut r, 0, 2, &b[0]).unwrap();
    assert_eq!(r.in_progress(), 2);
}

#[test]
fn reassembler_inconsistent_fragments() {
    let a = frags(1, &[1u8; 30], 24); // 2 fragments, chunk 15
    let other = frags(1, &[1u8; 60], 24); // same tag, different shape
    let mut r: Reassembler<2, 64> = Reassembler::new(1_000);
    feed(&mut r, 0, 1, &a[0]).unwrap();
    assert_eq!(
        feed(&mut r, 0, 1, &other[1]).unwrap_err(),
        FrameError::FragmentMismatch
    );
    // The partial item is kept and still completes.
    assert!(matches!(
        feed(&mut r, 0, 1, &a[1]),
        Ok(Reassembly::Complete(_))
    ));

    // Same count and chunk but a total that disagrees with the last fragment.
    let last = FragmentRepr {
        tag: 4,
        index: 1,
        last_index: 1,
        first: None,
        chunk_len: Some(3),
        data: &[1, 2],
    };
    let first = FragmentRepr {
        tag: 4,
        index: 0,
        last_index: 1,
        first: Some(radio::FirstFragment {
            kind: ItemKind::Dubp,
            total_len: 6,
        }),
        chunk_len: None,
        data: &[1, 2, 3],
    };
    assert!(r.handle(0, NodeAddr(1), &last).is_ok());
    assert_eq!(
        r.handle(0, NodeAddr(1), &first).unwrap_err(),
        FrameError::FragmentMismatch
    );
    // Too large for this reassembler.
    let big = frags(5, &[1u8; 200], 64);
    let mut small: Reassembler<1, 100> = Reassembler::new(10);
    assert_eq!(
        feed(&mut small, 0, 1, &big[0]).unwrap_err(),
        FrameError::ItemTooLarge
    );
    assert_eq!(
        feed(&mut small, 0, 1, big.last().unwrap()).unwrap_err(),
        FrameError::ItemTooLarge
    );
    // Hand-built nonsense is refused, not stored.
    let mut bad = last;
    bad.last_index = 0;
    assert_eq!(
        r.handle(0, NodeAddr(1), &bad).unwrap_err(),
        FrameError::FragmentCount
    );
    bad.last_index = 1;
    bad.index = 2;
    assert_eq!(
        r.handle(0, NodeAddr(1), &bad).unwrap_err(),
        FrameError::FragmentIndex
    );
    bad.index = 0;
    bad.data = &[];
    assert_eq!(
        r.handle(0, NodeAddr(1), &bad).unwrap_err(),
        FrameError::EmptyItem
    );
    let mut mid = last;
    mid.index = 0;
    mid.last_index = 2;
    mid.chunk_len = None;
    mid.first = None;
    mid.data = &[1, 2];
    let mut mid2 = mid;
    mid2.index = 1;
    mid2.data = &[1, 2, 3];
    r.handle(0, NodeAddr(3), &mid).unwrap();
    assert_eq!(
        r.handle(0, NodeAddr(3), &mid2).unwrap_err(),
        FrameError::FragmentMismatch
    );
}

#[test]
fn error_display_is_meaningful() {
    let e = frame_err(0, FrameError::UnknownVersion(2));
    assert_eq!(
        e.to_string(),
        "byte 0: radio frame: frame format version 2 is not supported by this build (upgrade the firmware)"
    );
    for e in [
        FrameError::TooLong,
        FrameError::NoEntries,
        FrameError::EmptyItem,
        FrameError::FragmentCount,
        FrameError::FragmentIndex,
        FrameError::FragmentLength,
        FrameError::FragmentMismatch,
        FrameError::ItemTooLarge,
        FrameError::WrongKind,
    ] {
        assert!(!e.to_string().is_empty());
        assert!(!e.to_string().contains("Frame"));
    }
}

#[test]
fn fuzz_replay() {
    let mut corpus: Vec<Vec<u8>> = [
        "items_single",
        "items_batch",
        "fragment_first",
        "fragment_middle",
        "fragment_last",
        "receipt_opaque",
        "err_unknown_version",
        "err_more_without_next",
    ]
    .iter()
    .map(|n| vector(n))
    .collect();
    let mut seed = 42u64;
    for len in 0..300 {
        let v: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        corpus.push(v.clone());
        // Random bytes behind valid headers.
        for hdr in [[1u8, 0, 0, 0], [2, 0, 0, 0]] {
            let mut w = hdr.to_vec();
            w.extend_from_slice(&v);
            corpus.push(w);
        }
    }
    for input in &corpus {
        radio::fuzz(input);
    }
}

/// Several senders interleaved, random order, duplicates and losses, few slots: every
/// completed item is exactly the one sent under its key, and every loss is reported.
#[test]
fn reassembler_stress_interleaved_senders() {
    let mut seed = 0xdead_beefu64;
    for round in 0..200 {
        let mut sent = std::collections::HashMap::new();
        let mut frames = Vec::new();
        for sender in 0..4u16 {
            for tag in 0..2u8 {
                let len = 2 + (xorshift(&mut seed) % 900) as usize;
                let item: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
                let hdr = Header {
                    sender: NodeAddr(sender),
                    ..HDR
                };
                for f in Fragmenter::new(hdr, tag, ItemKind::Dubp, &item, 255).unwrap() {
                    frames.push(f.to_vec());
                }
                sent.insert((sender, tag), item);
            }
        }
        // Shuffle, duplicate some, drop some.
        for i in (1..frames.len()).rev() {
            let j = (xorshift(&mut seed) % (i as u64 + 1)) as usize;
            frames.swap(i, j);
        }
        let lossy = round % 2 == 1;
        let mut r: Reassembler<3, 1_024> = Reassembler::new(50);
        let (mut complete, mut dropped) = (0, 0);
        for (t, f) in frames.iter().enumerate() {
            let x = xorshift(&mut seed) % 10;
            if lossy && x == 0 {
                continue;
            }
            let copies = if x == 1 { 2 } else { 1 };
            for _ in 0..copies {
                let frame = Frame::new_checked(&f[..]).unwrap();
                let frag = frame.fragment().unwrap();
                match r.handle(t as u64, frame.sender(), &frag).unwrap() {
                    Reassembly::Complete(c) => {
                        assert_eq!(c.bytes, &sent[&(c.key.sender.0, c.key.tag)][..]);
                        complete += 1;
                    }
                    Reassembly::Pending { dropped: Some(_) } => dropped += 1,
                    _ => {}
                }
            }
        }
        while r.poll_expired(u64::MAX).is_some() {
            dropped += 1;
        }
        assert!(complete <= sent.len());
        if complete < sent.len() {
            assert!(dropped > 0 || lossy, "round {round}: silent loss");
        }
    }
}
