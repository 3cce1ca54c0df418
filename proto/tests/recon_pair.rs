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
    a.r.start(0);
    settle(0, a, b, cost);
}

/// Exchange frames and pushes until nothing moves.
fn settle(mut now: u64, a: &mut Node, b: &mut Node, cost: &mut Cost) {
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
            for seed in 1..=2u64 {
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

/// Two ids whose low 24 bits collide hide from each other in the low projection; the 64-bit
/// set hash notices and the pair reconciles in the high projection.
#[test]
fn low_projection_collision_resolves_in_high() {
    let mut st = 7;
    let base: Vec<u64> = (0..BASE).map(|_| splitmix(&mut st)).collect();
    let x = 0x1111_1111_dead_beef_u64;
    let y = 0x2222_2222_dead_beef_u64;
    let mut a = Node::new(1, base.iter().copied().chain([x]));
    let mut b = Node::new(2, base.iter().copied().chain([y]));
    let mut cost = Cost::default();
    reconcile(&mut a, &mut b, &mut cost);
    assert_eq!(a.ids, b.ids);
    assert!(a.ids.contains(&x) && a.ids.contains(&y));
    println!("collision: {} frames, {} bytes", cost.frames, cost.bytes);
    let mut idle = Cost::default();
    reconcile(&mut a, &mut b, &mut idle);
    assert_eq!(idle.frames, 1);
}

/// Two nodes whose sets differ by 5 + 5 ids (seeded), run up to A's More: A's digest → B,
/// which cannot decode 10 differences from 2 power sums and answers with its own sketch (6
/// power sums), from which A cannot decode 10 either. The More is returned undelivered.
fn up_to_a_more(seed: u64) -> (Node, Node, Vec<u8>, u64) {
    let mut st = seed;
    let base: Vec<u64> = (0..BASE).map(|_| splitmix(&mut st)).collect();
    let extra: Vec<u64> = (0..10).map(|_| splitmix(&mut st)).collect();
    let mut a = Node::new(1, base.iter().chain(&extra[..5]).copied());
    let mut b = Node::new(2, base.iter().chain(&extra[5..]).copied());
    let mut buf = [0u8; MAX_FRAME_LEN];
    a.r.start(0);
    let n = a.r.poll_frame(0, &mut buf).unwrap();
    b.r.handle_frame(0, a.addr, &buf[..n], b.shorts()).unwrap();
    let n = b.r.poll_frame(0, &mut buf).unwrap();
    assert_eq!(buf[0] & 0x0f, 4, "expected B's Sketch");
    a.r.handle_frame(0, b.addr, &buf[..n], a.shorts()).unwrap();
    let n = a.r.poll_frame(0, &mut buf).unwrap();
    assert_eq!(buf[0] & 0x0f, 1, "expected a More");
    (a, b, buf[..n].to_vec(), st)
}

/// A lost Extend frame: the decoding side asks again after its timeout and still settles.
#[test]
fn lost_frame_is_asked_again() {
    let (mut a, mut b, more, _) = up_to_a_more(11);
    let mut buf = [0u8; MAX_FRAME_LEN];
    b.r.handle_frame(0, a.addr, &more, b.shorts()).unwrap();
    // B's Extend is lost.
    assert!(b.r.poll_frame(0, &mut buf).is_some());
    assert!(b.r.poll_frame(0, &mut buf).is_none());
    assert!(a.r.poll_frame(0, &mut buf).is_none());
    let t = a.r.poll_timeout().expect("a session waits");
    a.r.handle_timeout(t);
    let mut cost = Cost::default();
    settle(t, &mut a, &mut b, &mut cost);
    assert_eq!(a.ids, b.ids);
}

/// A More that comes after the answering side's set changed (an item arrived meanwhile) is
/// answered with that side's whole current sketch, which restarts the session on the new
/// set: no fresh digest, no timeout, and the sets still settle.
#[test]
fn stale_more_is_answered_with_the_current_sketch() {
    let (mut a, mut b, more, mut st) = up_to_a_more(13);
    let mut buf = [0u8; MAX_FRAME_LEN];
    // B gains an item before the More reaches it.
    b.add(splitmix(&mut st));
    b.r.handle_frame(0, a.addr, &more, b.shorts()).unwrap();
    assert_eq!(b.r.counters().stale_more, 1);
    let n = b.r.poll_frame(0, &mut buf).unwrap();
    assert_eq!(buf[0] & 0x0f, 4, "expected B's current Sketch");
    a.r.handle_frame(0, b.addr, &buf[..n], a.shorts()).unwrap();
    let mut cost = Cost::default();
    settle(1_000_000, &mut a, &mut b, &mut cost);
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.ids.len(), BASE + 11);
    assert_eq!(a.r.counters().fail_timeout + b.r.counters().fail_timeout, 0);
}

/// A peer that never answers: the session is asked twice more, then abandoned.
#[test]
fn silent_peer_is_abandoned() {
    let mut a = Node::new(1, (1..=20u64).map(|i| i * 0x0101_0101_0101));
    let mut b = Node::new(2, (5..=30u64).map(|i| i * 0x0101_0101_0101));
    let mut buf = [0u8; MAX_FRAME_LEN];
    // B's digest → A, which answers with its sketch (14 differences: too many for both).
    b.r.start(0);
    let n = b.r.poll_frame(0, &mut buf).unwrap();
    a.r.handle_frame(0, b.addr, &buf[..n], a.shorts()).unwrap();
    let n = a.r.poll_frame(0, &mut buf).unwrap();
    assert_eq!(buf[0] & 0x0f, 4, "expected A's Sketch");
    // B decodes from it, fails, and asks A for more: from here A never answers.
    b.r.handle_frame(0, a.addr, &buf[..n], b.shorts()).unwrap();
    let mut asks = 0;
    while let Some(t) = b.r.poll_timeout() {
        while b.r.poll_frame(t, &mut buf).is_some() {
            asks += 1;
        }
        b.r.handle_timeout(t);
    }
    while b.r.poll_frame(0, &mut buf).is_some() {
        asks += 1;
    }
    assert_eq!(asks, 3, "one More, then two re-asks");
    let mut failed = false;
    while let Some(e) = b.r.poll_event() {
        failed |= matches!(e, Event::Failed { peer } if peer == a.addr);
    }
    assert!(failed);
}

/// Byte fixtures of the body layout documented in `recon`'s module doc.
#[test]
fn wire_fixtures() {
    use toile_proto::recon::{Projection, ReconRepr, wire::Elems};
    let cases: [(ReconRepr<'_>, &str); 4] = [
        (
            ReconRepr::Digest {
                count: 2000,
                hash: 0x0102_0304_0506_0708,
                sketch: [0x00bb_ccdd, 0x0022_3344],
            },
            "00d007080706050403020 1ddccbb 443322",
        ),
        (
            ReconRepr::More {
                to: NodeAddr(0x1234),
                projection: Projection::High,
                check: 0x08,
                from: 2,
                upto: 8,
            },
            "81341208 0208",
        ),
        (
            ReconRepr::Extend {
                to: NodeAddr(0x0001),
                projection: Projection::Low,
                offset: 2,
                syndromes: Elems::Values(&[0x0003_0201]),
            },
            "02010002 010203",
        ),
        (
            ReconRepr::Want {
                to: NodeAddr(0x0002),
                projection: Projection::Low,
                prefixes: Elems::Values(&[0x00ab_cdef, 0xff12_3456]),
            },
            "030200 efcdab 563412",
        ),
    ];
    for (repr, hex_str) in cases {
        let want = hex::decode(hex_str.replace(' ', "")).unwrap();
        let mut buf = [0u8; MAX_FRAME_LEN];
        let n = repr.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &want[..], "{repr:?}");
        assert_eq!(repr.buffer_len(), n);
        assert_eq!(ReconRepr::parse(&want).unwrap(), repr);
    }
    // Malformed: unknown type, reserved bits, a digest in the high projection, ragged sums.
    for bad in ["05", "40", "80d007", "020100020102", "0101000000", ""] {
        let b = hex::decode(bad).unwrap();
        assert!(ReconRepr::parse(&b).is_err(), "{bad}");
    }
}

/// RAM of the component for a 2000-id store (the ids stay in the caller's index).
#[test]
fn ram_footprint() {
    use toile_proto::recon::Workspace;
    let state = std::mem::size_of::<Reconciler<CAP>>();
    let ws = std::mem::size_of::<Workspace<CAP>>();
    println!("Reconciler<{CAP}>: {state} B; decode workspace (stack, transient): {ws} B");
    assert!(state <= 8 * 1024, "{state}");
}

/// Random and mutated bodies through the fuzz entry point (a seeded stand-in for a fuzzing
/// run; cargo-fuzz drives the same function).
#[test]
fn random_bodies_never_panic() {
    let mut st = 99;
    let valid: [&[u8]; 4] = [
        &[
            0x00, 0xd0, 0x07, 8, 7, 6, 5, 4, 3, 2, 1, 0xdd, 0xcc, 0xbb, 0x44, 0x33, 0x22,
        ],
        &[0x01, 0x01, 0x00, 0x00, 0x02, 0x08],
        &[0x04, 0x01, 0x00, 0x05, 0x00, 0x00, 1, 2, 3, 4, 5, 6],
        &[0x03, 0x01, 0x00, 0xef, 0xcd, 0xab],
    ];
    for i in 0..5_000u64 {
        let r = splitmix(&mut st);
        let mut data: Vec<u8> = if i % 2 == 0 {
            let len = (r % 80) as usize;
            (0..len).map(|_| splitmix(&mut st) as u8).collect()
        } else {
            valid[(r % 4) as usize].to_vec()
        };
        if !data.is_empty() {
            let at = (splitmix(&mut st) % data.len() as u64) as usize;
            data[at] ^= (r >> 8) as u8;
            if r & 0x10000 != 0 {
                data.extend((0..(r >> 20) % 12).map(|_| splitmix(&mut st) as u8));
            }
        }
        toile_proto::fuzz::recon(&data);
    }
}

/// Decoding is exact up to the capacity: every random set of k ≤ c nonzero elements comes
/// back from its c power sums.
#[test]
fn sketch_decodes_up_to_capacity() {
    use toile_proto::recon::{Workspace, sketch};
    let mut st = 5;
    let mut ws = Workspace::<64>::new();
    for c in [1usize, 2, 3, 8, 20, 64] {
        for k in 0..=c {
            let mut elems: Vec<u32> = (0..k)
                .map(|_| (splitmix(&mut st) as u32 & toile_proto::recon::gf::MASK) | 1)
                .collect();
            elems.sort_unstable();
            elems.dedup();
            let mut sums = vec![0u32; c];
            for &e in &elems {
                sketch::toggle(&mut sums, e);
            }
            let mut out = heapless::Vec::<u32, 64>::new();
            sketch::decode(&sums, &mut ws, &mut out)
                .unwrap_or_else(|e| panic!("c {c} k {k}: {e:?}"));
            let mut got: Vec<u32> = out.iter().copied().collect();
            got.sort_unstable();
            assert_eq!(got, elems, "c {c} k {k}");
        }
    }
}

/// A broadcast digest answered by two neighbours at once (both hear everything): each pair
/// reconciles, and after a second digest from each node the three sets are equal.
#[test]
fn three_nodes_hear_one_digest() {
    let mut st = 21;
    let base: Vec<u64> = (0..500).map(|_| splitmix(&mut st)).collect();
    let extra: Vec<u64> = (0..30).map(|_| splitmix(&mut st)).collect();
    let mut nodes = [
        Node::new(1, base.iter().chain(&extra[..10]).copied()),
        Node::new(2, base.iter().chain(&extra[10..20]).copied()),
        Node::new(3, base.iter().chain(&extra[20..]).copied()),
    ];
    let mut buf = [0u8; MAX_FRAME_LEN];
    for starter in [0usize, 1, 2, 0] {
        nodes[starter].r.start(0);
        for _ in 0..200 {
            let mut moved = false;
            for i in 0..3 {
                while let Some(n) = nodes[i].r.poll_frame(0, &mut buf) {
                    moved = true;
                    let from = nodes[i].addr;
                    for (j, node) in nodes.iter_mut().enumerate() {
                        if j != i {
                            let ids = node.shorts();
                            node.r.handle_frame(0, from, &buf[..n], ids).unwrap();
                        }
                    }
                }
            }
            for i in 0..3 {
                while let Some(e) = nodes[i].r.poll_event() {
                    if let Event::Push { to, id } = e {
                        let j = nodes.iter().position(|n| n.addr == to).unwrap();
                        moved |= nodes[j].ids.insert(id.0) && {
                            nodes[j].r.insert(id);
                            true
                        };
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    assert_eq!(nodes[0].ids, nodes[1].ids);
    assert_eq!(nodes[1].ids, nodes[2].ids);
    assert_eq!(nodes[0].ids.len(), 530);
}

/// With an answer window, two neighbours that both fail to decode a digest answer it at
/// different instants within the window, not at once; the later one hears the earlier one's
/// Sketch to the same node and drops its own (the digest's sender reconciles with the first,
/// and its next digest finds what is left).
#[test]
fn answers_to_a_digest_are_spread_and_the_later_one_yields() {
    const WINDOW: u64 = 4_000_000;
    let mut st = 33;
    let base: Vec<u64> = (0..300).map(|_| splitmix(&mut st)).collect();
    let extra: Vec<u64> = (0..12).map(|_| splitmix(&mut st)).collect();
    let mut nodes = [
        Node::new(1, base.iter().copied()),
        Node::new(2, base.iter().chain(&extra[..6]).copied()),
        Node::new(3, base.iter().chain(&extra[6..]).copied()),
    ];
    for n in &mut nodes[1..] {
        let r = std::mem::replace(&mut *n.r, Reconciler::new(n.addr));
        *n.r = r.with_answer_window(WINDOW);
    }
    let mut buf = [0u8; MAX_FRAME_LEN];
    let now = 5_000_000;
    nodes[0].r.start(now);
    let n = nodes[0].r.poll_frame(now, &mut buf).unwrap();
    for node in &mut nodes[1..] {
        let ids = node.shorts();
        node.r
            .handle_frame(now, NodeAddr(1), &buf[..n], ids)
            .unwrap();
        // Six differences do not decode from a digest's two power sums: an answer waits.
        assert!(!node.r.has_output(now), "an answer must not go at once");
    }
    let at: Vec<u64> = nodes[1..]
        .iter()
        .map(|n| n.r.answer_at().unwrap())
        .collect();
    assert!(at.iter().all(|&t| t > now && t < now + WINDOW), "{at:?}");
    assert_ne!(at[0], at[1], "the two answers must be spread");
    let (first, second) = if at[0] < at[1] { (1, 2) } else { (2, 1) };
    let t = at[first - 1];
    assert!(!nodes[first].r.has_output(t - 1));
    let n = nodes[first]
        .r
        .poll_frame(t, &mut buf)
        .expect("the first answer is due");
    assert_eq!(buf[0] & 0x0f, 4, "a Sketch");
    // The second neighbour overhears it and yields; the digest's sender takes it.
    let ids = nodes[second].shorts();
    let from = nodes[first].addr;
    nodes[second]
        .r
        .handle_frame(t, from, &buf[..n], ids)
        .unwrap();
    assert_eq!(nodes[second].r.counters().yielded, 1);
    assert_eq!(nodes[second].r.answer_at(), None);
    assert!(!nodes[second].r.has_output(at[second - 1]));
    let ids = nodes[0].shorts();
    nodes[0].r.handle_frame(t, from, &buf[..n], ids).unwrap();
    assert_eq!(nodes[0].r.counters().reconciled, 1);
}
