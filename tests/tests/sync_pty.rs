//! Done-means of issue 4 on the real binary: a v2s chain snapshot imported by the bridge and
//! given to an emulated node behind a real pty; pairing; real `toile pay` / `toile certify`
//! items plus generated ones queued in the SQLite outbox; a 10 000-item sync cut mid-way by
//! killing the node, a restart on its state directory and a resumed sync: exact set equality
//! on both sides, no duplicates (checked in `toile.db`), and `toile status --json` showing the
//! last sync and the node's status. Items signed for another chain come back refused.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use toile_tests::offline::{
    Bridge, PAYER_PASSWORD, PAYER_SALT, blockstamp, g1_address, payer_public, seed_key, v1_identity,
};
use toile_tests::toile_bin;

/// Items the node starts with, generated items queued on the bridge, and real ones
/// (`toile pay` ×3, `toile certify` ×2): 10 000 in all.
const PRELOAD: u64 = 9_800;
const GENERATED: u64 = 195;
const REAL: u64 = 5;
const TOTAL: u64 = PRELOAD + GENERATED + REAL;

/// A running `toile node --emulate --pty`, killed on drop.
struct Node {
    child: Child,
    pty: String,
    fingerprint: String,
    chain: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(state: &Path, chain: Option<&Path>) -> Node {
    start_node_with(state, chain, PRELOAD)
}

fn start_node_with(state: &Path, chain: Option<&Path>, preload: u64) -> Node {
    let mut cmd = Command::new(toile_bin());
    cmd.args(["node", "--emulate", "--pty", "--json", "--preload"])
        .arg(preload.to_string())
        .arg("--state")
        .arg(state);
    if let Some(c) = chain {
        cmd.arg("--chain").arg(c);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the node");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("node start-up line");
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    // Keep draining the console so the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    Node {
        child,
        pty: v["pty"].as_str().expect("pty path").to_owned(),
        fingerprint: v["fingerprint"].as_str().expect("fingerprint").to_owned(),
        chain: v["chain"].as_str().expect("chain").to_owned(),
    }
}

fn sqlite_count(db: &Path, sql: &str) -> u64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open toile.db");
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .unwrap_or(0)
}

fn v2s_snapshot(name: &str, genesis: u8) -> Value {
    json!({
        "format": 1, "kind": "v2s", "name": name, "taken_at": "block 1000",
        "genesis_hash": format!("0x{}", hex::encode([genesis; 32])),
        "spec_version": 1100, "tx_version": 1,
        "accounts": [{ "address": g1_address(&payer_public()), "nonce": 0, "balance": "100.00" }],
        "identities": [
            { "name": "me", "index": 7, "address": g1_address(&payer_public()) },
            { "name": "bob", "index": 42, "address": g1_address(&seed_key(0x44).1) },
            { "name": "carol", "index": 43, "address": g1_address(&seed_key(0x45).1) },
        ],
    })
}

