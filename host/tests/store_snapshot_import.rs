//! Chain snapshot files: what is accepted, and that mistakes are refused with the field named.

use std::path::Path;

use serde_json::{Value, json};
use toile_host::chain::{self, ChainError};
use toile_host::store::{ProfileKind, Store, Timestamp};

const NOW: Timestamp = Timestamp(1);
const G1_ADDR: &str = "g1L35BkwyJN8moHpCe2R7aYu5di9rjmhcrp5eLaaWGPkkMdmJ";
const V1_KEY: &str = "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV";

fn write(dir: &Path, v: &Value) -> std::path::PathBuf {
    let p = dir.join("s.json");
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

fn v2s() -> Value {
    json!({ "format": 1, "kind": "v2s", "genesis_hash": format!("0x{}", "00".repeat(32)),
            "spec_version": 1100, "tx_version": 1,
            "accounts": [{ "address": G1_ADDR, "nonce": 1, "balance": "2.00" }],
            "identities": [{ "name": "root", "index": 1, "address": V1_KEY }] })
}

fn v1() -> Value {
    json!({ "format": 1, "kind": "v1", "currency": "toile-test",
            "blockstamp": format!("3-{}", "AB".repeat(32)),
            "sources": [{ "pubkey": V1_KEY, "type": "D", "noffset": 1, "identifier": V1_KEY,
                          "amount": 1000, "base": 0 }] })
}

fn refused(dir: &Path, v: Value) -> String {
    let err = chain::read(&write(dir, &v), NOW).unwrap_err();
    err.to_string()
}

#[test]
fn store_snapshot_import_accepts_both_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_dir(dir.path()).unwrap();
    let rows = chain::import(&mut s, &write(dir.path(), &v2s()), NOW).unwrap();
    assert_eq!(rows.profile.name, "g1");
    assert_eq!(rows.accounts[0].balance, Some(200));
    assert_eq!(
        rows.identities[0].account, rows.accounts[0].account,
        "same key, two spellings"
    );
    let rows = chain::import(&mut s, &write(dir.path(), &v1()), Timestamp(2)).unwrap();
    assert_eq!(rows.profile.name, "toile-test");
    assert!(matches!(rows.profile.kind, ProfileKind::V1 { .. }));
    // The last imported is the default.
    assert_eq!(s.profile(None).unwrap().unwrap().name, "toile-test");
    assert_eq!(s.profiles().unwrap().len(), 2);
}

#[test]
fn store_snapshot_import_refuses_mistakes_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with = |mut base: Value, ptr: &str, v: Value| {
        *base.pointer_mut(ptr).unwrap() = v;
        base
    };
    let cases = [
        (with(v2s(), "/format", json!(2)), "format 2"),
        (with(v2s(), "/genesis_hash", json!("0x12")), "genesis_hash"),
        (
            with(v2s(), "/accounts/0/address", json!("g1xyz")),
            "accounts[0].address",
        ),
        (
            with(v2s(), "/accounts/0/balance", json!("1.234")),
            "accounts[0].balance",
        ),
        (
            with(
                v2s(),
                "/identities/0/address",
                json!("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"),
            ),
            "identities[0].address",
        ),
        (with(v1(), "/blockstamp", json!("3-abc")), "blockstamp"),
        (with(v1(), "/sources/0/type", json!("X")), "sources[0].type"),
        (with(v1(), "/sources/0/base", json!(12)), "sources[0].base"),
        (
            with(v1(), "/sources/0/identifier", json!("nothex")),
            "sources[0].identifier",
        ),
    ];
    for (v, want) in cases {
        let err = refused(d, v);
        assert!(err.contains(want), "{want}: {err}");
    }
    // Unknown fields (a typo) are refused rather than ignored.
    let mut typo = v2s();
    typo["acounts"] = json!([]);
    assert!(refused(d, typo).contains("acounts"));
    let err = chain::read(&d.join("missing.json"), NOW).unwrap_err();
    assert!(matches!(err, ChainError::Io { .. }));
}
