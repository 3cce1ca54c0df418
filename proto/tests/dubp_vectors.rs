//! DUBP golden vectors (texts generated and signed by duniterpy, `tests/duniterpy/make_vectors.py`)
//! checked by our own code. The independent check by duniterpy of both the vectors and our
//! renders is `tests/tests/dubp_oracle.rs`.
//!
//! `TOILE_BLESS=1` rewrites the `.hex` files from `from_text`.
#![cfg(feature = "std")]

use std::path::{Path, PathBuf};

use toile_proto::crypto::Sha256;
use toile_proto::item::dubp::{self, Body, Condition, Document, DubpError, Source};
use toile_proto::item::{Item, ItemKind};
use toile_proto::{DecodeError, ErrorKind};

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/dubp")
}

/// (name, text, compact bytes) of every vector.
fn vectors() -> Vec<(String, String, Vec<u8>)> {
    let dir = vector_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("vector dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".dubp")?.to_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "missing DUBP vectors in {dir:?}");
    let bless = std::env::var("TOILE_BLESS").is_ok_and(|v| v == "1");
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.dubp"))).unwrap();
            let hex_path = dir.join(format!("{name}.hex"));
            if bless {
                let compact = dubp::from_text(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                std::fs::write(&hex_path, hex::encode(compact) + "\n").unwrap();
            }
            let hex_text = std::fs::read_to_string(&hex_path)
                .unwrap_or_else(|_| panic!("{hex_path:?} missing: run with TOILE_BLESS=1"));
            let compact = hex::decode(hex_text.trim()).unwrap();
            (name, text, compact)
        })
        .collect()
}

#[test]
fn text_to_compact_matches_hex() {
    for (name, text, compact) in vectors() {
        let ours = dubp::from_text(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hex::encode(&ours), hex::encode(&compact), "{name}");
    }
}

#[test]
fn compact_renders_exact_text_and_verifies() {
    println!("| vector | text B | compact B | ratio |");
    for (name, text, compact) in vectors() {
        let doc = Document::parse(&compact).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = Vec::new();
        doc.render(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), text, "{name}");
        assert_eq!(doc.render_to_string(), text, "{name}");
        assert_eq!(doc.text_len(), text.len(), "{name}");
        doc.verify().unwrap_or_else(|e| panic!("{name}: {e}"));

        // The signed part is the text without the signature lines.
        let mut unsigned = Vec::new();
        doc.render_unsigned(&mut unsigned);
        let n_sigs = doc.signatures().count();
        assert_eq!(doc.issuers().count(), n_sigs);
        assert_eq!(unsigned.len() + n_sigs * 89, text.len(), "{name}");

        // Content id = sha256(full signed text) (the v1 transaction hash).
        let item = Item::parse(ItemKind::Dubp, &compact).unwrap();
        let mut h = Sha256::new();
        sha_put(&mut h, text.as_bytes());
        assert_eq!(item.id().0, h.finish(), "{name}");
        println!(
            "| {name} | {} | {} | {:.1} % |",
            text.len(),
            compact.len(),
            100.0 * compact.len() as f64 / text.len() as f64
        );
    }
}

fn sha_put(h: &mut Sha256, b: &[u8]) {
    use toile_proto::crypto::Sink;
    h.put(b);
}

#[test]
fn every_single_bit_flip_is_refused() {
    for (name, _, compact) in vectors() {
        let mut accepted_but_bad_sig = 0usize;
        let mut decode_errors = 0usize;
        for bit in 0..compact.len() * 8 {
            let mut m = compact.clone();
            m[bit / 8] ^= 1 << (bit % 8);
            match Document::parse(&m) {
                Err(DecodeError { .. }) => decode_errors += 1,
                Ok(doc) => {
                    assert!(
                        doc.verify().is_err(),
                        "{name}: bit {bit} flipped still verifies"
                    );
                    accepted_but_bad_sig += 1;
                }
            }
            dubp::fuzz(&m);
        }
        println!(
            "{name}: {decode_errors} decode errors, {accepted_but_bad_sig} signature failures"
        );
    }
}

#[test]
fn one_in_two_out_compact_is_at_most_45_percent_of_text() {
    for (name, text, compact) in vectors() {
        if !name.ends_with("1in_2out") {
            continue;
        }
        let ratio = compact.len() as f64 / text.len() as f64;
        println!(
            "{name}: {} / {} B = {:.1} %",
            compact.len(),
            text.len(),
            ratio * 100.0
        );
        assert!(compact.len() * 100 <= text.len() * 45, "{name}: {ratio}");
    }
}

#[test]
fn accessors_expose_the_transaction() {
    let text = std::fs::read_to_string(vector_dir().join("tx_d_1in_2out.dubp")).unwrap();
    let compact = dubp::from_text(&text).unwrap();
    let doc = Document::parse(&compact).unwrap();
    assert_eq!(doc.doc_type(), dubp::DocType::Transaction);
    assert_eq!(doc.currency().as_str(), "g1");
    let Body::Transaction(tx) = doc.body() else {
        panic!("not a transaction")
    };
    let issuer = *tx.issuers().next().unwrap();
    assert_eq!(
        bs58::encode(issuer).into_string(),
        "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV"
    );
    let inputs: Vec<_> = tx.inputs().collect();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].amount, 10_000);
    assert!(
        matches!(inputs[0].source, Source::Dividend { pubkey, block: 744_001 } if *pubkey == issuer)
    );
    assert!(tx.has_standard_unlocks());
    let outputs: Vec<_> = tx.outputs().collect();
    assert_eq!(outputs.len(), 2);
    assert!(matches!(outputs[1].condition, Condition::Sig(k) if *k == issuer));
    assert_eq!(tx.comment, "");
}

