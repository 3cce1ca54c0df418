//! Meshtastic-style managed flooding: the anchor every Toile report is compared with.
//!
//! Modelled on Meshtastic's `FloodingRouter` / `RadioLibInterface` and Meshtasticator's
//! `node.py` / `mac.py`:
//! - every frame is a 16-byte Meshtastic radio header (`dest`, `from` = origin, `id`, flags with
//!   hop limit and hop start, channel hash, next hop, relay node) plus a 7-byte protobuf
//!   envelope in front of the item ([`FRAME_OVERHEAD`] = 23 B, radio.md; no envelope in
//!   Meshtasticator's medium, see below);
//! - the first copy of a packet with hop limit > 0 is queued for rebroadcast with hop limit - 1
//!   after an SNR-weighted contention delay (`getTxDelayMsecWeighted`, client role):
//!   `2 * CWmax * slot + random(0, 2^CW) * slot`, with `CW = map(snr, -20, 15, CWmin, CWmax)`,
//!   CWmin 3, CWmax 8 and the preset's slot time (28 ms at LongFast): far, weak receivers
//!   rebroadcast first;
//! - own packets wait `random(0, 2^CW) * slot` with `CW` mapped from the node's channel
//!   utilisation (`getTxDelayMsec`);
//! - duplicate cancellation: a node that hears another copy of a packet it is waiting to
//!   rebroadcast cancels it (Meshtasticator `perhaps_cancel_dupe`, client role);
//! - listen before talk: when the delay expires and the channel is busy, a new delay is drawn;
//! - one FIFO transmit queue of 16 packets (`MAX_TX_QUEUE`); overflow drops the packet;
//! - reliable broadcasts (`ReliableRouter`, Meshtasticator sends every broadcast with
//!   `want_ack`): the origin waits `getRetransmissionMsec` (`2 x ToA + (2^CW + 2 CWmax +
//!   2^((CWmin + CWmax) / 2)) x slot + 4.5 s`) for an implicit ACK, i.e. for hearing any node
//!   rebroadcast its packet, and sends the same packet again if none came, at most
//!   [`MAX_RETRANSMISSIONS`] times; the implicit ACK also cancels a retransmission already
//!   queued (firmware `NextHopRouter::stopRetransmission` calls `cancelSending`; Meshtasticator
//!   `node.py` `transmit` aborts it when it goes: "in the meantime received ACK");
//! - the region's hourly duty budget is respected (firmware refuses to send above it); a packet
//!   that would exceed it is dropped.
//!
//! # Meshtasticator's MAC (the anchor)
//! When the medium is [`MediumModel::Meshtasticator`] the router also takes Meshtasticator's
//! `mac.py` instead of the firmware's numbers, to reproduce radio.md's anchor: slot time of
//! 8.5 symbols + 7.6 ms (its `slotTime`, 77 ms at LongFast, vs the firmware's 2.5 symbols,
//! 28 ms), `CWmin` 2, SNR estimated as RSSI minus its `NOISE_LEVEL` of -119.25 dBm, no fixed
//! `2 x CWmax` slots before a client's rebroadcast, and no `2 x CWmax` term in the
//! retransmission timeout; and its external interference: with `INTERFERENCE_LEVEL = 0.05`
//! its `is_channel_active` reports a busy channel on `randrange(10) <= 0.5`, i.e. one check in
//! ten, whatever the medium carries. Its packets are the payload plus its 16-byte
//! `HEADERLENGTH` (`phy.py` `airtime`), so in that medium the frames carry no protobuf
//! envelope (the anchor's 150 B item is on the air as 166 B, not 173 B).
//!
//! Bridges hand every item they hold to the uplink when it is up, and keep items received while
//! it is down (the phone app keeps them) until it comes back. A reboot forgets everything.

