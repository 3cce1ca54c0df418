//! Helpers for the offline pay / certify / status tests: a bridge data directory driven
//! through the real `toile` binary, and key fixtures.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use toile_proto::address::{
    BASE58_KEY_MAX_LEN, G1_SS58_PREFIX, SS58_MAX_LEN, base58_key_encode, ss58_encode,
};
use toile_proto::crypto::ed25519_public;

use crate::toile_bin;

/// Cesium credentials of the paying / certifying account in these tests.
pub const PAYER_SALT: &str = "toile-test-payer";
pub const PAYER_PASSWORD: &str = "market stall 12";

/// A bridge: a temporary `--data` directory used through the real binary.
pub struct Bridge {
    pub dir: tempfile::TempDir,
}

impl Default for Bridge {
    fn default() -> Self {
        Self::new()
    }
}

impl Bridge {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Run `toile ARGS --data DIR` with `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run(args, Some(self.dir.path()), stdin)
    }

    /// Run and expect success and one JSON object on stdout.
    pub fn json(&self, args: &[&str], stdin: &str) -> Value {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "toile {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
    }

    /// Run and expect failure; returns stderr.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "toile {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `toile chain import` a snapshot.
    pub fn import(&self, snapshot: &Value) -> Value {
        let path = self.dir.path().join("snapshot.json");
        std::fs::write(&path, snapshot.to_string()).expect("write snapshot");
        self.json(
            &[
                "chain",
                "import",
                path.to_str().expect("utf-8 path"),
                "--json",
            ],
            "",
        )
    }

    /// `toile pay` from the payer's credentials, `--json`.
    pub fn pay(&self, extra: &[&str]) -> Value {
        self.json(&payer_args("pay", extra), &format!("{PAYER_PASSWORD}\n"))
    }

    /// `toile pay` from the payer's credentials, expected to fail; returns stderr.
    pub fn pay_fails(&self, extra: &[&str]) -> String {
        self.fails(&payer_args("pay", extra), &format!("{PAYER_PASSWORD}\n"))
    }
}

/// `COMMAND --salt PAYER --password-stdin --json EXTRA…`.
fn payer_args<'a>(command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command, "--salt", PAYER_SALT, "--password-stdin", "--json"];
    args.extend_from_slice(extra);
    args
}

/// Run the `toile` binary.
pub fn run(args: &[&str], data: Option<&std::path::Path>, stdin: &str) -> Output {
    let mut cmd = Command::new(toile_bin());
    cmd.args(args);
    if let Some(d) = data {
        cmd.arg("--data").arg(d);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn toile");
    if let Some(mut s) = child.stdin.take() {
        let _ = s.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait for toile")
}

/// `toile id --json` of Cesium credentials.
pub fn id(salt: &str, password: &str) -> Value {
    let out = run(
        &["id", "--salt", salt, "--password-stdin", "--json"],
        None,
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "toile id failed");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The payer's 32-byte public key.
pub fn payer_public() -> [u8; 32] {
    let v = id(PAYER_SALT, PAYER_PASSWORD);
    hex::decode(v["public_hex"].as_str().expect("public_hex"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// The Ğ1 address of a key.
pub fn g1_address(key: &[u8; 32]) -> String {
    let mut buf = [0u8; SS58_MAX_LEN];
    ss58_encode(key, G1_SS58_PREFIX, &mut buf).to_owned()
}

/// The v1 base58 text of a key.
pub fn base58(key: &[u8; 32]) -> String {
    let mut buf = [0u8; BASE58_KEY_MAX_LEN];
    base58_key_encode(key, &mut buf).to_owned()
}

/// A key from a raw ed25519 seed: `(seed, public)`.
pub fn seed_key(byte: u8) -> ([u8; 32], [u8; 32]) {
    let seed = [byte; 32];
    (seed, ed25519_public(&seed))
}

/// A blockstamp `N-HASH` whose hash is `byte` repeated.
pub fn blockstamp(number: u64, byte: u8) -> String {
    format!("{number}-{}", hex::encode_upper([byte; 32]))
}

/// A signed v1 identity (self-certification) of `seed` as `uid`: `(pubkey, blockstamp,
/// signature base64)`, as a snapshot lists it.
pub fn v1_identity(seed: &[u8; 32], uid: &str, currency: &str) -> (String, String, String) {
    let key = base58(&ed25519_public(seed));
    let ts = blockstamp(0, 0xE3);
    let unsigned = format!(
        "Version: 10\nType: Identity\nCurrency: {currency}\nIssuer: {key}\nUniqueID: {uid}\nTimestamp: {ts}\n"
    );
    let compact = toile_proto::item::dubp::sign(&unsigned, &[*seed]).expect("identity signs");
    let doc = toile_proto::item::dubp::Document::parse(&compact).expect("parses");
    let text = doc.render_to_string();
    let sig = text.lines().last().expect("signature line").to_owned();
    (key, ts, sig)
}

/// Check DUBP texts with the duniterpy oracle (`proto/tests/duniterpy/check_vectors.py`).
pub fn duniterpy_accepts(texts: &[(&str, String)]) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in texts {
        std::fs::write(dir.path().join(format!("{name}.dubp")), text).expect("write");
    }
    let out = Command::new(crate::duniterpy_python())
        .arg(crate::workspace_root().join("proto/tests/duniterpy/check_vectors.py"))
        .arg(dir.path())
        .output()
        .expect("run check_vectors.py");
    assert!(
        out.status.success(),
        "duniterpy refused our documents:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
