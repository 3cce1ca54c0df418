//! The SQLite store on real files: migrations, idempotent inserts, outbox life cycle, nonces,
//! snapshots, pins and the sync log.

use toile_host::store::{
    AccountRow, IdentityRow, NewOutbox, OutboxState, Outcome, ProfileKind, ProfileRow,
    SCHEMA_VERSION, SnapshotRows, SourceRow, Store, StoreError, SyncRecord, Timestamp,
};
use toile_proto::item::ItemKind;
use toile_proto::item::v2s::{Call, ChainProfile, Signer, build_signed};

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn profile() -> ChainProfile {
    ChainProfile {
        genesis_hash: [7; 32],
        spec_version: 1100,
        tx_version: 1,
    }
}

/// `n` distinct valid extrinsics (transfers with nonces `0..n`).
fn extrinsics(n: u32) -> Vec<Vec<u8>> {
    let signer = Signer::ed25519(&[1; 32]);
    (0..n)
        .map(|i| {
            build_signed(
                &Call::TransferKeepAlive {
                    dest: &[2; 32],
                    value: 100,
                },
                &signer,
                i,
                0,
                &profile(),
            )
        })
        .collect()
}

fn v2s_snapshot(account: [u8; 32], nonce: u32) -> SnapshotRows {
    SnapshotRows {
        profile: ProfileRow {
            name: "g1".into(),
            kind: ProfileKind::V2s {
                chain: profile(),
                ss58_prefix: 4450,
            },
            taken_at: None,
            imported_at: T0,
        },
        accounts: vec![AccountRow {
            account,
            nonce,
            balance: None,
        }],
        identities: vec![IdentityRow {
            name: "bob".into(),
            account: [2; 32],
            idty_index: Some(42),
            v1_blockstamp: None,
            v1_signature: None,
        }],
        sources: vec![],
    }
}

#[test]
fn store_fresh_schema_is_latest_and_sound() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_dir(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 2);
    assert!(s.check().unwrap().is_empty());
    toile_host::store::migrations().validate().unwrap();
}

#[test]
fn store_upgrade_from_v1_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toile.db");
    let items = extrinsics(3);
    {
        let mut v1 = Store::open_at_version(&path, 1).unwrap();
        assert_eq!(v1.schema_version().unwrap(), 1);
        let r = v1
            .insert_items(
                items.iter().map(|b| (ItemKind::Extrinsic, &b[..])),
                "node:a",
                T0,
            )
            .unwrap();
        assert_eq!(r.inserted, 3);
        v1.pin_peer("board", &[9; 32], T0).unwrap();
        // A v1 schema has no snapshot tables.
        assert!(v1.profiles().is_err());
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 2);
    assert_eq!(s.item_ids().unwrap().len(), 3);
    assert_eq!(s.pinned_peer("board").unwrap(), Some([9; 32]));
    s.put_snapshot(&v2s_snapshot([1; 32], 0)).unwrap();
    assert_eq!(s.profiles().unwrap().len(), 1);
    assert!(s.check().unwrap().is_empty());
}

#[test]
fn store_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toile.db");
    drop(Store::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                known: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade toile"), "{err}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn store_inserts_are_idempotent_and_check_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_dir(dir.path()).unwrap();
    let items = extrinsics(50);
    let all = || items.iter().map(|b| (ItemKind::Extrinsic, &b[..]));
    let first = s.insert_items(all().take(30), "node:a", T0).unwrap();
    assert_eq!((first.inserted, first.already, first.invalid), (30, 0, 0));
    let garbage = [0xffu8; 10];
    let second = s
        .insert_items(
            all().chain([
                (ItemKind::Extrinsic, &garbage[..]),
                (ItemKind::Unknown(9), &garbage[..]),
            ]),
            "node:b",
            Timestamp(T0.0 + 1),
        )
        .unwrap();
    assert_eq!(
        (second.inserted, second.already, second.invalid),
        (20, 30, 2)
    );
    let ids = s.item_ids().unwrap();
    assert_eq!(ids.len(), 50);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids sorted, distinct");
    // The first sighting wins.
    let one = s.item(&ids[0]).unwrap().unwrap();
    assert!(items.contains(&one.bytes));
    let first_origin = items.iter().position(|b| *b == one.bytes).unwrap() < 30;
    assert_eq!(one.origin == "node:a", first_origin);
}