fn dubp_kind(e: DecodeError) -> DubpError {
    match e.kind {
        ErrorKind::Dubp(d) => d,
        other => panic!("not a DUBP error: {other:?}"),
    }
}

#[test]
fn text_side_rejects_non_canonical_forms() {
    let text = std::fs::read_to_string(vector_dir().join("identity.dubp")).unwrap();
    // A leading '1' adds a zero byte: not 32 bytes.
    let issuer = text
        .lines()
        .nth(3)
        .unwrap()
        .strip_prefix("Issuer: ")
        .unwrap();
    let bad = text.replace(issuer, &format!("1{issuer}"));
    let e = dubp::from_text(&bad).unwrap_err();
    assert_eq!(
        (e.offset, dubp_kind(e)),
        (text.find(issuer).unwrap(), DubpError::BadPubkey)
    );
    // Lowercase hash.
    let ts = text
        .lines()
        .nth(5)
        .unwrap()
        .strip_prefix("Timestamp: ")
        .unwrap();
    let e = dubp::from_text(&text.replace(ts, &ts.to_lowercase())).unwrap_err();
    assert_eq!(dubp_kind(e), DubpError::BadHash);
    // Leading zero in a number.
    let e = dubp::from_text(&text.replace("Timestamp: ", "Timestamp: 0")).unwrap_err();
    assert_eq!(dubp_kind(e), DubpError::BadNumber);
    // CRLF line endings.
    let e = dubp::from_text(&text.replace('\n', "\r\n")).unwrap_err();
    assert_eq!(dubp_kind(e), DubpError::BadVersion);
    // No final LF.
    let e = dubp::from_text(text.trim_end()).unwrap_err();
    assert_eq!(dubp_kind(e), DubpError::MissingFinalNewline);
    // Base64 with non-zero trailing bits.
    let sig = text.lines().last().unwrap();
    let mut tweaked = sig.to_owned();
    // The last data char carries 4 padding bits that must be zero: set one.
    const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let c = tweaked.remove(85);
    let v = B64.find(c).unwrap();
    tweaked.insert(85, B64.as_bytes()[v | 1] as char);
    let e = dubp::from_text(&text.replace(sig, &tweaked)).unwrap_err();
    assert_eq!(dubp_kind(e), DubpError::BadSignature);
}

#[test]
fn compact_side_rejects_non_canonical_forms() {
    let text = std::fs::read_to_string(vector_dir().join("identity.dubp")).unwrap();
    let compact = dubp::from_text(&text).unwrap();
    assert_eq!(compact[1], 1, "g1 has code 1");
    // Spelled-out well-known currency.
    let mut m = vec![compact[0], 0, 2 * 4, b'g', b'1'];
    m.extend_from_slice(&compact[2..]);
    let e = Document::parse(&m).unwrap_err();
    assert_eq!(
        (e.offset, dubp_kind(e)),
        (2, DubpError::WellKnownCurrencySpelledOut)
    );
    // Reserved tag bits.
    let mut m = compact.clone();
    m[0] |= 0x08;
    assert_eq!(
        dubp_kind(Document::parse(&m).unwrap_err()),
        DubpError::ReservedBits(m[0])
    );
    // Trailing byte.
    let mut m = compact.clone();
    m.push(0);
    assert_eq!(
        Document::parse(&m).unwrap_err().kind,
        ErrorKind::TrailingBytes
    );
    // Every truncation is an error.
    for n in 0..compact.len() {
        assert!(Document::parse(&compact[..n]).is_err());
    }
}

#[test]
fn sign_builds_a_verifiable_document() {
    let text = std::fs::read_to_string(vector_dir().join("tx_t_1in_2out.dubp")).unwrap();
    let unsigned = &text[..text.len() - 89];
    let seed = [42u8; 32];
    let compact = dubp::sign(unsigned, &[seed]).unwrap();
    let doc = Document::parse(&compact).unwrap();
    // Signed by another key than the issuer: well-formed but not authentic.
    assert!(doc.verify().is_err());
    assert!(doc.render_to_string().starts_with(unsigned));
}

/// Deterministic mutation fuzzing from the vectors (byte overwrites, insertions, deletions,
/// truncations): `dubp::fuzz` must never panic and any accepted document must round-trip.
#[test]
fn mutations_never_panic() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accepted = 0usize;
    for (_, _, compact) in vectors() {
        for _ in 0..2_000 {
            let mut m = compact.clone();
            for _ in 0..=(next() % 3) {
                let at = (next() as usize) % (m.len() + 1);
                match next() % 4 {
                    0 if at < m.len() => m[at] = next() as u8,
                    1 => m.insert(at, next() as u8),
                    2 if at < m.len() => {
                        m.remove(at);
                    }
                    _ => m.truncate(at),
                }
            }
            dubp::fuzz(&m);
            if let Ok(doc) = Document::parse(&m) {
                accepted += 1;
                assert!(doc.verify().is_err() || m == compact);
            }
        }
    }
    println!("mutations accepted by the decoder (all failing verification): {accepted}");
}
