//! # Emulated node: the node side of the host link, without tokio
//!
//! [`NodeService`] is what a board runs behind its USB/BLE link, as a sans-IO state machine:
//! link bytes in ([`NodeService::handle_bytes`], with `now`), link bytes out
//! ([`NodeService::poll_transmit`]), console events out ([`NodeService::poll_event`]). It
//! owns the real relay engine ([`Engine`]) and its store, the Noise responder and the pin
//! of its paired host. `toile node --emulate` ([`run`]) is a thin tokio driver around it over
//! a pty or a TCP port; the firmware can drive the same logic later.
//!
//! ## Rules
//! - Until the Noise handshake completes, only `Handshake` packets are read; anything else
//!   is dropped and counted ([`NodeEvent::Dropped`]). Nothing is ever answered in plaintext
//!   except the handshake.
//! - After the handshake the host's static key must be the pinned one. In pairing mode (or
//!   when no host is pinned yet) the first host to complete a handshake is pinned
//!   ([`NodeEvent::Paired`]: the driver saves it). Any other key gets an
//!   [`ErrorCode::NotPaired`] message and the session is closed ([`NodeEvent::Refused`]).
//! - A new handshake message 1 at any time starts a new session (the host reconnected).
//! - The store is committed before every answer: whatever a `PushOutcome` acknowledged
//!   survives a kill.
//!
//! ## Messages served
//! `Hello` → `Hello`; `PushItems` → `PushOutcome` (each item verified by the engine);
//! `ListIds` → `Ids`; `PullRequest` → `PushItems`… then `Ack{seq of the request}`;
//! `StatusRequest` → `Status`; `ConfigGet` → `Config`; anything else → `Error`.

pub mod items;
pub mod run;
pub mod store;

use std::collections::VecDeque;

use toile_proto::engine::{Engine, SubmitError};

use toile_proto::item::{Item, ItemKind};
use toile_proto::link::{
    Batch, Config as LinkConfig, Envelope, ErrorCode, Hello, IdList, ItemOutcome, LinkDecoder,
    MAX_MESSAGE, Message, PROTOCOL_VERSION, Packet, PacketType, PullRequest, Role, Status,
    encode_frame, encoded_len,
};

use crate::link::noise::{Handshake, StaticKey, Transport, fingerprint};
pub use store::{FileStore, NODE_ITEM_BYTES, NODE_ITEMS, NodeStore};

/// Ids per `Ids` answer (8 bytes each; fits [`MAX_MESSAGE`] with room to spare).
pub const IDS_PER_MESSAGE: u32 = 500;

/// What the node tells its console (and its driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A host completed the handshake and is served.
    Session { host: String },
    /// Pairing: this host key is now pinned; the driver must persist it.
    Paired { host_key: [u8; 32] },
    /// A host with an unknown key was refused (and told so).
    Refused { host: String },
    /// The host closed the session because it does not trust this node.
    RefusedByHost { message: String },
    /// Bytes were dropped without an answer.
    Dropped { reason: String },
    /// A sync pushed items: `stored` new ones.
    Stored { stored: usize, refused: usize },
    /// The store could not be committed (disk full?): the answer was withheld.
    StoreError { message: String },
}

/// Running counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounters {
    pub bad_frames: u64,
    /// Packets refused before a handshake (plaintext, unknown type).
    pub plaintext_dropped: u64,
    pub handshakes: u64,
    pub refused_hosts: u64,
    pub decrypt_failures: u64,
    pub messages_rx: u64,
    pub messages_tx: u64,
}

/// How the node starts.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub engine: toile_proto::engine::Config,
    pub static_key: StaticKey,
    /// The paired host, if any.
    pub pinned_host: Option<[u8; 32]>,
    /// Pin the next host that completes a handshake.
    pub pairing: bool,
    pub name: String,
    /// Noise rekey interval (both sides must agree; tests lower it).
    pub rekey_interval: u64,
}

enum Session {
    None,
    /// Responder after message 2, waiting for message 3.
    Handshake(Box<Handshake>),
    Up(Box<Transport>),
}

/// See the [module doc](self). `N`: items the engine tracks (≥ the store's capacity).
pub struct NodeService<S: NodeStore, const N: usize> {
    engine: Box<Engine<S, N>>,
    key: StaticKey,
    pinned: Option<[u8; 32]>,
    pairing: bool,
    name: String,
    rekey_interval: u64,
    session: Session,
    decoder: Box<LinkDecoder>,
    seq: u32,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<NodeEvent>,
    counters: NodeCounters,
    started: u64,
    opened: bool,
}