use std::collections::{HashMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::phy::MediumModel;
use super::router::{
    ChannelSense, DropReason, ItemKey, NodeContext, Router, RouterEvent, RouterFactory, RxMeta,
    SubmitError, Transmit,
};
use super::time::{Duration, Instant};

/// Meshtastic radio header length.
pub const HEADER_LEN: usize = 16;
/// Meshtastic protobuf envelope around a payload (approximate, radio.md).
pub const ENVELOPE_LEN: usize = 7;
/// Bytes added to every item on the air (only [`HEADER_LEN`] in Meshtasticator's medium).
pub const FRAME_OVERHEAD: usize = HEADER_LEN + ENVELOPE_LEN;
/// Protobuf envelope stand-in: portnum, payload tag and length, bitfield.
const ENVELOPE: [u8; ENVELOPE_LEN] = [0x08, 0x01, 0x12, 0x00, 0x48, 0x00, 0x00];
/// Meshtastic's default hop limit.
pub const DEFAULT_HOP_LIMIT: u8 = 3;
/// Meshtastic's transmit queue length.
pub const TX_QUEUE_LEN: usize = 16;
/// Contention window bounds (exponents), firmware `RadioInterface.h`.
pub const CW_MIN: u32 = 3;
/// See [`CW_MIN`].
pub const CW_MAX: u32 = 8;
/// Retransmissions of an unacknowledged own packet (firmware `NUM_RELIABLE_RETX`,
/// Meshtasticator `maxRetransmission`).
pub const MAX_RETRANSMISSIONS: u8 = 3;
/// Firmware `PROCESSING_TIME_MSEC`, part of the retransmission timeout.
const PROCESSING_TIME: Duration = Duration::from_millis(4_500);
const SNR_MIN: i64 = -20;
const SNR_MAX: i64 = 15;
const HISTORY_LEN: usize = 4096;
const BROADCAST: u32 = u32::MAX;

/// Builds [`FloodRouter`]s.
#[derive(Debug, Clone, Copy)]
pub struct FloodFactory {
    /// Hop limit given to originated packets.
    pub hop_limit: u8,
}

impl Default for FloodFactory {
    fn default() -> Self {
        FloodFactory {
            hop_limit: DEFAULT_HOP_LIMIT,
        }
    }
}

impl RouterFactory for FloodFactory {
    type Router = FloodRouter;
    fn name(&self) -> &'static str {
        "flood"
    }
    fn build(&self, ctx: &NodeContext) -> FloodRouter {
        FloodRouter::new(*ctx, self.hop_limit)
    }
}

type PacketKey = (u32, u32);

#[derive(Debug)]
struct Pending {
    key: PacketKey,
    frame: Box<[u8]>,
    /// How the packet was received; `None` for own packets.
    rx: Option<RxMeta>,
}

impl Pending {
    /// Whether this queued copy is no longer worth sending once the packet was heard `heard`
    /// times from the air (the first reception counts for a relayed packet; an own packet
    /// starts at 0).
    /// - Relayed: a second copy means a neighbour already rebroadcast it (client role,
    ///   Meshtasticator `perhaps_cancel_dupe`).
    /// - Own (first send or a retransmission): any copy heard is a neighbour's rebroadcast,
    ///   the implicit ACK, so the queued send is dropped (firmware
    ///   `NextHopRouter::stopRetransmission` -> `cancelSending`; Meshtasticator `node.py`
    ///   `transmit`, commit 0c907795, aborts the send once `leastReceivedHopLimit` shows any
    ///   rebroadcast).
    fn redundant(&self, heard: u8) -> bool {
        match self.rx {
            Some(_) => heard > 1,
            None => heard > 0,
        }
    }
}

/// The contention parameters in use (firmware or Meshtasticator, see the module docs).
#[derive(Debug, Clone, Copy)]
struct Mac {
    slot_us: u64,
    cw_min: u32,
    /// Fixed slots before a client's rebroadcast (`2 x CWmax` in the firmware).
    relay_fixed_slots: u64,
    /// Meshtasticator's `NOISE_LEVEL` when SNR comes from RSSI.
    noise_level_dbm: Option<f32>,
    /// Chance that a channel check reports busy regardless of the medium.
    phantom_busy: f64,
}

impl Mac {
    fn of(ctx: &NodeContext) -> Mac {
        match ctx.medium {
            MediumModel::Physical => Mac {
                slot_us: ctx.preset.slot_time().as_micros(),
                cw_min: CW_MIN,
                relay_fixed_slots: 2 * u64::from(CW_MAX),
                noise_level_dbm: None,
                phantom_busy: 0.0,
            },
            MediumModel::Meshtasticator => Mac {
                slot_us: ctx.preset.cad_latency().as_micros(),
                cw_min: 2,
                relay_fixed_slots: 0,
                noise_level_dbm: Some(-119.25),
                phantom_busy: 0.1,
            },
        }
    }

