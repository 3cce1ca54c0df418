//! Shared harness: a real node service behind an in-process byte stream.
#![allow(dead_code)]

use toile_host::link::noise::{REKEY_INTERVAL, StaticKey};
use toile_host::node::items::dev_profile;
use toile_host::node::run::{engine_config, now_us, serve_stream};
use toile_host::node::{FileStore, NodeConfig, NodeEvent, NodeService};

/// Items a test node tracks (small: test threads have small stacks).
pub const TEST_ITEMS: usize = 1_024;
pub type TestNode = NodeService<FileStore, TEST_ITEMS>;

pub fn node(key: &StaticKey, pinned: Option<[u8; 32]>, store: FileStore) -> TestNode {
    node_with_rekey(key, pinned, store, REKEY_INTERVAL)
}

/// [`node`] with another rekey interval (messages per direction).
pub fn node_with_rekey(
    key: &StaticKey,
    pinned: Option<[u8; 32]>,
    store: FileStore,
    rekey_interval: u64,
) -> TestNode {
    NodeService::new(
        NodeConfig {
            engine: engine_config(1, dev_profile()),
            static_key: key.clone(),
            pinned_host: pinned,
            pairing: false,
            name: "test".into(),
            rekey_interval,
        },
        store,
        now_us(),
    )
}

/// Serve `stream` until it closes; collect the node's events.
pub async fn serve<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    node: &mut TestNode,
    stream: &mut T,
    events: &mut Vec<NodeEvent>,
) {
    let mut collect = |n: &mut TestNode| {
        while let Some(e) = n.poll_event() {
            events.push(e);
        }
        Ok(())
    };
    let _ = serve_stream(node, stream, &mut collect).await;
}
