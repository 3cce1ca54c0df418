//! The bridge's persistent store: one SQLite file, `toile.db`, in the data directory
//! (`--data DIR`, default `$XDG_DATA_HOME/toile`, i.e. `~/.local/share/toile`).
//!
//! ## Guarantees
//! - **Durability**: WAL journal with `synchronous = FULL`. In WAL mode `NORMAL` already
//!   survives a killed process (a commit is in the WAL in the OS page cache before `COMMIT`
//!   returns), but it may lose the last commits on power loss; a bridge on a shop PC during a
//!   shutdown must not forget a payment it reported as queued, so every commit is fsynced.
//!   Batch writes are one transaction, so the cost is one fsync per batch.
//! - **Atomicity**: every public method that writes is one transaction. Queueing an item
//!   ([`Store::queue`]) reserves its nonce or spends its v1 sources in the same transaction
//!   that inserts it, under `BEGIN IMMEDIATE`, so two processes never share a nonce or a source.
//! - **Idempotence**: items are keyed by their content id; inserting an item twice is a no-op
//!   reported as `already`.
//! - **Schema**: versioned forward-only migrations ([`migrations`], `PRAGMA user_version`,
//!   applied in one transaction by `rusqlite_migration`). A database written by a newer toile is
//!   refused with [`StoreError::TooNew`], never modified. Foreign keys are enforced.
//!
//! ## Tables (schema version 2)
//! | table | what | key |
//! |---|---|---|
//! | `items` | every item the bridge knows: kind, bytes, origin, first seen, status | content id (32 B) |
//! | `outbox` | items this bridge created: intent, chain, signer, nonce, state `queued → pushed → on_chain / refused` | seq; item id unique; (chain, account, nonce) unique |
//! | `receipts` | outcomes heard for items (from a node or the chain) | (item id, outcome) |
//! | `own_key` | this bridge's Noise static key pair (one row) | — |
//! | `pinned_peers` | peers' Noise static keys pinned at pairing | name |
//! | `sync_log` | one row per sync: time, peer, counts, node status snapshot (JSON) | id |
//! | `chain_profiles` (v2) | imported chain snapshots: v2s profile or v1 currency + blockstamp | name |
//! | `accounts` (v2) | v2s nonces (and balances when known) at snapshot time | (profile, account) |
//! | `identities` (v2) | name → v2s identity index / v1 identity (uid, blockstamp, signature) | (profile, name) |
//! | `v1_sources` (v2) | DUBP sources (D / T) and whether this bridge spent them | (profile, kind, identifier, pos) |

mod chain;
mod outbox;
mod peers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use rusqlite_migration::{M, MigrationDefinitionError, Migrations};
use toile_proto::item::{Item, ItemId, ItemKind};

pub use chain::{
    AccountRow, IdentityRow, ProfileKind, ProfileRow, SnapshotCounts, SnapshotRows, SourceRow,
};
pub use outbox::{NewOutbox, OutboxEntry, OutboxState, Outcome, Queue, Queued};
pub use peers::StaticKey;

/// File name of the store inside the data directory.
pub const DB_FILE: &str = "toile.db";

/// Milliseconds since the Unix epoch. Every write takes the time from its caller, so tests
/// are deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The system clock (for the CLI edge).
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Self(i64::try_from(ms).unwrap_or(i64::MAX))
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source} (pass --data DIR to use another)")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("no data directory: set $XDG_DATA_HOME or $HOME, or pass --data DIR")]
    NoDataDir,
    #[error("store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "store {path} has schema version {found}, newer than this toile knows ({known}): upgrade toile; the file was not modified"
    )]
    TooNew {
        path: String,
        found: usize,
        known: usize,
    },
    #[error("store {path}: schema migration failed: {source}")]
    Migration {
        path: String,
        source: rusqlite_migration::Error,
    },
    #[error("store holds a malformed value in {0}; the file was edited or is corrupt")]
    Corrupt(&'static str),
    #[error("refusing to store an item that does not parse: {0} (a bug in the caller)")]
    InvalidItem(String),
    #[error("this exact item is already in the outbox (#{0}): `toile status` shows it")]
    AlreadyQueued(i64),
    #[error("v1 source {0} was spent by another item meanwhile: run the command again")]
    SourceSpent(String),
    #[error(
        "peer name {0:?} is already pinned to another key: unpin it first if the device really changed"
    )]
    PinConflict(String),
}