    fn snr(&self, meta: &RxMeta) -> f32 {
        match self.noise_level_dbm {
            Some(noise) => meta.rssi - noise,
            None => meta.snr,
        }
    }
}

/// One node running Meshtastic-style managed flooding.
#[derive(Debug)]
pub struct FloodRouter {
    ctx: NodeContext,
    hop_limit: u8,
    rng: ChaCha8Rng,
    next_id: u32,
    /// Times each packet was heard (0 for own packets not yet heard back).
    heard: HashMap<PacketKey, u8>,
    history: VecDeque<PacketKey>,
    queue: VecDeque<Pending>,
    head_due: Option<Instant>,
    transmitting: bool,
    tx_log: VecDeque<(Instant, Duration)>,
    tx_in_window: Duration,
    air_time: Duration,
    boot: Instant,
    uplink: bool,
    held: Vec<ItemKey>,
    events: VecDeque<RouterEvent>,
    malformed: u64,
    /// Own packets waiting for an implicit ACK: (due, retransmissions left, packet).
    unacked: Vec<(Instant, u8, PacketKey, Box<[u8]>)>,
}

impl FloodRouter {
    /// A router for the node `ctx` using `hop_limit` for its own packets.
    pub fn new(ctx: NodeContext, hop_limit: u8) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let next_id = rng.r#gen();
        FloodRouter {
            ctx,
            hop_limit: hop_limit.min(7),
            rng,
            next_id,
            heard: HashMap::new(),
            history: VecDeque::new(),
            queue: VecDeque::new(),
            head_due: None,
            transmitting: false,
            tx_log: VecDeque::new(),
            tx_in_window: Duration::ZERO,
            air_time: Duration::ZERO,
            boot: Instant::ZERO,
            uplink: false,
            held: Vec::new(),
            events: VecDeque::new(),
            malformed: 0,
            unacked: Vec::new(),
        }
    }

    /// `getRetransmissionMsec`: long enough for the packet to go out and a rebroadcast to
    /// come back.
    fn retransmission_timeout(&self, now: Instant, frame_len: usize) -> Duration {
        let mac = Mac::of(&self.ctx);
        let slot = mac.slot_us;
        let cw = self.utilisation_cw(now);
        let slots = (1u64 << cw) + mac.relay_fixed_slots + (1u64 << ((CW_MAX + mac.cw_min) / 2));
        let toa = self.ctx.time_on_air(frame_len).as_micros();
        Duration::from_micros(2 * toa + slots * slot) + PROCESSING_TIME
    }

    /// Contention window exponent from the node's channel utilisation since boot.
    fn utilisation_cw(&self, now: Instant) -> u32 {
        let cw_min = Mac::of(&self.ctx).cw_min;
        let span = i64::from(CW_MAX - cw_min);
        let elapsed = now.saturating_since(self.boot).as_micros().max(1);
        let util = (self.air_time.as_micros().saturating_mul(100) / elapsed).min(100);
        (util as i64 * span / 100 + i64::from(cw_min)) as u32
    }

    /// Re-queue own packets whose implicit ACK did not come in time.
    fn retransmit_due(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.unacked.len() {
            let (due, left, key, _) = &self.unacked[i];
            if *due > now {
                i += 1;
                continue;
            }
            let (left, key) = (*left, *key);
            let (_, _, _, frame) = self.unacked.swap_remove(i);
            if left == 0 || self.queue.len() >= TX_QUEUE_LEN {
                continue;
            }
            let again = frame.clone();
            let due = now + self.retransmission_timeout(now, frame.len());
            self.unacked.push((due, left - 1, key, frame));
            self.enqueue(
                now,
                Pending {
                    key,
                    frame: again,
                    rx: None,
                },
            );
        }
    }

    /// Frames dropped because they were too short to parse.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Bytes in front of the item: [`FRAME_OVERHEAD`], or only the radio header in
    /// Meshtasticator's medium, whose packets are the payload plus its 16-byte `HEADERLENGTH`
    /// (`phy.py` `airtime`).
    fn overhead(&self) -> usize {
        match self.ctx.medium {
            MediumModel::Physical => FRAME_OVERHEAD,
            MediumModel::Meshtasticator => HEADER_LEN,
        }
    }

    /// The item a frame of ours carries (what follows [`FloodRouter::overhead`]).
    fn item_of(&self, frame: &[u8]) -> ItemKey {
        ItemKey::of(frame.get(self.overhead()..).unwrap_or(&[]))
    }

    fn remember(&mut self, key: PacketKey, count: u8) -> Option<u8> {
        if let Some(c) = self.heard.get_mut(&key) {
            let old = *c;
            *c = c.saturating_add(count);
            return Some(old);
        }
        if self.history.len() >= HISTORY_LEN
            && let Some(old) = self.history.pop_front()
        {
            self.heard.remove(&old);
        }
        self.history.push_back(key);
        self.heard.insert(key, count);
        None
    }

    fn hold(&mut self, item: ItemKey) {
        if !self.ctx.bridge {
            return;
        }
        if self.uplink {
            self.events.push_back(RouterEvent::Delivered { item });
        } else {
            self.held.push(item);
        }
    }

    fn enqueue(&mut self, now: Instant, p: Pending) -> bool {
        if self.queue.len() >= TX_QUEUE_LEN {
            let item = self.item_of(&p.frame);
            self.events.push_back(RouterEvent::Dropped {
                item,
                reason: DropReason::Overflow,
            });
            return false;
        }
        self.queue.push_back(p);
        if self.head_due.is_none() && !self.transmitting {
            self.arm_head(now);
        }
        true
    }

    fn arm_head(&mut self, now: Instant) {
        self.head_due = match self.queue.front() {
            None => None,
            Some(p) => {
                let rx = p.rx;
                Some(now + self.contention_delay(now, rx))
            }
        };
    }

    /// `getTxDelayMsecWeighted` (client role) for relayed packets, `getTxDelayMsec` for own.
    fn contention_delay(&mut self, now: Instant, rx: Option<RxMeta>) -> Duration {
        let mac = Mac::of(&self.ctx);
        let slot = mac.slot_us;
        let span = i64::from(CW_MAX - mac.cw_min);
        match rx {
            Some(meta) => {
                let s = (mac.snr(&meta) as i64).clamp(SNR_MIN, SNR_MAX);
                let cw =
                    ((s - SNR_MIN) * span / (SNR_MAX - SNR_MIN) + i64::from(mac.cw_min)) as u32;
                let r = self.rng.gen_range(0..(1u64 << cw));
                Duration::from_micros(mac.relay_fixed_slots * slot + r * slot)
            }
            None => {
                let cw = self.utilisation_cw(now);
                let r = self.rng.gen_range(0..(1u64 << cw));
                Duration::from_micros(r * slot)
            }
        }
    }

    fn prune_tx_log(&mut self, now: Instant) {
        let window = Duration::from_secs(3600);
        while let Some(&(t, d)) = self.tx_log.front() {
            if t + window <= now {
                self.tx_in_window = Duration(self.tx_in_window.0.saturating_sub(d.0));
                self.tx_log.pop_front();
            } else {
                break;
            }
        }
    }

    /// Times `key` was heard from the air (0 for an own packet not heard back).
    fn times_heard(&self, key: PacketKey) -> u8 {
        self.heard.get(&key).copied().unwrap_or(0)
    }

    /// Drop the queued copies of `key` that hearing it again made redundant
    /// ([`Pending::redundant`]).
    fn cancel_duplicates(&mut self, now: Instant, key: PacketKey) {
        let heard = self.times_heard(key);
        let head_cancelled = self
            .queue
            .front()
            .is_some_and(|p| p.key == key && p.redundant(heard));
        self.queue.retain(|p| p.key != key || !p.redundant(heard));
        if head_cancelled && !self.transmitting {
            self.arm_head(now);
        }
    }
}

