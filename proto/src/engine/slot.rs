//! The RAM item index entry ([`Slot`], 16 bytes: a 2000-item index is 32 000 bytes) and its
//! time base.
//!
//! Timers are stored relative to the engine's `epoch` (its `now` at start, moved forward by
//! [`REBASE_AFTER_US`] steps, see `Engine::rebase`), packed in 48 bits: the next
//! transmission in 0.1 s ticks (26 bits, 77 days), the expiry in whole seconds (22 bits, 48
//! days). Because the epoch follows `now`, neither field runs out however long the node stays
//! up; an item's time to live is capped at [`MAX_TTL_US`] in the index (the store keeps the
//! exact instant; a restart rebuilds it). The expiry is kept to the second (it was whole
//! minutes) because neighbours must drop a broadcast item together: each node rounding to
//! its own minute grid left their reconciled sets differing for up to a minute around every
//! expiry, and digests then found a difference almost every time (see `gossip.rs`).

use crate::item::ShortId;

use super::Priority;

/// Resolution of the index's transmit timer (µs): 0.1 s, so a `u32` spans 13 years.
pub(super) const TICK_US: u64 = 100_000;
/// Bits of the transmit timer (0.1 s ticks: 77 days).
const NEXT_BITS: u32 = 26;
const NEXT_MAX: u32 = (1 << NEXT_BITS) - 1;
/// Resolution of the index's expiry (µs): one second, in 22 bits (48 days).
pub(super) const SECOND_US: u64 = 1_000_000;
const EXPIRY_MAX: u32 = (1 << 22) - 1;
/// The epoch moves forward in whole minutes.
pub(super) const MINUTE_US: u64 = 60_000_000;
/// The engine moves its epoch forward once `now` is this far past it (about 22 days), so
/// expiries (≤ [`MAX_TTL_US`] ahead) always fit 22 bits of seconds.
pub(super) const REBASE_AFTER_US: u64 = (1 << 15) * MINUTE_US;
/// Longest time to live the index represents (about 22 days).
pub const MAX_TTL_US: u64 = ((1 << 15) - 1) * MINUTE_US;
const _: () = assert!((REBASE_AFTER_US + MAX_TTL_US) / SECOND_US <= EXPIRY_MAX as u64);
const _: () = assert!((REBASE_AFTER_US + MAX_TTL_US) / TICK_US <= NEXT_MAX as u64);

/// Still pushed towards the bridge (custody path).
pub(super) const PENDING: u8 = 1;
/// Bridge: already handed to the uplink.
pub(super) const UPLINKED: u8 = 2;
/// Broadcast class (a certification): spread to every node, reconciled between neighbours.
pub(super) const BCAST: u8 = 4;
/// Broadcast: a rebroadcast is scheduled at `next_try`.
pub(super) const RELAY: u8 = 8;
/// Custody (the same bit as [`RELAY`], which only a broadcast entry uses): the item waits
/// in its pair hold until `next_try`, for a second one to share its forward.
pub(super) const HELD: u8 = RELAY;
/// Broadcast: copies heard from neighbours while the rebroadcast waited (2 bits).
const HEARD_SHIFT: u8 = 4;
const HEARD_MASK: u8 = 0b11 << HEARD_SHIFT;
/// Custody: transmissions to the current parent without an ack (2 bits; `MAX_TRIES` = 3).
const TRIES_SHIFT: u8 = 6;
const TRIES_MASK: u8 = 0b11 << TRIES_SHIFT;
/// Class bit: the entry is a signed receipt (it goes alone in a Receipt frame).
const RECEIPT_CLASS: u8 = 0x40;
/// Class bit: a broadcast entry old enough to be in the reconciled set (see `gossip.rs`).
const RECONCILED: u8 = 0x80;

/// One entry of the RAM item index. Rebuilt from the store after a restart.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    /// [`ShortId`], little-endian bytes (keeps the entry 4-byte aligned).
    short: [u8; 8],
    /// Next transmission (bits 25..0, ticks of [`TICK_US`] since the epoch) and the low 6
    /// bits of the expiry (bits 31..26).
    timers: u32,
    /// Expiry, high 16 bits (seconds since the epoch, rounded up; 22 bits in all).
    expires_hi: u16,
    /// Priority (bits 1..0), hop limit (bits 5..2), [`RECEIPT_CLASS`] and [`RECONCILED`].
    class: u8,
    /// Flags ([`PENDING`], [`UPLINKED`], [`BCAST`], [`RELAY`] or [`HELD`]), heard count
    /// (bits 5..4) and tries (bits 7..6).
    pub state: u8,
}

