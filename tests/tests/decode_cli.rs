//! `toile decode` on the real binary: items, frames, DUBP text, link captures, and clear errors
//! with byte offsets for garbage.

use std::process::Command;

use toile_tests::{toile_bin, workspace_root};

fn decode(args: &[&str]) -> (bool, Vec<serde_json::Value>) {
    let out = Command::new(toile_bin())
        .arg("decode")
        .args(args)
        .arg("--json")
        .output()
        .expect("run toile");
    let values = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (out.status.success(), values)
}

fn vector(name: &str) -> serde_json::Value {
    let path = workspace_root()
        .join("proto/tests/vectors/v2s")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn extrinsic_is_decoded_and_verified_with_a_profile() {
    let v = vector("transfer_keep_alive_ed25519");
    let hex = v["extrinsic_hex"].as_str().unwrap();
    let genesis = v["genesis_hash_hex"].as_str().unwrap();
    let (ok, out) = decode(&[hex, "--genesis", genesis]);
    assert!(ok);
    let x = &out[0];
    assert_eq!(x["format"], "extrinsic");
    assert_eq!(x["call"]["name"], "transfer_keep_alive");
    assert_eq!(x["call"]["args"]["value"], v["args"]["value"]);
    assert_eq!(x["signer"]["hex"], v["signer_hex"]);
    assert_eq!(x["signature"], "valid for the given chain profile");
    // Another chain: the same bytes do not verify.
    let (_, out) = decode(&[hex, "--genesis", &"00".repeat(32)]);
    assert!(out[0]["signature"].as_str().unwrap().starts_with("INVALID"));
}

#[test]
fn dubp_text_file_and_radio_fixture() {
    let dubp = workspace_root().join("proto/tests/vectors/dubp/tx_t_1in_2out.dubp");
    let (ok, out) = decode(&["--file", dubp.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out[0]["type"], "Transaction");
    assert_eq!(out[0]["signature"], "valid");
    assert_eq!(out[0]["text"], std::fs::read_to_string(&dubp).unwrap());

    let frame = workspace_root().join("proto/tests/vectors/radio/fragment_first.hex");
    let (ok, out) = decode(&["--file", frame.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out[0]["format"], "frame");
    assert_eq!(out[0]["fragment"]["index"], 0);
}

#[test]
fn link_capture_with_garbage_between_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.bin");
    // A good frame (fixture), garbage, then the same frame again.
    let good = hex::decode("09 01 aa bb cc 27 99 f4 d8 00".replace(' ', "")).unwrap();
    let mut bytes = good.clone();
    bytes.extend_from_slice(&[0x13, 0x37, 0x42, 0x00]);
    bytes.extend_from_slice(&good);
    std::fs::write(&path, &bytes).unwrap();
    let (ok, out) = decode(&["--file", path.to_str().unwrap(), "--as", "link"]);
    assert!(!ok, "a capture with a corrupt frame is reported as such");
    let frames = out[0]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0]["packet"], "Handshake");
    assert!(frames[1]["error"].is_string());
    assert_eq!(
        frames[2]["packet"], "Handshake",
        "the decoder resynchronises after garbage"
    );
}

#[test]
fn garbage_gets_offsets_and_reasons() {
    let (ok, out) = decode(&["0102030405"]);
    assert!(!ok);
    let attempts = out[0]["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 3);
    for a in attempts {
        assert!(a["error"]["offset"].is_u64(), "{a}");
        assert!(!a["error"]["reason"].as_str().unwrap().is_empty());
    }
    let status = Command::new(toile_bin())
        .args(["decode", "zz"])
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stderr).contains("not hex"));
}
