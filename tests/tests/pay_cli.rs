//! `toile pay` end to end on the real binary: the produced item is decoded and verified with
//! `toile-proto`, v1 transactions also with duniterpy.

use serde_json::{Value, json};
use toile_proto::item::dubp::{Body, Condition, Document, Source};
use toile_proto::item::v2s::{Call, ChainProfile};
use toile_proto::item::{Item, ItemKind};
use toile_tests::offline::{
    Bridge, base58, blockstamp, duniterpy_accepts, g1_address, payer_public, seed_key,
};

const GENESIS: [u8; 32] = [0xAB; 32];

fn v2s_snapshot(payer: &[u8; 32], nonce: u32) -> Value {
    json!({
        "format": 1, "kind": "v2s", "name": "g1", "taken_at": "block 1000",
        "genesis_hash": format!("0x{}", hex::encode(GENESIS)),
        "spec_version": 1100, "tx_version": 1,
        "accounts": [{ "address": g1_address(payer), "nonce": nonce, "balance": "100.00" }],
    })
}

fn item_of(made: &Value) -> (ItemKind, Vec<u8>) {
    let kind = match made["item_kind"].as_str() {
        Some("extrinsic") => ItemKind::Extrinsic,
        Some("dubp") => ItemKind::Dubp,
        other => panic!("item_kind {other:?}"),
    };
    (
        kind,
        hex::decode(made["item_hex"].as_str().unwrap()).unwrap(),
    )
}

#[test]
fn pay_v2s_is_a_signed_immortal_transfer_with_the_next_nonce() {
    let b = Bridge::new();
    let payer = payer_public();
    let (_, dest) = seed_key(0x22);
    b.import(&v2s_snapshot(&payer, 7));
    let profile = ChainProfile {
        genesis_hash: GENESIS,
        spec_version: 1100,
        tx_version: 1,
    };
    for (i, amount, cents) in [(0u32, "12.50", 1_250u64), (1, "0.01", 1), (2, "3", 300)] {
        let made = b.pay(&["--to", &g1_address(&dest), "--amount", amount]);
        let (kind, bytes) = item_of(&made);
        let item = Item::parse(kind, &bytes).unwrap();
        assert_eq!(hex::encode(item.id().0), made["item_id"]);
        assert_eq!(item.verify(&profile), Ok(()));
        let Item::Extrinsic(x) = item else {
            panic!("not an extrinsic")
        };
        assert_eq!(x.signer(), &payer);
        assert_eq!(x.nonce(), 7 + i, "snapshot nonce, then +1 per pay");
        assert_eq!(made["nonce"], 7 + i);
        assert_eq!(x.tip(), 0);
        assert_eq!(
            x.call(),
            Call::TransferKeepAlive {
                dest: &dest,
                value: cents
            }
        );
        assert_eq!(
            made["amount"],
            Value::from(format!("{}.{:02}", cents / 100, cents % 100))
        );
        // The signature commits to the runtime: another spec version does not verify.
        let upgraded = ChainProfile {
            spec_version: 1101,
            ..profile
        };
        assert!(item.verify(&upgraded).is_err());
    }
    // A v1 base58 key is the same account.
    let made = b.pay(&["--to", &base58(&dest), "--amount", "1"]);
    assert_eq!(made["to"], Value::from(g1_address(&dest)));
}

#[test]
fn pay_nonces_are_unique_across_concurrent_processes() {
    let b = Bridge::new();
    let payer = payer_public();
    let dest = g1_address(&seed_key(0x22).1);
    b.import(&v2s_snapshot(&payer, 3));
    let n = 8;
    let nonces: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| s.spawn(|| b.pay(&["--to", &dest, "--amount", "1.00"])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap()["nonce"].as_u64().unwrap())
            .collect()
    });
    let mut sorted = nonces.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (3..3 + n).collect::<Vec<u64>>(), "got {nonces:?}");
}