#[test]
fn store_outbox_life_cycle_and_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_dir(dir.path()).unwrap();
    let signer = Signer::ed25519(&[1; 32]);
    s.put_snapshot(&v2s_snapshot(signer.public(), 4)).unwrap();
    let mut queued = Vec::new();
    for _ in 0..3 {
        let q = s
            .queue(T0, |q| {
                let nonce = q.next_nonce("g1", &signer.public())?;
                Ok::<_, StoreError>(NewOutbox {
                    kind: ItemKind::Extrinsic,
                    bytes: build_signed(
                        &Call::AddCert { receiver: 42 },
                        &signer,
                        nonce,
                        0,
                        &profile(),
                    ),
                    chain: "g1".into(),
                    account: signer.public(),
                    nonce: Some(nonce),
                    what: "certify".into(),
                    intent: serde_json::json!({"identity": "bob"}),
                    spends: vec![],
                })
            })
            .unwrap();
        queued.push(q.item_id);
    }
    let nonces: Vec<_> = s.outbox(None).unwrap().iter().map(|e| e.nonce).collect();
    assert_eq!(
        nonces,
        [Some(4), Some(5), Some(6)],
        "snapshot nonce, then +1"
    );
    // A later snapshot with a higher on-chain nonce wins over the local count.
    s.put_snapshot(&v2s_snapshot(signer.public(), 10)).unwrap();
    let q = s
        .queue(T0, |q| {
            Ok::<_, StoreError>(NewOutbox {
                kind: ItemKind::Extrinsic,
                bytes: extrinsics(1).remove(0),
                chain: "g1".into(),
                account: signer.public(),
                nonce: Some(q.next_nonce("g1", &signer.public())?),
                what: "test".into(),
                intent: serde_json::json!({}),
                spends: vec![],
            })
        })
        .unwrap();
    assert_eq!(s.outbox(None).unwrap()[3].nonce, Some(10));
    assert_eq!(s.outbox(None).unwrap()[3].item_id, q.item_id);

    assert_eq!(s.mark_pushed(&queued[..2], Timestamp(T0.0 + 5)).unwrap(), 2);
    assert_eq!(s.mark_pushed(&queued[..2], Timestamp(T0.0 + 6)).unwrap(), 0);
    s.record_outcome(&queued[0], &Outcome::OnChain, "chain", T0)
        .unwrap();
    s.record_outcome(&queued[1], &Outcome::Refused("Stale".into()), "node:a", T0)
        .unwrap();
    // A late duplicate outcome does not move a final state.
    s.record_outcome(&queued[0], &Outcome::Refused("x".into()), "node:b", T0)
        .unwrap();
    let states: Vec<_> = s.outbox(None).unwrap().iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            OutboxState::OnChain,
            OutboxState::Refused,
            OutboxState::Queued,
            OutboxState::Queued
        ]
    );
    assert_eq!(
        s.outbox(Some(OutboxState::Refused)).unwrap()[0]
            .detail
            .as_deref(),
        Some("Stale")
    );
    let counts = s.outbox_counts().unwrap();
    assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), 4);
    // A failing build leaves nothing behind.
    let before = s.item_ids().unwrap().len();
    let r: Result<_, StoreError> = s.queue(T0, |_| Err(StoreError::Corrupt("test")));
    assert!(r.is_err());
    assert_eq!(s.item_ids().unwrap().len(), before);
    assert!(s.check().unwrap().is_empty());
}

