//! The duniterpy oracle for DUBP documents: an independent implementation parses every golden
//! vector (`proto/tests/vectors/dubp/*.dubp`) and **every text our renderer produces from the
//! compact `.hex` forms**, re-serializes each byte for byte, and verifies every signature.

use std::process::Command;

use toile_proto::item::dubp::Document;
use toile_tests::{duniterpy_python, workspace_root};

#[test]
fn duniterpy_accepts_vectors_and_our_renders() {
    let vectors = workspace_root().join("proto/tests/vectors/dubp");
    let renders = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    for entry in std::fs::read_dir(&vectors).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "hex") {
            let hex_text = std::fs::read_to_string(&path).unwrap();
            let compact = hex::decode(hex_text.trim()).unwrap();
            let doc =
                Document::parse(&compact).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.with_extension("dubp");
            let name = name.file_name().unwrap();
            std::fs::write(renders.path().join(name), doc.render_to_string()).unwrap();
            n += 1;
        }
    }
    assert!(n >= 10, "expected the DUBP golden vectors, found {n}");
    let out = Command::new(duniterpy_python())
        .arg(workspace_root().join("proto/tests/duniterpy/check_vectors.py"))
        .arg(&vectors)
        .arg(renders.path())
        .output()
        .expect("run check_vectors.py");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "duniterpy oracle refused:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tampered document must make the oracle fail: the check is not vacuous.
#[test]
fn duniterpy_refuses_a_tampered_render() {
    let vectors = workspace_root().join("proto/tests/vectors/dubp");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(vectors.join("tx_d_1in_2out.dubp")).unwrap();
    let tampered = text.replacen("Outputs:\n2500:", "Outputs:\n2600:", 1);
    assert_ne!(text, tampered, "fixture changed: update the tampering");
    std::fs::write(dir.path().join("tx.dubp"), tampered).unwrap();
    let out = Command::new(duniterpy_python())
        .arg(workspace_root().join("proto/tests/duniterpy/check_vectors.py"))
        .arg(dir.path())
        .output()
        .expect("run check_vectors.py");
    assert!(
        !out.status.success(),
        "the oracle accepted a tampered transaction"
    );
}
