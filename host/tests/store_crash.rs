//! kill -9 at seeded random moments while a child process writes to the store; after each
//! kill the store reopens sound and holds everything the child reported as committed.
//!
//! The child is this test binary re-executed on [`store_crash_child`] with
//! `TOILE_STORE_CRASH_DIR` set (a real separate process writing through the real store). Each
//! iteration commits a batch of 20 items (one transaction), prints `items B`, then queues one
//! outbox item with the next nonce (another transaction) and prints `queued B NONCE`. A line
//! is printed only after its commit returned, so every printed line must survive the kill.
//! Replay a run with `TOILE_SEED=<seed>` (printed on failure).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use toile_host::store::{NewOutbox, Store, StoreError, Timestamp};
use toile_proto::item::v2s::{Call, ChainProfile, Signer, build_signed};
use toile_proto::item::{Item, ItemId, ItemKind};

const DIR_ENV: &str = "TOILE_STORE_CRASH_DIR";
const BATCH: u32 = 20;
const ROUNDS: usize = 8;

fn profile() -> ChainProfile {
    ChainProfile {
        genesis_hash: [3; 32],
        spec_version: 1100,
        tx_version: 1,
    }
}

/// The items of batch `b`: transfers from a fixed key, distinct by value.
fn batch(b: u32) -> Vec<Vec<u8>> {
    let signer = Signer::ed25519(&[4; 32]);
    (0..BATCH)
        .map(|i| {
            let call = Call::TransferKeepAlive {
                dest: &[5; 32],
                value: u64::from(b) * 1_000 + u64::from(i) + 1,
            };
            build_signed(&call, &signer, 0, 0, &profile())
        })
        .collect()
}

fn ids(items: &[Vec<u8>]) -> Vec<ItemId> {
    items
        .iter()
        .map(|b| Item::parse(ItemKind::Extrinsic, b).unwrap().id())
        .collect()
}

/// The child: write forever (until killed). Does nothing when run as an ordinary test.
#[test]
fn store_crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let mut store = Store::open_dir(std::path::Path::new(&dir)).unwrap();
    let signer = Signer::ed25519(&[6; 32]);
    // Resume after the last fully queued batch (a batch whose items committed but whose
    // queue entry did not is written again: the insert is idempotent).
    let mut b = store.outbox(None).unwrap().len() as u32;
    loop {
        let items = batch(b);
        store
            .insert_items(
                items.iter().map(|i| (ItemKind::Extrinsic, &i[..])),
                "crash-test",
                Timestamp(i64::from(b)),
            )
            .unwrap();
        println!("items {b}");
        let mut used = 0;
        store
            .queue(Timestamp(i64::from(b)), |q| {
                let nonce = q.next_nonce("g1", &signer.public())?;
                used = nonce;
                Ok::<_, StoreError>(NewOutbox {
                    kind: ItemKind::Extrinsic,
                    bytes: build_signed(
                        &Call::AddCert { receiver: b },
                        &signer,
                        nonce,
                        0,
                        &profile(),
                    ),
                    chain: "g1".into(),
                    account: signer.public(),
                    nonce: Some(nonce),
                    what: "certify".into(),
                    intent: serde_json::json!({ "batch": b }),
                    spends: vec![],
                })
            })
            .unwrap();
        println!("queued {b} {used}");
        b += 1;
    }
}

#[test]
fn store_kill9_loses_nothing_committed() {
    let seed: u64 = std::env::var("TOILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0004);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut reported_items = Vec::new();
    let mut reported_nonces = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store_crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let want = rng.gen_range(1..40);
        let delay = Duration::from_micros(rng.gen_range(0..5_000));
        let mut seen = 0;
        let parse = |line: &str, items: &mut Vec<u32>, nonces: &mut Vec<u32>| {
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["items", b] => items.push(b.parse().unwrap()),
                ["queued", _, n] => nonces.push(n.parse().unwrap()),
                _ => return false,
            }
            true
        };
        let started = Instant::now();
        for line in lines.by_ref() {
            if parse(&line.unwrap(), &mut reported_items, &mut reported_nonces) {
                seen += 1;
            }
            if seen >= want {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "child stalled (seed {seed})"
            );
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Lines printed before the kill were printed after their commit: they count too.
        for line in lines {
            let Ok(line) = line else { break };
            parse(&line, &mut reported_items, &mut reported_nonces);
        }

        let store = Store::open_dir(dir.path()).unwrap();
        let ctx = format!("round {round}, seed {seed} (replay with TOILE_SEED={seed})");
        assert_eq!(store.check().unwrap(), Vec::<String>::new(), "{ctx}");
        let present: std::collections::BTreeSet<ItemId> =
            store.item_ids().unwrap().into_iter().collect();
        for b in &reported_items {
            for id in ids(&batch(*b)) {
                assert!(present.contains(&id), "batch {b} lost an item: {ctx}");
            }
        }
        // Batches are all-or-nothing.
        let max_b = reported_items.iter().max().copied().unwrap_or(0) + 2;
        for b in 0..=max_b {
            let n = ids(&batch(b))
                .iter()
                .filter(|id| present.contains(id))
                .count();
            assert!(
                n == 0 || n == BATCH as usize,
                "batch {b} half written ({n}): {ctx}"
            );
        }
        // Every reported nonce is queued; nonces are 0..n without gap or repeat, and each
        // outbox entry's item exists.
        let outbox = store.outbox(None).unwrap();
        let nonces: Vec<u32> = outbox.iter().map(|e| e.nonce.unwrap()).collect();
        assert_eq!(
            nonces,
            (0..nonces.len() as u32).collect::<Vec<_>>(),
            "{ctx}"
        );
        for n in &reported_nonces {
            assert!(nonces.contains(n), "queued nonce {n} lost: {ctx}");
        }
        for e in &outbox {
            assert!(present.contains(&e.item_id), "{ctx}");
        }
    }
    assert!(
        reported_nonces.len() >= ROUNDS,
        "the child made too little progress to test anything"
    );
}