#[test]
fn store_reimport_keeps_spent_sources_spent() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_dir(dir.path()).unwrap();
    let src = |id: &str, amount| SourceRow {
        owner: [1; 32],
        kind: "T".into(),
        identifier: id.repeat(64),
        pos: 0,
        amount,
        base: 0,
    };
    let snap = |sources| SnapshotRows {
        profile: ProfileRow {
            name: "cur".into(),
            kind: ProfileKind::V1 {
                currency: "cur".into(),
                blockstamp: format!("1-{}", "A".repeat(64)),
            },
            taken_at: None,
            imported_at: T0,
        },
        accounts: vec![],
        identities: vec![],
        sources,
    };
    s.put_snapshot(&snap(vec![src("A", 100), src("B", 300)]))
        .unwrap();
    s.queue(T0, |q| {
        let mut spends = q.unspent_sources("cur", &[1; 32])?;
        assert_eq!(spends[0].amount, 300, "largest first");
        spends.truncate(1);
        Ok::<_, StoreError>(NewOutbox {
            kind: ItemKind::Extrinsic,
            bytes: extrinsics(1).remove(0),
            chain: "cur".into(),
            account: [1; 32],
            nonce: None,
            what: "pay".into(),
            intent: serde_json::json!({}),
            spends,
        })
    })
    .unwrap();
    // Re-import of the same (stale) snapshot: B stays spent; a new source C appears.
    s.put_snapshot(&snap(vec![src("A", 100), src("B", 300), src("C", 50)]))
        .unwrap();
    let c = s.snapshot_counts("cur").unwrap();
    assert_eq!((c.unspent_sources, c.spent_sources), (2, 1));
    // Spending a source twice is refused and rolls back.
    let r = s.queue(T0, |_| {
        Ok::<_, StoreError>(NewOutbox {
            kind: ItemKind::Extrinsic,
            bytes: extrinsics(2).remove(1),
            chain: "cur".into(),
            account: [1; 32],
            nonce: None,
            what: "pay".into(),
            intent: serde_json::json!({}),
            spends: vec![src("B", 300)],
        })
    });
    assert!(matches!(r, Err(StoreError::SourceSpent(_))), "{r:?}");
    assert_eq!(s.item_ids().unwrap().len(), 1);
}

#[test]
fn store_pins_own_key_and_sync_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_dir(dir.path()).unwrap();
    assert!(s.own_static_key().unwrap().is_none());
    let k = toile_host::store::StaticKey {
        secret: zeroize::Zeroizing::new([5; 32]),
        public: [6; 32],
    };
    assert_eq!(s.init_own_static_key(&k, T0).unwrap().public, [6; 32]);
    let other = toile_host::store::StaticKey {
        secret: zeroize::Zeroizing::new([7; 32]),
        public: [8; 32],
    };
    assert_eq!(
        s.init_own_static_key(&other, T0).unwrap().public,
        [6; 32],
        "first key wins"
    );
    s.pin_peer("node-a", &[1; 32], T0).unwrap();
    s.pin_peer("node-a", &[1; 32], T0).unwrap();
    assert!(matches!(
        s.pin_peer("node-a", &[2; 32], T0),
        Err(StoreError::PinConflict(_))
    ));
    s.pin_peer("node-b", &[2; 32], T0).unwrap();
    assert_eq!(
        s.pinned_peers().unwrap(),
        vec![("node-a".into(), [1; 32]), ("node-b".into(), [2; 32])]
    );
    assert!(s.unpin_peer("node-a").unwrap());
    assert!(!s.unpin_peer("node-a").unwrap());

    assert_eq!(s.last_sync().unwrap(), None);
    for (i, complete) in [(1, false), (2, true)] {
        s.record_sync(&SyncRecord {
            at: Timestamp(T0.0 + i),
            peer: "node-b".into(),
            pushed: 3,
            pulled: 10 * i as u64,
            already: 1,
            complete,
            node_status: Some(serde_json::json!({"store_used": i})),
        })
        .unwrap();
    }
    let last = s.last_sync().unwrap().unwrap();
    assert_eq!((last.pulled, last.complete), (20, true));
    assert_eq!(last.node_status, Some(serde_json::json!({"store_used": 2})));
    // Everything survives a reopen.
    drop(s);
    let s = Store::open_dir(dir.path()).unwrap();
    assert_eq!(s.own_static_key().unwrap().unwrap().public, [6; 32]);
    assert_eq!(s.pinned_peers().unwrap().len(), 1);
    assert!(s.last_sync().unwrap().is_some());
}
