//! An emulated node behind a real pty: garbage, a peer that skips the handshake and an
//! unpaired host are dropped or refused, change nothing, and the paired host is still served.

mod common;

use common::{TestNode, node, serve};
use toile_host::link::noise::{NoiseError, NoiseLink, StaticKey};
use toile_host::link::{Link, StreamLink};
use toile_host::node::items::{dev_profile, signed_items};
use toile_host::node::{FileStore, NodeEvent};
use toile_host::sync::{MemSyncStore, SyncOptions, sync};
use toile_proto::engine::Store;
use toile_proto::link::{Envelope, Message, PacketType};

#[tokio::test]
async fn hostile_peers_change_nothing_and_the_paired_host_is_served() {
    let (host, intruder, nkey) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n: TestNode = node(&nkey, Some(host.public), FileStore::in_memory(64));
    let (mut master, slave) = tokio_serial::SerialStream::pair().unwrap();
    let mut events = Vec::new();
    let items = signed_items(3, 40, &dev_profile());
    let path = tokio_serial::SerialPort::name(&slave).unwrap();
    // The paired host's port, opened by path like `toile sync --port` does (and kept open so
    // the pty lives on while the hostile peers come and go).
    let paired_link = toile_host::link::open_serial(std::path::Path::new(&path)).unwrap();
    let peers = async {
        let mut link = StreamLink::new(slave);
        // 1. Garbage, with delimiters so frames end.
        use tokio::io::AsyncWriteExt;
        let mut raw = link.into_inner();
        let mut x = 7u32;
        let junk: Vec<u8> = (0..3_000)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if i % 97 == 0 { 0 } else { (x >> 16) as u8 }
            })
            .collect();
        raw.write_all(&junk).await.unwrap();
        raw.write_all(&[0]).await.unwrap();
        link = StreamLink::new(raw);
        // 2. Skipping the handshake: a plaintext "PushItems" in a Transport packet.
        let mut buf = vec![0u8; 4_096];
        let mut b = toile_proto::link::Batch::builder(&mut buf);
        for (k, it) in &items {
            b.try_push(*k, it);
        }
        let batch = toile_proto::link::Batch::from_entries(b.finish().unwrap());
        let env = Envelope {
            seq: 1,
            message: Message::PushItems { batch },
        };
        let mut plain = vec![PacketType::Transport.to_u8(); 4_097];
        let len = env.encode(&mut plain[1..]).unwrap();
        link.send(&plain[..=len]).await.unwrap();
        // 3. An unpaired host: a clear refusal.
        let err = {
            let mut s = NoiseLink::connect(link, &intruder, |_| Ok(()))
                .await
                .unwrap();
            s.send(Message::StatusRequest).await.unwrap();
            let e = s.recv().await.unwrap_err();
            assert!(matches!(e, NoiseError::Refused(_)), "{e:?}");
            e
        };
        assert!(err.to_string().contains("paired with host"));
        // 4. The paired host syncs.
        let mut s = NoiseLink::connect(paired_link, &host, |_| Ok(()))
            .await
            .unwrap();
        let mut store = MemSyncStore::default();
        for (k, it) in &items {
            store.enqueue(*k, it.clone());
        }
        sync(&mut s, &mut store, SyncOptions::default(), &mut |_| {})
            .await
            .unwrap()
    };
    let summary = tokio::select! {
        s = peers => s,
        () = serve(&mut n, &mut master, &mut events) => panic!("node stopped"),
    };
    assert_eq!(summary.outcomes.get("stored"), Some(&40));
    assert_eq!(n.engine().store().len(), 40, "only the paired host's items");
    let c = n.counters();
    assert!(c.bad_frames >= 10, "{c:?}");
    assert!(c.plaintext_dropped >= 1, "{c:?}");
    assert_eq!(c.refused_hosts, 1);
    assert!(events.iter().any(
        |e| matches!(e, NodeEvent::Dropped { reason } if reason.contains("handshake skipped"))
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, NodeEvent::Refused { .. }))
    );
}