impl StoreError {
    /// Fill in the file path of a SQLite error raised by a helper that does not know it.
    fn with_path(self, path: &str) -> Self {
        match self {
            Self::Sqlite { path: p, source } if p.is_empty() => Self::Sqlite {
                path: path.to_owned(),
                source,
            },
            other => other,
        }
    }
}

/// The schema, one forward-only step per version. Never edit a released step; add one.
pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

const MIGRATIONS: &[M<'static>] = &[
    // 1: items, outbox, receipts, keys, sync log.
    M::up(
        "CREATE TABLE items (
            id BLOB PRIMARY KEY CHECK (length(id) = 32),
            kind INTEGER NOT NULL,
            bytes BLOB NOT NULL,
            origin TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'known'
        ) WITHOUT ROWID;
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id BLOB NOT NULL UNIQUE REFERENCES items(id),
            chain TEXT NOT NULL,
            account BLOB NOT NULL CHECK (length(account) = 32),
            nonce INTEGER,
            what TEXT NOT NULL,
            intent TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'pushed', 'on_chain', 'refused')),
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            detail TEXT
        );
        CREATE UNIQUE INDEX outbox_nonce ON outbox(chain, account, nonce) WHERE nonce IS NOT NULL;
        CREATE INDEX outbox_state ON outbox(state);
        CREATE TABLE receipts (
            item_id BLOB NOT NULL REFERENCES items(id),
            outcome TEXT NOT NULL,
            detail TEXT,
            source TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (item_id, outcome)
        ) WITHOUT ROWID;
        CREATE TABLE own_key (
            one INTEGER PRIMARY KEY CHECK (one = 1),
            secret BLOB NOT NULL CHECK (length(secret) = 32),
            public BLOB NOT NULL CHECK (length(public) = 32),
            created INTEGER NOT NULL
        );
        CREATE TABLE pinned_peers (
            name TEXT PRIMARY KEY,
            public BLOB NOT NULL CHECK (length(public) = 32),
            pinned_at INTEGER NOT NULL
        );
        CREATE TABLE sync_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            peer TEXT NOT NULL,
            pushed INTEGER NOT NULL,
            pulled INTEGER NOT NULL,
            already INTEGER NOT NULL,
            complete INTEGER NOT NULL,
            node_status TEXT
        );",
    ),
    // 2: chain snapshots, for offline pay and certify.
    M::up(
        "CREATE TABLE chain_profiles (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('v2s', 'v1')),
            genesis_hash BLOB CHECK (genesis_hash IS NULL OR length(genesis_hash) = 32),
            spec_version INTEGER,
            tx_version INTEGER,
            ss58_prefix INTEGER,
            currency TEXT,
            blockstamp TEXT,
            taken_at TEXT,
            imported_at INTEGER NOT NULL
        );
        CREATE TABLE accounts (
            profile TEXT NOT NULL REFERENCES chain_profiles(name) ON DELETE CASCADE,
            account BLOB NOT NULL CHECK (length(account) = 32),
            nonce INTEGER NOT NULL,
            balance INTEGER,
            PRIMARY KEY (profile, account)
        ) WITHOUT ROWID;
        CREATE TABLE identities (
            profile TEXT NOT NULL REFERENCES chain_profiles(name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            account BLOB NOT NULL CHECK (length(account) = 32),
            idty_index INTEGER,
            v1_blockstamp TEXT,
            v1_signature TEXT,
            PRIMARY KEY (profile, name)
        ) WITHOUT ROWID;
        CREATE INDEX identities_account ON identities(profile, account);
        CREATE TABLE v1_sources (
            profile TEXT NOT NULL REFERENCES chain_profiles(name) ON DELETE CASCADE,
            owner BLOB NOT NULL CHECK (length(owner) = 32),
            kind TEXT NOT NULL CHECK (kind IN ('D', 'T')),
            identifier TEXT NOT NULL,
            pos INTEGER NOT NULL,
            amount INTEGER NOT NULL,
            base INTEGER NOT NULL,
            spent_by BLOB REFERENCES items(id),
            PRIMARY KEY (profile, kind, identifier, pos)
        ) WITHOUT ROWID;
        CREATE INDEX v1_sources_owner ON v1_sources(profile, owner);",
    ),
];

