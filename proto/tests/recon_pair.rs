//! Two reconcilers over a lossless "air": random sets of 2000 ids (seeded) that differ by d
//! items, one-sided (A holds all of them) and two-sided (each holds half). Counts every byte
//! of every Reconcile frame, the 4-byte radio header included, and checks that both sides end
//! with identical sets and that a final digest is answered by silence.

use std::collections::BTreeSet;

use toile_proto::item::ShortId;
use toile_proto::radio::{HEADER_LEN, MAX_FRAME_LEN, NodeAddr};
use toile_proto::recon::{Event, Reconciler};

const CAP: usize = 128;
const BASE: usize = 2000;
/// Digest frame: the idle check.
const IDLE_CHECK_MAX: usize = 24;
const PER_ITEM_MAX: f64 = 12.0;

struct Node {
    addr: NodeAddr,
    r: Box<Reconciler<CAP>>,
    ids: BTreeSet<u64>,
}

impl Node {
    fn new(addr: u16, ids: impl IntoIterator<Item = u64>) -> Self {
        let addr = NodeAddr(addr);
        let mut n = Self {
            addr,
            r: Box::new(Reconciler::new(addr)),
            ids: BTreeSet::new(),
        };
        for id in ids {
            n.add(id);
        }
        n
    }
    fn add(&mut self, id: u64) {
        if self.ids.insert(id) {
            self.r.insert(ShortId(id));
        }
    }
    fn shorts(&self) -> Vec<ShortId> {
        self.ids.iter().map(|&i| ShortId(i)).collect()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[derive(Debug, Default, Clone, Copy)]
struct Cost {
    /// Every reconciliation byte on air until the sets are equal (digest included).
    bytes: usize,
    frames: usize,
    /// The confirming digest afterwards (answered by silence).
    idle_check: usize,
    decode_mults: u64,
}

/// Deliver every frame and push until nothing moves; `a` starts with a digest.
fn reconcile(a: &mut Node, b: &mut Node, cost: &mut Cost) {
    let mut now = 0u64;
    a.r.start(now);
    for _round in 0..1_000 {
        let moved = step(now, a, b, cost) | step(now, b, a, cost);
        if !moved {
            return;
        }
        now += 1_000_000;
    }
    panic!("reconciliation did not settle");
}

/// Send `from`'s frames to `to`, then apply both sides' events (a Push is an item transfer,
/// not reconciliation traffic: the receiver simply gains the id).
fn step(now: u64, from: &mut Node, to: &mut Node, cost: &mut Cost) -> bool {
    let mut buf = [0u8; MAX_FRAME_LEN];
    let mut moved = false;
    while let Some(n) = from.r.poll_frame(now, &mut buf) {
        moved = true;
        assert!(n + HEADER_LEN <= MAX_FRAME_LEN, "frame too long: {n}");
        cost.bytes += n + HEADER_LEN;
        cost.frames += 1;
        let ids = to.shorts();
        to.r.handle_frame(now, from.addr, &buf[..n], ids)
            .expect("valid frame");
    }
    moved |= apply_events(from, to);
    moved |= apply_events(to, from);
    cost.decode_mults = from.r.counters().decode_mults + to.r.counters().decode_mults;
    moved
}

/// Apply `x`'s events: a Push to `y` gives `y` the id.
fn apply_events(x: &mut Node, y: &mut Node) -> bool {
    let mut moved = false;
    while let Some(e) = x.r.poll_event() {
        match e {
            Event::Push { to: addr, id } => {
                assert_eq!(addr, y.addr);
                assert!(x.ids.contains(&id.0), "pushes an id it does not hold");
                y.add(id.0);
                moved = true;
            }
            Event::Failed { peer } => panic!("session with {peer:?} failed"),
            _ => {}
        }
    }
    moved
}

/// Reconcile two random sets of 2000 ids differing by `d`; returns the cost, after checking
/// that the sets end equal and a final digest is answered by silence.
fn run_case(seed: u64, d: usize, two_sided: bool) -> Cost {
    let mut st = seed;
    let base: Vec<u64> = (0..BASE - d).map(|_| splitmix(&mut st)).collect();
    let extra: Vec<u64> = (0..d).map(|_| splitmix(&mut st)).collect();
    let (a_extra, b_extra) = if two_sided {
        extra.split_at(d / 2)
    } else {
        (&extra[..], &[][..])
    };
    let mut a = Node::new(1, base.iter().chain(a_extra).copied());
    let mut b = Node::new(2, base.iter().chain(b_extra).copied());
    let mut cost = Cost::default();
    reconcile(&mut a, &mut b, &mut cost);
    assert_eq!(
        a.ids, b.ids,
        "sets differ after reconciliation (seed {seed}, d {d})"
    );
    assert_eq!(a.r.set_hash(), b.r.set_hash());
    // The idle check: one digest, answered by silence.
    let mut idle = Cost::default();
    reconcile(&mut a, &mut b, &mut idle);
    assert_eq!(idle.frames, 1, "an in-sync digest must not be answered");
    cost.idle_check = idle.bytes;
    cost
}

const DS: [usize; 8] = [0, 1, 2, 5, 10, 20, 50, 100];

#[test]
fn bytes_per_differing_item() {
    println!(
        "| d | sides | frames | bytes | bytes/item (all) | bytes/item (beyond the check) | idle check |"
    );
    for two_sided in [false, true] {
        for d in DS {
            for seed in 1..=3u64 {
                let c = run_case(seed * 1_000 + d as u64, d, two_sided);
                assert!(
                    c.idle_check <= IDLE_CHECK_MAX,
                    "idle check {} B",
                    c.idle_check
                );
                if d == 0 {
                    assert_eq!(c.frames, 1);
                    assert!(c.bytes <= IDLE_CHECK_MAX);
                    continue;
                }
                let beyond = (c.bytes - c.idle_check) as f64 / d as f64;
                let all = c.bytes as f64 / d as f64;
                if seed == 1 {
                    println!(
                        "| {d} | {} | {} | {} | {all:.1} | {beyond:.1} | {} |",
                        if two_sided { 2 } else { 1 },
                        c.frames,
                        c.bytes,
                        c.idle_check
                    );
                }
                assert!(
                    beyond <= PER_ITEM_MAX,
                    "d {d} two_sided {two_sided} seed {seed}: {beyond:.1} B per item beyond the check"
                );
            }
        }
    }
}
