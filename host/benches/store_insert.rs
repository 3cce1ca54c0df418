//! Store insert throughput: 10 000 items in one `insert_items` call (one transaction) against
//! the baseline of one transaction per item, side by side on the same machine and disk.
//!
//! `cargo bench -p toile-host --bench store_insert [-- ITEMS]`

use std::time::Instant;

use toile_host::store::{Store, Timestamp};
use toile_proto::item::ItemKind;
use toile_proto::item::v2s::{Call, ChainProfile, Signer, build_signed};

fn items(n: u32, salt: u64) -> Vec<Vec<u8>> {
    let signer = Signer::ed25519(&[1; 32]);
    let profile = ChainProfile {
        genesis_hash: [2; 32],
        spec_version: 1100,
        tx_version: 1,
    };
    (0..n)
        .map(|i| {
            let call = Call::TransferKeepAlive {
                dest: &[3; 32],
                value: salt * 1_000_000 + u64::from(i) + 1,
            };
            build_signed(&call, &signer, i, 0, &profile)
        })
        .collect()
}

fn main() {
    let n: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let baseline_n = (n / 10).max(100);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open_dir(dir.path()).expect("store");
    let batch = items(n, 1);
    let single = items(baseline_n, 2);
    let now = Timestamp(0);

    let t = Instant::now();
    let r = store
        .insert_items(
            batch.iter().map(|b| (ItemKind::Extrinsic, &b[..])),
            "bench",
            now,
        )
        .expect("insert");
    let batch_s = t.elapsed().as_secs_f64();
    assert_eq!(r.inserted, n as usize);

    let t = Instant::now();
    let r = store
        .insert_items(
            batch.iter().map(|b| (ItemKind::Extrinsic, &b[..])),
            "bench",
            now,
        )
        .expect("insert again");
    let again_s = t.elapsed().as_secs_f64();
    assert_eq!(r.already, n as usize);

    let t = Instant::now();
    for b in &single {
        store
            .insert_items([(ItemKind::Extrinsic, &b[..])], "bench", now)
            .expect("insert one");
    }
    let single_s = t.elapsed().as_secs_f64();

    let rate = |k: u32, s: f64| f64::from(k) / s;
    println!(
        "batch:    {n} items in one transaction: {:.1} ms ({:.0} items/s)",
        batch_s * 1e3,
        rate(n, batch_s)
    );
    println!(
        "again:    {n} items already present:   {:.1} ms ({:.0} items/s)",
        again_s * 1e3,
        rate(n, again_s)
    );
    println!(
        "baseline: {baseline_n} items, one transaction each: {:.1} ms ({:.0} items/s)",
        single_s * 1e3,
        rate(baseline_n, single_s)
    );
    println!(
        "ratio:    batch is {:.1}x the per-item-transaction baseline",
        rate(n, batch_s) / rate(baseline_n, single_s)
    );
}