#[test]
fn sync_10k_items_over_a_pty_survives_a_killed_node() {
    let started = Instant::now();
    let b = Bridge::new();
    let node_dir = tempfile::tempdir().unwrap();
    let state = node_dir.path().join("node");
    let data = b.dir.path();
    let db = data.join("toile.db");
    let json = |args: &[&str]| b.json(args, "");

    // One chain for both: the bridge signs for the snapshot the node verifies against.
    b.import(&v2s_snapshot("g1", 0xAB));
    let snapshot = data.join("snapshot.json");
    let mut node = start_node(&state, Some(&snapshot));
    assert_eq!(node.chain, "g1");

    let v = json(&["pair", "--port", &node.pty, "--json"]);
    assert_eq!(v["node_fingerprint"], node.fingerprint.as_str());

    // The outbox: real payments and certifications, then generated transfers.
    let bob = g1_address(&seed_key(0x44).1);
    for amount in ["12.50", "0.01", "3"] {
        b.pay(&["--to", &bob, "--amount", amount]);
    }
    for who in ["bob", "carol"] {
        b.json(
            &[
                "certify",
                who,
                "--salt",
                PAYER_SALT,
                "--password-stdin",
                "--json",
            ],
            &format!("{PAYER_PASSWORD}\n"),
        );
    }
    let v = json(&[
        "bench",
        "gen-items",
        "--count",
        &GENERATED.to_string(),
        "--json",
    ]);
    assert_eq!(v["queued"], GENERATED);
    assert_eq!(v["outbox"], GENERATED + REAL);

    // Sync, and kill the node once part of the pull is committed.
    let mut sync = Command::new(toile_bin())
        .args(["sync", "--json", "--port", &node.pty, "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while sqlite_count(&db, "SELECT count(*) FROM items") < 3_000 {
        assert!(t.elapsed() < Duration::from_secs(60), "no progress");
        assert!(
            sync.try_wait().unwrap().is_none(),
            "sync ended before the cut"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let out = sync.wait_with_output().unwrap();
    assert!(!out.status.success(), "the cut sync must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `toile sync` again"), "{err}");

    // Restart the node on its state (chain remembered, preload not run again) and resume.
    drop(node);
    let node = start_node(&state, None);
    assert_eq!(node.chain, "g1", "the node remembers its chain");
    let t = Instant::now();
    let v = json(&["sync", "--port", &node.pty, "--json"]);
    let resumed = t.elapsed();
    assert_eq!(v["node_items"], TOTAL, "{v}");
    assert_eq!(v["bridge_items"], TOTAL, "{v}");
    assert_eq!(v["node_status"]["store_items"], TOTAL, "{v}");
    assert_eq!(v["node_digest"], v["bridge_digest"], "{v}");
    assert_eq!(v["outbox"]["queued"], 0, "{v}");
    assert_eq!(v["outbox"]["refused"], 0, "{v}");
    assert!(
        v["pulled"].as_u64().unwrap() < PRELOAD,
        "resumed, not restarted: {v}"
    );

    // In SQLite: every item once, every outbox row pushed, no extra rows.
    assert_eq!(sqlite_count(&db, "SELECT count(*) FROM items"), TOTAL);
    assert_eq!(
        sqlite_count(&db, "SELECT count(DISTINCT id) FROM items"),
        TOTAL
    );
    assert_eq!(
        sqlite_count(&db, "SELECT count(*) FROM outbox"),
        GENERATED + REAL
    );
    assert_eq!(
        sqlite_count(&db, "SELECT count(*) FROM outbox WHERE state <> 'pushed'"),
        0
    );

    // Nothing left to move.
    let v = json(&["sync", "--port", &node.pty, "--json"]);
    assert_eq!(
        (v["pushed"].as_u64(), v["pulled"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(v["node_digest"], v["bridge_digest"]);

    // Status shows the last sync and the node's status.
    let s = json(&["status", "--json"]);
    assert_eq!(s["last_sync"]["peer"], "node", "{s}");
    assert_eq!(s["last_sync"]["complete"], true, "{s}");
    let ns = &s["last_sync"]["node_status"];
    assert_eq!(ns["store_items"], TOTAL, "{s}");
    assert!(ns["airtime_budget_ms"].as_u64().unwrap() > 0, "{s}");
    assert!(ns.get("neighbours").is_some(), "{s}");
    assert_eq!(s["outbox"]["counts"]["pushed"], GENERATED + REAL, "{s}");

    // Items signed for another chain: refused per item with the reason, shown by status.
    b.import(&v2s_snapshot("other", 0xCD));
    json(&[
        "bench",
        "gen-items",
        "--count",
        "3",
        "--seed",
        "9",
        "--chain",
        "other",
        "--json",
    ]);
    let v = json(&["sync", "--port", &node.pty, "--json"]);
    assert_eq!(v["outcomes"]["bad-signature"], 3, "{v}");
    assert_eq!(v["outbox"]["refused"], 3, "{v}");
    let out = b.run(&["sync", "--port", &node.pty], "");
    assert!(out.status.success());
    let s = json(&["status", "--json"]);
    assert_eq!(s["outbox"]["counts"]["refused"], 3, "{s}");
    let entries = s["outbox"]["entries"].as_array().unwrap();
    let refused: Vec<&Value> = entries.iter().filter(|e| e["state"] == "refused").collect();
    assert_eq!(refused.len(), 3);
    for e in refused {
        let detail = e["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with("bad-signature"), "{e}");
        assert!(detail.contains("chain"), "{e}");
    }
    // Another device answering on a port with the same peer name: pairing refuses to overwrite
    // the pin, sync refuses the unknown key, and nothing in the bridge's store changes.
    let impostor_dir = tempfile::tempdir().unwrap();
    let impostor = start_node(&impostor_dir.path().join("node"), Some(&snapshot));
    assert_ne!(impostor.fingerprint, node.fingerprint);
    let items_before = sqlite_count(&db, "SELECT COUNT(*) FROM items");
    let err = b.fails(&["pair", "--port", &impostor.pty], "");
    assert!(
        err.contains("--replace") && err.contains("nothing was changed"),
        "{err}"
    );
    let err = b.fails(&["sync", "--port", &impostor.pty], "");
    assert!(
        err.contains(&impostor.fingerprint) || err.to_lowercase().contains("pin"),
        "{err}"
    );
    assert_eq!(
        sqlite_count(&db, "SELECT COUNT(*) FROM items"),
        items_before
    );
    // The real node is still the pinned one.
    let v = json(&["sync", "--port", &node.pty, "--json"]);
    assert_eq!(v["node_items"], TOTAL, "{v}");

    eprintln!(
        "sync_pty: resumed sync of {TOTAL} items in {resumed:?}; whole test {:?}",
        started.elapsed()
    );
}

#[test]
fn a_v1_certification_longer_than_a_radio_frame_syncs_to_the_node() {
    // A DUBP certification is 278 bytes compact: the node's engine carries it in fragments
    // (it used to refuse it as "too-large").
    let b = Bridge::new();
    let (bob_seed, _) = seed_key(0x46);
    let (key, ts, sig) = v1_identity(&bob_seed, "bob_v1", "toile-test");
    b.import(&json!({
        "format": 1, "kind": "v1", "currency": "toile-test", "blockstamp": blockstamp(777, 0x9A),
        "identities": [{ "uid": "bob_v1", "pubkey": key, "blockstamp": ts, "signature": sig }],
    }));
    let made = b.json(
        &[
            "certify",
            "bob_v1",
            "--salt",
            PAYER_SALT,
            "--password-stdin",
            "--json",
        ],
        &format!("{PAYER_PASSWORD}\n"),
    );
    let len = hex::decode(made["item_hex"].as_str().unwrap())
        .unwrap()
        .len();
    assert!(len > toile_proto::radio::MAX_FRAME_LEN, "{len}");
    let node_dir = tempfile::tempdir().unwrap();
    let node = start_node_with(&node_dir.path().join("node"), None, 0);
    b.json(&["pair", "--port", &node.pty, "--json"], "");
    let v = b.json(&["sync", "--port", &node.pty, "--json"], "");
    assert_eq!(v["pushed"], 1, "{v}");
    assert_eq!(v["outbox"]["refused"], 0, "{v}");
    assert_eq!(v["node_status"]["store_items"], 1, "{v}");
    assert_eq!(v["node_digest"], v["bridge_digest"], "{v}");
}
