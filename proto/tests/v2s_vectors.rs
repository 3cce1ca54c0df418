//! Golden vectors and error paths for Ğ1 v2s extrinsics (`--features std`).
//!
//! Vectors live in `tests/vectors/v2s/NAME.json`. Regenerate them with
//! `cargo test -p toile-proto --features std --test v2s_vectors -- --ignored generate_vectors`
//! (sr25519 signatures are randomized, so sr25519 files change on every run; the committed
//! files are the golden copies).
//!
//! The genesis hash is a **test hash**, `blake2_256(TEST_GENESIS_LABEL)`, not the real Ğ1 v2s
//! genesis (which could not be confirmed offline).
#![cfg(feature = "std")]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use toile_proto::crypto::{blake2_256, ed25519_sign};
use toile_proto::item::v2s::*;
use toile_proto::scale::{Reader, put_compact};
use toile_proto::{DecodeError, ErrorKind, VerifyError};

const TEST_GENESIS_LABEL: &[u8] = b"toile test genesis: NOT the real G1 v2s genesis hash";
const SPEC_VERSION: u32 = 1100;
const TX_VERSION: u32 = 1;
/// RFC 8032 test 1 secret key, used as the Ed25519 seed of every ed25519 vector.
const ED_SEED: [u8; 32] = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
/// sr25519 mini secret key of every sr25519 vector.
const SR_SEED: [u8; 32] = [0x42; 32];
/// Another account (RFC 8032 test 2 public key): the recipient / new identity owner.
const BOB: [u8; 32] = hex32("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nib(b[2 * i]) << 4) | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nib(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("bad hex"),
    }
}

fn profile() -> ChainProfile {
    ChainProfile {
        genesis_hash: blake2_256(TEST_GENESIS_LABEL),
        spec_version: SPEC_VERSION,
        tx_version: TX_VERSION,
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/v2s")
}

struct Vector {
    name: String,
    json: Value,
    bytes: Vec<u8>,
}

fn load_vectors() -> Vec<Vector> {
    let mut paths: Vec<_> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 13, "expected the committed v2s vectors");
    paths
        .into_iter()
        .map(|p| {
            let json: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let bytes = hex::decode(json["extrinsic_hex"].as_str().unwrap()).unwrap();
            Vector {
                name: json["name"].as_str().unwrap().to_owned(),
                json,
                bytes,
            }
        })
        .collect()
}

/// The named arguments of a call, as written in the vectors.
fn args_json(call: &Call<'_>) -> Value {
    match *call {
        Call::TransferKeepAlive { dest, value }
        | Call::TransferUd { dest, value }
        | Call::TransferUdKeepAlive { dest, value } => {
            json!({"dest": hex::encode(dest), "value": value})
        }
        Call::ClaimUds | Call::RequestDistanceEvaluation => json!({}),
        Call::CreateIdentity { owner_key } => json!({"owner_key": hex::encode(owner_key)}),
        Call::ConfirmIdentity { idty_name } => {
            json!({"idty_name": std::str::from_utf8(idty_name).unwrap()})
        }
        Call::RevokeIdentity {
            idty_index,
            revocation_key,
            revocation_sig,
        } => json!({
            "idty_index": idty_index,
            "revocation_key": hex::encode(revocation_key),
            "revocation_sig_type": revocation_sig.key_type().as_str(),
            "revocation_sig": hex::encode(revocation_sig.bytes()),
        }),
        Call::RevokeIdentityLegacy {
            revocation_document,
        } => json!({"revocation_document": std::str::from_utf8(revocation_document).unwrap()}),
        Call::AddCert { receiver } | Call::RenewCert { receiver } => json!({"receiver": receiver}),
    }
}

fn signer(key_type: KeyType) -> Signer {
    match key_type {
        KeyType::Ed25519 => Signer::ed25519(&ED_SEED),
        KeyType::Sr25519 => Signer::sr25519_from_seed(&SR_SEED),
        KeyType::Ecdsa => unreachable!(),
    }
}

