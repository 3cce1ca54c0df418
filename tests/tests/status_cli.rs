//! `toile status` on the real binary: store use and outbox outcomes, `--json`.

use serde_json::json;
use toile_tests::offline::{Bridge, g1_address, payer_public, seed_key};

#[test]
fn status_shows_store_and_outbox() {
    let b = Bridge::new();
    let empty = b.json(&["status", "--json"], "");
    assert_eq!(empty["outbox"]["counts"]["queued"], 0);
    assert_eq!(empty["last_sync"], serde_json::Value::Null);
    assert_eq!(empty["store"]["usage"]["schema_version"], 2);
    assert_eq!(empty["store"]["usage"]["items"], 0);

    b.import(&json!({
        "format": 1, "kind": "v2s", "genesis_hash": format!("0x{}", "01".repeat(32)),
        "spec_version": 1100, "tx_version": 1,
        "accounts": [{ "address": g1_address(&payer_public()), "nonce": 0 }],
    }));
    let dest = g1_address(&seed_key(9).1);
    let made = b.pay(&["--to", &dest, "--amount", "4.20"]);
    let s = b.json(&["status", "--json"], "");
    assert_eq!(s["outbox"]["counts"]["queued"], 1);
    assert_eq!(s["store"]["usage"]["items"], 1);
    assert_eq!(s["store"]["usage"]["chain_profiles"], 1);
    let e = &s["outbox"]["entries"][0];
    assert_eq!(e["item_id"], made["item_id"]);
    assert_eq!(e["state"], "queued");
    assert_eq!(e["what"], "pay");
    assert_eq!(e["intent"]["amount"], "4.20");
    assert_eq!(e["intent"]["to"], dest.as_str());
    // The human form names the payment and says how to sync.
    let out = b.run(&["status"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pay 4.20 Ğ1"), "{text}");
    assert!(text.contains("toile sync"), "{text}");
}
