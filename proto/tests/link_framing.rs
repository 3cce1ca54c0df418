//! Host link: framing fixtures (`tests/vectors/link/frame_*.hex` with their
//! `*.payload.hex`, generated independently with Python's zlib CRC-32 and a reference COBS),
//! message fixtures (`msg_*.hex`), every error path, decoder resync, and the overhead goal.

mod common;

use toile_proto::item::{ItemKind, ShortId};
use toile_proto::link::{
    self, Batch, Config, ConfigPatch, Envelope, ErrorCode, FrameDecoder, Hello, IdList,
    LinkDecoder, LinkError, MAX_ENCODED_FRAME, MAX_MESSAGE, MAX_NAME_LEN, MAX_PAYLOAD, Message,
    NOISE_TAG_LEN, PROTOCOL_VERSION, Packet, PacketType, PullRequest, Role, Status, encode_frame,
    encoded_len,
};
use toile_proto::{DecodeError, ErrorKind};

fn vector(name: &str) -> Vec<u8> {
    common::hex_fixture("link", name)
}

fn link_err(offset: usize, e: LinkError) -> DecodeError {
    DecodeError::new(offset, ErrorKind::Link(e))
}

/// Decode a whole stream into owned results.
fn decode_all<const N: usize>(
    dec: &mut FrameDecoder<N>,
    input: &[u8],
) -> Vec<Result<Vec<u8>, LinkError>> {
    let mut out = Vec::new();
    dec.feed(input, |r| out.push(r.map(<[u8]>::to_vec)));
    out
}

fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; encoded_len(payload.len())];
    let n = encode_frame(payload, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn frame_fixtures() {
    for name in ["frame_handshake", "frame_zeros", "frame_long_run"] {
        let wire = vector(name);
        let payload = vector(&format!("{name}.payload"));
        assert_eq!(encode(&payload), wire, "{name}");
        assert!(!wire[..wire.len() - 1].contains(&0));
        let mut dec = LinkDecoder::new();
        assert_eq!(decode_all(&mut dec, &wire), vec![Ok(payload.clone())]);
        // Byte by byte.
        let mut got = Vec::new();
        for b in &wire {
            got.extend(decode_all(&mut dec, std::slice::from_ref(b)));
        }
        assert_eq!(got, vec![Ok(payload)]);
    }
    let payload = vector("frame_handshake.payload");
    let p = Packet::parse(&payload).unwrap();
    assert_eq!(p.ty, PacketType::Handshake);
    assert_eq!(p.body, &[0xaa, 0xbb, 0xcc]);
    assert!(p.allowed_before_handshake());
}

#[test]
fn round_trip_lengths_and_cobs_boundaries() {
    let mut dec: FrameDecoder<{ 2_000 + 4 }> = FrameDecoder::new();
    for len in (0..600).chain([1_000, 1_016, 1_270, 2_000]) {
        for pattern in 0..3 {
            let payload: Vec<u8> = (0..len)
                .map(|i| match pattern {
                    0 => 0u8,
                    1 => (i % 255 + 1) as u8,
                    _ => (i * 31 % 7) as u8,
                })
                .collect();
            let wire = encode(&payload);
            assert!(wire.len() <= encoded_len(len));
            assert_eq!(wire.last(), Some(&0));
            assert!(!wire[..wire.len() - 1].contains(&0), "len {len}");
            assert_eq!(decode_all(&mut dec, &wire), vec![Ok(payload)], "len {len}");
        }
    }
    // The largest payload.
    let payload = vec![0x55u8; MAX_PAYLOAD];
    let mut out = vec![0u8; MAX_ENCODED_FRAME];
    let n = encode_frame(&payload, &mut out).unwrap();
    assert_eq!(n, MAX_ENCODED_FRAME);
    let mut dec = LinkDecoder::new();
    assert_eq!(decode_all(&mut dec, &out[..n]), vec![Ok(payload)]);
}

#[test]
fn encode_errors() {
    let payload = vec![1u8; MAX_PAYLOAD + 1];
    let mut out = vec![0u8; MAX_ENCODED_FRAME + 100];
    assert_eq!(
        encode_frame(&payload, &mut out),
        Err(link_err(MAX_PAYLOAD, LinkError::TooLong))
    );
    let wire = encode(b"hello");
    for n in 0..wire.len() {
        let mut out = vec![0u8; n];
        assert_eq!(
            encode_frame(b"hello", &mut out),
            Err(DecodeError::new(0, ErrorKind::BufferTooSmall)),
            "{n}"
        );
    }
}

#[test]
fn decoder_errors_and_resync() {
    let good = encode(b"\x02good frame");
    let want = Ok(b"\x02good frame".to_vec());
    let mut dec = LinkDecoder::new();

    // Garbage without zeros, then a good frame: one error, then the frame.
    let mut s = vec![0x13u8, 0x37, 0xff, 0x42];
    s.push(0);
    s.extend(&good);
    let r = decode_all(&mut dec, &s);
    assert_eq!(r.len(), 2);
    assert!(r[0].is_err());
    assert_eq!(r[1], want);

    // A stream that starts mid-frame.
    let mut s = good[5..].to_vec();
    s.extend(&good);
    let r = decode_all(&mut dec, &s);
    assert_eq!(r.last(), Some(&want));
    assert_eq!(r.len(), 2);

    // Truncated frame (the delimiter arrives inside a COBS run): Cobs error, then the frame.
    let mut s = vec![0x09, 1, 2, 0];
    s.extend(&good);
    assert_eq!(
        decode_all(&mut dec, &s),
        vec![Err(LinkError::Cobs), want.clone()]
    );

    // Corrupted byte: CRC error, then the next frame.
    let mut bad = good.clone();
    bad[3] ^= 0x01;
    if bad[3] == 0 {
        bad[3] = 0x77;
    }
    let mut s = bad;
    s.extend(&good);
    assert_eq!(
        decode_all(&mut dec, &s),
        vec![Err(LinkError::Crc), want.clone()]
    );

    // Runt: fewer than 4 bytes between delimiters.
    let mut s = vec![0x03, 1, 2, 0];
    s.extend(&good);
    assert_eq!(
        decode_all(&mut dec, &s),
        vec![Err(LinkError::Runt), want.clone()]
    );

    // Empty frames are ignored.
    let mut s = vec![0, 0, 0];
    s.extend(&good);
    s.extend([0, 0]);
    assert_eq!(decode_all(&mut dec, &s), vec![want.clone()]);

    // Too long for the buffer: skipped to its delimiter, never grows, next frame survives.
    let mut small: FrameDecoder<16> = FrameDecoder::new();
    let mut s = encode(&[7u8; 40]);
    s.extend(encode(b"ok"));
    let mut results = Vec::new();
    for b in &s {
        small.feed(std::slice::from_ref(b), |r| {
            results.push(r.map(<[u8]>::to_vec))
        });
        assert!(small.buffered() <= 16);
    }
    assert_eq!(results, vec![Err(LinkError::TooLong), Ok(b"ok".to_vec())]);

    // Partial frame across chunks.
    let (a, b) = good.split_at(7);
    assert!(decode_all(&mut dec, a).is_empty());
    assert!(dec.buffered() > 0);
    assert_eq!(decode_all(&mut dec, b), vec![want]);
}

#[test]
fn packets() {
    assert_eq!(
        Packet::parse(&[]),
        Err(DecodeError::new(0, ErrorKind::Truncated))
    );
    let p = Packet::parse(&[2, 9, 9]).unwrap();
    assert_eq!(p.ty, PacketType::Transport);
    assert!(!p.allowed_before_handshake());
    let p = Packet::parse(&[77]).unwrap();
    assert_eq!(p.ty, PacketType::Unknown(77));
    assert!(!p.allowed_before_handshake());
    let mut out = [0u8; 3];
    let p = Packet {
        ty: PacketType::Handshake,
        body: &[5, 6],
    };
    assert_eq!(p.emit(&mut out), Ok(3));
    assert_eq!(out, [1, 5, 6]);
    assert_eq!(
        p.emit(&mut out[..2]),
        Err(DecodeError::new(0, ErrorKind::BufferTooSmall))
    );
    for b in 0..=255u8 {
        assert_eq!(PacketType::from_u8(b).to_u8(), b);
    }
}

fn rt(env: &Envelope<'_>) -> Vec<u8> {
    let mut out = vec![0u8; MAX_MESSAGE];
    let n = env.encode(&mut out).unwrap();
    assert_eq!(n, env.encoded_len());
    out.truncate(n);
    assert_eq!(Envelope::decode(&out).as_ref(), Ok(env));
    out
}

#[test]
fn message_fixtures() {
    let hello = Envelope {
        seq: 1,
        message: Message::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            role: Role::Node,
            node_addr: 0x1234,
            max_message: MAX_MESSAGE as u32,
        }),
    };
    assert_eq!(rt(&hello), vector("msg_hello"));

    let bytes = vector("msg_push_items");
    let env = Envelope::decode(&bytes).unwrap();
    let Message::PushItems { batch } = env.message else {
        panic!("{env:?}")
    };
    let items: Vec<_> = batch.iter().collect();
    assert_eq!(
        items,
        vec![
            (ItemKind::Extrinsic, &[0xaa, 0xbb, 0xcc][..]),
            (ItemKind::Dubp, &[0x11, 0x22][..])
        ]
    );
    assert_eq!(batch.len(), 2);
    assert_eq!(rt(&env), bytes);

    let ack = Envelope {
        seq: 3,
        message: Message::Ack { seq: 2 },
    };
    assert_eq!(rt(&ack), vector("msg_ack"));

    let err = Envelope {
        seq: 5,
        message: Message::Error {
            code: ErrorCode::UnknownMessage,
            seq: 4,
            message: "unknown",
        },
    };
    assert_eq!(rt(&err), vector("msg_error"));

    // An unknown variant: typed error the receiver answers with Error.
    let bytes = vector("err_msg_unknown_variant");
    let e = Envelope::decode(&bytes).unwrap_err();
    assert_eq!(e, link_err(1, LinkError::UnknownMessage(127)));
    assert_eq!(Envelope::peek_seq(&bytes), Some(4));
    let ErrorKind::Link(le) = e.kind else {
        panic!()
    };
    assert_eq!(ErrorCode::from(le), ErrorCode::UnknownMessage);
}