/// A DUBP v10 revocation document for the ed25519 test key, signed for real.
fn revocation_document() -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pk = toile_proto::crypto::ed25519_public(&ED_SEED);
    let issuer = bs58::encode(pk).into_string();
    let stamp = "0-E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
    let idty = format!(
        "Version: 10\nType: Identity\nCurrency: g1\nIssuer: {issuer}\nUniqueID: alice\nTimestamp: {stamp}\n"
    );
    let idty_sig = b64.encode(ed25519_sign(&ED_SEED, idty.as_bytes()));
    let doc = format!(
        "Version: 10\nType: Revocation\nCurrency: g1\nIssuer: {issuer}\nIdtyUniqueID: alice\nIdtyTimestamp: {stamp}\nIdtySignature: {idty_sig}\n"
    );
    let sig = b64.encode(ed25519_sign(&ED_SEED, doc.as_bytes()));
    format!("{doc}{sig}\n")
}

/// Every vector: (name, key type, nonce, call).
fn with_vector_calls(f: &mut dyn FnMut(&str, KeyType, u32, Call<'_>)) {
    let genesis = profile().genesis_hash;
    let mut revo = b"revo".to_vec();
    revo.extend_from_slice(&genesis);
    revo.extend_from_slice(&7u32.to_le_bytes());
    let revo_sig = ed25519_sign(&ED_SEED, &revo);
    let revo_key = toile_proto::crypto::ed25519_public(&ED_SEED);
    let doc = revocation_document();
    use KeyType::{Ed25519 as Ed, Sr25519 as Sr};
    let transfer = Call::TransferKeepAlive {
        dest: &BOB,
        value: 1250,
    };
    f("transfer_keep_alive_ed25519", Ed, 0, transfer);
    f("transfer_keep_alive_sr25519", Sr, 5, transfer);
    f("claim_uds_ed25519", Ed, 1, Call::ClaimUds);
    f(
        "transfer_ud_ed25519",
        Ed,
        2,
        Call::TransferUd {
            dest: &BOB,
            value: 1_000,
        },
    );
    f(
        "transfer_ud_keep_alive_ed25519",
        Ed,
        3,
        Call::TransferUdKeepAlive {
            dest: &BOB,
            value: 20_000,
        },
    );
    f(
        "create_identity_ed25519",
        Ed,
        4,
        Call::CreateIdentity { owner_key: &BOB },
    );
    f(
        "confirm_identity_ed25519",
        Ed,
        70,
        Call::ConfirmIdentity {
            idty_name: b"alice",
        },
    );
    f(
        "revoke_identity_ed25519",
        Ed,
        71,
        Call::RevokeIdentity {
            idty_index: 7,
            revocation_key: &revo_key,
            revocation_sig: MultiSignature::Ed25519(&revo_sig),
        },
    );
    let legacy = Call::RevokeIdentityLegacy {
        revocation_document: doc.as_bytes(),
    };
    f("revoke_identity_legacy_ed25519", Ed, 72, legacy);
    f("revoke_identity_legacy_sr25519", Sr, 6, legacy);
    f("add_cert_ed25519", Ed, 64, Call::AddCert { receiver: 4242 });
    f("add_cert_sr25519", Sr, 7, Call::AddCert { receiver: 4242 });
    f(
        "renew_cert_ed25519",
        Ed,
        9,
        Call::RenewCert { receiver: 4242 },
    );
    f(
        "request_distance_evaluation_ed25519",
        Ed,
        10,
        Call::RequestDistanceEvaluation,
    );
}

#[test]
#[ignore = "writes the golden files; run explicitly"]
fn generate_vectors() {
    let p = profile();
    std::fs::create_dir_all(vectors_dir()).unwrap();
    with_vector_calls(&mut |name, key_type, nonce, call| {
        let s = signer(key_type);
        let bytes = build_signed(&call, &s, nonce, 0, &p);
        let v = json!({
            "name": name,
            "extrinsic_hex": hex::encode(&bytes),
            "key_type": key_type.as_str(),
            "signer_hex": hex::encode(s.public()),
            "genesis_hash_hex": hex::encode(p.genesis_hash),
            "spec_version": p.spec_version,
            "tx_version": p.tx_version,
            "nonce": nonce,
            "pallet_index": call.pallet_index(),
            "call_index": call.call_index(),
            "args": args_json(&call),
        });
        let path = vectors_dir().join(format!("{name}.json"));
        std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
        println!("{name}: {} bytes", bytes.len());
    });
}

fn vector_profile(v: &Vector) -> ChainProfile {
    let genesis: [u8; 32] = hex::decode(v.json["genesis_hash_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    ChainProfile {
        genesis_hash: genesis,
        spec_version: v.json["spec_version"].as_u64().unwrap() as u32,
        tx_version: v.json["tx_version"].as_u64().unwrap() as u32,
    }
}

#[test]
fn vectors_decode_to_their_fields() {
    for v in load_vectors() {
        let keys: Vec<&str> = v
            .json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut expected = [
            "name",
            "extrinsic_hex",
            "key_type",
            "signer_hex",
            "genesis_hash_hex",
            "spec_version",
            "tx_version",
            "nonce",
            "pallet_index",
            "call_index",
            "args",
        ];
        expected.sort();
        assert_eq!(keys, expected, "{}", v.name);
        let x = Extrinsic::parse(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(hex::encode(x.signer()), v.json["signer_hex"], "{}", v.name);
        assert_eq!(x.key_type().as_str(), v.json["key_type"], "{}", v.name);
        assert_eq!(u64::from(x.nonce()), v.json["nonce"], "{}", v.name);
        assert_eq!(x.tip(), 0);
        assert_eq!(u64::from(x.call().pallet_index()), v.json["pallet_index"]);
        assert_eq!(u64::from(x.call().call_index()), v.json["call_index"]);
        assert_eq!(args_json(&x.call()), v.json["args"], "{}", v.name);
        assert!(v.name.starts_with(x.call().name()), "{}", v.name);
        assert_eq!(x.len(), v.bytes.len());
        assert_eq!(x.bytes(), &v.bytes[..]);
        assert_eq!(vector_profile(&v), profile());
    }
}

#[test]
fn vectors_reencode_byte_identical() {
    for v in load_vectors() {
        let x = Extrinsic::parse(&v.bytes).unwrap();
        let mut out = Vec::new();
        x.encode(&mut out);
        assert_eq!(out, v.bytes, "{}", v.name);
        let mut call = Vec::new();
        x.call().encode(&mut call);
        assert_eq!(call, x.call_bytes(), "{}", v.name);
        assert_eq!(x.call().encoded_len(), call.len());
        assert_eq!(Call::decode(&call), Ok(x.call()));
        assert!(v.bytes.ends_with(&call));
    }
}

#[test]
fn ed25519_vectors_rebuild_byte_identical() {
    // Ed25519 is deterministic: the builder must reproduce the golden bytes exactly.
    let vectors = load_vectors();
    let mut checked = 0;
    with_vector_calls(&mut |name, key_type, nonce, call| {
        let v = vectors.iter().find(|v| v.name == name).unwrap();
        if key_type == KeyType::Ed25519 {
            let built = build_signed(&call, &signer(key_type), nonce, 0, &profile());
            assert_eq!(built, v.bytes, "{name}");
            checked += 1;
        } else {
            // sr25519 is randomized: a fresh build differs but verifies and decodes the same.
            let built = build_signed(&call, &signer(key_type), nonce, 0, &profile());
            let x = Extrinsic::parse(&built).unwrap();
            assert_eq!(x.verify(&profile()), Ok(()));
            assert_eq!(x.call(), call);
            assert_eq!(built.len(), v.bytes.len());
        }
    });
    assert!(checked >= 10);
}

#[test]
fn vectors_verify_only_against_their_profile() {
    for v in load_vectors() {
        let x = Extrinsic::parse(&v.bytes).unwrap();
        let p = vector_profile(&v);
        assert_eq!(x.verify(&p), Ok(()), "{}", v.name);
        let mut other_genesis = p;
        other_genesis.genesis_hash[31] ^= 1;
        assert_eq!(
            x.verify(&other_genesis),
            Err(VerifyError::BadSignature),
            "{}",
            v.name
        );
        let mut other_spec = p;
        other_spec.spec_version += 1;
        assert_eq!(
            x.verify(&other_spec),
            Err(VerifyError::BadSignature),
            "{}",
            v.name
        );
        let mut other_tx = p;
        other_tx.tx_version += 1;
        assert_eq!(
            x.verify(&other_tx),
            Err(VerifyError::BadSignature),
            "{}",
            v.name
        );
    }
}

#[test]
fn vector_sizes_match_chain_md() {
    for v in load_vectors() {
        let n = v.bytes.len();
        println!("{}: {n} bytes", v.name);
        if v.name.starts_with("transfer_keep_alive") {
            assert!((142..=145).contains(&n), "{}: {n}", v.name);
        }
        if v.name.starts_with("add_cert") || v.name.starts_with("renew_cert") {
            assert!((111..=112).contains(&n), "{}: {n}", v.name);
        }
    }
}

#[derive(Debug, PartialEq)]
enum Rejected {
    Decode(DecodeError),
    Verify(VerifyError),
}

fn check(bytes: &[u8], p: &ChainProfile) -> Result<(), Rejected> {
    let x = Extrinsic::parse(bytes).map_err(Rejected::Decode)?;
    x.verify(p).map_err(Rejected::Verify)
}

#[test]
fn every_single_bit_flip_is_rejected() {
    for v in load_vectors() {
        let p = vector_profile(&v);
        let prefix = v.bytes.len() - body_of(&v.bytes).len();
        let body = prefix; // offset of the version byte
        let (version, signer, sig_tag, sig, era) = (
            body,
            body + 2..body + 34,
            body + 34,
            body + 35..body + 99,
            body + 99,
        );
        for i in 0..v.bytes.len() {
            for bit in 0..8 {
                let mut b = v.bytes.clone();
                b[i] ^= 1 << bit;
                let r = check(&b, &p);
                assert!(r.is_err(), "{}: flip byte {i} bit {bit} accepted", v.name);
                fuzz(&b);
                if i < prefix {
                    assert!(
                        matches!(r, Err(Rejected::Decode(_))),
                        "{} {i}: {r:?}",
                        v.name
                    );
                } else if i == version {
                    assert!(
                        matches!(
                            r,
                            Err(Rejected::Decode(DecodeError {
                                kind: ErrorKind::Extrinsic(
                                    ExtrinsicError::Unsigned
                                        | ExtrinsicError::UnsupportedVersion(_)
                                ),
                                ..
                            }))
                        ),
                        "{} {i}: {r:?}",
                        v.name
                    );
                } else if signer.contains(&i) || sig.contains(&i) {
                    // Raw key or signature bytes: well-formed, but no longer authentic.
                    assert!(
                        matches!(r, Err(Rejected::Verify(_))),
                        "{} {i}: {r:?}",
                        v.name
                    );
                } else if i == era {
                    assert_eq!(
                        r,
                        Err(Rejected::Decode(DecodeError::new(
                            era,
                            ErrorKind::Extrinsic(ExtrinsicError::MortalEra)
                        ))),
                        "{}",
                        v.name
                    );
                } else if i == sig_tag && bit == 0 {
                    // Ed25519 <-> Sr25519: same length, the signature no longer checks.
                    assert!(
                        matches!(r, Err(Rejected::Verify(_))),
                        "{} {i}: {r:?}",
                        v.name
                    );
                }
            }
        }
    }
}

fn prefixed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_compact(&mut out, body.len() as u64);
    out.extend_from_slice(body);
    out
}

/// The body (after the length prefix) of a vector.
fn body_of(bytes: &[u8]) -> Vec<u8> {
    let mut r = Reader::new(bytes);
    r.compact().unwrap();
    r.rest().to_vec()
}

fn transfer_body() -> Vec<u8> {
    let v = load_vectors()
        .into_iter()
        .find(|v| v.name == "transfer_keep_alive_ed25519")
        .unwrap();
    body_of(&v.bytes)
}

fn decode_kind(bytes: &[u8]) -> (usize, ErrorKind) {
    let e = Extrinsic::parse(bytes).unwrap_err();
    (e.offset, e.kind)
}

fn ext(e: ExtrinsicError) -> ErrorKind {
    ErrorKind::Extrinsic(e)
}

#[test]
fn truncation_at_every_length_is_an_error() {
    for v in load_vectors() {
        let body = body_of(&v.bytes);
        for n in 0..v.bytes.len() {
            assert!(
                Extrinsic::parse(&v.bytes[..n]).is_err(),
                "{} cut at {n}",
                v.name
            );
            fuzz(&v.bytes[..n]);
        }
        // Re-prefixed truncations reach every inner decoder.
        for n in 0..body.len() {
            let b = prefixed(&body[..n]);
            assert!(Extrinsic::parse(&b).is_err(), "{} body cut at {n}", v.name);
            fuzz(&b);
        }
    }
}

#[test]
fn length_prefix_must_match() {
    let body = transfer_body();
    let mut padded = prefixed(&body);
    padded.push(0);
    assert_eq!(
        decode_kind(&padded),
        (
            0,
            ext(ExtrinsicError::LengthPrefix {
                declared: body.len() as u64,
                actual: body.len() + 1
            })
        )
    );
    assert_eq!(decode_kind(&[]), (0, ErrorKind::BadCompact));
    // Non-canonical prefix (a 2-byte compact for a value < 64) is refused.
    assert_eq!(decode_kind(&[0x01, 0x00]), (0, ErrorKind::BadCompact));
    // Trailing bytes inside a consistent prefix: a call followed by garbage.
    let mut b = body.clone();
    b.push(0xaa);
    let n = prefixed(&body).len() - body.len();
    assert_eq!(
        decode_kind(&prefixed(&b)),
        (n + body.len(), ErrorKind::TrailingBytes)
    );
}

#[test]
fn header_error_paths() {
    let body = transfer_body();
    let n = prefixed(&body).len() - body.len();
    let with = |i: usize, val: u8| {
        let mut b = body.clone();
        b[i] = val;
        decode_kind(&prefixed(&b))
    };
    assert_eq!(with(0, 0x04), (n, ext(ExtrinsicError::Unsigned)));
    assert_eq!(
        with(0, 0x85),
        (n, ext(ExtrinsicError::UnsupportedVersion(0x85)))
    );
    assert_eq!(
        with(1, 0x01),
        (n + 1, ext(ExtrinsicError::UnsupportedAddress(1)))
    );
    assert_eq!(
        with(34, 0x03),
        (n + 34, ext(ExtrinsicError::UnknownSignatureType(3)))
    );
    assert_eq!(with(99, 0x15), (n + 99, ext(ExtrinsicError::MortalEra)));
    assert_eq!(
        with(102, 0x01),
        (n + 102, ext(ExtrinsicError::MetadataHashMode(1)))
    );
    assert_eq!(
        with(103, 0x07),
        (
            n + 103,
            ext(ExtrinsicError::UnsupportedCall { pallet: 7, call: 3 })
        )
    );
    assert_eq!(
        with(104, 0x00),
        (
            n + 103,
            ext(ExtrinsicError::UnsupportedCall { pallet: 6, call: 0 })
        )
    );
    // dest that is not MultiAddress::Id.
    assert_eq!(
        with(105, 0x02),
        (n + 105, ext(ExtrinsicError::UnsupportedAddress(2)))
    );
}

#[test]
fn extra_error_paths() {
    let body = transfer_body();
    let (head, call) = (&body[..99], &body[103..]);
    let build = |extra: &[u8]| {
        let mut b = head.to_vec();
        b.extend_from_slice(extra);
        b.extend_from_slice(call);
        prefixed(&b)
    };
    let n = build(&[]).len() - (body.len() - 4);
    // Nonce above u32::MAX.
    let mut extra = vec![0x00];
    put_compact(&mut extra, 1 << 32);
    extra.extend_from_slice(&[0x00, 0x00]);
    assert_eq!(
        decode_kind(&build(&extra)),
        (n + 100, ErrorKind::OutOfRange)
    );
    // Non-canonical tip.
    assert_eq!(
        decode_kind(&build(&[0x00, 0x00, 0x01, 0x00, 0x00])),
        (n + 101, ErrorKind::BadCompact)
    );
    // A mortal era is two bytes; refused at its first byte.
    assert_eq!(
        decode_kind(&build(&[0xe5, 0x03, 0x00, 0x00, 0x00])),
        (n + 99, ext(ExtrinsicError::MortalEra))
    );
    // A tip is accepted and signed.
    let s = Signer::ed25519(&ED_SEED);
    let call = Call::AddCert { receiver: 1 };
    let b = build_signed(&call, &s, u32::MAX, u64::MAX, &profile());
    let x = Extrinsic::parse(&b).unwrap();
    assert_eq!((x.nonce(), x.tip()), (u32::MAX, u64::MAX));
    assert_eq!(x.verify(&profile()), Ok(()));
}

fn signed(call: &Call<'_>) -> Vec<u8> {
    build_signed(call, &Signer::ed25519(&ED_SEED), 0, 0, &profile())
}

#[test]
fn argument_bounds() {
    let name = [b'a'; IDTY_NAME_MAX_LEN];
    let ok = signed(&Call::ConfirmIdentity { idty_name: &name });
    assert!(Extrinsic::parse(&ok).is_ok());
    let long = [b'a'; IDTY_NAME_MAX_LEN + 1];
    let e = Extrinsic::parse(&signed(&Call::ConfirmIdentity { idty_name: &long })).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadLength);

    let doc = [b'x'; REVOCATION_DOCUMENT_MAX_LEN];
    let ok = signed(&Call::RevokeIdentityLegacy {
        revocation_document: &doc,
    });
    assert_eq!(Extrinsic::parse(&ok).unwrap().verify(&profile()), Ok(()));
    let doc = [b'x'; REVOCATION_DOCUMENT_MAX_LEN + 1];
    let e = Extrinsic::parse(&signed(&Call::RevokeIdentityLegacy {
        revocation_document: &doc,
    }))
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadLength);
}

