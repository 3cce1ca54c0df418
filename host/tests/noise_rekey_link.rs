//! Rekeying on a real link: a whole sync over a loopback TCP socket with both sides rekeying
//! every 8 messages (the production rule is every 2^16; the rule is the same code).

mod common;

use common::{node_with_rekey, serve};
use toile_host::link::connect_tcp;
use toile_host::link::noise::{NoiseLink, StaticKey};
use toile_host::node::FileStore;
use toile_host::node::items::{dev_profile, signed_items};
use toile_host::sync::{MemSyncStore, SyncOptions, sync};

const INTERVAL: u64 = 8;

#[tokio::test]
async fn a_sync_survives_many_rekeys() {
    let (host, nkey) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n = node_with_rekey(
        &nkey,
        Some(host.public),
        FileStore::in_memory(1_024),
        INTERVAL,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut bridge = MemSyncStore::default();
    for (k, b) in signed_items(33, 600, &dev_profile()) {
        bridge.enqueue(k, b);
    }
    let client = async {
        let link = connect_tcp(&addr).await.unwrap();
        let mut s = NoiseLink::connect(link, &host, |_| Ok(())).await.unwrap();
        s.transport_mut().set_rekey_interval(INTERVAL);
        let options = SyncOptions::default();
        let first = sync(&mut s, &mut bridge, options, &mut |_| {})
            .await
            .unwrap();
        // A second sync on the same session: still in step after the rekeys.
        let second = sync(&mut s, &mut bridge, options, &mut |_| {})
            .await
            .unwrap();
        (first, second, s.transport_mut().rekeys())
    };
    let server = async {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut events = Vec::new();
        serve(&mut n, &mut sock, &mut events).await;
    };
    // Sides out of step would not decrypt each other and the node drops what it cannot
    // authenticate: bound the wait so that shows up as a failure, not a hang.
    let bounded = tokio::time::timeout(std::time::Duration::from_secs(30), client);
    let (first, second, rekeys) = tokio::select! {
        r = bounded => r.expect("sync stalled: rekey schedules out of step?"),
        () = server => panic!("node stopped"),
    };
    assert_eq!(first.outcomes.get("stored"), Some(&600));
    assert_eq!(first.node_digest, first.bridge_digest);
    assert_eq!(second.node_digest, second.bridge_digest);
    assert_eq!(second.pushed, 0);
    assert!(rekeys >= 4, "the host rekeyed {rekeys} times");
}
