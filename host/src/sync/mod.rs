//! # Sync: the bridge reconciles its item store with a node over a fast link
//!
//! One sync, over an established [`NoiseLink`] (message flow, host → node / node → host):
//! 1. `Hello` / `Hello`; `StatusRequest` / `Status`.
//! 2. **Push the outbox** in batches (`PushItems`, up to [`SyncOptions::window`] in flight) /
//!    one `PushOutcome` per batch with an [`ItemOutcome`] per item. Each answer is committed
//!    at once ([`SyncStore::mark_delivered`]): delivered items leave the outbox.
//! 3. **List the node's ids** in chunks (`ListIds` / `Ids`, 500 short ids each).
//! 4. **Pull** what the bridge lacks, [`SyncOptions::pull_chunk`] ids per `PullRequest` /
//!    `PushItems`… then `Ack`. Each chunk is inserted in one transaction
//!    ([`SyncStore::insert_items`], idempotent by content id).
//! 5. `StatusRequest` / `Status` again; [`SyncStore::record_sync`] keeps the summary.
//!
//! **Unplugging mid-sync** loses nothing and duplicates nothing: every step commits before
//! the next request, inserts are idempotent by content id, and a node that already holds a
//! pushed item answers `Duplicate` (which also counts as delivered). The next sync starts
//! over and only moves what is still missing.

mod sqlite;

pub use sqlite::{PeerSync, refusal};

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde::Serialize;
use toile_proto::crypto::blake2_256;
use toile_proto::item::{Item, ItemId, ItemKind, ShortId};
use toile_proto::link::{
    Batch, Envelope, ErrorCode, Hello, IdList, ItemOutcome, MAX_MESSAGE, Message, PROTOCOL_VERSION,
    PullRequest, Role, Status,
};

use crate::link::Link;
use crate::link::noise::{NoiseError, NoiseLink};
use crate::node::IDS_PER_MESSAGE;

/// An item waiting to be pushed to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: ItemId,
    pub kind: ItemKind,
    pub bytes: Vec<u8>,
}

/// Where the bridge keeps items for a sync.
///
/// Implementations MUST guarantee: `insert_items` and `mark_delivered` are each one
/// transaction (all or nothing, durable when they return); `insert_items` is idempotent by
/// content id ([`Item::id`]) and returns how many items were new; `item_ids` and `outbox`
/// reflect every committed change.
pub trait SyncStore {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Content ids of every item held (outbox included).
    fn item_ids(&self) -> Result<Vec<ItemId>, Self::Error>;
    /// Insert items (kind, bytes); items that do not parse are skipped.
    fn insert_items(&mut self, items: &[(ItemKind, Vec<u8>)]) -> Result<usize, Self::Error>;
    /// Items not yet delivered, oldest first.
    fn outbox(&self) -> Result<Vec<OutboxItem>, Self::Error>;
    /// Record each pushed item's outcome; delivered ones ([`ItemOutcome::delivered`]) leave
    /// the outbox.
    fn mark_delivered(&mut self, outcomes: &[(ItemId, ItemOutcome)]) -> Result<(), Self::Error>;
    /// Keep the summary of a finished sync (with the node's status snapshot).
    fn record_sync(&mut self, summary: &SyncSummary) -> Result<(), Self::Error>;
}

/// Tuning of a sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// `PushItems` messages in flight.
    pub window: usize,
    /// Ids per `PullRequest`.
    pub pull_chunk: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            window: 8,
            pull_chunk: 256,
        }
    }
}

/// Where a sync is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Pushing { done: usize, total: usize },
    Listing { done: usize, total: usize },
    Pulling { done: usize, total: usize },
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncSummary {
    /// Outbox items pushed, and what became of them.
    pub pushed: usize,
    pub outcomes: BTreeMap<&'static str, usize>,
    /// Items pulled that were new to the bridge.
    pub pulled: usize,
    /// Items the bridge was missing when the sync listed the node.
    pub missing: usize,
    pub node_items: usize,
    pub bridge_items: usize,
    /// Digest of each side's id set (equal digests: equal sets).
    pub node_digest: String,
    pub bridge_digest: String,
    pub elapsed_ms: u64,
    /// Link bytes both ways, framing and encryption included.
    pub wire_bytes: u64,
    /// The node's status at the end of the sync.
    pub node_status: Option<Status>,
}