#[test]
fn pay_v1_spends_known_sources_once_with_change() {
    let b = Bridge::new();
    let payer = payer_public();
    let me = base58(&payer);
    let (_, dest) = seed_key(0x33);
    let tx_hash = |byte: u8| hex::encode_upper([byte; 32]);
    let current = blockstamp(5_000, 0xC1);
    b.import(&json!({
        "format": 1, "kind": "v1", "currency": "toile-test", "blockstamp": current,
        "sources": [
            { "pubkey": me, "type": "D", "noffset": 10, "identifier": me, "amount": 1000, "base": 0 },
            { "pubkey": me, "type": "T", "noffset": 1, "identifier": tx_hash(0x51), "amount": 50, "base": 1,
              "conditions": format!("SIG({me})") },
            { "pubkey": me, "type": "T", "noffset": 0, "identifier": tx_hash(0x52), "amount": 250, "base": 0 },
            // Someone else's source is never used.
            { "pubkey": base58(&dest), "type": "D", "noffset": 10, "identifier": base58(&dest), "amount": 9999, "base": 0 },
        ],
    }));
    let first = b.pay(&[
        "--to",
        &base58(&dest),
        "--amount",
        "12.00",
        "--comment",
        "market stall 12",
    ]);
    assert_eq!(first["chain"], "toile-test");
    assert_eq!(first["inputs"], 2);
    assert_eq!(first["change"], "3.00");
    let (kind, bytes) = item_of(&first);
    let item = Item::parse(kind, &bytes).unwrap();
    let Item::Dubp(doc) = item else {
        panic!("not DUBP")
    };
    assert_eq!(doc.verify(), Ok(()));
    assert_eq!(hex::encode(item.id().0), first["item_id"]);
    assert_eq!(doc.currency().as_str(), "toile-test");
    let Body::Transaction(t) = doc.body() else {
        panic!("not a transaction")
    };
    assert_eq!(
        format!(
            "{}-{}",
            t.blockstamp.number,
            hex::encode_upper(t.blockstamp.hash)
        ),
        current
    );
    assert_eq!(t.comment, "market stall 12");
    let inputs: Vec<_> = t.inputs().collect();
    assert_eq!(inputs.len(), 2);
    // Largest first: the 10.00 dividend, then the 5.00 (50 · 10¹) output.
    assert_eq!((inputs[0].amount, inputs[0].base), (1000, 0));
    assert!(matches!(inputs[0].source, Source::Dividend { pubkey, block: 10 } if *pubkey == payer));
    assert_eq!((inputs[1].amount, inputs[1].base), (50, 1));
    assert!(
        matches!(inputs[1].source, Source::Transaction { hash, index: 1 } if *hash == [0x51; 32])
    );
    let outputs: Vec<_> = t.outputs().collect();
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].amount, 1200);
    assert_eq!(outputs[0].condition, Condition::Sig(&dest));
    assert_eq!(outputs[1].amount, 300, "change");
    assert_eq!(outputs[1].condition, Condition::Sig(&payer));
    let first_text = doc.render_to_string();

    // The next pay cannot reuse those sources: only the 2.50 one is left.
    let second = b.pay(&["--to", &base58(&dest), "--amount", "2.50"]);
    assert_eq!(second["change"], "0.00");
    let (kind, bytes) = item_of(&second);
    let Item::Dubp(doc2) = Item::parse(kind, &bytes).unwrap() else {
        panic!("not DUBP")
    };
    let Body::Transaction(t2) = doc2.body() else {
        panic!("not a transaction")
    };
    let inputs2: Vec<_> = t2.inputs().collect();
    assert_eq!(inputs2.len(), 1);
    assert!(
        matches!(inputs2[0].source, Source::Transaction { hash, index: 0 } if *hash == [0x52; 32])
    );
    assert_eq!(
        t2.outputs().count(),
        1,
        "no change output when nothing is left over"
    );

    // Nothing is left.
    let err = b.pay_fails(&["--to", &base58(&dest), "--amount", "0.01"]);
    assert!(err.contains("toile chain import"), "{err}");

    // An independent implementation agrees on the texts and signatures.
    duniterpy_accepts(&[("tx1", first_text), ("tx2", doc2.render_to_string())]);
    // Sanity of the oracle use: the compact form renders the text it was signed from.
    assert!(Document::parse(&bytes).is_ok());
}

#[test]
fn pay_errors_say_what_to_do() {
    let b = Bridge::new();
    let pay = |to: &str, amount: &str| b.pay_fails(&["--to", to, "--amount", amount]);
    let dest = g1_address(&seed_key(0x22).1);
    let err = pay(&dest, "1");
    assert!(err.contains("toile chain import"), "{err}");
    b.import(&v2s_snapshot(&payer_public(), 0));
    let err = pay(&dest, "12.505");
    assert!(err.contains("more than two decimals"), "{err}");
    let err = pay(&dest, "-1");
    assert!(err.contains("positive"), "{err}");
    let err = pay(&dest, "0");
    assert!(err.contains("more than 0.00"), "{err}");
    // A typo in the address (checksum).
    let mut typo = dest.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let err = pay(std::str::from_utf8(&typo).unwrap(), "1");
    assert!(err.contains("destination"), "{err}");
    // Another network's address.
    let err = pay("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "1");
    assert!(err.contains("prefix 42"), "{err}");
    let err = b.pay_fails(&["--to", &dest, "--amount", "1", "--chain", "nope"]);
    assert!(err.contains("toile chain list"), "{err}");
    // Nothing was queued.
    let status = b.json(&["status", "--json"], "");
    assert_eq!(status["outbox"]["counts"]["queued"], 0);
}
