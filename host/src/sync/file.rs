//! [`FileSyncStore`]: the bridge's items, outbox and sync history in one append-only log
//! (`bridge.log` under `--data DIR`), until the SQLite store replaces it.
//!
//! Records (framing of [`crate::node::store::next_record`]): op 1 an item
//! (`kind outbox? bytes…`), op 2 a push outcome (`id[32] outcome`), op 3 a sync summary
//! (JSON). Each [`SyncStore`] call appends its records with one write and one fsync, so it
//! is one transaction; a torn tail is dropped at load.
// TODO(lead, at merge): the SQLite store implements `SyncStore`; `toile sync` then uses it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use toile_proto::item::{ItemId, ItemKind};
use toile_proto::link::ItemOutcome;

use super::{OutboxItem, SyncStore, SyncSummary, item_id};
use crate::node::store::{next_record, open_log, push_record};

const OP_ITEM: u8 = 1;
const OP_OUTCOME: u8 = 2;
const OP_SYNC: u8 = 3;

/// Why the bridge's file store failed.
#[derive(Debug, thiserror::Error)]
#[error("bridge store {path}: {source} (check --data DIR: free space and permissions)")]
pub struct FileSyncStoreError {
    path: PathBuf,
    source: std::io::Error,
}

/// See the [module doc](self).
#[derive(Debug)]
pub struct FileSyncStore {
    path: PathBuf,
    file: File,
    items: Vec<(ItemId, ItemKind, Vec<u8>)>,
    index: HashMap<ItemId, usize>,
    outbox: Vec<ItemId>,
    delivered: HashSet<ItemId>,
    /// Item records in the log (equal to the number of items unless something was written
    /// twice: tests check it).
    pub item_records: usize,
    /// Summaries of past syncs (JSON), oldest first.
    pub syncs: Vec<String>,
}

impl FileSyncStore {
    /// Open (or create) `dir/bridge.log`.
    pub fn open(dir: &Path) -> Result<Self, FileSyncStoreError> {
        let path = dir.join("bridge.log");
        let err = |source| FileSyncStoreError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let (file, log) = open_log(&path).map_err(err)?;
        let mut s = Self {
            path: path.clone(),
            file,
            items: Vec::new(),
            index: HashMap::new(),
            outbox: Vec::new(),
            delivered: HashSet::new(),
            item_records: 0,
            syncs: Vec::new(),
        };
        let mut at = 0;
        while let Some((op, body, next)) = next_record(&log, at) {
            s.apply(op, body);
            at = next;
        }
        s.outbox.retain(|id| !s.delivered.contains(id));
        Ok(s)
    }

    fn apply(&mut self, op: u8, body: &[u8]) {
        match op {
            OP_ITEM => {
                let (Some(&kind), Some(&outbox)) = (body.first(), body.get(1)) else {
                    return;
                };
                let bytes = body.get(2..).unwrap_or_default();
                self.item_records += 1;
                self.add(ItemKind::from_u8(kind), bytes, outbox != 0);
            }
            OP_OUTCOME => {
                let id = body.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok());
                if let (Some(id), Some(&o)) = (id, body.get(32))
                    && ItemOutcome::from_u8(o).delivered()
                {
                    self.delivered.insert(ItemId(id));
                }
            }
            OP_SYNC => self.syncs.push(String::from_utf8_lossy(body).into_owned()),
            _ => {}
        }
    }

    /// Add to memory; `Some(id)` if new.
    fn add(&mut self, kind: ItemKind, bytes: &[u8], outbox: bool) -> Option<ItemId> {
        let id = item_id(kind, bytes)?;
        if self.index.contains_key(&id) {
            return None;
        }
        self.index.insert(id, self.items.len());
        self.items.push((id, kind, bytes.to_vec()));
        if outbox {
            self.outbox.push(id);
        }
        Some(id)
    }

    fn commit(&mut self, records: &[u8]) -> Result<(), FileSyncStoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let err = |source| FileSyncStoreError {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(records).map_err(err)?;
        self.file.sync_data().map_err(err)
    }

    fn insert(
        &mut self,
        items: &[(ItemKind, Vec<u8>)],
        outbox: bool,
    ) -> Result<usize, FileSyncStoreError> {
        let mut log = Vec::new();
        let mut new = 0;
        for (k, b) in items {
            if self.add(*k, b, outbox).is_some() {
                push_record(&mut log, OP_ITEM, &[&[k.to_u8(), u8::from(outbox)], b]);
                self.item_records += 1;
                new += 1;
            }
        }
        self.commit(&log)?;
        Ok(new)
    }

    /// Queue items for the next sync (what `toile pay` does); returns how many were new.
    pub fn enqueue(&mut self, items: &[(ItemKind, Vec<u8>)]) -> Result<usize, FileSyncStoreError> {
        self.insert(items, true)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
}

impl SyncStore for FileSyncStore {
    type Error = FileSyncStoreError;

    fn item_ids(&self) -> Result<Vec<ItemId>, Self::Error> {
        Ok(self.items.iter().map(|(i, _, _)| *i).collect())
    }

    fn insert_items(&mut self, items: &[(ItemKind, Vec<u8>)]) -> Result<usize, Self::Error> {
        self.insert(items, false)
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, Self::Error> {
        Ok(self
            .outbox
            .iter()
            .filter_map(|id| self.index.get(id).and_then(|&i| self.items.get(i)))
            .map(super::outbox_item)
            .collect())
    }

    fn mark_delivered(&mut self, outcomes: &[(ItemId, ItemOutcome)]) -> Result<(), Self::Error> {
        let mut log = Vec::new();
        for (id, o) in outcomes {
            push_record(&mut log, OP_OUTCOME, &[&id.0, &[o.to_u8()]]);
        }
        self.commit(&log)?;
        for (id, o) in outcomes {
            if o.delivered() {
                self.delivered.insert(*id);
            }
        }
        let delivered = &self.delivered;
        self.outbox.retain(|id| !delivered.contains(id));
        Ok(())
    }

    fn record_sync(&mut self, summary: &SyncSummary) -> Result<(), Self::Error> {
        let json = serde_json::to_string(summary).unwrap_or_default();
        let mut log = Vec::new();
        push_record(&mut log, OP_SYNC, &[json.as_bytes()]);
        self.commit(&log)?;
        self.syncs.push(json);
        Ok(())
    }
}
