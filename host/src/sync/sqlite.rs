//! The bridge's [`SyncStore`] and [`PinStore`]: the SQLite [`Store`] (`toile.db` under
//! `--data DIR`), the same file `toile pay`, `toile certify` and `toile status` use.
//!
//! Push outcomes move the outbox: delivered items (`stored`, `duplicate`) go `queued →
//! pushed`; items the node can never accept (`bad-signature`, `malformed`, `too-large`,
//! `not-member`) go to `refused` with the reason; `store-full` and `quota` leave them
//! `queued` for the next sync. Every call is one SQLite transaction.

use toile_proto::item::{ItemId, ItemKind};
use toile_proto::link::ItemOutcome;

use super::{OutboxItem, SyncStore, SyncSummary};
use crate::link::noise::{PinError, PinStore, StaticKey};
use crate::store::{self, OutboxState, Outcome, Store, StoreError, SyncRecord, Timestamp};

/// A sync of the bridge's [`Store`] with the node pinned as `peer` (the origin of pulled
/// items, the source of receipts and the peer of the sync log).
#[derive(Debug)]
pub struct PeerSync<'a> {
    pub store: &'a mut Store,
    pub peer: &'a str,
}

/// Why a node refused an item for good, as kept in the outbox and shown by `toile status`.
pub fn refusal(o: ItemOutcome) -> Option<String> {
    let why = match o {
        ItemOutcome::BadSignature => {
            "the signature does not verify for the node's chain: the node runs another chain \
             profile than the snapshot this item was signed for (`toile node --chain`, `toile chain import`)"
        }
        ItemOutcome::Malformed => "the node could not parse it",
        ItemOutcome::TooLarge => "longer than the mesh carries (768 bytes)",
        ItemOutcome::NotMember => "the signer is not in the node's member filter",
        _ => return None,
    };
    Some(format!("{}: {why}", o.as_str()))
}

impl SyncStore for PeerSync<'_> {
    type Error = StoreError;

    fn item_ids(&self) -> Result<Vec<ItemId>, StoreError> {
        self.store.item_ids()
    }

    fn insert_items(&mut self, items: &[(ItemKind, Vec<u8>)]) -> Result<usize, StoreError> {
        let report = self.store.insert_items(
            items.iter().map(|(k, b)| (*k, b.as_slice())),
            self.peer,
            Timestamp::now(),
        )?;
        Ok(report.inserted)
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self
            .store
            .outbox(Some(OutboxState::Queued))?
            .into_iter()
            .map(|e| OutboxItem {
                id: e.item_id,
                kind: e.kind,
                bytes: e.bytes,
            })
            .collect())
    }

    fn mark_delivered(&mut self, outcomes: &[(ItemId, ItemOutcome)]) -> Result<(), StoreError> {
        let pushed: Vec<ItemId> = outcomes
            .iter()
            .filter(|(_, o)| o.delivered())
            .map(|(id, _)| *id)
            .collect();
        let refused: Vec<(ItemId, Outcome)> = outcomes
            .iter()
            .filter_map(|(id, o)| refusal(*o).map(|why| (*id, Outcome::Refused(why))))
            .collect();
        self.store
            .record_push(&pushed, &refused, self.peer, Timestamp::now())
            .map(drop)
    }

    fn record_sync(&mut self, summary: &SyncSummary) -> Result<(), StoreError> {
        let count = |k: ItemOutcome| summary.outcomes.get(k.as_str()).copied().unwrap_or(0) as u64;
        self.store.record_sync(&SyncRecord {
            at: Timestamp::now(),
            peer: self.peer.to_owned(),
            pushed: summary.pushed as u64,
            pulled: summary.pulled as u64,
            already: count(ItemOutcome::Duplicate),
            complete: true,
            node_status: summary
                .node_status
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok()),
        })
    }
}

impl PinStore for Store {
    fn static_key(&self) -> Result<Option<StaticKey>, PinError> {
        Ok(self
            .own_static_key()?
            .and_then(|k| StaticKey::from_parts(&k.secret[..], &k.public)))
    }

    fn set_static_key(&mut self, key: &StaticKey) -> Result<(), PinError> {
        let k = store::StaticKey {
            secret: key.private.clone(),
            public: key.public,
        };
        self.init_own_static_key(&k, Timestamp::now())?;
        Ok(())
    }

    fn pinned(&self, peer: &str) -> Result<Option<[u8; 32]>, PinError> {
        Ok(self.pinned_peer(peer)?)
    }

    /// Pairing again replaces the key pinned under `peer` (the user compared fingerprints).
    fn pin(&mut self, peer: &str, key: &[u8; 32]) -> Result<(), PinError> {
        Ok(self.repin_peer(peer, key, Timestamp::now())?)
    }
}
