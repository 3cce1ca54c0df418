//! `toile certify` end to end on the real binary: v2s `add_cert` to the identity index found
//! in the snapshot, and a v1 DUBP certification checked by proto and by duniterpy.

use serde_json::json;
use toile_proto::item::dubp::Body;
use toile_proto::item::v2s::{Call, ChainProfile};
use toile_proto::item::{Item, ItemKind};
use toile_tests::offline::{
    Bridge, PAYER_PASSWORD, PAYER_SALT, base58, blockstamp, duniterpy_accepts, g1_address,
    payer_public, seed_key, v1_identity,
};

fn certify(b: &Bridge, target: &str) -> serde_json::Value {
    b.json(
        &[
            "certify",
            target,
            "--salt",
            PAYER_SALT,
            "--password-stdin",
            "--json",
        ],
        &format!("{PAYER_PASSWORD}\n"),
    )
}

fn certify_fails(b: &Bridge, target: &str) -> String {
    b.fails(
        &["certify", target, "--salt", PAYER_SALT, "--password-stdin"],
        &format!("{PAYER_PASSWORD}\n"),
    )
}

#[test]
fn certify_v2s_by_name_or_address() {
    let b = Bridge::new();
    let payer = payer_public();
    let bob = seed_key(0x44).1;
    let dave = seed_key(0x45).1;
    b.import(&json!({
        "format": 1, "kind": "v2s", "genesis_hash": format!("0x{}", "cd".repeat(32)),
        "spec_version": 1100, "tx_version": 1,
        "accounts": [{ "address": g1_address(&payer), "nonce": 2 }],
        "identities": [
            { "name": "bob", "index": 4242, "address": g1_address(&bob) },
            { "name": "me", "index": 7, "address": g1_address(&payer) },
            { "name": "dave", "index": 10, "address": g1_address(&dave) },
            { "name": "dave-old", "index": 11, "address": g1_address(&dave) },
        ],
    }));
    let profile = ChainProfile {
        genesis_hash: [0xCD; 32],
        spec_version: 1100,
        tx_version: 1,
    };
    for (i, target) in [String::from("bob"), g1_address(&bob), base58(&bob)]
        .iter()
        .enumerate()
    {
        let made = certify(&b, target);
        assert_eq!(made["identity"], "bob");
        assert_eq!(made["index"], 4242);
        let bytes = hex::decode(made["item_hex"].as_str().unwrap()).unwrap();
        let item = Item::parse(ItemKind::Extrinsic, &bytes).unwrap();
        assert_eq!(item.verify(&profile), Ok(()));
        let Item::Extrinsic(x) = item else { panic!() };
        assert_eq!(x.call(), Call::AddCert { receiver: 4242 });
        assert_eq!(x.signer(), &payer);
        assert_eq!(x.nonce(), 2 + i as u32);
    }
    let err = certify_fails(&b, "carol");
    assert!(err.contains("no identity \"carol\""), "{err}");
    let err = certify_fails(&b, &g1_address(&dave));
    assert!(err.contains("several identities (dave, dave-old)"), "{err}");
    let err = certify_fails(&b, "me");
    assert!(err.contains("cannot certify itself"), "{err}");
}

#[test]
fn certify_v1_is_a_dubp_certification_duniterpy_accepts() {
    let b = Bridge::new();
    let payer = payer_public();
    let (bob_seed, bob) = seed_key(0x46);
    let (key, ts, sig) = v1_identity(&bob_seed, "bob_v1", "toile-test");
    let current = blockstamp(777, 0x9A);
    b.import(&json!({
        "format": 1, "kind": "v1", "currency": "toile-test", "blockstamp": current,
        "identities": [{ "uid": "bob_v1", "pubkey": key, "blockstamp": ts, "signature": sig }],
    }));
    let made = certify(&b, "bob_v1");
    assert_eq!(made["chain_kind"], "v1");
    let bytes = hex::decode(made["item_hex"].as_str().unwrap()).unwrap();
    let item = Item::parse(ItemKind::Dubp, &bytes).unwrap();
    let Item::Dubp(doc) = item else { panic!() };
    assert_eq!(doc.verify(), Ok(()));
    let Body::Certification(c) = doc.body() else {
        panic!("not a certification")
    };
    assert_eq!(c.issuer, &payer);
    assert_eq!(c.idty_issuer, &bob);
    assert_eq!(c.idty_uid, "bob_v1");
    assert_eq!(c.cert_timestamp.number, 777);
    assert_eq!(c.cert_timestamp.hash, &[0x9A; 32]);
    // The same certification again (by key) is the same document: refused, not doubled.
    let err = certify_fails(&b, &key);
    assert!(err.contains("already in the outbox (#1)"), "{err}");
    duniterpy_accepts(&[("cert", doc.render_to_string())]);
}
