//! # Set reconciliation between neighbours
//!
//! Two neighbours learn which items (by [`ShortId`]) one has and the other lacks, paying in
//! airtime for the *difference*, not for the backlog: an idle "are we in sync?" check is one
//! 21-byte frame, and each differing item costs about 3 bytes of power sums plus 3 bytes of
//! "want" when the asking side lacks it (goal B6: ≤ 12 bytes per differing item, ≤ 24 bytes
//! for the idle check).
//!
//! ## How
//! Each node keeps, **incrementally** (O(`CAP`) field multiplications per insert or remove,
//! no iteration over the store), a PinSketch of its set of ids: the odd power sums
//! `s₁, s₃, …, s₂CAP₋₁` of its ids projected to GF(2²⁴) ([`gf`], [`sketch`]), in two
//! projections ([`Projection`]: bits 23..0 and bits 55..32 of the id), plus the set size and
//! a 64-bit additive set hash (Σ mix(id) mod 2⁶⁴). The sketch of the symmetric difference of
//! two sets is the XOR of their sketches, and a sketch of capacity `c` (its first `c` power
//! sums) decodes any difference of at most `c` elements; a longer sketch is the shorter one
//! extended, so a failed decode costs nothing but the power sums still missing.
//!
//! 24-bit elements (not the 64-bit ids) cost 3 bytes per power sum (32-bit ones cost 4, and
//! 2 bytes more per digest). Two ids with equal projections cancel in a sketch; that is
//! harmless while both sides hold both. It matters only when one of them is in the
//! difference (≈ d × 2n / 2²⁴ per session: 0.02 % per differing item at 2 × 2000 ids), and
//! then the sizes or the 64-bit set hash disagree with the decode ("sketches equal, hashes
//! differ", or a decode the set sizes refute); the pair then reconciles in the high
//! projection. Ids are content hashes, so both projections are uniform.
//!
//! ## Protocol (body of a [`FrameKind::Reconcile`] frame; A checks, B answers)
//! 1. A broadcasts a **Digest** (set size, set hash, capacity-2 sketch) when its driver asks
//!    ([`Reconciler::start`]). A neighbour B whose size, hash and sketch are equal stays
//!    silent ([`Event::InSync`]).
//! 2. Otherwise B XORs A's sketch into its own and decodes (1–2 differences resolve from the
//!    digest alone). If it fails, B answers with its own **Sketch** (its set size and power
//!    sums `0..upto`, `upto` sized from the set-size difference and at least 6) and the roles
//!    swap. Several neighbours may answer one digest: each answer waits a pseudo-random delay
//!    within [`Reconciler::with_answer_window`] (neighbours that do not hear each other would
//!    otherwise collide at A), and one that overhears another neighbour's Sketch to A first
//!    drops its own ([`Counters::yielded`]; A's next digest finds what is left). A decodes
//!    the Sketch against its set as it is then. A failed decode asks for more power sums
//!    with **More** (`from..upto`, growing by half), answered with **Extend** frames
//!    (at most 61 power sums per frame). (B used to send the first More itself: one frame
//!    more, and A's set had often changed by the time it came.) A More whose check byte no
//!    longer matches the answering side's set (an item arrived meanwhile) is answered with
//!    that side's whole current Sketch, which restarts the session on the new set (it used
//!    to send a fresh digest, which the peer ignored while settling, and the session timed
//!    out: 87 of 262 sessions on a 50-node run). Each side keeps one session at a time.
//! 3. When B's decode succeeds (at most `upto` differences, the locator splits into distinct
//!    roots that reproduce every power sum, and the set sizes agree), B knows each differing
//!    element. Those in its own set A lacks: [`Event::Push`] (the driver sends the items to
//!    A). The rest B lacks: B sends **Want** (the elements), and A answers
//!    with [`Event::Push`] for each of its ids that matches.
//! 4. A decode that succeeds but disagrees with the set sizes (a projection collision, or a
//!    set that changed during the session) restarts once in the other projection. Nothing is
//!    ever deleted on the strength of a reconciliation: the worst a wrong answer does is push
//!    an item twice, and the next digest (whose 64-bit hash must then agree) finds what is
//!    left.
//!
//! ## Byte layout of the body (after the 4-byte radio header)
//! Byte 0: bits 3..0 message type, bit 7 projection (0 low, 1 high; always 0 in a digest),
//! bits 6..4 zero. Integers are little-endian. `to` is the [`NodeAddr`] that must act.
//!
//! | type | body | bytes |
//! |---|---|---|
//! | 0 Digest | count `u16` (saturating), hash `u64`, s₁, s₃ (3 bytes each) | 17 (frame 21) |
//! | 1 More | to `u16`, check `u8` (low byte of the digest hash), from `u8`, upto `u8` | 6 (frame 10) |
//! | 2 Extend | to `u16`, offset `u8`, power sums 3 bytes × n (n ≥ 1, offset + n ≤ 255) | 4 + 3n |
//! | 3 Want | to `u16`, elements 3 bytes × n (n ≥ 1) | 3 + 3n |
//! | 4 Sketch | to `u16`, count `u16`, check `u8` (low byte of the set hash), power sums 3 bytes × n (1 ≤ n ≤ 255) | 6 + 3n |
//!
//! A field element (power sum or element) is 3 bytes, little-endian.
//!
//! `from`, `upto` and `offset` index the odd power sums (index i holds s₂ᵢ₊₁).
//!
//! ## Call order
//! The driver (the relay engine) feeds [`Reconciler::insert`] / [`Reconciler::remove`] for
//! every change of its store (exactly mirroring it), [`Reconciler::handle_frame`] for every
//! Reconcile frame heard, [`Reconciler::handle_timeout`] at [`Reconciler::poll_timeout`]; then
//! drains [`Reconciler::poll_frame`] (bodies to send in Reconcile frames) and
//! [`Reconciler::poll_event`]. Operations that need the set itself (classifying a decoded
//! difference, answering a Want) take an iterator over the caller's ids rather than keeping a
//! copy: the ids already live in the engine's index, and a copy would cost 8 bytes × 2000.
//!
//! [`FrameKind::Reconcile`]: crate::radio::FrameKind::Reconcile