/// What [`Store::insert_items`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct InsertReport {
    /// New items stored.
    pub inserted: usize,
    /// Items already present (no change).
    pub already: usize,
    /// Items whose bytes do not parse as their kind (not stored).
    pub invalid: usize,
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub id: ItemId,
    pub kind: ItemKind,
    pub bytes: Vec<u8>,
    pub origin: String,
    pub first_seen: Timestamp,
}

/// One sync, as recorded by the sync command.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncRecord {
    pub at: Timestamp,
    /// The peer's pinned name.
    pub peer: String,
    pub pushed: u64,
    pub pulled: u64,
    pub already: u64,
    /// False when the link dropped before the sync finished.
    pub complete: bool,
    /// The node's status message as reported during the sync (JSON), if any.
    pub node_status: Option<serde_json::Value>,
}

/// Size and content counts, for `toile status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Main file plus WAL, in bytes.
    pub file_bytes: u64,
    pub items: u64,
    pub item_bytes: u64,
    pub pinned_peers: u64,
    pub chain_profiles: u64,
    pub schema_version: usize,
}

/// The store. One per process; SQLite serializes writers across processes.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// The data directory: `$XDG_DATA_HOME/toile`, else `$HOME/.local/share/toile`.
    /// (Two environment variables: not worth a crate.)
    pub fn default_dir() -> Result<PathBuf, StoreError> {
        let nonempty = |k| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        nonempty("XDG_DATA_HOME")
            .or_else(|| nonempty("HOME").map(|h| h.join(".local/share")))
            .map(|d| d.join("toile"))
            .ok_or(StoreError::NoDataDir)
    }

    /// Open (creating the directory and the file if needed) `DIR/toile.db`.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        Self::open(&dir.join(DB_FILE))
    }

    /// Open a store file and bring its schema to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_at_version(path, SCHEMA_VERSION)
    }

    /// Open a store file and migrate it to `version` only (tests of upgrades).
    #[doc(hidden)]
    pub fn open_at_version(path: &Path, version: usize) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sql)?;
        // Wait for another process's write transaction instead of failing at once.
        conn.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
        let found: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map_err(sql)?
            .try_into()
            .map_err(|_| StoreError::Corrupt("user_version"))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: name,
                found,
                known: SCHEMA_VERSION,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        let migrate = if version == SCHEMA_VERSION {
            migrations().to_latest(&mut conn)
        } else {
            migrations().to_version(&mut conn, version)
        };
        migrate.map_err(|e| match e {
            rusqlite_migration::Error::MigrationDefinition(
                MigrationDefinitionError::DatabaseTooFarAhead,
            ) => StoreError::TooNew {
                path: name.clone(),
                found,
                known: SCHEMA_VERSION,
            },
            source => StoreError::Migration {
                path: name.clone(),
                source,
            },
        })?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        usize::try_from(v).map_err(|_| StoreError::Corrupt("user_version"))
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Insert items idempotently, in one transaction. Each item's bytes are checked as its
    /// kind and its content id computed; malformed items are counted, not stored.
    pub fn insert_items<'a>(
        &mut self,
        items: impl IntoIterator<Item = (ItemKind, &'a [u8])>,
        origin: &str,
        now: Timestamp,
    ) -> Result<InsertReport, StoreError> {
        let path = self.path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut report = InsertReport::default();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO items (id, kind, bytes, origin, first_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            for (kind, bytes) in items {
                let Ok(item) = Item::parse(kind, bytes) else {
                    report.invalid += 1;
                    continue;
                };
                let n = ins
                    .execute(params![
                        &item.id().0[..],
                        kind.to_u8(),
                        bytes,
                        origin,
                        now.0
                    ])
                    .map_err(sql)?;
                if n == 1 {
                    report.inserted += 1;
                } else {
                    report.already += 1;
                }
            }
        }
        tx.commit().map_err(sql)?;
        Ok(report)
    }

    /// Every item's content id, in ascending byte order.
    pub fn item_ids(&self) -> Result<Vec<ItemId>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM items ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| r.get::<_, [u8; 32]>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map(ItemId).map_err(|e| self.err(e)))
            .collect()
    }

    /// One item by content id.
    pub fn item(&self, id: &ItemId) -> Result<Option<StoredItem>, StoreError> {
        self.conn
            .query_row(
                "SELECT kind, bytes, origin, first_seen FROM items WHERE id = ?1",
                [&id.0[..]],
                |r| {
                    Ok(StoredItem {
                        id: *id,
                        kind: ItemKind::from_u8(r.get(0)?),
                        bytes: r.get(1)?,
                        origin: r.get(2)?,
                        first_seen: Timestamp(r.get(3)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Record one sync and the node status it saw.
    pub fn record_sync(&mut self, rec: &SyncRecord) -> Result<(), StoreError> {
        let status = rec.node_status.as_ref().map(|v| v.to_string());
        self.conn
            .execute(
                "INSERT INTO sync_log (at, peer, pushed, pulled, already, complete, node_status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    rec.at.0,
                    rec.peer,
                    rec.pushed,
                    rec.pulled,
                    rec.already,
                    rec.complete,
                    status
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The most recent sync, if any.
    pub fn last_sync(&self) -> Result<Option<SyncRecord>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT at, peer, pushed, pulled, already, complete, node_status
                 FROM sync_log ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        SyncRecord {
                            at: Timestamp(r.get(0)?),
                            peer: r.get(1)?,
                            pushed: r.get(2)?,
                            pulled: r.get(3)?,
                            already: r.get(4)?,
                            complete: r.get(5)?,
                            node_status: None,
                        },
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(mut rec, status)| {
            rec.node_status = status
                .map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(|_| StoreError::Corrupt("sync_log.node_status"))?;
            Ok(rec)
        })
        .transpose()
    }

    /// Size and counts.
    pub fn usage(&self) -> Result<Usage, StoreError> {
        let count = |sql: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(|e| self.err(e))
        };
        let file = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        Ok(Usage {
            file_bytes: file(&self.path) + file(Path::new(&wal)),
            items: count("SELECT count(*) FROM items")?,
            item_bytes: count("SELECT coalesce(sum(length(bytes)), 0) FROM items")?,
            pinned_peers: count("SELECT count(*) FROM pinned_peers")?,
            chain_profiles: count("SELECT count(*) FROM chain_profiles")?,
            schema_version: self.schema_version()?,
        })
    }

    /// SQLite's own consistency checks (`integrity_check` and `foreign_key_check`): the list
    /// of problems, empty when the file is sound.
    pub fn check(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut st = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err(e))?;
        for row in st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
        {
            let row = row.map_err(|e| self.err(e))?;
            if row != "ok" {
                problems.push(row);
            }
        }
        let mut st = self
            .conn
            .prepare("PRAGMA foreign_key_check")
            .map_err(|e| self.err(e))?;
        for row in st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
        {
            problems.push(format!(
                "foreign key violation in {}",
                row.map_err(|e| self.err(e))?
            ));
        }
        Ok(problems)
    }

    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so a
    /// read-then-write (next nonce, unspent sources) cannot interleave with another process.
    fn immediate(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        let path = self.path.display().to_string();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Sqlite { path, source })
    }
}
