//! Helpers shared by the integration tests of `toile-proto`.

/// Bytes of `tests/vectors/<dir>/<name>.hex`: hex text, `#` comment lines ignored.
pub fn hex_fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/{dir}/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .collect();
    hex::decode(hex).unwrap_or_else(|e| panic!("{path}: {e}"))
}
