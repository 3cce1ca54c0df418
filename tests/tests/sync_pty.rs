//! Done-means of issue 4 on the real binary: an emulated node behind a real pty, pairing, a
//! 10 000-item sync cut mid-way by killing the node, a restart on its state directory and a
//! resumed sync: exact set equality on both sides, no duplicates.
//!
//! TODO(lead, at merge): queue the outbox with `toile pay` / `toile certify` and use the
//! SQLite store once the `store` branch is in; this test uses `toile bench gen-items` and
//! the file-backed `SyncStore`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `$TOILE_BIN` if set (a shared target directory may hold another worktree's build), else
/// this build's binary.
fn toile_bin() -> std::path::PathBuf {
    std::env::var_os("TOILE_BIN").map_or_else(toile_tests::toile_bin, Into::into)
}

const PRELOAD: u64 = 10_000;
const OUTBOX: u64 = 200;

/// A running `toile node --emulate --pty`, killed on drop.
struct Node {
    child: Child,
    pty: String,
    fingerprint: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(state: &Path) -> Node {
    let mut child = Command::new(toile_bin())
        .args(["node", "--emulate", "--pty", "--json", "--preload"])
        .arg(PRELOAD.to_string())
        .arg("--state")
        .arg(state)
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
    }
}

fn toile(args: &[&str], data: &Path) -> (bool, Value, String) {
    let out = Command::new(toile_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--json")
        .output()
        .expect("run toile");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.success(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sync_10k_items_over_a_pty_survives_a_killed_node() {
    let dir = tempfile::tempdir().unwrap();
    let (state, data) = (dir.path().join("node"), dir.path().join("bridge"));
    let mut node = start_node(&state);

    // Pair: both sides show the same node fingerprint.
    let (ok, v, err) = toile(&["pair", "--port", &node.pty], &data);
    assert!(ok, "pair: {err}");
    assert_eq!(v["node_fingerprint"], node.fingerprint.as_str());

    // The outbox: real signed items.
    let (ok, v, err) = toile(
        &["bench", "gen-items", "--count", &OUTBOX.to_string()],
        &data,
    );
    assert!(ok, "gen-items: {err}");
    assert_eq!(v["outbox"], OUTBOX);

    // Sync, and kill the node once part of the pull is committed.
    let mut sync = Command::new(toile_bin())
        .args(["sync", "--json", "--port", &node.pty, "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = data.join("bridge.log");
    let t = Instant::now();
    while std::fs::metadata(&log).map_or(0, |m| m.len()) < 400_000 {
        assert!(t.elapsed() < Duration::from_secs(60), "no progress");
        assert!(
            sync.try_wait().unwrap().is_none(),
            "sync ended before the cut"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let out = sync.wait_with_output().unwrap();
    assert!(!out.status.success(), "the cut sync must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `toile sync` again"), "{err}");

    // Restart the node on its state (the preload does not run again) and resume.
    drop(node);
    let node = start_node(&state);
    let (ok, v, err) = toile(&["sync", "--port", &node.pty], &data);
    assert!(ok, "resumed sync: {err}");
    let total = PRELOAD + OUTBOX;
    assert_eq!(v["node_items"], total, "{v}");
    assert_eq!(v["bridge_items"], total, "{v}");
    assert_eq!(v["node_status"]["store_items"], total, "{v}");
    assert_eq!(v["bridge_item_records"], total, "no duplicate on disk: {v}");
    assert_eq!(v["node_digest"], v["bridge_digest"], "{v}");
    assert_eq!(v["outbox"], 0, "{v}");
    assert!(
        v["pulled"].as_u64().unwrap() < PRELOAD,
        "resumed, not restarted: {v}"
    );

    // Nothing left to move.
    let (ok, v, err) = toile(&["sync", "--port", &node.pty], &data);
    assert!(ok, "{err}");
    assert_eq!(
        (v["pushed"].as_u64(), v["pulled"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(v["node_digest"], v["bridge_digest"]);
}