pub mod gf;
pub mod sketch;
pub mod wire;

use heapless::{Deque, Vec};

use crate::DecodeError;
use crate::item::ShortId;
use crate::radio::{HEADER_LEN, MAX_FRAME_LEN, NodeAddr};

pub use sketch::{DecodeFailure, Workspace};
pub use wire::{Message, Prefixes, ReconRepr, Syndromes};

/// Which 24 bits of a [`ShortId`] are reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Bits 23..0 (digests always use this one).
    Low,
    /// Bits 55..32: the fallback when two ids collide in the low one.
    High,
}

impl Projection {
    /// The field element of `id` in this projection (0 means "not representable").
    pub const fn of(self, id: ShortId) -> u32 {
        match self {
            Self::Low => id.0 as u32 & gf::MASK,
            Self::High => (id.0 >> 32) as u32 & gf::MASK,
        }
    }
    const fn index(self) -> usize {
        match self {
            Self::Low => 0,
            Self::High => 1,
        }
    }
    const fn other(self) -> Self {
        match self {
            Self::Low => Self::High,
            Self::High => Self::Low,
        }
    }
}

/// Power sums per Extend frame: (255 − 4-byte radio header − 4) / 4.
pub const SYNDROMES_PER_FRAME: usize =
    (MAX_FRAME_LEN - HEADER_LEN - wire::EXTEND_HEADER) / wire::SYNDROME_LEN;
/// Power sums in the first frame of a Sketch.
pub const SYNDROMES_PER_SKETCH: usize =
    (MAX_FRAME_LEN - HEADER_LEN - wire::SKETCH_HEADER) / wire::SYNDROME_LEN;
/// Prefixes per Want frame.
pub const PREFIXES_PER_FRAME: usize =
    (MAX_FRAME_LEN - HEADER_LEN - wire::WANT_HEADER) / wire::PREFIX_LEN;
/// A session without progress for this long (µs) is asked again, then abandoned.
pub const DEFAULT_SESSION_TIMEOUT_US: u64 = 120_000_000;
/// Re-asks of a stalled session before it is abandoned.
pub const SESSION_RETRIES: u8 = 2;
/// Neighbours answered at once (power sums being sent to each).
pub const ANSWERS: usize = 4;
/// Outgoing messages waiting for [`Reconciler::poll_frame`].
const OUT_QUEUE: usize = 4;

/// What the reconciler tells its driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `peer`'s digest matched this node's set: nothing to do.
    InSync { peer: NodeAddr },
    /// `to` lacks the item `id` (found by our decode or asked for in its Want): send it.
    Push { to: NodeAddr, id: ShortId },
    /// A session with `peer` decoded `differences` elements (`pushes` of ours it lacks,
    /// `wants` we asked for).
    Reconciled {
        peer: NodeAddr,
        differences: u16,
        pushes: u16,
        wants: u16,
    },
    /// A session with `peer` was abandoned: more than `CAP` differences, or the peer went
    /// silent. The next digest starts afresh.
    Failed { peer: NodeAddr },
}

