//! A sync cut mid-way loses nothing and duplicates nothing; the next one completes it.

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use common::{TestNode, node, serve};
use toile_host::link::StreamLink;
use toile_host::link::noise::{NoiseError, NoiseLink, StaticKey};
use toile_host::node::FileStore;
use toile_host::node::items::{dev_profile, signed_items};
use toile_host::node::run::now_us;
use toile_host::sync::{MemSyncStore, SyncError, SyncOptions, SyncStore, set_digest, sync};
use toile_proto::engine::Store;
use toile_proto::item::ItemId;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// A stream that reads end-of-file after `left` bytes: the cable is pulled.
struct Cut {
    inner: DuplexStream,
    left: usize,
}

impl AsyncRead for Cut {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Ok(()));
        }
        let want = buf.remaining().min(self.left);
        let mut tmp = vec![0u8; want];
        let mut rb = ReadBuf::new(&mut tmp);
        match Pin::new(&mut self.inner).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                buf.put_slice(rb.filled());
                self.left -= n;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Cut {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn one_sync(
    n: &mut TestNode,
    host: &StaticKey,
    store: &mut MemSyncStore,
    cut_after: usize,
) -> Result<toile_host::sync::SyncSummary, SyncError> {
    let (a, mut b) = tokio::io::duplex(1 << 16);
    let mut events = Vec::new();
    let client = async {
        let link = StreamLink::new(Cut {
            inner: a,
            left: cut_after,
        });
        let mut s = NoiseLink::connect(link, host, |_| Ok(())).await?;
        sync(&mut s, store, SyncOptions::default(), &mut |_| {}).await
    };
    let r = tokio::select! {
        r = client => r,
        () = serve(n, &mut b, &mut events) => panic!("node stopped"),
    };
    n.handle_disconnect();
    r
}

#[tokio::test]
async fn cut_mid_sync_then_resume() {
    let (host, nkey) = (
        StaticKey::generate().unwrap(),
        StaticKey::generate().unwrap(),
    );
    let mut n = node(&nkey, Some(host.public), FileStore::in_memory(1_000));
    let now = now_us();
    for (k, b) in signed_items(11, 600, &dev_profile()) {
        n.submit(now, k, &b).unwrap();
    }
    let mut bridge = MemSyncStore::default();
    for (k, b) in signed_items(12, 150, &dev_profile()) {
        bridge.enqueue(k, b);
    }
    // Cut while pulling (~90 KB flow node -> host in total), then at other points.
    for cut in [40_000, 2_000, 70_000] {
        let e = one_sync(&mut n, &host, &mut bridge, cut).await.unwrap_err();
        assert!(
            matches!(e, SyncError::Noise(NoiseError::Link(_))),
            "cut at {cut}: {e:?}"
        );
    }
    let s = one_sync(&mut n, &host, &mut bridge, usize::MAX)
        .await
        .unwrap();
    assert_eq!(s.node_items, 750);
    assert_eq!(s.bridge_items, 750);
    assert_eq!(s.node_digest, s.bridge_digest);
    // Exact set equality, no duplicates on either side.
    let bridge_ids: Vec<ItemId> = bridge.item_ids().unwrap();
    let unique: std::collections::HashSet<_> = bridge_ids.iter().collect();
    assert_eq!(unique.len(), bridge_ids.len());
    let node_ids: std::collections::HashSet<ItemId> = (0..n.engine().store().len())
        .map(|i| n.engine().store().at(i).unwrap().0.id)
        .collect();
    assert_eq!(node_ids.len(), n.engine().store().len());
    assert_eq!(node_ids, unique.into_iter().copied().collect());
    assert!(bridge.outbox().unwrap().is_empty());
    assert_eq!(
        set_digest(node_ids.iter().map(ItemId::short)),
        s.bridge_digest
    );
    // A further sync moves nothing.
    let s = one_sync(&mut n, &host, &mut bridge, usize::MAX)
        .await
        .unwrap();
    assert_eq!((s.pushed, s.pulled, s.missing), (0, 0, 0));
}