impl Slot {
    pub fn new(
        short: ShortId,
        expires: u32,
        next_try: u32,
        priority: Priority,
        hop_limit: u8,
        state: u8,
    ) -> Self {
        let p = match priority {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Control => 3,
        };
        let mut s = Self {
            short: short.0.to_le_bytes(),
            timers: 0,
            expires_hi: 0,
            class: p | (hop_limit.min(15) << 2),
            state: state & !(HEARD_MASK | TRIES_MASK),
        };
        s.set_next_try(next_try);
        s.set_expires(expires);
        s
    }
    /// Next transmission, in ticks of [`TICK_US`] since the epoch.
    pub const fn next_try(&self) -> u32 {
        self.timers & NEXT_MAX
    }
    /// Set the transmit timer (saturates at 77 days).
    pub fn set_next_try(&mut self, t: u32) {
        self.timers = (self.timers & !NEXT_MAX) | t.min(NEXT_MAX);
    }
    /// Expiry, in seconds since the epoch.
    pub const fn expires(&self) -> u32 {
        (self.timers >> NEXT_BITS) | ((self.expires_hi as u32) << (32 - NEXT_BITS))
    }
    /// Set the expiry (saturates at 48 days).
    pub fn set_expires(&mut self, e: u32) {
        let e = e.min(EXPIRY_MAX);
        self.timers = self.next_try() | (e << NEXT_BITS);
        self.expires_hi = (e >> (32 - NEXT_BITS)) as u16;
    }
    pub fn short(&self) -> ShortId {
        ShortId(u64::from_le_bytes(self.short))
    }
    pub const fn pending(&self) -> bool {
        self.state & PENDING != 0
    }
    /// Something the node still owes the network: a custody push or a rebroadcast.
    pub const fn owed(&self) -> bool {
        self.pending() || self.relay()
    }
    pub const fn broadcast(&self) -> bool {
        self.state & BCAST != 0
    }
    pub const fn relay(&self) -> bool {
        self.state & (BCAST | RELAY) == BCAST | RELAY
    }
    /// A custody item in its pair hold ([`HELD`]).
    pub const fn held(&self) -> bool {
        self.state & (BCAST | HELD | PENDING) == HELD | PENDING
    }
    /// Put a custody item in its pair hold until `t` (ticks).
    pub fn hold_until(&mut self, t: u32) {
        self.state |= HELD;
        self.set_next_try(t);
    }
    /// End the pair hold: the item is due at `t` (ticks) at the latest.
    pub fn release_hold(&mut self, t: u32) {
        self.state &= !HELD;
        self.set_next_try(self.next_try().min(t));
    }
    pub const fn priority(&self) -> Priority {
        match self.class & 0b11 {
            0 => Priority::Low,
            1 => Priority::Normal,
            2 => Priority::High,
            _ => Priority::Control,
        }
    }
    pub const fn hop_limit(&self) -> u8 {
        (self.class >> 2) & 15
    }
    /// A signed receipt (see `gossip.rs`), not an item.
    pub const fn receipt(&self) -> bool {
        self.class & RECEIPT_CLASS != 0
    }
    pub fn mark_receipt(&mut self) {
        self.class |= RECEIPT_CLASS;
    }
    /// A broadcast entry in the reconciled set.
    pub const fn reconciled(&self) -> bool {
        self.class & RECONCILED != 0
    }
    pub fn mark_reconciled(&mut self) {
        self.class |= RECONCILED;
    }
    pub const fn tries(&self) -> u8 {
        (self.state & TRIES_MASK) >> TRIES_SHIFT
    }
    /// Set the try count (saturates at 3).
    pub fn set_tries(&mut self, tries: u8) {
        self.state = (self.state & !TRIES_MASK) | (tries.min(3) << TRIES_SHIFT);
    }
    pub const fn heard(&self) -> u8 {
        (self.state & HEARD_MASK) >> HEARD_SHIFT
    }
    /// Set the heard count (saturates at 3).
    pub fn set_heard(&mut self, heard: u8) {
        self.state = (self.state & !HEARD_MASK) | (heard.min(3) << HEARD_SHIFT);
    }
    pub fn expires_us(&self, epoch: u64) -> u64 {
        epoch.saturating_add(u64::from(self.expires()) * SECOND_US)
    }
    pub fn next_try_us(&self, epoch: u64) -> u64 {
        epoch.saturating_add(u64::from(self.next_try()) * TICK_US)
    }
    /// Move the time base forward by `minutes` (timers already past become 0: due/expired).
    pub fn rebase(&mut self, minutes: u16) {
        let seconds = u32::from(minutes) * (MINUTE_US / SECOND_US) as u32;
        self.set_expires(self.expires().saturating_sub(seconds));
        let ticks = u32::from(minutes) * (MINUTE_US / TICK_US) as u32;
        self.set_next_try(self.next_try().saturating_sub(ticks));
    }
}

