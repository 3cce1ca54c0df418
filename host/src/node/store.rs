//! [`FileStore`]: the emulated node's item store, a host implementation of proto's
//! [`Store`] kept in RAM with an index and persisted as an append-only log.
//!
//! Hand-written rather than SQLite because it mirrors what a board does (append-only records
//! on flash) and needs nothing else. Log records: `op u8 | len u32 LE | body`; op 1 inserts
//! (`id[32] kind priority expires:u64 hop_limit handed_over bytes…`), op 2 removes (`id`), op
//! 3 marks handed over (`id`). Writes are buffered and made durable by
//! [`FileStore::commit`] (write + fsync): the node commits before it answers any message,
//! so everything it acknowledged on the link survives a kill. A torn last record (a kill
//! mid-write) is dropped at load and truncated away.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use toile_proto::engine::{Priority, Record, Store, StoreError};
use toile_proto::item::{ItemId, ItemKind, ShortId};

/// Items the emulated node holds at most.
pub const NODE_ITEMS: usize = 12_000;
/// Largest item the emulated node stores: the engine's largest (items longer than one frame
/// travel in fragments).
pub const NODE_ITEM_BYTES: usize = toile_proto::engine::MAX_ITEM_LEN;

const OP_INSERT: u8 = 1;
const OP_REMOVE: u8 = 2;
const OP_HANDED_OVER: u8 = 3;
const RECORD_HEAD: usize = 32 + 1 + 1 + 8 + 1 + 1;

/// What the node's service needs from its store beyond proto's [`Store`].
pub trait NodeStore: Store {
    /// Make every change so far durable. Takes `&self` because the engine owns the store and
    /// lends it read-only; implementations use interior mutability for the write buffer.
    fn commit(&self) -> std::io::Result<()>;
    /// Bytes of item data held.
    fn used_bytes(&self) -> usize;
}

/// See the [module doc](self).
#[derive(Debug)]
pub struct FileStore {
    items: Vec<(Record, Vec<u8>)>,
    by_id: HashMap<ItemId, usize>,
    by_short: HashMap<ShortId, usize>,
    capacity: usize,
    used: usize,
    file: Option<File>,
    path: Option<PathBuf>,
    pending: RefCell<Vec<u8>>,
    /// Records replayed at load (inserts), for tests that look for duplicates.
    pub loaded_inserts: usize,
}

impl FileStore {
    /// A store that is never persisted (benchmarks, tests).
    pub fn in_memory(capacity: usize) -> Self {
        Self {
            items: Vec::new(),
            by_id: HashMap::new(),
            by_short: HashMap::new(),
            capacity,
            used: 0,
            file: None,
            path: None,
            pending: RefCell::new(Vec::new()),
            loaded_inserts: 0,
        }
    }

    /// Open (or create) the log at `path` and replay it.
    pub fn open(path: &Path, capacity: usize) -> std::io::Result<Self> {
        let (file, log) = open_log(path)?;
        let mut s = Self::in_memory(capacity);
        let mut at = 0;
        while let Some((op, body, next)) = next_record(&log, at) {
            s.apply(op, body);
            at = next;
        }
        s.file = Some(file);
        s.path = Some(path.to_owned());
        Ok(s)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn apply(&mut self, op: u8, body: &[u8]) {
        let id = body.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok());
        let Some(id) = id.map(ItemId) else { return };
        match op {
            OP_INSERT => {
                let Some(head) = body.get(..RECORD_HEAD) else {
                    return;
                };
                let b = |i: usize| head.get(i).copied().unwrap_or(0);
                let mut exp = [0u8; 8];
                exp.copy_from_slice(head.get(34..42).unwrap_or(&[0; 8]));
                let record = Record {
                    id,
                    kind: ItemKind::from_u8(b(32)),
                    priority: priority_from(b(33)),
                    expires: u64::from_le_bytes(exp),
                    hop_limit: b(42),
                    handed_over: b(43) != 0,
                };
                self.loaded_inserts += 1;
                let _ = self.insert_mem(&record, body.get(RECORD_HEAD..).unwrap_or_default());
            }
            OP_REMOVE => {
                self.remove_mem(&id);
            }
            OP_HANDED_OVER => {
                self.mark_mem(&id);
            }
            _ => {}
        }
    }

    fn log(&mut self, op: u8, parts: &[&[u8]]) {
        if self.file.is_none() {
            return;
        }
        push_record(self.pending.get_mut(), op, parts);
    }

