//! The outbox: items this bridge created, and what became of them.
//!
//! `queued` (signed, stored) → `pushed` (a node acknowledged it during a sync) → `on_chain` or
//! `refused` (a receipt said so). A state never goes back.

use rusqlite::{OptionalExtension, params};
use toile_proto::item::{Item, ItemId, ItemKind};

use super::{SourceRow, Store, StoreError, Timestamp};

/// Where an outbox item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Queued,
    Pushed,
    OnChain,
    Refused,
}

impl OutboxState {
    pub const ALL: [Self; 4] = [Self::Queued, Self::Pushed, Self::OnChain, Self::Refused];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Pushed => "pushed",
            Self::OnChain => "on_chain",
            Self::Refused => "refused",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or(StoreError::Corrupt("outbox.state"))
    }
}

/// A final outcome heard for an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Included in a block.
    OnChain,
    /// Refused by the chain or a node, with its reason (e.g. `Stale`, `2015 source already consumed`).
    Refused(String),
}

/// What a [`Store::queue`] closure returns: the signed item and its bookkeeping.
#[derive(Debug, Clone)]
pub struct NewOutbox {
    pub kind: ItemKind,
    pub bytes: Vec<u8>,
    /// The chain snapshot (profile) name it was built for.
    pub chain: String,
    /// The signer.
    pub account: [u8; 32],
    /// The v2s nonce it uses, if any (must come from [`Queue::next_nonce`]).
    pub nonce: Option<u32>,
    /// Short kind of action: `pay`, `certify`.
    pub what: String,
    /// The user's intent (destination, amount, …), kept so the item can be re-signed after a
    /// runtime upgrade.
    pub intent: serde_json::Value,
    /// v1 sources this item consumes (from [`Queue::unspent_sources`]).
    pub spends: Vec<SourceRow>,
}

/// What was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub seq: i64,
    pub item_id: ItemId,
}

/// Reads available to a [`Store::queue`] closure, inside its write transaction.
pub struct Queue<'t> {
    tx: &'t rusqlite::Transaction<'t>,
    path: &'t str,
}