impl<S: NodeStore, const N: usize> std::fmt::Debug for NodeService<S, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeService")
            .field("name", &self.name)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl<S: NodeStore, const N: usize> NodeService<S, N> {
    pub fn new(config: NodeConfig, store: S, now: u64) -> Self {
        Self {
            engine: Box::new(Engine::new(config.engine, store, now)),
            key: config.static_key,
            pinned: config.pinned_host,
            pairing: config.pairing || config.pinned_host.is_none(),
            name: config.name,
            rekey_interval: config.rekey_interval,
            session: Session::None,
            decoder: Box::new(LinkDecoder::new()),
            seq: 0,
            out: VecDeque::new(),
            events: VecDeque::new(),
            counters: NodeCounters::default(),
            started: now,
            opened: false,
        }
    }

    pub fn engine(&self) -> &Engine<S, N> {
        &self.engine
    }

    pub const fn counters(&self) -> &NodeCounters {
        &self.counters
    }

    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    /// Whether a host session is up.
    pub fn has_session(&self) -> bool {
        matches!(self.session, Session::Up(_))
    }

    /// Submit an item locally (`--preload`); committed by the next answer or [`Self::commit`].
    pub fn submit(&mut self, now: u64, kind: ItemKind, bytes: &[u8]) -> Result<(), SubmitError> {
        let r = self.engine.submit(now, kind, bytes).map(|_| ());
        while self.engine.poll_event().is_some() {}
        r
    }

    /// Make the store durable now.
    pub fn commit(&mut self) -> std::io::Result<()> {
        self.engine.store().commit()
    }

    /// The transport closed (TCP connection ended, pty hung up): forget the session.
    pub fn handle_disconnect(&mut self) {
        self.session = Session::None;
        *self.decoder = LinkDecoder::new();
        self.opened = false;
    }

    /// Bytes from the link.
    pub fn handle_bytes(&mut self, now: u64, mut input: &[u8]) {
        while !input.is_empty() {
            let (used, frame) = self.decoder.push(input);
            input = input.get(used..).unwrap_or_default();
            match frame {
                Some(Ok(payload)) => {
                    let payload = payload.to_vec();
                    self.handle_payload(now, &payload);
                }
                Some(Err(e)) => {
                    self.counters.bad_frames += 1;
                    self.drop_with(format!("bad frame: {e}"));
                }
                None => {}
            }
        }
    }

    /// The next bytes to write to the link.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    fn drop_with(&mut self, reason: String) {
        // Bounded: a flood of garbage keeps only the latest events.
        if self.events.len() >= 256 {
            self.events.pop_front();
        }
        self.events.push_back(NodeEvent::Dropped { reason });
    }

    fn handle_payload(&mut self, now: u64, payload: &[u8]) {
        let Ok(packet) = Packet::parse(payload) else {
            self.counters.plaintext_dropped += 1;
            return self.drop_with("empty packet".into());
        };
        match packet.ty {
            PacketType::Handshake => self.handle_handshake(packet.body),
            PacketType::Transport => self.handle_transport(now, packet.body),
            PacketType::Unknown(t) => {
                self.counters.plaintext_dropped += 1;
                self.drop_with(format!("unknown packet type {t}"));
            }
        }
    }

    fn handle_handshake(&mut self, body: &[u8]) {
        // Message 3 of the current handshake?
        if let Session::Handshake(hs) = &mut self.session
            && hs.read(body).is_ok()
        {
            let Session::Handshake(hs) = std::mem::replace(&mut self.session, Session::None) else {
                return;
            };
            return self.finish_handshake(*hs);
        }
        // Otherwise message 1 of a new handshake.
        self.session = Session::None;
        let started = Handshake::responder(&self.key).and_then(|mut hs| {
            hs.read(body)?;
            let reply = hs.write_packet()?;
            Ok((hs, reply))
        });
        match started {
            Ok((hs, reply)) => {
                self.counters.handshakes += 1;
                self.send_packet(&reply);
                self.session = Session::Handshake(Box::new(hs));
            }
            Err(e) => {
                self.counters.plaintext_dropped += 1;
                self.drop_with(format!("bad handshake message: {e}"));
            }
        }
    }

    fn finish_handshake(&mut self, hs: Handshake) {
        let Some(host) = hs.remote_static() else {
            return self.drop_with("handshake without a static key".into());
        };
        let Ok(mut transport) = hs.into_transport() else {
            return self.drop_with("handshake did not complete".into());
        };
        transport.set_rekey_interval(self.rekey_interval);
        self.seq = 0;
        self.session = Session::Up(Box::new(transport));
        let trusted = self.pinned == Some(host);
        if !trusted && self.pairing {
            self.pinned = Some(host);
            self.pairing = false;
            self.events.push_back(NodeEvent::Paired { host_key: host });
        } else if !trusted {
            self.counters.refused_hosts += 1;
            let pinned = self.pinned.map(|k| fingerprint(&k)).unwrap_or_default();
            let text = format!(
                "this node is paired with host {pinned}, not {}; to replace it, restart the node with --pair and run `toile pair`",
                fingerprint(&host)
            );
            self.send(Message::Error {
                code: ErrorCode::NotPaired,
                seq: 0,
                message: &text,
            });
            self.session = Session::None;
            self.events.push_back(NodeEvent::Refused {
                host: fingerprint(&host),
            });
            return;
        }
        self.events.push_back(NodeEvent::Session {
            host: fingerprint(&host),
        });
    }

    fn handle_transport(&mut self, now: u64, body: &[u8]) {
        let Session::Up(t) = &mut self.session else {
            self.counters.plaintext_dropped += 1;
            return self.drop_with("transport packet without a session (handshake skipped)".into());
        };
        let plain = match t.open(body) {
            Ok(p) => p,
            Err(e) => {
                self.counters.decrypt_failures += 1;
                self.session = Session::None;
                return self.drop_with(format!("session closed: {e}"));
            }
        };
        self.counters.messages_rx += 1;
        match Envelope::decode(&plain) {
            Ok(env) => self.handle_message(now, env),
            Err(e) => {
                let code = match e.kind {
                    toile_proto::ErrorKind::Link(l) => ErrorCode::from(l),
                    _ => ErrorCode::Malformed,
                };
                let seq = Envelope::peek_seq(&plain).unwrap_or(0);
                self.send(Message::Error {
                    code,
                    seq,
                    message: "the message did not decode",
                });
            }
        }
    }

    fn handle_message(&mut self, now: u64, env: Envelope<'_>) {
        match env.message {
            Message::Hello(h) => {
                if h.protocol_version != PROTOCOL_VERSION {
                    return self.send(Message::Error {
                        code: ErrorCode::UnsupportedVersion,
                        seq: env.seq,
                        message: "unsupported protocol version: upgrade the older side",
                    });
                }
                self.send(Message::Hello(Hello {
                    protocol_version: PROTOCOL_VERSION,
                    role: Role::Node,
                    node_addr: self.engine.config().addr.0,
                    max_message: MAX_MESSAGE as u32,
                }));
            }
            Message::PushItems { batch } => self.handle_push(now, env.seq, batch),
            Message::ListIds { from, max } => {
                let total = self.engine.store_len();
                let from_i = from as usize;
                let n = max.min(IDS_PER_MESSAGE) as usize;
                let ids: Vec<_> = (from_i..total.min(from_i.saturating_add(n)))
                    .filter_map(|i| self.engine.store().at(i))
                    // Signed receipts the node relays are not items for the host.
                    .filter(|(r, _)| !toile_proto::engine::is_receipt(r.kind))
                    .map(|(r, _)| r.id.short())
                    .collect();
                let mut buf = vec![0u8; ids.len() * 8];
                let Ok(list) = IdList::encode(&ids, &mut buf) else {
                    return;
                };
                self.send(Message::Ids {
                    from,
                    total: u32::try_from(total).unwrap_or(u32::MAX),
                    ids: list,
                });
            }
            Message::PullRequest(p) => self.handle_pull(env.seq, p),
            Message::StatusRequest => {
                let s = self.status(now);
                self.send(Message::Status(s));
            }
            Message::ConfigGet => {
                let name = self.name.clone();
                self.send(Message::Config(LinkConfig {
                    region: 0,
                    preset: 0,
                    name: name.get(..name.len().min(32)).unwrap_or(""),
                }));
            }
            Message::Error { code, message, .. } => {
                if code == ErrorCode::NotPaired {
                    self.session = Session::None;
                    self.events.push_back(NodeEvent::RefusedByHost {
                        message: message.to_owned(),
                    });
                }
            }
            Message::Ack { .. } => {}
            _ => self.send(Message::Error {
                code: ErrorCode::UnknownMessage,
                seq: env.seq,
                message: "this node does not serve that message",
            }),
        }
    }

    fn handle_push(&mut self, now: u64, seq: u32, batch: Batch<'_>) {
        let mut outcomes = Vec::with_capacity(batch.len());
        let (mut stored, mut refused) = (0, 0);
        for (kind, bytes) in batch.iter() {
            let held = Item::parse(kind, bytes)
                .ok()
                .is_some_and(|i| self.engine.item(&i.id()).is_some());
            let outcome = if held {
                ItemOutcome::Duplicate
            } else {
                match self.engine.submit(now, kind, bytes) {
                    Ok(_) => ItemOutcome::Stored,
                    Err(SubmitError::Malformed) => ItemOutcome::Malformed,
                    Err(SubmitError::BadSignature) => ItemOutcome::BadSignature,
                    Err(SubmitError::TooLarge) => ItemOutcome::TooLarge,
                    Err(SubmitError::StoreFull) => ItemOutcome::StoreFull,
                    Err(SubmitError::NotMember) => ItemOutcome::NotMember,
                    Err(SubmitError::Quota) => ItemOutcome::Quota,
                }
            };
            while self.engine.poll_event().is_some() {}
            if outcome == ItemOutcome::Stored {
                stored += 1;
            } else if !outcome.delivered() {
                refused += 1;
            }
            outcomes.push(outcome.to_u8());
        }
        if let Err(e) = self.commit() {
            // Nothing acknowledged: the host keeps the items in its outbox and retries.
            self.events.push_back(NodeEvent::StoreError {
                message: e.to_string(),
            });
            return self.send(Message::Error {
                code: ErrorCode::Busy,
                seq,
                message: "the node could not save the items; retry later",
            });
        }
        self.events.push_back(NodeEvent::Stored { stored, refused });
        self.send(Message::PushOutcome {
            seq,
            outcomes: &outcomes,
        });
    }

    fn handle_pull(&mut self, seq: u32, p: PullRequest<'_>) {
        let mut buf = vec![0u8; MAX_MESSAGE - 16];
        let mut pending: Vec<(ItemKind, Vec<u8>)> = Vec::new();
        let mut flush = |me: &mut Self, items: &mut Vec<(ItemKind, Vec<u8>)>| {
            if items.is_empty() {
                return;
            }
            let mut b = Batch::builder(&mut buf);
            for (k, bytes) in items.iter() {
                b.try_push(*k, bytes);
            }
            if let Some(entries) = b.finish() {
                me.send(Message::PushItems {
                    batch: Batch::from_entries(entries),
                });
            }
            items.clear();
        };
        // Entry cost bound: kind + compact length (≤ 3 bytes for ≤ 256-byte items) + item.
        let budget = MAX_MESSAGE - 16;
        let mut used = 0;
        for short in p.want.iter() {
            let Some(entry) = self
                .engine
                .store()
                .find_short(short)
                .map(|(r, b)| (r.kind, b.to_vec()))
            else {
                continue;
            };
            let cost = 1 + 3 + entry.1.len();
            if used + cost > budget {
                flush(self, &mut pending);
                used = 0;
            }
            used += cost;
            pending.push(entry);
        }
        flush(self, &mut pending);
        self.send(Message::Ack { seq });
    }

    fn status(&self, now: u64) -> Status {
        let store = self.engine.store();
        let c = self.engine.counters();
        let u32_of = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Status {
            uptime_s: u32_of(now.saturating_sub(self.started) / 1_000_000),
            store_items: u32_of(store.len() as u64),
            store_used_bytes: u32_of(store.used_bytes() as u64),
            store_capacity_bytes: u32_of((store.capacity() * NODE_ITEM_BYTES) as u64),
            airtime_used_ms: u32_of(c.airtime_us / 1_000),
            airtime_budget_ms: u32_of(self.engine.config().duty.budget_us() / 1_000),
            duty_window_s: 3_600,
            neighbours: 0,
            tx_queue: 0,
            battery_mv: 0,
        }
    }

    fn send(&mut self, message: Message<'_>) {
        let Session::Up(t) = &mut self.session else {
            return;
        };
        self.seq = self.seq.wrapping_add(1);
        let env = Envelope {
            seq: self.seq,
            message,
        };
        let mut buf = vec![0u8; MAX_MESSAGE];
        let Ok(n) = env.encode(&mut buf) else {
            return;
        };
        let Ok(packet) = t.seal_packet(buf.get(..n).unwrap_or_default()) else {
            return;
        };
        self.counters.messages_tx += 1;
        self.send_packet(&packet);
    }

    fn send_packet(&mut self, packet: &[u8]) {
        let start = usize::from(!self.opened);
        let mut wire = vec![0u8; start + encoded_len(packet.len())];
        if let Ok(n) = encode_frame(packet, wire.get_mut(start..).unwrap_or_default()) {
            wire.truncate(start + n);
            self.opened = true;
            self.out.push_back(wire);
        }
    }
}