/// Counters for observability (malformed input is counted and dropped).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub malformed: u32,
    /// Addressed to another node (overheard).
    pub not_for_us: u32,
    /// A digest arrived while a session with another peer was running.
    pub busy: u32,
    pub decode_failures: u32,
    pub decodes: u32,
    /// Field multiplications spent decoding (the MCU cost model).
    pub decode_mults: u64,
    /// Events dropped because the event queue was full.
    pub events_dropped: u32,
    /// Sessions opened (a digest or sketch that differed from our set).
    pub sessions: u32,
    /// Sessions that ended in a successful, size-consistent decode.
    pub reconciled: u32,
    /// Differences those sessions found (items one side lacked).
    pub differences: u32,
    /// Failures: the difference exceeded `CAP` power sums.
    pub fail_capacity: u32,
    /// Failures: decodes disagreed with the set sizes in both projections (a set changed
    /// mid-session, or the two sides count different sets).
    pub fail_mismatch: u32,
    /// Failures: the peer went silent (its answers lost or collided) after every retry.
    pub fail_timeout: u32,
    /// A More whose check byte no longer matched our set (it changed since our digest).
    pub stale_more: u32,
    /// An Extend that did not continue the session (lost or reordered answer).
    pub extend_gap: u32,
    /// A session given up for a newer digest or sketch of the same peer.
    pub superseded: u32,
    /// Answers to a digest dropped because another neighbour answered it first.
    pub yielded: u32,
}

/// The sans-IO set reconciler of one node, with sketches of capacity `CAP` (≤ 255): it
/// resolves up to `CAP` differences with one neighbour at a time. RAM: about `12 × CAP`
/// bytes of sketches plus the event queue; decoding borrows a [`Workspace`] (`48 × CAP`
/// bytes) only for its duration.
#[derive(Debug)]
pub struct Reconciler<const CAP: usize> {
    me: NodeAddr,
    session_timeout_us: u64,
    answer_window_us: u64,
    count: u32,
    hash: u64,
    /// Odd power sums of the set, per projection.
    sketch: [[u32; CAP]; 2],
    session: Option<Session<CAP>>,
    /// Power sums to send, one entry per neighbour: Extends answering a More, or our own
    /// Sketch (a broadcast digest may be answered by several neighbours at once).
    answers: Deque<Answer, ANSWERS>,
    /// Pending Want: (to, projection, prefixes not yet sent).
    want: Option<(NodeAddr, Projection)>,
    wants: Vec<u32, CAP>,
    out: Deque<Outgoing, OUT_QUEUE>,
    events: Deque<Event, CAP>,
    counters: Counters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outgoing {
    /// Our digest, as it is when sent.
    Digest,
    /// A More request.
    Message(ReconRepr<'static>),
}

/// Power sums `next..upto` of ours still to send to `to`, from time `at`; as a Sketch (with
/// our set size) when `sketch` is set, else as Extend frames.
#[derive(Debug, Clone, Copy)]
struct Answer {
    to: NodeAddr,
    at: u64,
    projection: Projection,
    next: usize,
    upto: usize,
    sketch: bool,
}

/// Outcome of a decode attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Done,
    /// Decoded, but the set sizes disagree.
    Mismatch,
    NeedMore,
}

#[derive(Debug)]
struct Session<const CAP: usize> {
    peer: NodeAddr,
    projection: Projection,
    switched: bool,
    /// Started from the peer's digest (we may still answer with our own Sketch instead).
    from_digest: bool,
    peer_count: u16,
    /// Low byte of the peer's set hash (echoed in More).
    peer_check: u8,
    /// The peer's power sums received so far (a contiguous prefix of length `have`).
    peer_sketch: [u32; CAP],
    have: usize,
    asked: usize,
    deadline: u64,
    retries: u8,
}

impl<const CAP: usize> Reconciler<CAP> {
    /// An empty set for node `me`.
    pub const fn new(me: NodeAddr) -> Self {
        Self {
            me,
            session_timeout_us: DEFAULT_SESSION_TIMEOUT_US,
            answer_window_us: 0,
            count: 0,
            hash: 0,
            sketch: [[0; CAP]; 2],
            session: None,
            answers: Deque::new(),
            want: None,
            wants: Vec::new(),
            out: Deque::new(),
            events: Deque::new(),
            counters: Counters {
                malformed: 0,
                not_for_us: 0,
                busy: 0,
                decode_failures: 0,
                decodes: 0,
                decode_mults: 0,
                events_dropped: 0,
                sessions: 0,
                reconciled: 0,
                differences: 0,
                fail_capacity: 0,
                fail_mismatch: 0,
                fail_timeout: 0,
                stale_more: 0,
                extend_gap: 0,
                superseded: 0,
                yielded: 0,
            },
        }
    }

    /// Change how long a stalled session waits (µs) before asking again.
    pub const fn with_session_timeout(mut self, us: u64) -> Self {
        self.session_timeout_us = us;
        self
    }

