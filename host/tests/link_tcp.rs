//! The TCP transport: a sync with the node service over a real loopback socket.

mod common;

use common::{node, serve};
use toile_host::link::connect_tcp;
use toile_host::link::noise::{NoiseLink, StaticKey};
use toile_host::node::FileStore;
use toile_host::node::items::{dev_profile, signed_items};
use toile_host::sync::{MemSyncStore, SyncOptions, sync};

#[tokio::test]
async fn sync_over_tcp() {
    let (host, nkey) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n = node(&nkey, Some(host.public), FileStore::in_memory(64));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut bridge = MemSyncStore::default();
    for (k, b) in signed_items(21, 30, &dev_profile()) {
        bridge.enqueue(k, b);
    }
    let client = async {
        let link = connect_tcp(&addr).await.unwrap();
        let mut s = NoiseLink::connect(link, &host, |_| Ok(())).await.unwrap();
        sync(&mut s, &mut bridge, SyncOptions::default(), &mut |_| {})
            .await
            .unwrap()
    };
    let server = async {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut events = Vec::new();
        serve(&mut n, &mut sock, &mut events).await;
    };
    let summary = tokio::select! {
        s = client => s,
        () = server => panic!("node stopped"),
    };
    assert_eq!(summary.outcomes.get("stored"), Some(&30));
    assert_eq!(summary.node_digest, summary.bridge_digest);
    // Unreachable address: a clear error.
    let err = connect_tcp("127.0.0.1:1").await.unwrap_err();
    assert!(
        err.to_string().contains("toile node --emulate --tcp"),
        "{err}"
    );
}
