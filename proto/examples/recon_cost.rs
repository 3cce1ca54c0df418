//! CPU cost of set reconciliation, measured on this host in release mode:
//!
//! ```text
//! cargo run --release -p toile-proto --features std --example recon_cost
//! ```
//!
//! Prints, side by side in one process: decoding a 50-element difference (the work a node
//! does once per reconciliation), against the baseline of computing a capacity-64 sketch of a
//! 2000-id set from scratch (what a non-incremental design would pay per session), the
//! incremental insert, and the number of GF(2²⁴) multiplications — the unit of the MCU
//! estimate (see the README for cycles per multiplication on a Cortex-M4).
//! The byte costs are printed by `cargo nextest run -p toile-proto --features std
//! -E 'binary(recon_pair)' --no-capture`.

use std::hint::black_box;
use std::time::Instant;

use heapless::Vec;
use toile_proto::item::ShortId;
use toile_proto::radio::NodeAddr;
use toile_proto::recon::{Reconciler, Workspace, gf, sketch};

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Median seconds per call of `f` over `reps` calls, repeated 7 times.
fn time<F: FnMut()>(reps: u32, mut f: F) -> f64 {
    let mut runs: std::vec::Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / f64::from(reps)
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[3]
}

fn main() {
    const CAP: usize = 128;
    let mut st = 42;
    // Field multiplication.
    let (a, b) = (splitmix(&mut st) as u32, splitmix(&mut st) as u32);
    let mul_s = time(200_000, || {
        black_box(gf::mul(black_box(a), black_box(b)));
    });

    // Decode of d = 50 at capacity 50 (exact) and 64 (slack, as after growing by half).
    let mut rows = std::vec::Vec::new();
    for (d, c) in [(50usize, 50usize), (50, 64), (20, 24), (100, 100)] {
        let elems: std::vec::Vec<u32> = (0..d)
            .map(|_| (splitmix(&mut st) as u32 & gf::MASK) | 1)
            .collect();
        let mut sums = vec![0u32; c];
        for &e in &elems {
            sketch::toggle(&mut sums, e);
        }
        let mut ws = Box::new(Workspace::<CAP>::new());
        let mut out: Vec<u32, CAP> = Vec::new();
        let mults = sketch::decode(&sums, &mut ws, &mut out).expect("decodes");
        assert_eq!(out.len(), d);
        let s = time(20, || {
            black_box(sketch::decode(black_box(&sums), &mut ws, &mut out).ok());
        });
        rows.push((d, c, mults, s));
    }

    // Baseline: a capacity-64 sketch of 2000 ids from scratch.
    let ids: std::vec::Vec<u32> = (0..2000).map(|_| splitmix(&mut st) as u32).collect();
    let scratch_s = time(5, || {
        let mut sums = [0u32; 64];
        for &x in &ids {
            sketch::toggle(&mut sums, black_box(x));
        }
        black_box(sums);
    });
    // Incremental insert (both projections, capacity 128).
    let mut r = Box::new(Reconciler::<CAP>::new(NodeAddr(1)));
    let insert_s = time(2_000, || {
        r.insert(ShortId(splitmix(&mut st)));
    });

    println!("field multiplication: {:.1} ns", mul_s * 1e9);
    println!("| d | capacity | field mults | host decode | decode / from-scratch sketch |");
    for (d, c, mults, s) in &rows {
        println!(
            "| {d} | {c} | {mults} | {:.2} ms | {:.2}x |",
            s * 1e3,
            s / scratch_s
        );
    }
    println!(
        "baseline: capacity-64 sketch of 2000 ids from scratch: {:.2} ms ({} mults)",
        scratch_s * 1e3,
        2000 * 64
    );
    println!(
        "incremental insert (2 projections x {CAP} power sums = {} mults): {:.1} us",
        2 * CAP,
        insert_s * 1e6
    );
}