/// Why a sync stopped. Everything committed before stays committed; run it again.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Noise(#[from] NoiseError),
    #[error("bridge store: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
    #[error("the node answered {code:?}: {message}")]
    Node { code: ErrorCode, message: String },
    #[error("protocol error: {0} (are both sides the same Toile version?)")]
    Protocol(String),
}

/// Digest of a set of ids: BLAKE2b-256 of the sorted short ids, first 8 bytes in hex.
pub fn set_digest(ids: impl IntoIterator<Item = ShortId>) -> String {
    let mut v: Vec<u64> = ids.into_iter().map(|s| s.0).collect();
    v.sort_unstable();
    v.dedup();
    let bytes: Vec<u8> = v.iter().flat_map(|s| s.to_le_bytes()).collect();
    hex::encode(blake2_256(&bytes).get(..8).unwrap_or_default())
}

/// The `Hello` a bridge opens every session with.
pub fn host_hello() -> Message<'static> {
    Message::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        role: Role::Host,
        node_addr: 0,
        max_message: MAX_MESSAGE as u32,
    })
}

/// An item record as an [`OutboxItem`].
fn outbox_item((id, kind, bytes): &(ItemId, ItemKind, Vec<u8>)) -> OutboxItem {
    OutboxItem {
        id: *id,
        kind: *kind,
        bytes: bytes.clone(),
    }
}

/// Content id of an item, if it parses.
pub fn item_id(kind: ItemKind, bytes: &[u8]) -> Option<ItemId> {
    Item::parse(kind, bytes).ok().map(|i| i.id())
}

fn store_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> SyncError {
    SyncError::Store(Box::new(e))
}