#[test]
fn ecdsa_parses_but_does_not_verify() {
    let ecdsa = [7u8; 65];
    let call = Call::ClaimUds;
    // Hand-assembled: version, signer, ecdsa signature, extra, call.
    let mut body = vec![VERSION_SIGNED_V4, MULTI_ADDRESS_ID];
    body.extend_from_slice(&BOB);
    MultiSignature::Ecdsa(&ecdsa).encode(&mut body);
    body.extend_from_slice(&[0, 0, 0, 0]);
    call.encode(&mut body);
    let b = prefixed(&body);
    let x = Extrinsic::parse(&b).unwrap();
    assert_eq!(x.key_type(), KeyType::Ecdsa);
    assert_eq!(x.signature(), MultiSignature::Ecdsa(&ecdsa));
    assert_eq!(x.verify(&profile()), Err(VerifyError::UnsupportedKeyType));
    fuzz(&b);
}

#[test]
fn revoke_identity_inner_signature_round_trips() {
    let sig = [9u8; 64];
    for inner in [MultiSignature::Sr25519(&sig), MultiSignature::Ed25519(&sig)] {
        let call = Call::RevokeIdentity {
            idty_index: u32::MAX,
            revocation_key: &BOB,
            revocation_sig: inner,
        };
        let x_bytes = signed(&call);
        let x = Extrinsic::parse(&x_bytes).unwrap();
        assert_eq!(x.call(), call);
        assert_eq!(x.call().kind(), CallKind::Identity);
    }
}