    /// Spread the Sketch answering a digest over `us` µs (default 0: at once). A digest is
    /// broadcast, and every neighbour whose set differs answers it: neighbours that do not
    /// hear each other sense a free channel and collide at the digest's sender. Each answer
    /// waits a delay drawn from its node, peer and time (deterministic, no RNG needed).
    pub const fn with_answer_window(mut self, us: u64) -> Self {
        self.answer_window_us = us;
        self
    }

    /// Add `id` to the set. The caller MUST call this exactly once per id it starts to hold
    /// (adding twice is the same as removing: the sketch is a sum in characteristic 2).
    pub fn insert(&mut self, id: ShortId) {
        self.toggle(id);
        self.count = self.count.wrapping_add(1);
        self.hash = self.hash.wrapping_add(mix(id.0));
    }

    /// Remove `id`, which the caller MUST hold.
    pub fn remove(&mut self, id: ShortId) {
        self.toggle(id);
        self.count = self.count.wrapping_sub(1);
        self.hash = self.hash.wrapping_sub(mix(id.0));
    }

    fn toggle(&mut self, id: ShortId) {
        for p in [Projection::Low, Projection::High] {
            if let Some(s) = self.sketch.get_mut(p.index()) {
                sketch::toggle(s, p.of(id));
            }
        }
    }

    /// Ids held.
    pub const fn len(&self) -> u32 {
        self.count
    }
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The 64-bit set hash (Σ mix(id) mod 2⁶⁴): equal sets have equal hashes.
    pub const fn set_hash(&self) -> u64 {
        self.hash
    }
    pub const fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Queue an "are we in sync?" digest (one 21-byte frame). Idempotent while one waits.
    pub fn start(&mut self, _now: u64) {
        if !self.digest_queued() {
            self.push_out(Outgoing::Digest);
        }
    }

    /// Write our digest, as it is now, into `buf` (at least [`wire::DIGEST_LEN`] bytes), to
    /// ride in another frame; its length, or `None` if `buf` is too short. Once it is on the
    /// air, [`Self::cancel_digest`] drops the one [`Self::start`] queued: it replaced it.
    pub fn emit_digest(&self, buf: &mut [u8]) -> Option<usize> {
        self.digest().emit(buf).ok()
    }

    /// Drop the digest queued by [`Self::start`], if any (another frame carried it).
    pub fn cancel_digest(&mut self) {
        self.out.retain(|o| *o != Outgoing::Digest);
    }

    /// A digest is queued by [`Self::start`] and not sent yet.
    pub fn digest_queued(&self) -> bool {
        self.out.iter().any(|o| *o == Outgoing::Digest)
    }

    /// The next reconciliation body to send in a [`FrameKind::Reconcile`] frame (written
    /// into `buf`, which should hold at least `MAX_FRAME_LEN - HEADER_LEN` bytes); its
    /// length, or `None` when there is nothing to send.
    ///
    /// [`FrameKind::Reconcile`]: crate::radio::FrameKind::Reconcile
    pub fn poll_frame(&mut self, now: u64, buf: &mut [u8]) -> Option<usize> {
        if let Some(o) = self.out.pop_front() {
            let repr = match o {
                Outgoing::Digest => self.digest(),
                Outgoing::Message(repr) => repr,
            };
            return repr.emit(buf).ok();
        }
        if let Some(a) = self.take_answer(now) {
            let per_frame = if a.sketch {
                SYNDROMES_PER_SKETCH
            } else {
                SYNDROMES_PER_FRAME
            };
            let upto = a.upto.min(CAP);
            let end = upto.min(a.next + per_frame);
            let sums = self
                .sketch
                .get(a.projection.index())
                .and_then(|s| s.get(a.next..end))
                .unwrap_or(&[]);
            if end < upto {
                let rest = Answer {
                    next: end,
                    at: 0,
                    sketch: false,
                    ..a
                };
                let _ = self.answers.push_front(rest);
            }
            let syndromes = wire::Elems::Values(sums);
            let repr = if a.sketch {
                ReconRepr::Sketch {
                    to: a.to,
                    projection: a.projection,
                    count: self.count16(),
                    check: self.hash as u8,
                    syndromes,
                }
            } else {
                ReconRepr::Extend {
                    to: a.to,
                    projection: a.projection,
                    offset: u8::try_from(a.next).ok()?,
                    syndromes,
                }
            };
            return repr.emit(buf).ok();
        }
        if let Some((to, projection)) = self.want {
            let n = self.wants.len().min(PREFIXES_PER_FRAME);
            let repr = ReconRepr::Want {
                to,
                projection,
                prefixes: wire::Elems::Values(self.wants.get(..n).unwrap_or(&[])),
            };
            let len = repr.emit(buf).ok();
            // Drop what was sent (front of the list).
            let rest = self.wants.len() - n;
            for i in 0..rest {
                if let Some(v) = self.wants.get(i + n).copied()
                    && let Some(d) = self.wants.get_mut(i)
                {
                    *d = v;
                }
            }
            self.wants.truncate(rest);
            if self.wants.is_empty() {
                self.want = None;
            }
            return len;
        }
        None
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`Self::poll_frame`] has a body to send at `now` (so a driver can contend for
    /// the channel before taking it).
    pub fn has_output(&self, now: u64) -> bool {
        !self.out.is_empty() || self.want.is_some() || self.answers.iter().any(|a| a.at <= now)
    }

    /// When the earliest answer to a digest that waits its turn
    /// ([`Self::with_answer_window`]) may go; `None` when none waits (every other body is
    /// due at once).
    pub fn answer_at(&self) -> Option<u64> {
        self.answers.iter().map(|a| a.at).filter(|&t| t > 0).min()
    }

    /// The first queued answer due at `now`, taken from the queue (the others keep their
    /// order).
    fn take_answer(&mut self, now: u64) -> Option<Answer> {
        let mut taken = None;
        self.answers.retain(|a| {
            let take = taken.is_none() && a.at <= now;
            if take {
                taken = Some(*a);
            }
            !take
        });
        taken
    }

    /// When [`Self::handle_timeout`] is due (a session waiting for power sums).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.session.as_ref().map(|s| s.deadline)
    }