/// Run one sync (see the [module doc](self)).
pub async fn sync<L: Link, S: SyncStore>(
    link: &mut NoiseLink<L>,
    store: &mut S,
    options: SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncSummary, SyncError> {
    let started = Instant::now();
    let wire0 = link.stats();
    let mut summary = SyncSummary::default();

    // 1. Hello.
    link.send(host_hello()).await?;
    expect(link, |m| matches!(m, Message::Hello(_)).then_some(())).await?;

    // 2. Push the outbox.
    push_outbox(link, store, options, &mut summary, progress).await?;

    // 3. List the node's ids.
    let mut node_ids: Vec<ShortId> = Vec::new();
    loop {
        let from = u32::try_from(node_ids.len()).unwrap_or(u32::MAX);
        link.send(Message::ListIds {
            from,
            max: IDS_PER_MESSAGE,
        })
        .await?;
        let (total, chunk) = expect(link, |m| match m {
            Message::Ids { total, ids, .. } => {
                Some((total as usize, ids.iter().collect::<Vec<ShortId>>()))
            }
            _ => None,
        })
        .await?;
        let chunk: Vec<ShortId> = chunk;
        let empty = chunk.is_empty();
        node_ids.extend(chunk);
        progress(Progress::Listing {
            done: node_ids.len(),
            total,
        });
        if empty || node_ids.len() >= total {
            break;
        }
    }

    // 4. Pull what the bridge lacks.
    let have: HashSet<ShortId> = store
        .item_ids()
        .map_err(store_err)?
        .iter()
        .map(ItemId::short)
        .collect();
    let mut seen = HashSet::new();
    let missing: Vec<ShortId> = node_ids
        .iter()
        .copied()
        .filter(|s| !have.contains(s) && seen.insert(*s))
        .collect();
    summary.missing = missing.len();
    let mut done = 0;
    for chunk in missing.chunks(options.pull_chunk.max(1)) {
        let mut buf = vec![0u8; chunk.len() * 8];
        let want = IdList::encode(chunk, &mut buf)
            .map_err(|e| SyncError::Protocol(format!("id list: {e:?}")))?;
        let req = link
            .send(Message::PullRequest(PullRequest {
                after_seq: 0,
                max_items: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
                want,
            }))
            .await?;
        let mut items: Vec<(ItemKind, Vec<u8>)> = Vec::with_capacity(chunk.len());
        loop {
            let plain = link.recv().await?;
            let env = decode(&plain)?;
            match env.message {
                Message::PushItems { batch } => {
                    items.extend(batch.iter().map(|(k, b)| (k, b.to_vec())));
                }
                Message::Ack { seq } if seq == req => break,
                Message::Error { code, message, .. } => {
                    return Err(SyncError::Node {
                        code,
                        message: message.to_owned(),
                    });
                }
                _ => {}
            }
        }
        summary.pulled += store.insert_items(&items).map_err(store_err)?;
        done += chunk.len();
        progress(Progress::Pulling {
            done,
            total: missing.len(),
        });
    }

    // 5. Final status and summary.
    link.send(Message::StatusRequest).await?;
    let status = expect(link, |m| match m {
        Message::Status(s) => Some(s),
        _ => None,
    })
    .await?;
    let bridge_ids = store.item_ids().map_err(store_err)?;
    summary.node_items = node_ids.iter().collect::<HashSet<_>>().len();
    summary.bridge_items = bridge_ids.len();
    summary.node_digest = set_digest(node_ids.iter().copied());
    summary.bridge_digest = set_digest(bridge_ids.iter().map(ItemId::short));
    summary.node_status = Some(status);
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let w = link.stats();
    summary.wire_bytes = (w.wire_tx + w.wire_rx).saturating_sub(wire0.wire_tx + wire0.wire_rx);
    store.record_sync(&summary).map_err(store_err)?;
    Ok(summary)
}

/// Push the outbox, `options.window` batches in flight; commit each outcome as it arrives.
async fn push_outbox<L: Link, S: SyncStore>(
    link: &mut NoiseLink<L>,
    store: &mut S,
    options: SyncOptions,
    summary: &mut SyncSummary,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SyncError> {
    let outbox = store.outbox().map_err(store_err)?;
    let batches = batches(&outbox);
    let total = outbox.len();
    let mut next = 0;
    let mut in_flight: std::collections::VecDeque<(u32, usize)> = Default::default();
    let mut done = 0;
    while next < batches.len() || !in_flight.is_empty() {
        while next < batches.len() && in_flight.len() < options.window.max(1) {
            let Some((bytes, _)) = batches.get(next) else {
                break;
            };
            let batch = Batch::new_checked(bytes)
                .map_err(|e| SyncError::Protocol(format!("batch: {e:?}")))?;
            let seq = link.send(Message::PushItems { batch }).await?;
            in_flight.push_back((seq, next));
            next += 1;
        }
        let plain = link.recv().await?;
        let env = decode(&plain)?;
        match env.message {
            Message::PushOutcome { seq, outcomes } => {
                let Some(pos) = in_flight.iter().position(|(s, _)| *s == seq) else {
                    continue;
                };
                let Some((_, b)) = in_flight.remove(pos) else {
                    continue;
                };
                let ids = batches
                    .get(b)
                    .map(|(_, ids)| ids.as_slice())
                    .unwrap_or_default();
                if outcomes.len() != ids.len() {
                    return Err(SyncError::Protocol(format!(
                        "{} outcomes for a batch of {} items",
                        outcomes.len(),
                        ids.len()
                    )));
                }
                let marks: Vec<(ItemId, ItemOutcome)> = ids
                    .iter()
                    .zip(outcomes)
                    .map(|(id, o)| (*id, ItemOutcome::from_u8(*o)))
                    .collect();
                for (_, o) in &marks {
                    *summary.outcomes.entry(o.as_str()).or_default() += 1;
                }
                store.mark_delivered(&marks).map_err(store_err)?;
                summary.pushed += marks.len();
                done += marks.len();
                progress(Progress::Pushing { done, total });
            }
            Message::Error { code, message, .. } => {
                return Err(SyncError::Node {
                    code,
                    message: message.to_owned(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Outbox items packed into batches that fit a message: (entries bytes, ids in order).
fn batches(outbox: &[OutboxItem]) -> Vec<(Vec<u8>, Vec<ItemId>)> {
    // Room for the envelope around the batch (seq, tag, length prefix).
    const ROOM: usize = MAX_MESSAGE - 16;
    let mut out = Vec::new();
    let mut rest = outbox;
    while !rest.is_empty() {
        let mut buf = vec![0u8; ROOM];
        let mut b = Batch::builder(&mut buf);
        let mut ids = Vec::new();
        let mut taken = 0;
        for item in rest {
            if !b.try_push(item.kind, &item.bytes) {
                break;
            }
            ids.push(item.id);
            taken += 1;
        }
        // An item too large for any batch is skipped (it stays in the outbox, reported).
        let len = b.len();
        let taken = taken.max(1);
        if !ids.is_empty() {
            buf.truncate(len);
            out.push((buf, ids));
        }
        rest = rest.get(taken..).unwrap_or_default();
    }
    out
}

fn decode(plain: &[u8]) -> Result<Envelope<'_>, SyncError> {
    Envelope::decode(plain).map_err(|e| SyncError::Protocol(format!("undecodable message: {e:?}")))
}

/// Receive until `pick` accepts a message; an `Error` from the node ends the sync.
async fn expect<L: Link, T>(
    link: &mut NoiseLink<L>,
    mut pick: impl FnMut(Message<'_>) -> Option<T>,
) -> Result<T, SyncError> {
    loop {
        let plain = link.recv().await?;
        let env = decode(&plain)?;
        if let Message::Error { code, message, .. } = env.message {
            return Err(SyncError::Node {
                code,
                message: message.to_owned(),
            });
        }
        if let Some(t) = pick(env.message) {
            return Ok(t);
        }
    }
}

/// In-memory [`SyncStore`] for tests (a crash loses it).
#[derive(Debug, Default, Clone)]
pub struct MemSyncStore {
    items: Vec<(ItemId, ItemKind, Vec<u8>)>,
    index: HashSet<ItemId>,
    outbox: Vec<ItemId>,
    pub outcomes: Vec<(ItemId, ItemOutcome)>,
    pub syncs: Vec<SyncSummary>,
}

impl MemSyncStore {
    /// Queue an item for the next sync (what `toile pay` does).
    pub fn enqueue(&mut self, kind: ItemKind, bytes: Vec<u8>) -> Option<ItemId> {
        let id = item_id(kind, &bytes)?;
        if self.index.insert(id) {
            self.items.push((id, kind, bytes));
            self.outbox.push(id);
        }
        Some(id)
    }

    pub fn items(&self) -> impl Iterator<Item = (ItemId, ItemKind, &[u8])> {
        self.items.iter().map(|(i, k, b)| (*i, *k, b.as_slice()))
    }
}

impl SyncStore for MemSyncStore {
    type Error = std::convert::Infallible;

    fn item_ids(&self) -> Result<Vec<ItemId>, Self::Error> {
        Ok(self.items.iter().map(|(i, _, _)| *i).collect())
    }

    fn insert_items(&mut self, items: &[(ItemKind, Vec<u8>)]) -> Result<usize, Self::Error> {
        let mut new = 0;
        for (k, b) in items {
            if let Some(id) = item_id(*k, b)
                && self.index.insert(id)
            {
                self.items.push((id, *k, b.clone()));
                new += 1;
            }
        }
        Ok(new)
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, Self::Error> {
        Ok(self
            .outbox
            .iter()
            .filter_map(|id| self.items.iter().find(|(i, _, _)| i == id))
            .map(outbox_item)
            .collect())
    }

    fn mark_delivered(&mut self, outcomes: &[(ItemId, ItemOutcome)]) -> Result<(), Self::Error> {
        for (id, o) in outcomes {
            if o.delivered() {
                self.outbox.retain(|x| x != id);
            }
        }
        self.outcomes.extend_from_slice(outcomes);
        Ok(())
    }

    fn record_sync(&mut self, summary: &SyncSummary) -> Result<(), Self::Error> {
        self.syncs.push(summary.clone());
        Ok(())
    }
}