#[test]
fn call_kinds() {
    assert_eq!(
        Call::TransferKeepAlive {
            dest: &BOB,
            value: 1
        }
        .kind(),
        CallKind::Payment
    );
    assert_eq!(Call::ClaimUds.kind(), CallKind::Payment);
    assert_eq!(
        Call::AddCert { receiver: 1 }.kind(),
        CallKind::Certification
    );
    assert_eq!(
        Call::RenewCert { receiver: 1 }.kind(),
        CallKind::Certification
    );
    assert_eq!(Call::RequestDistanceEvaluation.kind(), CallKind::Identity);
    assert_eq!(CallKind::from_indices(PALLET_BALANCES, 0), CallKind::Other);
    assert_eq!(CallKind::from_indices(0, 0), CallKind::Other);
}

#[test]
fn sr25519_signer_matches_substrate_expansion() {
    // Substrate's development seed (the mini secret of the dev phrase "bottom drive obey lake
    // curtain smoke basket hold race lonely fit walk") and its sr25519 public key, as in
    // sp-core's tests: checks MiniSecretKey + ExpansionMode::Ed25519.
    let dev_seed = hex32("fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e");
    let s = Signer::sr25519_from_seed(&dev_seed);
    assert_eq!(
        hex::encode(s.public()),
        "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
    );
    assert!(format!("{s:?}").starts_with("Signer(sr25519, public 46ebdd"));
    let v = load_vectors()
        .into_iter()
        .find(|v| v.name == "add_cert_sr25519")
        .unwrap();
    let mine = Signer::sr25519_from_seed(&SR_SEED);
    assert_eq!(hex::encode(mine.public()), v.json["signer_hex"]);
}

#[test]
fn fuzz_does_not_panic_on_pseudo_random_input() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let body = transfer_body();
    for _ in 0..20_000 {
        let len = (next() % 200) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        fuzz(&data);
        // Plausible header, random tail: reaches the call decoders.
        data.splice(0..0, body[..103].iter().copied());
        fuzz(&prefixed(&data));
    }
}
