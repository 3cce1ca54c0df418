//! Time on air and rolling-window duty-cycle accounting.
//!
//! [`Modulation::time_on_air_us`] uses the `lora-modulation` crate (the same computation as
//! the LoRa drivers of lora-rs), so the engine, the firmware and the simulator agree to the
//! microsecond. [`DutyCycle`] keeps airtime in one-minute buckets over the last hour and
//! counts a bucket until the whole of it has left the window: the sum it reports is never
//! below the exact rolling-window sum, so `allows` never lets a node exceed its budget.

use lora_modulation::BaseBandModulationParams;

use crate::radio::MAX_FRAME_LEN;

/// The regulators' rolling window: one hour, in µs.
pub const WINDOW_US: u64 = 3_600_000_000;
/// Width of one accounting bucket (µs).
pub const BUCKET_US: u64 = 60_000_000;
/// Buckets kept: one more than a window spans, plus one for a transmission that ends in the
/// next bucket.
const BUCKETS: usize = (WINDOW_US / BUCKET_US) as usize + 2;

/// Modem settings the engine needs to know its own time on air.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Modulation {
    /// Spreading factor, bandwidth, coding rate (and low data-rate optimisation).
    pub params: BaseBandModulationParams,
    /// Preamble length in symbols.
    pub preamble: u8,
}

impl Modulation {
    /// Time on air of an explicit-header packet of `len` bytes with CRC (µs). Lengths above
    /// [`MAX_FRAME_LEN`] are clamped.
    pub fn time_on_air_us(&self, len: usize) -> u64 {
        let len = u8::try_from(len.min(MAX_FRAME_LEN)).unwrap_or(u8::MAX);
        u64::from(self.params.time_on_air_us(Some(self.preamble), true, len))
    }

    /// Duration of one symbol (µs).
    pub fn symbol_us(&self) -> u64 {
        u64::from(self.params.symbols_to_ms(1_000)).max(1)
    }
}

/// What the region allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyRule {
    /// At most `budget_us` of transmission in any rolling hour (EU868: 36 s at 1 %, 360 s at
    /// 10 %).
    PerHour {
        /// Airtime allowed per rolling hour (µs).
        budget_us: u64,
    },
    /// A dwell limit per transmission (US915: 400 ms) and an hourly budget on top.
    Dwell {
        /// Longest single transmission (µs).
        max_us: u64,
        /// Airtime allowed per rolling hour (µs).
        budget_us: u64,
    },
}

impl DutyRule {
    /// Hourly budget (µs).
    pub const fn budget_us(&self) -> u64 {
        match *self {
            Self::PerHour { budget_us } | Self::Dwell { budget_us, .. } => budget_us,
        }
    }

    /// Longest single transmission, if limited.
    pub const fn max_dwell_us(&self) -> Option<u64> {
        match *self {
            Self::PerHour { .. } => None,
            Self::Dwell { max_us, .. } => Some(max_us),
        }
    }
}

/// Rolling-window airtime accounting (conservative, see the module doc).
#[derive(Debug, Clone)]
pub struct DutyCycle {
    rule: DutyRule,
    /// Airtime (µs) per bucket.
    airtime: [u64; BUCKETS],
    /// Absolute bucket number each slot currently holds.
    bucket: [u64; BUCKETS],
}

impl DutyCycle {
    pub const fn new(rule: DutyRule) -> Self {
        Self {
            rule,
            airtime: [0; BUCKETS],
            bucket: [u64::MAX; BUCKETS],
        }
    }

    pub const fn rule(&self) -> DutyRule {
        self.rule
    }

    /// Airtime counted in the window that ends at `end` (µs), an upper bound of the exact sum.
    pub fn used_us(&self, end: u64) -> u64 {
        let first = end.saturating_sub(WINDOW_US) / BUCKET_US;
        self.airtime
            .iter()
            .zip(self.bucket.iter())
            .filter(|&(_, &b)| b != u64::MAX && b >= first)
            .map(|(&a, _)| a)
            .sum()
    }

    /// Whether a transmission of `toa_us` starting at `now` fits the dwell rule and
    /// `share_permille` of the hourly budget.
    pub fn allows(&self, now: u64, toa_us: u64, share_permille: u64) -> bool {
        if self.rule.max_dwell_us().is_some_and(|max| toa_us > max) {
            return false;
        }
        let limit = self.rule.budget_us().saturating_mul(share_permille) / 1_000;
        self.used_us(now.saturating_add(toa_us))
            .saturating_add(toa_us)
            <= limit
    }

    /// Count a transmission that starts at `now`.
    pub fn record(&mut self, now: u64, toa_us: u64) {
        let b = now / BUCKET_US;
        let i = (b % BUCKETS as u64) as usize;
        if let (Some(a), Some(slot)) = (self.airtime.get_mut(i), self.bucket.get_mut(i)) {
            if *slot != b {
                *slot = b;
                *a = 0;
            }
            *a = a.saturating_add(toa_us);
        }
    }

    /// Earliest instant after `now` at which the counted airtime may have dropped (the next
    /// bucket boundary).
    pub fn next_change(&self, now: u64) -> u64 {
        (now / BUCKET_US + 1) * BUCKET_US
    }
}