#[test]
fn every_variant_round_trips() {
    let mut batch_buf = [0u8; 64];
    let mut b = Batch::builder(&mut batch_buf);
    assert!(b.try_push(ItemKind::Extrinsic, &[1; 20]));
    assert!(b.try_push(ItemKind::Dubp, &[2; 5]));
    let batch = Batch::from_entries(b.finish().unwrap());
    let mut id_buf = [0u8; 24];
    let ids = IdList::encode(
        &[ShortId(1), ShortId(u64::MAX), ShortId(0x0102)],
        &mut id_buf,
    )
    .unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        ids.iter().collect::<Vec<_>>(),
        vec![ShortId(1), ShortId(u64::MAX), ShortId(0x0102)]
    );
    let messages = [
        Message::Hello(Hello {
            protocol_version: 1,
            role: Role::Unknown(9),
            node_addr: 0,
            max_message: 4_096,
        }),
        Message::PushItems { batch },
        Message::PushItems {
            batch: Batch::EMPTY,
        },
        Message::PullRequest(PullRequest {
            after_seq: 77,
            max_items: 100,
            want: ids,
        }),
        Message::ReconcileRequest { body: &[1, 2, 3] },
        Message::ReconcileResponse {
            missing: ids,
            body: &[],
        },
        Message::StatusRequest,
        Message::Status(Status {
            uptime_s: 86_400,
            store_items: 2_000,
            store_used_bytes: 300_000,
            store_capacity_bytes: 1_000_000,
            airtime_used_ms: 12_000,
            airtime_budget_ms: 36_000,
            duty_window_s: 3_600,
            neighbours: 5,
            tx_queue: 3,
            battery_mv: 3_900,
        }),
        Message::ConfigGet,
        Message::ConfigSet(ConfigPatch {
            region: Some(1),
            preset: None,
            name: Some("roof"),
        }),
        Message::Config(Config {
            region: 1,
            preset: 2,
            name: "market-square",
        }),
        Message::Receipts { batch },
        Message::Ack { seq: u32::MAX },
        Message::Error {
            code: ErrorCode::Unknown(999),
            seq: 0,
            message: "",
        },
        Message::PushOutcome {
            seq: 3,
            outcomes: &[0, 1, 5],
        },
        Message::ListIds {
            from: 500,
            max: 500,
        },
        Message::Ids {
            from: 0,
            total: 2,
            ids,
        },
    ];
    let mut tags = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        let env = Envelope {
            seq: i as u32,
            message: m,
        };
        let bytes = rt(&env);
        tags.push(bytes[1]);
        // Truncation at every length never panics and never decodes to something else.
        for n in 0..bytes.len() {
            if let Ok(e) = Envelope::decode(&bytes[..n]) {
                assert_ne!(e, env);
            }
        }
    }
    assert_eq!(*tags.last().unwrap() as u32, Message::VARIANTS - 1);
    for c in 0..20u16 {
        assert_eq!(u16::from(ErrorCode::from(c)), c);
    }
    for r in 0..=255u8 {
        assert_eq!(u8::from(Role::from(r)), r);
    }
}

