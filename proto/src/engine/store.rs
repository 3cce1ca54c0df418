//! The [`Store`] trait (where items survive a power cut) and [`MemStore`], its in-memory
//! implementation.

use heapless::Vec;

use crate::item::{ItemId, ItemKind, ShortId};

use super::Priority;

/// What the store keeps about an item besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Content id ([`crate::item::Item::id`]).
    pub id: ItemId,
    pub kind: ItemKind,
    pub priority: Priority,
    /// Instant (µs) after which the item may be deleted.
    pub expires: u64,
    /// Hop limit the item is forwarded with.
    pub hop_limit: u8,
    /// A downhill neighbour acknowledged custody: this node no longer pushes the item (it
    /// still keeps it until a receipt or expiry). On a bridge: the chain has it, and the
    /// bridge keeps it until its own signed receipt names it.
    pub handed_over: bool,
}

/// Why the store refused an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// No free entry.
    Full,
    /// The item is larger than an entry.
    TooLarge,
}

/// Durable item storage.
///
/// Implementations MUST guarantee:
/// - **Durability**: when `insert`, `remove` or `mark_handed_over` returns, the change
///   survives a power cut (flash: written and synced).
/// - **Ordering**: `at(0..len())` lists items oldest insertion first; the order of the
///   remaining items is unchanged by `remove`.
/// - **Idempotence**: inserting an id already present succeeds and changes nothing; removing
///   an absent id returns `false`; marking twice is the same as once.
/// - **Integrity**: `at` and `find` return exactly the bytes inserted.
pub trait Store {
    /// Maximum number of items.
    fn capacity(&self) -> usize;
    /// Items held.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Insert an item (idempotent by `record.id`).
    fn insert(&mut self, record: &Record, bytes: &[u8]) -> Result<(), StoreError>;
    /// Delete an item; `false` if it was absent.
    fn remove(&mut self, id: &ItemId) -> bool;
    /// Set `handed_over`; `false` if the item is absent.
    fn mark_handed_over(&mut self, id: &ItemId) -> bool;
    /// Clear `handed_over` (the neighbour handed the item back: this node has custody
    /// again); `false` if the item is absent. Durable like `mark_handed_over`. The default
    /// re-inserts the item (remove, then insert), which moves it to the newest position.
    fn take_back(&mut self, id: &ItemId) -> bool {
        let mut copy = [0u8; crate::radio::MAX_FRAME_LEN];
        let Some((mut record, len)) = self.find(id).and_then(|(r, b)| {
            let dst = copy.get_mut(..b.len())?;
            dst.copy_from_slice(b);
            Some((r, b.len()))
        }) else {
            return false;
        };
        record.handed_over = false;
        self.remove(id);
        copy.get(..len)
            .is_some_and(|b| self.insert(&record, b).is_ok())
    }
    /// The `index`-th item, oldest first.
    fn at(&self, index: usize) -> Option<(Record, &[u8])>;
    /// The item with content id `id`.
    fn find(&self, id: &ItemId) -> Option<(Record, &[u8])> {
        (0..self.len())
            .filter_map(|i| self.at(i))
            .find(|(r, _)| r.id == *id)
    }
    /// The item whose content id starts with `short` (the engine's RAM index keeps only
    /// short ids; a flash store should answer this from its own index).
    fn find_short(&self, short: ShortId) -> Option<(Record, &[u8])> {
        (0..self.len())
            .filter_map(|i| self.at(i))
            .find(|(r, _)| r.id.short() == short)
    }
}

/// RAM store of `CAP` items of at most `BYTES` bytes each (a power cut loses it: use it for
/// tests, the simulator's model of flash, and nodes without flash).
#[derive(Debug, Clone, Default)]
pub struct MemStore<const CAP: usize, const BYTES: usize> {
    entries: Vec<(Record, Vec<u8, BYTES>), CAP>,
}

impl<const CAP: usize, const BYTES: usize> MemStore<CAP, BYTES> {
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<const CAP: usize, const BYTES: usize> MemStore<CAP, BYTES> {
    fn set_handed_over(&mut self, id: &ItemId, value: bool) -> bool {
        match self.entries.iter_mut().find(|(r, _)| r.id == *id) {
            Some((r, _)) => {
                r.handed_over = value;
                true
            }
            None => false,
        }
    }
}

impl<const CAP: usize, const BYTES: usize> Store for MemStore<CAP, BYTES> {
    fn capacity(&self) -> usize {
        CAP
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn insert(&mut self, record: &Record, bytes: &[u8]) -> Result<(), StoreError> {
        if self.entries.iter().any(|(r, _)| r.id == record.id) {
            return Ok(());
        }
        let data = Vec::from_slice(bytes).map_err(|_| StoreError::TooLarge)?;
        self.entries
            .push((*record, data))
            .map_err(|_| StoreError::Full)
    }

    fn remove(&mut self, id: &ItemId) -> bool {
        match self.entries.iter().position(|(r, _)| r.id == *id) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    fn mark_handed_over(&mut self, id: &ItemId) -> bool {
        self.set_handed_over(id, true)
    }

    fn take_back(&mut self, id: &ItemId) -> bool {
        self.set_handed_over(id, false)
    }

    fn at(&self, index: usize) -> Option<(Record, &[u8])> {
        self.entries.get(index).map(|(r, b)| (*r, b.as_slice()))
    }
}