    /// Ask a stalled session again, or abandon it after [`SESSION_RETRIES`].
    pub fn handle_timeout(&mut self, now: u64) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if now < s.deadline {
            return;
        }
        if s.retries >= SESSION_RETRIES {
            let peer = s.peer;
            self.session = None;
            self.counters.fail_timeout += 1;
            self.event(Event::Failed { peer });
            return;
        }
        s.retries += 1;
        s.deadline = now.saturating_add(self.session_timeout_us);
        let (peer, projection, have, asked, check) =
            (s.peer, s.projection, s.have, s.asked, s.peer_check);
        self.ask(peer, projection, check, have, asked);
    }

    /// A Reconcile frame body heard from `from`. `ids` iterates the caller's set (the same
    /// ids it fed to [`Self::insert`]); it is walked only when a decode succeeds or a Want
    /// names this node. Malformed bodies are counted and returned as errors, never a panic.
    pub fn handle_frame<I>(
        &mut self,
        now: u64,
        from: NodeAddr,
        body: &[u8],
        ids: I,
    ) -> Result<(), DecodeError>
    where
        I: IntoIterator<Item = ShortId>,
    {
        let repr = match ReconRepr::parse(body) {
            Ok(r) => r,
            Err(e) => {
                self.counters.malformed += 1;
                return Err(e);
            }
        };
        match repr {
            ReconRepr::Digest {
                count,
                hash,
                sketch,
            } => self.on_digest(now, from, count, hash, sketch, ids),
            ReconRepr::More {
                to,
                projection,
                check,
                from: first,
                upto,
            } => {
                if to != self.me {
                    self.counters.not_for_us += 1;
                } else if check != self.hash as u8 {
                    // Our set changed since the digest the peer works from: its power sums
                    // would not add up with ours. Answer with our whole sketch as it is now
                    // (with its set size), which restarts the peer's session on our
                    // current set: a few power sums more than the Extend, where a fresh
                    // digest cost a frame and a round trip (and was ignored while the peer
                    // settled, which left the session to time out).
                    self.counters.stale_more += 1;
                    self.answer_sketch(from, 0, projection, usize::from(upto));
                } else if usize::from(first) < CAP {
                    self.answer(Answer {
                        to: from,
                        at: 0,
                        projection,
                        next: usize::from(first),
                        upto: usize::from(upto),
                        sketch: false,
                    });
                }
            }
            ReconRepr::Extend {
                to,
                projection,
                offset,
                syndromes,
            } => {
                if to != self.me {
                    self.counters.not_for_us += 1;
                } else {
                    self.on_extend(now, from, projection, usize::from(offset), syndromes, ids);
                }
            }
            ReconRepr::Sketch {
                to,
                projection,
                count,
                check,
                syndromes,
            } => {
                if to != self.me {
                    self.counters.not_for_us += 1;
                    self.yield_answer(to);
                } else {
                    self.on_sketch(now, from, projection, count, check, syndromes, ids);
                }
            }
            ReconRepr::Want {
                to,
                projection,
                prefixes,
            } => {
                if to != self.me {
                    self.counters.not_for_us += 1;
                } else {
                    self.on_want(from, projection, prefixes, ids);
                }
            }
        }
        Ok(())
    }