/// `overhead`: the header and envelope bytes in front of the item ([`FloodRouter::overhead`]).
fn parse_header(frame: &[u8], overhead: usize) -> Option<(u32, u32, u8, u8)> {
    let from = u32::from_le_bytes(frame.get(4..8)?.try_into().ok()?);
    let id = u32::from_le_bytes(frame.get(8..12)?.try_into().ok()?);
    let flags = *frame.get(12)?;
    if frame.len() < overhead {
        return None;
    }
    Some((from, id, flags & 0x07, flags >> 5))
}

/// The radio header, then the envelope up to `overhead` bytes ([`FloodRouter::overhead`]).
fn write_header(
    out: &mut Vec<u8>,
    overhead: usize,
    from: u32,
    id: u32,
    hop_limit: u8,
    hop_start: u8,
    relay: u32,
) {
    out.extend_from_slice(&BROADCAST.to_le_bytes());
    out.extend_from_slice(&from.to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.push((hop_limit & 0x07) | ((hop_start & 0x07) << 5));
    out.push(0x08); // channel hash (LongFast default channel)
    out.push(0); // next hop: none (flooding)
    out.push(relay as u8);
    out.extend_from_slice(&ENVELOPE[..overhead.saturating_sub(HEADER_LEN)]);
}

impl Router for FloodRouter {
    fn handle_frame(&mut self, now: Instant, meta: RxMeta, frame: &[u8]) {
        self.air_time = self.air_time + self.ctx.time_on_air(frame.len());
        let overhead = self.overhead();
        let Some((from, id, hop_limit, hop_start)) = parse_header(frame, overhead) else {
            self.malformed += 1;
            return;
        };
        let key = (from, id);
        if from == self.ctx.id {
            // Implicit ACK: someone rebroadcast our packet.
            self.unacked.retain(|u| u.2 != key);
        }
        let item_bytes = frame.get(overhead..).unwrap_or(&[]);
        match self.remember(key, 1) {
            // Another copy of a relayed packet, or a rebroadcast of our own: cancel what it
            // made redundant.
            Some(_) => self.cancel_duplicates(now, key),
            None => {
                let item = ItemKey::of(item_bytes);
                self.events.push_back(RouterEvent::Received {
                    item,
                    hops: Some(hop_start.saturating_sub(hop_limit)),
                });
                self.hold(item);
                if hop_limit > 0 && from != self.ctx.id {
                    let mut out = Vec::with_capacity(frame.len());
                    write_header(
                        &mut out,
                        overhead,
                        from,
                        id,
                        hop_limit - 1,
                        hop_start,
                        self.ctx.id,
                    );
                    out.extend_from_slice(item_bytes);
                    self.enqueue(
                        now,
                        Pending {
                            key,
                            frame: out.into_boxed_slice(),
                            rx: Some(meta),
                        },
                    );
                }
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        // Transmissions happen in `poll_transmit`, which the driver calls next.
        self.retransmit_due(now);
    }

    fn handle_tx_done(&mut self, now: Instant) {
        self.transmitting = false;
        self.arm_head(now);
    }

    fn handle_uplink(&mut self, _now: Instant, up: bool) {
        self.uplink = up && self.ctx.bridge;
        if self.uplink {
            for item in self.held.drain(..) {
                self.events.push_back(RouterEvent::Delivered { item });
            }
        }
    }

    fn handle_reboot(&mut self, now: Instant) {
        let mut fresh = FloodRouter::new(self.ctx, self.hop_limit);
        fresh.ctx.seed = self.rng.r#gen();
        fresh.boot = now;
        fresh.uplink = self.uplink;
        fresh.malformed = self.malformed;
        *self = fresh;
    }

    fn submit(&mut self, now: Instant, item: &[u8]) -> Result<(), SubmitError> {
        let overhead = self.overhead();
        if item.len() + overhead > super::phy::MAX_PHY_PAYLOAD {
            return Err(SubmitError::TooLarge(item.len()));
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let key = (self.ctx.id, id);
        self.remember(key, 0);
        self.hold(ItemKey::of(item));
        let mut out = Vec::with_capacity(item.len() + overhead);
        write_header(
            &mut out,
            overhead,
            self.ctx.id,
            id,
            self.hop_limit,
            self.hop_limit,
            self.ctx.id,
        );
        out.extend_from_slice(item);
        let frame = out.into_boxed_slice();
        let due = now + self.retransmission_timeout(now, frame.len());
        self.unacked
            .push((due, MAX_RETRANSMISSIONS, key, frame.clone()));
        if self.enqueue(
            now,
            Pending {
                key,
                frame,
                rx: None,
            },
        ) {
            Ok(())
        } else {
            Err(SubmitError::StoreFull)
        }
    }

    fn poll_transmit(
        &mut self,
        now: Instant,
        channel: &dyn ChannelSense,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        if self.transmitting {
            return None;
        }
        loop {
            let due = self.head_due?;
            if due > now {
                return None;
            }
            let p = self.queue.front()?;
            // A copy heard while waiting cancels it (see `Pending::redundant`).
            if p.redundant(self.times_heard(p.key)) {
                self.queue.pop_front();
                self.arm_head(now);
                continue;
            }
            let phantom = Mac::of(&self.ctx).phantom_busy;
            if channel.busy() || (phantom > 0.0 && self.rng.gen_bool(phantom)) {
                let rx = p.rx;
                self.head_due = Some(now + self.contention_delay(now, rx));
                return None;
            }
            let toa = self.ctx.time_on_air(p.frame.len());
            let frame_len = p.frame.len();
            self.prune_tx_log(now);
            if self.tx_in_window + toa > self.ctx.hourly_budget || frame_len > buf.len() {
                let item = self
                    .queue
                    .front()
                    .map(|p| self.item_of(&p.frame))
                    .unwrap_or(ItemKey(0));
                let reason = if frame_len > buf.len() {
                    DropReason::TooLarge
                } else {
                    DropReason::DutyCycle
                };
                self.events.push_back(RouterEvent::Dropped { item, reason });
                self.queue.pop_front();
                self.arm_head(now);
                continue;
            }
            let p = self.queue.pop_front()?;
            let len = p.frame.len();
            buf.get_mut(..len)?.copy_from_slice(&p.frame);
            self.tx_log.push_back((now, toa));
            self.tx_in_window = self.tx_in_window + toa;
            self.air_time = self.air_time + toa;
            self.transmitting = true;
            self.head_due = None;
            return Some(Transmit { len });
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let retx = self.unacked.iter().map(|u| u.0).min();
        let head = if self.transmitting {
            None
        } else {
            self.head_due
        };
        match (head, retx) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_event(&mut self) -> Option<RouterEvent> {
        self.events.pop_front()
    }

    fn store_len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::phy::{MediumModel, Preset, Region};
    use crate::sim::router::ClearChannel;

    fn ctx(id: u32) -> NodeContext {
        NodeContext {
            id,
            preset: Preset::LongFast,
            region: Region::Eu868TenPercent,
            medium: MediumModel::Physical,
            hourly_budget: Region::Eu868TenPercent.hourly_budget(),
            max_dwell: None,
            bridge: false,
            seed: u64::from(id) + 1,
            relay: None,
            key_book: false,
        }
    }

    fn send(r: &mut FloodRouter, now: Instant) -> Option<Vec<u8>> {
        let mut buf = [0u8; 255];
        let t = r.poll_transmit(now, &ClearChannel, &mut buf)?;
        Some(buf[..t.len].to_vec())
    }

    const META: RxMeta = RxMeta {
        rssi: -100.0,
        snr: 5.0,
    };

    /// A neighbour (node 2) that hears `frame` at `at`: its rebroadcast.
    fn relayed_by_neighbour(at: Instant, frame: &[u8]) -> Vec<u8> {
        let mut b = FloodRouter::new(ctx(2), 3);
        b.handle_frame(at, META, frame);
        let t = b.poll_timeout().unwrap();
        send(&mut b, t).unwrap()
    }

    #[test]
    fn relays_once_with_lower_hop_limit_after_weighted_delay() {
        let mut a = FloodRouter::new(ctx(1), 3);
        a.submit(Instant::ZERO, &[7u8; 20]).unwrap();
        let due = a.poll_timeout().unwrap();
        let frame = send(&mut a, due).unwrap();
        assert_eq!(frame.len(), 20 + FRAME_OVERHEAD);
        let mut b = FloodRouter::new(ctx(2), 3);
        let meta = RxMeta {
            rssi: -100.0,
            snr: 10.0,
        };
        b.handle_frame(due, meta, &frame);
        assert!(matches!(
            b.poll_event(),
            Some(RouterEvent::Received { hops: Some(0), .. })
        ));
        let relay_due = b.poll_timeout().unwrap();
        let min = Duration(2 * 8 * Preset::LongFast.slot_time().0);
        assert!(relay_due >= due + min);
        let relayed = send(&mut b, relay_due).unwrap();
        assert_eq!(relayed[12] & 7, 2);
        assert_eq!(relayed[FRAME_OVERHEAD..], frame[FRAME_OVERHEAD..]);
    }

    #[test]
    fn duplicate_cancels_pending_rebroadcast() {
        let mut a = FloodRouter::new(ctx(1), 3);
        a.submit(Instant::ZERO, &[7u8; 20]).unwrap();
        let due = a.poll_timeout().unwrap();
        let frame = send(&mut a, due).unwrap();
        let mut b = FloodRouter::new(ctx(2), 3);
        let meta = RxMeta {
            rssi: -100.0,
            snr: 0.0,
        };
        b.handle_frame(due, meta, &frame);
        b.handle_frame(due, meta, &frame);
        assert_eq!(b.store_len(), 0);
        assert!(send(&mut b, Instant(u64::MAX / 2)).is_none());
    }

    #[test]
    fn unacknowledged_own_packet_is_sent_again_until_a_rebroadcast_is_heard() {
        let mut a = FloodRouter::new(ctx(1), 3);
        a.submit(Instant::ZERO, &[7u8; 20]).unwrap();
        let t = a.poll_timeout().unwrap();
        let first = send(&mut a, t).unwrap();
        a.handle_tx_done(Instant(1));
        // No rebroadcast heard: the retransmission timer fires and the same packet goes again.
        let due = a.poll_timeout().unwrap();
        assert!(due > Instant(PROCESSING_TIME.0));
        a.handle_timeout(due);
        let t = a.poll_timeout().unwrap();
        let again = send(&mut a, t).unwrap();
        assert_eq!(again, first);
        a.handle_tx_done(due);
        // A neighbour's rebroadcast is the implicit ACK: nothing more to send.
        let relayed = relayed_by_neighbour(due, &again);
        a.handle_frame(due, META, &relayed);
        assert!(a.unacked.is_empty());
        assert_eq!(a.poll_timeout(), None);
    }

    #[test]
    fn rebroadcast_heard_cancels_a_queued_retransmission() {
        let mut a = FloodRouter::new(ctx(1), 3);
        a.submit(Instant::ZERO, &[7u8; 20]).unwrap();
        let t = a.poll_timeout().unwrap();
        let first = send(&mut a, t).unwrap();
        a.handle_tx_done(t);
        // No ACK in time: the retransmission is queued behind its contention delay.
        let due = a.poll_timeout().unwrap();
        a.handle_timeout(due);
        assert_eq!(a.store_len(), 1);
        let retx_due = a.poll_timeout().unwrap();
        // One neighbour's rebroadcast arrives before it goes: the implicit ACK cancels it.
        let relayed = relayed_by_neighbour(t, &first);
        a.handle_frame(due, META, &relayed);
        assert_eq!(a.store_len(), 0);
        assert!(send(&mut a, retx_due).is_none());
        assert_eq!(a.poll_timeout(), None);
    }

    #[test]
    fn meshtasticator_medium_frames_carry_only_the_radio_header() {
        let ctx = |id| NodeContext {
            medium: MediumModel::Meshtasticator,
            ..ctx(id)
        };
        // Its MAC reports a phantom busy channel one check in ten: retry until the frame goes.
        let send_when_due = |r: &mut FloodRouter| {
            (0..100).find_map(|_| {
                let t = r.poll_timeout()?;
                send(r, t)
            })
        };
        let item = [7u8; 150];
        let mut a = FloodRouter::new(ctx(1), 3);
        a.submit(Instant::ZERO, &item).unwrap();
        let frame = send_when_due(&mut a).unwrap();
        assert_eq!(frame.len(), item.len() + HEADER_LEN);
        let mut b = FloodRouter::new(ctx(2), 3);
        b.handle_frame(Instant::ZERO, META, &frame);
        assert!(matches!(
            b.poll_event(),
            Some(RouterEvent::Received { item: got, hops: Some(0) }) if got == ItemKey::of(&item)
        ));
        let relayed = send_when_due(&mut b).unwrap();
        assert_eq!(relayed.len(), frame.len());
        assert_eq!(relayed[12] & 7, 2);
        assert_eq!(relayed[HEADER_LEN..], item);
    }

    #[test]
    fn malformed_frames_are_counted_not_fatal() {
        let mut b = FloodRouter::new(ctx(2), 3);
        let meta = RxMeta {
            rssi: -100.0,
            snr: 0.0,
        };
        for len in 0..FRAME_OVERHEAD {
            b.handle_frame(Instant::ZERO, meta, &vec![0xAB; len]);
        }
        assert_eq!(b.malformed(), FRAME_OVERHEAD as u64);
        assert!(b.poll_event().is_none());
    }
}
