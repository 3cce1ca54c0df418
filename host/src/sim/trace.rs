//! Following one item through a run (`toile sim --trace ITEM|lost`), for finding where a
//! payment was lost: every node that held it (and how its state changed: pending, handed
//! over, gone), every transmission carrying it or its short id (custody acks, receipts),
//! every reception of those frames and why one failed, crashes and restarts of its holders,
//! and its delivery. Lines go to stderr, prefixed `trace`; the run itself is unchanged
//! (tracing reads state, it never feeds the routers).

use toile_proto::radio::{Body, FrameRepr};

use super::router::ItemKey;
use super::time::Instant;

/// What to trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceTarget {
    /// List the items that were deliverable but never delivered, or late (then trace one by index).
    Lost,
    /// The item with this index (injection order, as `lost` lists it).
    Item(u32),
}

impl std::str::FromStr for TraceTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "lost" {
            return Ok(Self::Lost);
        }
        s.parse().map(Self::Item).map_err(|_| {
            format!(
                "--trace takes an item index or `lost`, not {s:?} (run with `--trace lost` first)"
            )
        })
    }
}

/// Trace state of one run.
#[derive(Debug)]
pub(crate) struct Trace {
    pub target: TraceTarget,
    /// The traced item's bytes and its short id on air, once injected.
    item: Option<(Vec<u8>, [u8; 8])>,
    /// What marks it in a frame: its signature, which a booked entry (`item::book`) carries
    /// as it is (the whole item if it has none).
    mark: Vec<u8>,
    /// Last state reported by each node's router (`None`: not held).
    state: Vec<Option<String>>,
}

/// What a frame says about the traced item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mention {
    /// The frame carries the item itself.
    Item,
    /// The frame carries its short id (a custody ack, a receipt, a reconciliation id).
    Id,
}

impl Trace {
    pub fn new(target: TraceTarget, nodes: usize) -> Self {
        Self {
            target,
            item: None,
            mark: Vec::new(),
            state: vec![None; nodes],
        }
    }

    pub fn log(now: Instant, node: u32, what: &str) {
        eprintln!("trace {:>9.1}s node {node:>4}: {what}", now.as_secs_f64());
    }

    /// The item with index `idx` was injected at `node` with these bytes.
    pub fn injected(&mut self, now: Instant, node: u32, idx: u32, bytes: &[u8]) {
        if self.target == TraceTarget::Item(idx) {
            self.mark = toile_proto::item::v2s::Extrinsic::parse(bytes)
                .map_or(bytes, |x| x.signature().bytes())
                .to_vec();
            self.item = Some((bytes.to_vec(), ItemKey::of(bytes).0.to_le_bytes()));
            Self::log(
                now,
                node,
                &format!("item {idx} injected ({} bytes)", bytes.len()),
            );
        }
    }

    /// The traced item's bytes, once injected.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.item.as_ref().map(|(b, _)| b.as_slice())
    }

    /// Whether `key` is the traced item.
    pub fn is(&self, key: ItemKey) -> bool {
        self.item
            .as_ref()
            .is_some_and(|(_, k)| *k == key.0.to_le_bytes())
    }

    /// Report `node`'s state of the item if it changed.
    pub fn node_state(&mut self, now: Instant, node: u32, state: Option<String>) {
        let Some(slot) = self.state.get_mut(node as usize) else {
            return;
        };
        if *slot != state {
            let what = state.as_deref().unwrap_or("gone");
            Self::log(now, node, &format!("state: {what}"));
            *slot = state;
        }
    }

    /// Whether `node` last held the item.
    pub fn holds(&self, node: u32) -> bool {
        self.state.get(node as usize).is_some_and(Option::is_some)
    }

    /// Whether (and how) `frame` mentions the item.
    pub fn mention(&self, frame: &[u8]) -> Option<Mention> {
        let (_, short) = self.item.as_ref()?;
        if contains(frame, &self.mark) {
            Some(Mention::Item)
        } else if contains(frame, short) {
            Some(Mention::Id)
        } else {
            None
        }
    }
}

/// A short description of a frame: its kind, the sender's hop count and, for an addressed
/// forward, the next hop.
pub(crate) fn describe(frame: &[u8]) -> String {
    let Ok(f) = FrameRepr::parse(frame) else {
        return format!("unparsable frame of {} bytes", frame.len());
    };
    let hops = f.header.flags.bits() & 0x0f;
    match f.body {
        Body::Other { kind, bytes } if kind == toile_proto::engine::FORWARD => {
            let to = bytes
                .get(..2)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u16::from_le_bytes);
            let acks = bytes.get(2).copied().unwrap_or(0);
            let to = if to == toile_proto::engine::NOBODY.0 {
                "nobody (blind)".to_string()
            } else {
                to.to_string()
            };
            format!(
                "forward to {to} ({acks} acks, hops {hops}, {} B)",
                frame.len()
            )
        }
        b => format!("{:?} (hops {hops}, {} B)", b.kind(), frame.len()),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