    fn digest(&self) -> ReconRepr<'static> {
        let low = self.sketch.first();
        let s = |i: usize| low.and_then(|s| s.get(i)).copied().unwrap_or(0);
        ReconRepr::Digest {
            count: u16::try_from(self.count).unwrap_or(u16::MAX),
            hash: self.hash,
            sketch: [s(0), s(1)],
        }
    }

    fn count16(&self) -> u16 {
        u16::try_from(self.count).unwrap_or(u16::MAX)
    }

    fn on_digest<I: IntoIterator<Item = ShortId>>(
        &mut self,
        now: u64,
        peer: NodeAddr,
        count: u16,
        hash: u64,
        sums: [u32; 2],
        ids: I,
    ) {
        let ReconRepr::Digest { sketch: mine, .. } = self.digest() else {
            return;
        };
        let same_sketch = mine == sums;
        if same_sketch && count == self.count16() && hash == self.hash {
            self.event(Event::InSync { peer });
            return;
        }
        let Some(mut s) = self.open_session(now, peer, Projection::Low, count, hash as u8) else {
            return;
        };
        s.from_digest = true;
        if same_sketch {
            // Equal in the low projection yet different: two ids collide there.
            s.projection = Projection::High;
            s.switched = true;
            s.from_digest = false;
            s.asked = next_capacity(0, 0).min(CAP);
            let (check, upto) = (s.peer_check, s.asked);
            self.session = Some(s);
            self.ask(peer, Projection::High, check, 0, upto);
            return;
        }
        for (d, v) in s.peer_sketch.iter_mut().zip(sums) {
            *d = v;
        }
        s.have = CAP.min(2);
        s.asked = s.have;
        self.session = Some(s);
        self.try_decode(now, ids);
    }

    /// A fresh session with `peer`, unless one with another peer is still running.
    fn open_session(
        &mut self,
        now: u64,
        peer: NodeAddr,
        projection: Projection,
        count: u16,
        check: u8,
    ) -> Option<Session<CAP>> {
        if let Some(s) = &self.session
            && s.peer != peer
            && now < s.deadline
        {
            self.counters.busy += 1;
            return None;
        }
        if self.session.is_some() {
            self.counters.superseded += 1;
        }
        self.counters.sessions += 1;
        Some(Session {
            peer,
            projection,
            switched: projection == Projection::High,
            from_digest: false,
            peer_count: count,
            peer_check: check,
            peer_sketch: [0; CAP],
            have: 0,
            asked: 0,
            deadline: now.saturating_add(self.session_timeout_us),
            retries: 0,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn on_sketch<I: IntoIterator<Item = ShortId>>(
        &mut self,
        now: u64,
        peer: NodeAddr,
        projection: Projection,
        count: u16,
        check: u8,
        sums: Syndromes<'_>,
        ids: I,
    ) {
        let Some(mut s) = self.open_session(now, peer, projection, count, check) else {
            return;
        };
        for (d, v) in s.peer_sketch.iter_mut().zip(sums.iter()) {
            *d = v;
            s.have += 1;
        }
        // The peer sized its sketch from the same set sizes; the power sums that did not fit
        // the first frame follow as Extend frames.
        let delta = usize::from(count.abs_diff(self.count16()));
        s.asked = next_capacity(0, delta).min(CAP).max(s.have);
        let complete = s.have >= s.asked;
        self.session = Some(s);
        if complete {
            self.try_decode(now, ids);
        }
    }

    fn on_extend<I: IntoIterator<Item = ShortId>>(
        &mut self,
        now: u64,
        peer: NodeAddr,
        projection: Projection,
        offset: usize,
        sums: Syndromes<'_>,
        ids: I,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.peer != peer || s.projection != projection || offset != s.have {
            self.counters.extend_gap += 1;
            return;
        }
        for v in sums.iter() {
            let Some(d) = s.peer_sketch.get_mut(s.have) else {
                break;
            };
            *d = v;
            s.have += 1;
        }
        s.deadline = now.saturating_add(self.session_timeout_us);
        s.retries = 0;
        if s.have >= s.asked {
            self.try_decode(now, ids);
        }
    }

    fn on_want<I: IntoIterator<Item = ShortId>>(
        &mut self,
        peer: NodeAddr,
        projection: Projection,
        prefixes: Prefixes<'_>,
        ids: I,
    ) {
        // A body longer than a radio frame allows is cut to what one frame can carry.
        let mut wanted: Vec<u32, PREFIXES_PER_FRAME> = Vec::new();
        for p in prefixes.iter() {
            if wanted.push(p).is_err() {
                break;
            }
        }
        wanted.sort_unstable();
        for id in ids {
            let e = projection.of(id) & wire::PREFIX_MASK;
            if wanted.binary_search(&e).is_ok() {
                self.event(Event::Push { to: peer, id });
            }
        }
    }

    /// Decode the session's difference; on success classify it, else ask for more.
    fn try_decode<I: IntoIterator<Item = ShortId>>(&mut self, now: u64, ids: I) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let (peer, projection, have, peer_count, check, from_digest) = (
            s.peer,
            s.projection,
            s.have,
            s.peer_count,
            s.peer_check,
            s.from_digest,
        );
        let mut diff = [0u32; CAP];
        let mine = self.sketch.get(projection.index());
        for (i, d) in diff.iter_mut().enumerate().take(have) {
            let m = mine.and_then(|m| m.get(i)).copied().unwrap_or(0);
            *d = m ^ s.peer_sketch.get(i).copied().unwrap_or(0);
        }
        let mut ws = Workspace::<CAP>::new();
        let mut elems: Vec<u32, CAP> = Vec::new();
        let verdict = match sketch::decode(diff.get(..have).unwrap_or(&[]), &mut ws, &mut elems) {
            Ok(mults) => {
                self.counters.decodes += 1;
                self.counters.decode_mults += mults;
                elems.sort_unstable();
                self.finish(peer, projection, peer_count, &elems, ids)
            }
            Err(_) => Verdict::NeedMore,
        };
        match verdict {
            Verdict::Done => {}
            // A decode that fills the whole capacity may be a false one (more differences
            // than power sums): ask for more. One with room to spare that disagrees with the
            // set sizes means two ids collide in this projection (or a set changed): start
            // again, once, in the other projection.
            Verdict::Mismatch if elems.len() < have => {
                let switched = self.session.as_ref().is_none_or(|s| s.switched);
                if switched {
                    self.session = None;
                    self.counters.fail_mismatch += 1;
                    self.event(Event::Failed { peer });
                    return;
                }
                let upto = next_capacity(elems.len().max(2), 0).min(CAP);
                if let Some(s) = self.session.as_mut() {
                    s.projection = projection.other();
                    s.switched = true;
                    s.from_digest = false;
                    s.have = 0;
                    s.asked = upto;
                    s.peer_sketch = [0; CAP];
                    s.deadline = now.saturating_add(self.session_timeout_us);
                }
                self.ask(peer, projection.other(), check, 0, upto);
            }
            Verdict::NeedMore | Verdict::Mismatch => {
                self.counters.decode_failures += 1;
                if have >= CAP {
                    self.session = None;
                    self.counters.fail_capacity += 1;
                    self.event(Event::Failed { peer });
                    return;
                }
                let mine = self.count16();
                let delta = usize::from(peer_count.abs_diff(mine));
                if from_digest {
                    // The peer decodes from our own power sums (and pushes without a Want
                    // what we lack): one frame instead of a More and its Extend, and the
                    // peer adds them to its sums as they are then (a More could find its
                    // set changed since its digest).
                    self.session = None;
                    let at = self.answer_time(now, peer);
                    self.answer_sketch(peer, at, projection, next_capacity(have, delta));
                    return;
                }
                let upto = next_capacity(have, delta).min(CAP);
                if let Some(s) = self.session.as_mut() {
                    s.asked = upto;
                    s.from_digest = false;
                }
                self.ask(peer, projection, check, have, upto);
            }
        }
    }

    /// Classify a decoded difference `elems` (sorted) against our ids and check the set
    /// sizes; on agreement, end the session with pushes and wants.
    fn finish<I: IntoIterator<Item = ShortId>>(
        &mut self,
        peer: NodeAddr,
        projection: Projection,
        peer_count: u16,
        elems: &[u32],
        ids: I,
    ) -> Verdict {
        // Which decoded elements are ours (at most one id per element counts).
        let mut ours = [false; CAP];
        let mut pushes: Vec<ShortId, CAP> = Vec::new();
        for id in ids {
            if let Ok(i) = elems.binary_search(&projection.of(id))
                && let Some(o) = ours.get_mut(i)
                && !*o
            {
                *o = true;
                let _ = pushes.push(id);
            }
        }
        let theirs = elems.len() - pushes.len();
        let expect = self
            .count
            .wrapping_sub(pushes.len() as u32)
            .wrapping_add(theirs as u32);
        if u16::try_from(expect).unwrap_or(u16::MAX) != peer_count {
            return Verdict::Mismatch;
        }
        self.session = None;
        self.counters.reconciled += 1;
        self.counters.differences += elems.len() as u32;
        for &id in &pushes {
            self.event(Event::Push { to: peer, id });
        }
        self.wants.clear();
        for (i, &e) in elems.iter().enumerate() {
            if !ours.get(i).copied().unwrap_or(true) {
                let _ = self.wants.push(e & wire::PREFIX_MASK);
            }
        }
        self.want = (!self.wants.is_empty()).then_some((peer, projection));
        self.event(Event::Reconciled {
            peer,
            differences: elems.len() as u16,
            pushes: pushes.len() as u16,
            wants: theirs as u16,
        });
        Verdict::Done
    }

    fn ask(&mut self, to: NodeAddr, projection: Projection, check: u8, from: usize, upto: usize) {
        let (Ok(from), Ok(upto)) = (u8::try_from(from), u8::try_from(upto)) else {
            return;
        };
        if from >= upto {
            return;
        }
        self.push_out(Outgoing::Message(ReconRepr::More {
            to,
            projection,
            check,
            from,
            upto,
        }));
    }

    /// When our answer to `peer`'s digest heard at `now` goes: after a pseudo-random delay in
    /// `0..answer_window_us`, or at once (0) without a window.
    fn answer_time(&self, now: u64, peer: NodeAddr) -> u64 {
        if self.answer_window_us == 0 {
            return 0;
        }
        let seed = (u64::from(self.me.0) << 48) ^ (u64::from(peer.0) << 32) ^ now;
        now.saturating_add(mix(seed) % self.answer_window_us).max(1)
    }

    /// Another neighbour answered `to`'s digest first: drop our answer to it that still waits
    /// its turn. `to` reconciles with that neighbour, pushes what it lacks to all of us, and
    /// its next digest (or ours) finds what is left between us.
    fn yield_answer(&mut self, to: NodeAddr) {
        let before = self.answers.len();
        self.answers
            .retain(|a| !(a.to == to && a.at > 0 && a.sketch));
        self.counters.yielded += (before - self.answers.len()) as u32;
    }

    /// Queue our whole sketch (set size and power sums `0..upto`) for `to`, from time `at`
    /// (0: at once).
    fn answer_sketch(&mut self, to: NodeAddr, at: u64, projection: Projection, upto: usize) {
        self.answer(Answer {
            to,
            at,
            projection,
            next: 0,
            upto: upto.min(CAP),
            sketch: true,
        });
    }

    /// Queue power sums for `a.to`, replacing what was still queued for it.
    fn answer(&mut self, a: Answer) {
        self.answers.retain(|old| old.to != a.to);
        if self.answers.is_full() {
            self.answers.pop_front();
        }
        let _ = self.answers.push_back(a);
    }

    fn push_out(&mut self, o: Outgoing) {
        if self.out.is_full() {
            self.out.pop_front();
        }
        let _ = self.out.push_back(o);
    }

    fn event(&mut self, e: Event) {
        if self.events.push_back(e).is_err() {
            self.counters.events_dropped += 1;
        }
    }
}

/// How many power sums to hold after a failed decode with `have` of them, when the set sizes
/// differ by `delta` (a lower bound on the difference): at least `delta`, else half as many
/// again (at least 4 more), so the total sent stays within about 1.5× the difference.
pub const fn next_capacity(have: usize, delta: usize) -> usize {
    let grow = have + if have / 2 > 4 { have / 2 } else { 4 };
    if delta > grow { delta } else { grow }
}

/// The set hash's per-id mix (splitmix64's finaliser, a bijection), so that the additive
/// hash of a set does not equal the plain sum of its ids.
pub const fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fuzz target: parse arbitrary bytes as a reconciliation body (round trip through the
/// `Repr`), feed them to a reconciler with a small set, and decode them as a raw sketch.
pub fn fuzz(data: &[u8]) {
    if let Ok(repr) = ReconRepr::parse(data) {
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = repr.emit(&mut out);
        assert_eq!(n, Ok(data.len()));
        assert_eq!(out.get(..data.len()), Some(data));
        assert!(Message::new_checked(data).is_ok());
    }
    let me = NodeAddr(1);
    let ids = [
        ShortId(0x0123_4567_89ab_cdef),
        ShortId(0x0000_0001_0000_0001),
    ];
    let mut r: Reconciler<16> = Reconciler::new(me);
    for id in ids {
        r.insert(id);
    }
    let _ = r.handle_frame(0, NodeAddr(2), data, ids);
    let mut buf = [0u8; MAX_FRAME_LEN];
    while r.poll_frame(0, &mut buf).is_some() {}
    while r.poll_event().is_some() {}
    r.handle_timeout(u64::MAX);
    // The bytes as a sketch of up to 16 power sums.
    let mut sums = [0u32; 16];
    let mut n = 0;
    for (d, c) in sums.iter_mut().zip(data.chunks_exact(4)) {
        *d = u32::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
            c.get(3).copied().unwrap_or(0),
        ]);
        n += 1;
    }
    let mut ws = Workspace::<16>::new();
    let mut out: Vec<u32, 16> = Vec::new();
    if sketch::decode(sums.get(..n).unwrap_or(&[]), &mut ws, &mut out).is_ok() {
        // A successful decode reproduces the sketch.
        let mut check = [0u32; 16];
        for &x in &out {
            sketch::toggle(check.get_mut(..n).unwrap_or(&mut []), x);
        }
        assert_eq!(check.get(..n), sums.get(..n));
    }
}
