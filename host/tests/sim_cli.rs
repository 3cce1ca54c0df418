//! `toile sim` on the real binary: the JSON report's shape, determinism, the SVG.
use std::process::Command;

fn sim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_toile"))
        .arg("sim")
        .args(args)
        .output()
        .expect("run toile");
    assert!(
        out.status.success(),
        "toile sim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

const RUN: &[&str] = &[
    "--nodes",
    "50",
    "--area",
    "6",
    "--preset",
    "long-fast",
    "--region",
    "eu868-10",
    "--hours",
    "0.5",
    "--seed",
    "7",
    "--router",
    "toile",
    "--compare",
    "flood",
    "--json",
];

#[test]
fn json_report_has_the_issue_fields_and_is_byte_identical_for_a_seed() {
    let a = sim(RUN);
    assert_eq!(a.lines().count(), 1, "exactly one JSON object: {a}");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    for k in [
        "router", "nodes", "seed", "hours", "preset", "region", "metrics", "baseline", "wall_s",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["router"], "toile");
    assert_eq!(v["region"], "eu868-10");
    assert_eq!(v["preset"], "long-fast");
    assert!(
        v["scenario"].get("relays").is_none(),
        "the default relay rule leaves the JSON as it was: {}",
        v["scenario"]
    );
    for part in ["metrics", "baseline"] {
        for k in [
            "items",
            "delivered_ratio",
            "delivered_within_deadline_ratio",
            "deadline_s",
            "tx_per_item",
            "greedy_tx_per_item",
            "airtime_per_item_s",
            "p50_latency_s",
            "p95_latency_s",
            "p50_hop_latency_s",
            "duty_violations",
            "recon_bytes_per_item",
            "idle_check_bytes",
            "store_high_water",
            "lost_items",
            "load_of_capacity",
            "capacity",
        ] {
            assert!(v[part].get(k).is_some(), "{part} lacks {k}");
        }
    }
    assert!(v["metrics"]["load_of_capacity"].as_f64().unwrap() <= 0.7 + 1e-9);
    let strip = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v.as_object_mut().unwrap().remove("wall_s");
        v.to_string()
    };
    let b = sim(RUN);
    assert_eq!(strip(&a), strip(&b), "same seed, same JSON except wall_s");
    let mut other = RUN.to_vec();
    other[11] = "8";
    assert_ne!(
        strip(&a),
        strip(&sim(&other)),
        "another seed changes the run"
    );
}

#[test]
fn svg_has_the_map_and_both_timelines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.svg");
    let p = path.to_str().unwrap();
    let mut args = RUN.to_vec();
    args.extend(["--svg", p]);
    sim(&args);
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.contains("<title>bridge"), "bridges are marked");
    assert!(svg.contains("toile: cumulative") && svg.contains("flood: cumulative"));
}

#[test]
fn topology_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "x,y,bridge\n0,0,1\n100,oops\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_toile"))
        .args(["sim", "--router", "flood", "--json", "--topology"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn the_oracle_relay_plan_is_named_in_the_report_and_needs_bridges() {
    let mut args = RUN.to_vec();
    args.extend(["--relays", "oracle"]);
    let v: serde_json::Value = serde_json::from_str(&sim(&args)).unwrap();
    assert_eq!(v["scenario"]["relays"], "oracle", "a what-if run says so");
    // The anchor scenario counts broadcast deliveries and has no bridge to grow it from.
    let out = Command::new(env!("CARGO_BIN_EXE_toile"))
        .args([
            "sim",
            "--scenario",
            "anchor",
            "--hours",
            "0.1",
            "--relays",
            "oracle",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bridges"), "{err}");
}
