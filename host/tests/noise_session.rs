//! Noise XX sessions: pinning on both sides, clear refusals, the rekey rule, the pin store.

mod common;

use common::{node, serve};
use toile_host::link::StreamLink;
use toile_host::link::noise::{
    FilePinStore, Handshake, NoiseError, NoiseLink, PinStore, StaticKey, fingerprint,
    require_pinned,
};
use toile_host::node::{FileStore, NodeEvent};
use toile_host::sync::host_hello;
use toile_proto::link::{Envelope, Message, Role};

#[tokio::test]
async fn pinned_session_answers_hello() {
    let (host, nkey) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n = node(&nkey, Some(host.public), FileStore::in_memory(16));
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut events = Vec::new();
    let client = async {
        let pinned = nkey.public;
        let mut s = NoiseLink::connect(StreamLink::new(a), &host, |k| {
            assert_eq!(*k, pinned);
            Ok(())
        })
        .await
        .unwrap();
        s.send(host_hello()).await.unwrap();
        let plain = s.recv().await.unwrap();
        let env = Envelope::decode(&plain).unwrap();
        assert!(matches!(env.message, Message::Hello(h) if h.role == Role::Node));
    };
    tokio::select! {
        () = client => {}
        () = serve(&mut n, &mut b, &mut events) => panic!("node stopped"),
    }
    assert!(events.contains(&NodeEvent::Session {
        host: fingerprint(&host.public)
    }));
}

#[tokio::test]
async fn node_refuses_an_unpaired_host_with_a_clear_error() {
    let (paired, other, nkey) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n = node(&nkey, Some(paired.public), FileStore::in_memory(16));
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut events = Vec::new();
    let client = async {
        let mut s = NoiseLink::connect(StreamLink::new(a), &other, |_| Ok(()))
            .await
            .unwrap();
        s.send(host_hello()).await.unwrap();
        s.recv().await.unwrap_err()
    };
    let err = tokio::select! {
        e = client => e,
        () = serve(&mut n, &mut b, &mut events) => panic!("node stopped"),
    };
    let NoiseError::Refused(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains(&fingerprint(&paired.public)), "{msg}");
    assert!(err.to_string().contains("refused"));
    assert!(events.contains(&NodeEvent::Refused {
        host: fingerprint(&other.public)
    }));
    assert!(!n.has_session());
}

#[tokio::test]
async fn host_refuses_an_unknown_node_and_tells_it() {
    let (host, nkey, expected) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n = node(&nkey, Some(host.public), FileStore::in_memory(16));
    let dir = tempfile::tempdir().unwrap();
    let mut pins = FilePinStore::new(dir.path()).unwrap();
    pins.pin("node", &expected.public).unwrap();
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut events = Vec::new();
    let client = async {
        let trust = require_pinned(&pins, "node").unwrap();
        // The refusal drops the link: the node reads the error, then end of stream.
        NoiseLink::connect(StreamLink::new(a), &host, trust)
            .await
            .unwrap_err()
    };
    let (err, ()) = tokio::join!(client, serve(&mut n, &mut b, &mut events));
    assert!(
        matches!(&err, NoiseError::UnknownKey { presented, .. } if *presented == fingerprint(&nkey.public)),
        "{err:?}"
    );
    assert!(err.to_string().contains("toile pair"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, NodeEvent::RefusedByHost { .. })),
        "{events:?}"
    );
}

#[test]
fn rekey_rule_applies_on_both_sides() {
    let (i, r) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut a = Handshake::initiator(&i).unwrap();
    let mut b = Handshake::responder(&r).unwrap();
    let m1 = a.write_packet().unwrap();
    b.read(&m1[1..]).unwrap();
    let m2 = b.write_packet().unwrap();
    a.read(&m2[1..]).unwrap();
    let m3 = a.write_packet().unwrap();
    b.read(&m3[1..]).unwrap();
    assert_eq!(a.remote_static(), Some(r.public));
    assert_eq!(b.remote_static(), Some(i.public));
    let (mut a, mut b) = (a.into_transport().unwrap(), b.into_transport().unwrap());
    a.set_rekey_interval(4);
    b.set_rekey_interval(4);
    for n in 0..20u8 {
        let p = a.seal_packet(&[n; 10]).unwrap();
        assert_eq!(b.open(&p[1..]).unwrap(), [n; 10]);
        let p = b.seal_packet(&[n; 3]).unwrap();
        assert_eq!(a.open(&p[1..]).unwrap(), [n; 3]);
    }
    // 20 messages each way, a rekey every 4: 5 per direction, 10 per side.
    assert_eq!(a.rekeys(), 10);
    assert_eq!(b.rekeys(), 10);
    // A side that rekeys on another schedule can no longer decrypt: the rekey really
    // changed the keys.
    b.set_rekey_interval(1_000);
    for n in 0..4u8 {
        let p = a.seal_packet(&[n]).unwrap();
        b.open(&p[1..]).unwrap();
    }
    let p = a.seal_packet(&[9]).unwrap();
    assert!(matches!(b.open(&p[1..]), Err(NoiseError::Decrypt(_))));
}

#[test]
fn file_pin_store_round_trips_and_requires_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = FilePinStore::new(dir.path()).unwrap();
    assert!(s.static_key().unwrap().is_none());
    let k = s.load_or_create_static().unwrap();
    let again = FilePinStore::new(dir.path())
        .unwrap()
        .static_key()
        .unwrap()
        .unwrap();
    assert_eq!(again.public, k.public);
    assert_eq!(*again.private, *k.private);
    assert!(matches!(
        require_pinned(&s, "roof").err(),
        Some(NoiseError::NotPaired { .. })
    ));
    s.pin("roof", &[7; 32]).unwrap();
    s.pin("market", &[8; 32]).unwrap();
    s.pin("roof", &[9; 32]).unwrap();
    let s2 = FilePinStore::new(dir.path()).unwrap();
    assert_eq!(s2.pinned("roof").unwrap(), Some([9; 32]));
    assert_eq!(s2.pinned("market").unwrap(), Some([8; 32]));
    assert_eq!(s2.pinned("cellar").unwrap(), None);
}