/// An instant (µs, the driver's time base) in ticks since `epoch`, rounded up so a timer never
/// fires before its instant; instants before the epoch are tick 0.
pub(super) fn ticks(epoch: u64, us: u64) -> u32 {
    u32::try_from(us.saturating_sub(epoch).div_ceil(TICK_US)).map_or(NEXT_MAX, |t| t.min(NEXT_MAX))
}

/// An expiry instant in whole seconds since `epoch`, rounded up (saturating).
pub(super) fn seconds(epoch: u64, us: u64) -> u32 {
    u32::try_from(us.saturating_sub(epoch).div_ceil(SECOND_US))
        .map_or(EXPIRY_MAX, |t| t.min(EXPIRY_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_is_16_bytes_and_round_trips() {
        assert_eq!(core::mem::size_of::<Slot>(), 16);
        for (p, h, st) in [
            (Priority::Low, 0, BCAST | RELAY),
            (Priority::Normal, 7, PENDING),
            (Priority::High, 15, PENDING | UPLINKED),
            (Priority::Control, 3, 0),
        ] {
            let id = ShortId(0x0123_4567_89ab_cdef);
            let mut s = Slot::new(id, 1_441, 123_456, p, h, st);
            assert_eq!(s.short(), id);
            assert_eq!((s.priority(), s.hop_limit(), s.state), (p, h, st));
            for t in 0..=3 {
                s.set_tries(t);
                s.set_heard(3 - t);
                assert_eq!((s.tries(), s.heard()), (t, 3 - t));
                assert_eq!(s.state & 0x0f, st, "flags survive tries/heard");
                assert_eq!((s.priority(), s.hop_limit()), (p, h));
            }
            s.set_tries(9);
            assert_eq!(s.tries(), 3);
            assert_eq!((s.expires(), s.next_try()), (1_441, 123_456));
            // The two packed timers do not overwrite each other, and saturate.
            s.set_next_try(u32::MAX);
            assert_eq!((s.expires(), s.next_try()), (1_441, NEXT_MAX));
            s.set_expires(u32::MAX);
            assert_eq!((s.expires(), s.next_try()), (EXPIRY_MAX, NEXT_MAX));
            s.set_next_try(7);
            s.set_expires(EXPIRY_MAX - 1);
            assert_eq!((s.expires(), s.next_try()), (EXPIRY_MAX - 1, 7));
            assert_eq!((s.priority(), s.hop_limit(), s.state & 0x0f), (p, h, st));
        }
    }

    #[test]
    fn the_held_bit_of_a_custody_entry_is_not_a_rebroadcast() {
        let id = ShortId(1);
        let held = Slot::new(id, 10, 10, Priority::Normal, 3, PENDING | HELD);
        assert!(held.held() && held.owed() && !held.relay());
        let relay = Slot::new(id, 10, 10, Priority::Low, 3, BCAST | RELAY);
        assert!(relay.relay() && relay.owed() && !relay.held());
        // Handed over while held: nothing owed.
        let handed = Slot::new(id, 10, 10, Priority::Normal, 3, HELD);
        assert!(!handed.held() && !handed.owed() && !handed.relay());
    }

    #[test]
    fn long_uptime_rebase_keeps_order() {
        // An item stored 30 days into the uptime, 24 h to live: after rebasing at 22 days the
        // expiry is still 24 h ahead and the transmit timer still ahead of the expiry.
        let day = 24 * 3_600_000_000u64;
        let epoch0 = 5u64;
        let now = epoch0 + 21 * day;
        let mut s = Slot::new(
            ShortId(1),
            seconds(epoch0, now + day),
            ticks(epoch0, now + 60_000_000),
            Priority::High,
            10,
            PENDING,
        );
        let shift = ((now - epoch0) / MINUTE_US) as u16;
        s.rebase(shift);
        let epoch1 = epoch0 + u64::from(shift) * MINUTE_US;
        assert!(s.expires_us(epoch1) >= now + day && s.expires_us(epoch1) < now + day + SECOND_US);
        assert!(s.next_try_us(epoch1) >= now + 60_000_000);
        assert!(s.next_try_us(epoch1) < now + 60_000_000 + 2 * TICK_US + MINUTE_US);
        // 30 days later (after another rebase) a new item still fits.
        let later = now + 30 * day;
        let e2 = epoch1 + ((later - epoch1) / MINUTE_US) * MINUTE_US;
        assert!(seconds(e2, later + day) < EXPIRY_MAX);
    }
}