impl Queue<'_> {
    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.to_owned(),
            source,
        }
    }

    /// The next v2s nonce of `account` on `chain`: `max(snapshot nonce, last queued + 1)`.
    pub fn next_nonce(&self, chain: &str, account: &[u8; 32]) -> Result<u32, StoreError> {
        let snap: Option<i64> = self
            .tx
            .query_row(
                "SELECT nonce FROM accounts WHERE profile = ?1 AND account = ?2",
                params![chain, &account[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let last: Option<i64> = self
            .tx
            .query_row(
                "SELECT max(nonce) FROM outbox WHERE chain = ?1 AND account = ?2",
                params![chain, &account[..]],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let next = snap.unwrap_or(0).max(last.map_or(0, |n| n + 1));
        u32::try_from(next).map_err(|_| StoreError::Corrupt("accounts.nonce"))
    }

    /// Unspent v1 sources of `owner` on `chain`, in a fixed order: value descending, then
    /// kind, identifier, position.
    pub fn unspent_sources(
        &self,
        chain: &str,
        owner: &[u8; 32],
    ) -> Result<Vec<SourceRow>, StoreError> {
        let mut st = self
            .tx
            .prepare_cached(
                "SELECT kind, identifier, pos, amount, base FROM v1_sources
                 WHERE profile = ?1 AND owner = ?2 AND spent_by IS NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![chain, &owner[..]], |r| {
                Ok(SourceRow {
                    owner: *owner,
                    kind: r.get(0)?,
                    identifier: r.get(1)?,
                    pos: r.get(2)?,
                    amount: r.get(3)?,
                    base: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        let mut v = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        v.sort_by(|a, b| {
            b.value()
                .cmp(&a.value())
                .then_with(|| (&a.kind, &a.identifier, a.pos).cmp(&(&b.kind, &b.identifier, b.pos)))
        });
        Ok(v)
    }
}

/// One outbox row with its item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxEntry {
    pub seq: i64,
    #[serde(serialize_with = "hex_id")]
    pub item_id: ItemId,
    #[serde(skip)]
    pub kind: ItemKind,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub chain: String,
    #[serde(serialize_with = "hex_key")]
    pub account: [u8; 32],
    pub nonce: Option<u32>,
    pub what: String,
    pub intent: serde_json::Value,
    pub state: OutboxState,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub detail: Option<String>,
}

fn hex_id<S: serde::Serializer>(id: &ItemId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(id.0))
}

fn hex_key<S: serde::Serializer>(k: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(k))
}

impl Store {
    /// Build and queue one item atomically. `build` runs inside a `BEGIN IMMEDIATE`
    /// transaction (other writers wait), reads the next nonce or the unspent sources through
    /// [`Queue`], and returns the signed item; the item, its outbox row and the spending of
    /// its sources are committed together, or nothing is.
    pub fn queue<E: From<StoreError>>(
        &mut self,
        now: Timestamp,
        build: impl FnOnce(&Queue<'_>) -> Result<NewOutbox, E>,
    ) -> Result<Queued, E> {
        let path = self.path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.immediate()?;
        let new = build(&Queue {
            tx: &tx,
            path: &path,
        })?;
        let queued = insert_outbox(&tx, &new, now).map_err(|e| e.with_path(&path))?;
        tx.commit().map_err(sql)?;
        Ok(queued)
    }

    /// Queue items that are already signed (generated test and demo data), in one
    /// transaction. Items already in the outbox are skipped; returns how many were queued.
    pub fn queue_signed(
        &mut self,
        items: &[NewOutbox],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let path = self.path.display().to_string();
        let tx = self.immediate()?;
        let mut n = 0;
        for new in items {
            match insert_outbox(&tx, new, now).map_err(|e| e.with_path(&path)) {
                Ok(_) => n += 1,
                Err(StoreError::AlreadyQueued(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit()
            .map_err(|source| StoreError::Sqlite { path, source })?;
        Ok(n)
    }

    /// Outbox entries (all, or in one state), oldest first.
    pub fn outbox(&self, state: Option<OutboxState>) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT o.seq, o.item_id, i.kind, i.bytes, o.chain, o.account, o.nonce, o.what,
                        o.intent, o.state, o.created, o.updated, o.detail
                 FROM outbox o JOIN items i ON i.id = o.item_id
                 WHERE ?1 IS NULL OR o.state = ?1 ORDER BY o.seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([state.map(OutboxState::as_str)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, [u8; 32]>(1)?,
                    r.get::<_, u8>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, [u8; 32]>(5)?,
                    r.get::<_, Option<u32>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, i64>(10)?,
                    r.get::<_, i64>(11)?,
                    r.get::<_, Option<String>>(12)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, kind, bytes, chain, account, nonce, what, intent, state, c, u, detail) =
                row.map_err(|e| self.err(e))?;
            out.push(OutboxEntry {
                seq,
                item_id: ItemId(id),
                kind: ItemKind::from_u8(kind),
                bytes,
                chain,
                account,
                nonce,
                what,
                intent: serde_json::from_str(&intent)
                    .map_err(|_| StoreError::Corrupt("outbox.intent"))?,
                state: OutboxState::parse(&state)?,
                created: Timestamp(c),
                updated: Timestamp(u),
                detail,
            });
        }
        Ok(out)
    }

    /// How many outbox entries are in each state (every state listed, in order).
    pub fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>, StoreError> {
        OutboxState::ALL
            .into_iter()
            .map(|s| {
                self.conn
                    .query_row(
                        "SELECT count(*) FROM outbox WHERE state = ?1",
                        [s.as_str()],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|n| (s, u64::try_from(n).unwrap_or(0)))
                    .map_err(|e| self.err(e))
            })
            .collect()
    }

    /// A node acknowledged these items: `queued` → `pushed`, in one transaction. Returns
    /// how many changed (items already further along are left alone).
    pub fn mark_pushed(&mut self, ids: &[ItemId], now: Timestamp) -> Result<usize, StoreError> {
        self.record_push(ids, &[], "", now)
    }

    /// Record an outcome heard from `source` (a node name, `chain`): a receipt row, and the
    /// outbox state when the item is ours. Idempotent.
    pub fn record_outcome(
        &mut self,
        id: &ItemId,
        outcome: &Outcome,
        source: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.record_push(&[], &[(*id, outcome.clone())], source, now)
            .map(drop)
    }

    /// What a push to node `source` did, in one transaction: `pushed` items go `queued` →
    /// `pushed`; each of `outcomes` is recorded as by [`Store::record_outcome`]. Returns how
    /// many items went to `pushed`.
    pub fn record_push(
        &mut self,
        pushed: &[ItemId],
        outcomes: &[(ItemId, Outcome)],
        source: &str,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let path = self.path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut n = 0;
        {
            let mut st = tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'pushed', updated = ?2
                     WHERE item_id = ?1 AND state = 'queued'",
                )
                .map_err(sql)?;
            for id in pushed {
                n += st.execute(params![&id.0[..], now.0]).map_err(sql)?;
            }
        }
        for (id, outcome) in outcomes {
            outcome_in(&tx, id, outcome, source, now).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(n)
    }
}

/// [`Store::record_outcome`] inside `tx`.
fn outcome_in(
    tx: &rusqlite::Transaction<'_>,
    id: &ItemId,
    outcome: &Outcome,
    source: &str,
    now: Timestamp,
) -> Result<(), rusqlite::Error> {
    let (state, detail) = match outcome {
        Outcome::OnChain => (OutboxState::OnChain, None),
        Outcome::Refused(why) => (OutboxState::Refused, Some(why.as_str())),
    };
    let known = tx
        .query_row("SELECT 1 FROM items WHERE id = ?1", [&id.0[..]], |_| Ok(()))
        .optional()?
        .is_some();
    if !known {
        // A receipt for an item we never saw: nothing to attach it to.
        return Ok(());
    }
    tx.execute(
        "INSERT OR IGNORE INTO receipts (item_id, outcome, detail, source, at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![&id.0[..], state.as_str(), detail, source, now.0],
    )?;
    tx.execute(
        "UPDATE items SET status = ?2 WHERE id = ?1",
        params![&id.0[..], state.as_str()],
    )?;
    tx.execute(
        "UPDATE outbox SET state = ?2, detail = ?3, updated = ?4
         WHERE item_id = ?1 AND state IN ('queued', 'pushed')",
        params![&id.0[..], state.as_str(), detail, now.0],
    )?;
    Ok(())
}

/// Insert one signed item and its outbox row (and spend its v1 sources) inside `tx`.
/// SQLite errors come back with an empty path: the caller adds it ([`StoreError::with_path`]).
fn insert_outbox(
    tx: &rusqlite::Transaction<'_>,
    new: &NewOutbox,
    now: Timestamp,
) -> Result<Queued, StoreError> {
    let sql = |source| StoreError::Sqlite {
        path: String::new(),
        source,
    };
    let id = Item::parse(new.kind, &new.bytes)
        .map_err(|e| StoreError::InvalidItem(e.to_string()))?
        .id();
    let existing: Option<i64> = tx
        .query_row(
            "SELECT seq FROM outbox WHERE item_id = ?1",
            [&id.0[..]],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    if let Some(seq) = existing {
        return Err(StoreError::AlreadyQueued(seq));
    }
    // The item may already be known from the mesh: then it is only added to the outbox.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO items (id, kind, bytes, origin, first_seen)
         VALUES (?1, ?2, ?3, 'local', ?4)",
    )
    .and_then(|mut st| st.execute(params![&id.0[..], new.kind.to_u8(), new.bytes, now.0]))
    .map_err(sql)?;
    tx.prepare_cached(
        "INSERT INTO outbox (item_id, chain, account, nonce, what, intent, state, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            &id.0[..],
            new.chain,
            &new.account[..],
            new.nonce,
            new.what,
            new.intent.to_string(),
            now.0
        ])
    })
    .map_err(sql)?;
    let seq = tx.last_insert_rowid();
    for s in &new.spends {
        let n = tx
            .execute(
                "UPDATE v1_sources SET spent_by = ?1
                 WHERE profile = ?2 AND kind = ?3 AND identifier = ?4 AND pos = ?5
                   AND spent_by IS NULL",
                params![&id.0[..], new.chain, s.kind, s.identifier, s.pos],
            )
            .map_err(sql)?;
        if n != 1 {
            return Err(StoreError::SourceSpent(format!(
                "{}:{}:{}",
                s.kind, s.identifier, s.pos
            )));
        }
    }
    Ok(Queued { seq, item_id: id })
}
