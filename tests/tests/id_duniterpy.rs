//! `toile id` derives the same keys as duniterpy (an independent implementation), and the
//! matching Ğ1 v2 address.

use std::io::Write;
use std::process::{Command, Stdio};

use toile_tests::{run_python, toile_bin};

fn toile_id(salt: &str, password: &str) -> serde_json::Value {
    let mut child = Command::new(toile_bin())
        .args(["id", "--salt", salt, "--password-stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn toile");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "toile id failed");
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn credentials_match_duniterpy() {
    let cases = [
        ("rootsalt", "rootpass"),
        (
            "JhxtHB7UcsDbA9wMSyMKXUzBZUQvqVyB32KwzS9SWoLkjrUhHV",
            "pässwörd ü",
        ),
    ];
    for (salt, password) in cases {
        let ours = toile_id(salt, password);
        let theirs = run_python(
            "import sys\nfrom duniterpy.key import SigningKey\nprint(SigningKey.from_credentials(sys.argv[1], sys.argv[2]).pubkey)",
            &[salt, password],
        );
        assert_eq!(ours["v1_pubkey"], theirs.trim(), "salt {salt}");
        let addr = ours["v2_address"].as_str().unwrap();
        assert!(addr.starts_with("g1"), "{addr}");
        // The address encodes the same 32 bytes.
        let key = toile_proto::address::parse_account(addr).unwrap();
        assert_eq!(hex::encode(key), ours["public_hex"].as_str().unwrap());
    }
    let root = toile_id("rootsalt", "rootpass");
    assert_eq!(
        root["v1_pubkey"],
        "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV"
    );
}