#[test]
fn message_errors() {
    // Malformed: empty, truncated varint.
    assert_eq!(
        Envelope::decode(&[]),
        Err(link_err(0, LinkError::Malformed))
    );
    assert_eq!(
        Envelope::decode(&[0x80]),
        Err(link_err(0, LinkError::Malformed))
    );
    assert_eq!(
        Envelope::decode(&[1]),
        Err(link_err(0, LinkError::Malformed))
    );
    // Ack without its seq.
    assert_eq!(
        Envelope::decode(&[1, 11]),
        Err(link_err(0, LinkError::Malformed))
    );
    // Trailing bytes.
    assert_eq!(
        Envelope::decode(&[1, 11, 2, 9]),
        Err(DecodeError::new(3, ErrorKind::TrailingBytes))
    );
    // Batch whose entries are broken: the offset points into the message.
    let e = Envelope::decode(&[2, 1, 3, 0x81, 0x10, 1]).unwrap_err();
    assert_eq!(e, DecodeError::new(4, ErrorKind::Truncated));
    // Id list not a multiple of 8.
    let mut m = vec![2, 2, 0, 5, 9];
    m.extend([1u8; 9]);
    assert_eq!(
        Envelope::decode(&m),
        Err(link_err(13, LinkError::BadIdList))
    );
    assert_eq!(
        IdList::new_checked(&[0; 7]),
        Err(link_err(0, LinkError::BadIdList))
    );
    // Name too long.
    let long = "x".repeat(MAX_NAME_LEN + 1);
    let env = Envelope {
        seq: 1,
        message: Message::Config(Config {
            region: 1,
            preset: 1,
            name: &long,
        }),
    };
    let mut out = vec![0u8; 100];
    let n = env.encode(&mut out).unwrap();
    assert_eq!(
        Envelope::decode(&out[..n]),
        Err(link_err(5, LinkError::NameTooLong))
    );
    // Invalid UTF-8 name.
    assert_eq!(
        Envelope::decode(&[1, 9, 1, 1, 1, 0xff]),
        Err(link_err(0, LinkError::Malformed))
    );
    // Too long, both ways.
    let big = vec![0u8; MAX_MESSAGE + 1];
    assert_eq!(
        Envelope::decode(&big),
        Err(link_err(MAX_MESSAGE, LinkError::TooLong))
    );
    let body = vec![1u8; MAX_MESSAGE];
    let env = Envelope {
        seq: 1,
        message: Message::ReconcileRequest { body: &body },
    };
    let mut out = vec![0u8; MAX_MESSAGE * 2];
    assert_eq!(
        env.encode(&mut out),
        Err(link_err(MAX_MESSAGE, LinkError::TooLong))
    );
    let env = Envelope {
        seq: 1,
        message: Message::Ack { seq: 1 },
    };
    assert_eq!(
        env.encode(&mut [0u8; 2]),
        Err(DecodeError::new(0, ErrorKind::BufferTooSmall))
    );
    assert_eq!(
        IdList::encode(&[ShortId(1)], &mut [0u8; 7]).unwrap_err(),
        DecodeError::new(0, ErrorKind::BufferTooSmall)
    );
    assert_eq!(
        ErrorCode::from(LinkError::NameTooLong),
        ErrorCode::BadConfig
    );
    assert_eq!(ErrorCode::from(LinkError::Crc), ErrorCode::Malformed);
}

