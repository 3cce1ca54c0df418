//! Replays the committed fuzz corpus (`proto/fuzz/corpus/<target>/*`) through the same plain
//! functions cargo-fuzz drives, so every input the fuzzer ever kept stays a regression test.

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            f(&data);
            n += 1;
        }
    }
    // Seeds are committed for every target; an empty corpus means the replay tests nothing.
    assert!(n > 0, "no corpus files in {}", dir.display());
    println!("{target}: replayed {n} inputs");
}

#[test]
fn radio_frame() {
    replay("radio_frame", toile_proto::fuzz::radio_frame);
}

#[test]
fn item() {
    replay("item", toile_proto::fuzz::item);
}

#[test]
fn dubp_compact() {
    replay("dubp_compact", toile_proto::fuzz::dubp_compact);
}

#[test]
fn v2s_extrinsic() {
    replay("v2s_extrinsic", toile_proto::fuzz::v2s_extrinsic);
}

#[test]
fn link_stream() {
    replay("link_stream", toile_proto::fuzz::link_stream);
}

#[test]
fn recon() {
    replay("recon", toile_proto::fuzz::recon);
}

#[cfg(feature = "std")]
#[test]
fn engine() {
    replay("engine", toile_proto::fuzz::engine);
}
