//! BLE link: MTU-aware chunking and reassembly through the GATT **test double** (there is no
//! BLE adapter here), plus the stream link over a real pty pair.

use toile_host::link::ble::test_double::GattTestDouble;
use toile_host::link::ble::{BleLink, GattTransport};
use toile_host::link::{Link, StreamLink};
use toile_proto::link::MAX_PAYLOAD;

fn payloads() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![vec![1], vec![0; 300], (0..=255).collect()];
    // Pseudo-random contents and sizes up to the maximum, zeros included (COBS must cope).
    let mut x = 0x1234_5678_u32;
    for len in [19, 20, 21, 182, 244, 1_000, MAX_PAYLOAD] {
        v.push(
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    if x.is_multiple_of(7) { 0 } else { x as u8 }
                })
                .collect(),
        );
    }
    v
}

#[tokio::test]
async fn ble_chunks_fit_the_mtu_and_reassemble() {
    for mtu in [23, 185, 247] {
        let (a, b) = GattTestDouble::pair(mtu);
        let mut a = BleLink::new(a);
        let mut b = BleLink::new(b);
        for p in payloads() {
            a.send(&p).await.unwrap();
            assert_eq!(b.recv().await.unwrap(), p, "mtu {mtu}, len {}", p.len());
            // And back.
            b.send(&p).await.unwrap();
            assert_eq!(a.recv().await.unwrap(), p);
        }
        let max = a.gatt().max_chunk();
        assert_eq!(max, mtu - 3);
        assert!(a.gatt().written.iter().all(|&n| n >= 1 && n <= max));
        // The largest payload needed many chunks.
        assert!(a.gatt().written.len() > MAX_PAYLOAD / max);
        assert_eq!(b.stats().bad_frames, 0);
    }
}

#[tokio::test]
async fn ble_refuses_oversized_writes_and_survives_garbage() {
    let (mut raw, b) = GattTestDouble::pair(23);
    assert!(
        raw.write(&[1; 21]).await.is_err(),
        "21 > 23 - 3 must be refused"
    );
    let mut b = BleLink::new(b);
    // Garbage, then a good frame: the decoder resynchronises at the delimiter.
    raw.write(&[0x55; 20]).await.unwrap();
    raw.write(&[0x00]).await.unwrap();
    let mut good = vec![0u8; 64];
    let n = toile_proto::link::encode_frame(b"hello", &mut good).unwrap();
    for c in good[..n].chunks(3) {
        raw.write(c).await.unwrap();
    }
    assert_eq!(b.recv().await.unwrap(), b"hello");
    assert_eq!(b.stats().bad_frames, 1);
}

#[tokio::test]
async fn stream_link_over_a_real_pty_pair() {
    let (master, slave) = tokio_serial::SerialStream::pair().unwrap();
    let mut a = StreamLink::new(master);
    let mut b = StreamLink::new(slave);
    for p in payloads() {
        a.send(&p).await.unwrap();
        assert_eq!(b.recv().await.unwrap(), p);
    }
    assert!(a.send(&vec![0; MAX_PAYLOAD + 1]).await.is_err());
    let s = a.stats();
    assert_eq!(s.frames_tx, payloads().len() as u64);
    assert!(s.wire_tx > s.payload_tx);
}