#[test]
fn error_display_is_meaningful() {
    assert_eq!(
        link_err(1, LinkError::UnknownMessage(13)).to_string(),
        "byte 1: host link: unknown message type 13 (the peer runs a newer protocol; upgrade this side)"
    );
    for e in [
        LinkError::Crc,
        LinkError::Cobs,
        LinkError::TooLong,
        LinkError::Runt,
        LinkError::Malformed,
        LinkError::BadIdList,
        LinkError::NameTooLong,
    ] {
        assert!(!e.to_string().is_empty());
    }
}

/// Goal B12: COBS + CRC + delimiter + packet type + Noise tag ≤ 2 % of a full frame's message.
#[test]
fn full_message_overhead() {
    // A PushItems envelope of exactly MAX_MESSAGE bytes: 150-byte extrinsics, topped up with
    // one smaller item. Envelope = seq (4-byte varint) + tag (1) + batch length (2) + batch.
    let batch_len = MAX_MESSAGE - 4 - 1 - 2;
    let mut batch_buf = vec![0u8; batch_len];
    let mut b = Batch::builder(&mut batch_buf);
    let item = [0xa5u8; 150];
    while b.cost(item.len()) + b.len() + 153 <= batch_len && b.try_push(ItemKind::Extrinsic, &item)
    {
    }
    let rest = batch_len - b.len() - b.cost(0);
    assert!(b.try_push(ItemKind::Extrinsic, &vec![0x5au8; rest]));
    let items = b.count();
    let env = Envelope {
        seq: 0x0102_0304,
        message: Message::PushItems {
            batch: Batch::from_entries(b.finish().unwrap()),
        },
    };
    let mut envelope_bytes = vec![0u8; MAX_MESSAGE];
    let n = env.encode(&mut envelope_bytes).unwrap();
    assert_eq!(n, MAX_MESSAGE, "{items} items");
    let msg_len = envelope_bytes.len();
    // Noise transport message = ciphertext (same length, no zero bytes here) + 16-byte tag.
    let mut packet = vec![PacketType::Transport.to_u8()];
    packet.extend(envelope_bytes.iter().map(|b| b | 1));
    packet.extend([0xeeu8; NOISE_TAG_LEN]);
    let wire = encode(&packet);
    let overhead = wire.len() - msg_len;
    let pct = overhead as f64 * 100.0 / msg_len as f64;
    println!(
        "B12: full message {msg_len} B -> link frame {} B: overhead {overhead} B = {pct:.2} %",
        wire.len()
    );
    assert!(pct <= 2.0);

    // The absolute worst case at MAX_MESSAGE: no zero anywhere.
    let packet = vec![0x11u8; MAX_PAYLOAD];
    let wire = encode(&packet);
    let overhead = wire.len() - MAX_MESSAGE;
    let pct = overhead as f64 * 100.0 / MAX_MESSAGE as f64;
    println!("B12: worst case {MAX_MESSAGE} B message: overhead {overhead} B = {pct:.2} %");
    assert_eq!(wire.len(), MAX_ENCODED_FRAME);
    assert!(pct <= 2.0);
}

fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn fuzz_replay() {
    let mut corpus: Vec<Vec<u8>> = [
        "frame_handshake",
        "frame_zeros",
        "frame_long_run",
        "msg_hello",
        "msg_push_items",
        "msg_ack",
        "msg_error",
        "err_msg_unknown_variant",
    ]
    .iter()
    .map(|n| vector(n))
    .collect();
    // Messages wrapped in frames, concatenated with garbage.
    let mut stream = Vec::new();
    for n in ["msg_hello", "msg_push_items", "msg_ack", "msg_error"] {
        stream.extend(encode(&vector(n)));
        stream.extend([0x42, 0x17]);
    }
    corpus.push(stream);
    let mut seed = 7u64;
    for len in 0..400 {
        let v: Vec<u8> = (0..len)
            .map(|_| {
                let x = xorshift(&mut seed) as u8;
                if x < 40 { 0 } else { x }
            })
            .collect();
        corpus.push(v);
    }
    for input in &corpus {
        link::fuzz(input);
    }
}