    fn insert_mem(&mut self, record: &Record, bytes: &[u8]) -> Result<bool, StoreError> {
        if self.by_id.contains_key(&record.id) {
            return Ok(false);
        }
        if bytes.len() > NODE_ITEM_BYTES {
            return Err(StoreError::TooLarge);
        }
        if self.items.len() >= self.capacity {
            return Err(StoreError::Full);
        }
        let i = self.items.len();
        self.by_id.insert(record.id, i);
        self.by_short.insert(record.id.short(), i);
        self.used += bytes.len();
        self.items.push((*record, bytes.to_vec()));
        Ok(true)
    }

    fn remove_mem(&mut self, id: &ItemId) -> bool {
        let Some(i) = self.by_id.remove(id) else {
            return false;
        };
        self.by_short.remove(&id.short());
        let (_, b) = self.items.remove(i);
        self.used -= b.len();
        // Positions after `i` moved down by one (order is preserved, as Store requires).
        for (j, (r, _)) in self.items.iter().enumerate().skip(i) {
            self.by_id.insert(r.id, j);
            self.by_short.insert(r.id.short(), j);
        }
        true
    }

    fn mark_mem(&mut self, id: &ItemId) -> bool {
        let Some(&i) = self.by_id.get(id) else {
            return false;
        };
        if let Some((r, _)) = self.items.get_mut(i) {
            r.handed_over = true;
        }
        true
    }
}

/// The record at `at` of an append-only log (`op u8 | len u32 LE | body`) and the offset of
/// the next one; `None` at the end or at a torn record. Shared by every host log file.
pub fn next_record(log: &[u8], at: usize) -> Option<(u8, &[u8], usize)> {
    let op = *log.get(at)?;
    let len = u32::from_le_bytes(log.get(at + 1..at + 5)?.try_into().ok()?) as usize;
    let body = log.get(at + 5..at.checked_add(5 + len)?)?;
    Some((op, body, at + 5 + len))
}

/// Append one record made of `parts` to `out` (see [`next_record`]).
pub fn push_record(out: &mut Vec<u8>, op: u8, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    out.push(op);
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// Read a whole log file, truncating a torn tail; returns the file (positioned for appends)
/// and the good bytes.
pub fn open_log(path: &Path) -> std::io::Result<(File, Vec<u8>)> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut log = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut log)?;
    let mut at = 0;
    while let Some((_, _, next)) = next_record(&log, at) {
        at = next;
    }
    if at < log.len() {
        // A torn tail (killed mid-write): drop it so new records follow the last good one.
        file.set_len(at as u64)?;
        file.sync_all()?;
        log.truncate(at);
    }
    Ok((file, log))
}

fn priority_to(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Control => 3,
    }
}

fn priority_from(b: u8) -> Priority {
    match b {
        0 => Priority::Low,
        1 => Priority::Normal,
        2 => Priority::High,
        _ => Priority::Control,
    }
}

impl Store for FileStore {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn insert(&mut self, record: &Record, bytes: &[u8]) -> Result<(), StoreError> {
        if self.insert_mem(record, bytes)? {
            let mut head = [0u8; RECORD_HEAD];
            head[..32].copy_from_slice(&record.id.0);
            head[32] = record.kind.to_u8();
            head[33] = priority_to(record.priority);
            head[34..42].copy_from_slice(&record.expires.to_le_bytes());
            head[42] = record.hop_limit;
            head[43] = u8::from(record.handed_over);
            self.log(OP_INSERT, &[&head, bytes]);
        }
        Ok(())
    }

    fn remove(&mut self, id: &ItemId) -> bool {
        let removed = self.remove_mem(id);
        if removed {
            self.log(OP_REMOVE, &[&id.0]);
        }
        removed
    }

    fn mark_handed_over(&mut self, id: &ItemId) -> bool {
        let marked = self.mark_mem(id);
        if marked {
            self.log(OP_HANDED_OVER, &[&id.0]);
        }
        marked
    }

    fn at(&self, index: usize) -> Option<(Record, &[u8])> {
        self.items.get(index).map(|(r, b)| (*r, b.as_slice()))
    }

    fn find(&self, id: &ItemId) -> Option<(Record, &[u8])> {
        self.by_id.get(id).and_then(|&i| self.at(i))
    }

    fn find_short(&self, short: ShortId) -> Option<(Record, &[u8])> {
        self.by_short.get(&short).and_then(|&i| self.at(i))
    }
}

impl NodeStore for FileStore {
    fn commit(&self) -> std::io::Result<()> {
        let Ok(mut pending) = self.pending.try_borrow_mut() else {
            return Err(std::io::Error::other("store commit re-entered"));
        };
        let Some(mut f) = self.file.as_ref() else {
            pending.clear();
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        f.write_all(&pending)?;
        f.sync_data()?;
        pending.clear();
        Ok(())
    }

    fn used_bytes(&self) -> usize {
        self.used
    }
}
