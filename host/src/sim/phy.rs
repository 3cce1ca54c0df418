//! The physical layer: modem presets, regions, path loss, link budgets, time on air.
//!
//! Every formula here follows Meshtasticator's `lib/phy.py` and `lib/config.py` (the simulator
//! Meshtastic's own numbers come from) so results stay comparable with radio.md's anchors:
//! - path loss: [`PathLossModel`] (log-distance, Okumura-Hata variants, 3GPP macro), antennas
//!   1 m high with 0 dBi gain;
//! - sensitivity: thermal noise `-174 + 10 log10(BW)` plus a 6 dB noise figure plus the
//!   per-SF demodulation SNR limit (LongFast: -131.5 dBm); CAD threshold 3 dB below;
//! - capture: a packet survives an overlapping one on the same channel when it is at least
//!   [`CAPTURE_THRESHOLD_DB`] stronger; overlap counts only from the receiver's critical
//!   section (preamble minus 5 symbols, [`Preset::critical_offset`]);
//! - time on air: the Semtech formula as implemented by the `lora-modulation` crate.

use lora_modulation::{Bandwidth, BaseBandModulationParams, CodingRate, SpreadingFactor};
use serde::Serialize;
use toile_proto::engine::Modulation;

use super::time::Duration;

/// A packet survives an overlapping one if it is at least this much stronger (dB).
pub const CAPTURE_THRESHOLD_DB: f64 = 6.0;
/// Receiver noise figure used for sensitivities (dB).
pub const NOISE_FIGURE_DB: f64 = 6.0;
/// CAD detects a packet this far below sensitivity (dB).
pub const CAD_BELOW_SENSITIVITY_DB: f64 = 3.0;
/// Standard deviation of the fixed per-directed-link offset (dB), radio.md.
pub const LINK_SIGMA_DB: f64 = 3.0;
/// Antenna height of every node (m), Meshtasticator `HM`.
pub const ANTENNA_HEIGHT_M: f64 = 1.0;
/// Antenna gain of every node (dBi), Meshtasticator `GL`.
pub const ANTENNA_GAIN_DBI: f64 = 0.0;
/// Largest LoRa PHY payload.
pub const MAX_PHY_PAYLOAD: usize = 255;

/// A LoRa modem configuration used by the whole mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Meshtastic LongFast: SF11 / BW250 / CR 4/5, preamble 16.
    LongFast,
    /// Meshtastic MediumFast: SF9 / BW250 / CR 4/5, preamble 16.
    MediumFast,
    /// SF7 / BW125 / CR 4/5, preamble 8.
    Sf7,
}

impl Preset {
    /// Spreading factor.
    pub const fn sf(self) -> u32 {
        match self {
            Preset::LongFast => 11,
            Preset::MediumFast => 9,
            Preset::Sf7 => 7,
        }
    }

    /// Bandwidth in Hz.
    pub const fn bw_hz(self) -> u32 {
        match self {
            Preset::LongFast | Preset::MediumFast => 250_000,
            Preset::Sf7 => 125_000,
        }
    }

    /// Preamble length in symbols.
    pub const fn preamble(self) -> u8 {
        match self {
            Preset::LongFast | Preset::MediumFast => 16,
            Preset::Sf7 => 8,
        }
    }

    /// The modem settings as the relay engine takes them: the one place a preset becomes
    /// spreading factor, bandwidth, coding rate and preamble.
    pub fn modulation(self) -> Modulation {
        let (sf, bw) = match self {
            Preset::LongFast => (SpreadingFactor::_11, Bandwidth::_250KHz),
            Preset::MediumFast => (SpreadingFactor::_9, Bandwidth::_250KHz),
            Preset::Sf7 => (SpreadingFactor::_7, Bandwidth::_125KHz),
        };
        Modulation {
            params: BaseBandModulationParams::new(sf, bw, CodingRate::_4_5),
            preamble: self.preamble(),
        }
    }

    /// Symbol time.
    pub fn symbol_time(self) -> Duration {
        Duration::from_micros((1u64 << self.sf()) * 1_000_000 / u64::from(self.bw_hz()))
    }

    /// Time on air of a frame of `len` bytes (explicit header, CRC on). Lengths above 255 are
    /// clamped to 255: the simulator never sends them (routers' buffers are 255 bytes).
    pub fn time_on_air(self, len: usize) -> Duration {
        Duration::from_micros(self.modulation().time_on_air_us(len))
    }

    /// Time on air of a frame of `len` bytes under `model` (see [`MediumModel`]).
    pub fn time_on_air_as(self, model: MediumModel, len: usize) -> Duration {
        match model {
            MediumModel::Physical => self.time_on_air(len),
            MediumModel::Meshtasticator => {
                // Meshtasticator `phy.airtime()`: LoRaSim's formula, which expects a coding-rate
                // index 1..=4 and multiplies by `cr + 4`, fed `CRMODEM = 8`.
                let sym = self.symbol_time().as_micros() as i64;
                let sf = i64::from(self.sf());
                let de = i64::from(sym >= 16_000);
                let pl = len.min(MAX_PHY_PAYLOAD) as i64;
                let blocks = (8 * pl - 4 * sf + 28 + 16).max(0);
                let per = 4 * (sf - 2 * de);
                let payload_symbols = 8 + (blocks + per - 1) / per * (MESHTASTICATOR_CR + 4);
                let preamble_us = (i64::from(self.preamble()) * 4 + 17) * sym / 4;
                Duration::from_micros((preamble_us + payload_symbols * sym) as u64)
            }
        }
    }

    /// Offset from a packet's start to its critical section (preamble minus 5 symbols): two
    /// packets collide only if they overlap after this point of the later one.
    pub fn critical_offset(self) -> Duration {
        Duration::from_micros(
            self.symbol_time().as_micros() * u64::from(self.preamble().saturating_sub(5)),
        )
    }

    /// Thermal noise floor in the channel, plus the noise figure (dBm).
    pub fn noise_floor_dbm(self) -> f64 {
        -174.0 + 10.0 * f64::from(self.bw_hz()).log10() + NOISE_FIGURE_DB
    }

    /// Demodulation SNR limit for the spreading factor (Semtech datasheets).
    pub fn snr_limit_db(self) -> f64 {
        -2.5 * (f64::from(self.sf()) - 4.0)
    }

    /// Receiver sensitivity (dBm), rounded to 0.5 dB like Meshtasticator's table
    /// (LongFast -131.5, MediumFast -126.5, SF7/BW125 -124.5).
    pub fn sensitivity_dbm(self) -> f64 {
        ((self.noise_floor_dbm() + self.snr_limit_db()) * 2.0).round() / 2.0
    }

    /// Weakest signal channel-activity detection notices (dBm).
    pub fn cad_threshold_dbm(self) -> f64 {
        self.sensitivity_dbm() - CAD_BELOW_SENSITIVITY_DB
    }

    /// How long after a packet starts CAD can notice it: Meshtasticator's `SLOT_TIME` CAD part
    /// (8.5 symbols) plus 7.6 ms of propagation, turnaround and MAC processing.
    pub fn cad_latency(self) -> Duration {
        let sym = (1u64 << self.sf()) * 1_000_000 / u64::from(self.bw_hz());
        Duration::from_micros(sym * 17 / 2 + 7_600)
    }

    /// Meshtastic firmware's contention slot: 2.5 symbols of CAD plus 0.2 + 0.4 + 7 ms
    /// (radio.md: ~28 ms at LongFast).
    pub fn slot_time(self) -> Duration {
        let sym = (1u64 << self.sf()) * 1_000_000 / u64::from(self.bw_hz());
        Duration::from_micros(sym * 5 / 2 + 7_600)
    }
}

/// Meshtasticator's `CRMODEM` entry for every preset (see [`MediumModel::Meshtasticator`]).
pub const MESHTASTICATOR_CR: i64 = 8;

/// How the shared medium behaves: the physical model, or Meshtasticator's as it ran when
/// radio.md's anchor was measured (its asymmetric-link releases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediumModel {
    /// What a radio does: the Semtech time-on-air formula with the preset's coding rate 4/5
    /// (`lora-modulation`), and every packet down to the interference floor (sensitivity
    /// minus the 6 dB capture margin) can destroy another one. Every scenario except the anchor.
    Physical,
    /// Meshtasticator's medium, to reproduce its numbers (not a claim about radios):
    /// - time on air from its `phy.airtime()`: LoRaSim's formula takes a coding-rate *index*
    ///   (1..=4 for 4/5..4/8) and multiplies by `cr + 4`, but Meshtasticator passes
    ///   `CRMODEM = 8`, so every 4-bit payload block costs 12 symbols instead of 5 (a 173-byte
    ///   LongFast frame is on the air 3.3 s instead of 1.6 s, doubling the collision window);
    /// - only packets a receiver can decode (at or above sensitivity, `sensedByN`) take part in
    ///   collisions there: weaker ones neither collide nor destroy (`check_collision` is only
    ///   called for sensed packets), and a packet that lost a collision when it arrived is
    ///   not added to the receiver's `packetsAtN`, so it cannot destroy later ones. CAD still
    ///   notices all of them;
    /// - any overlap collides: `timing_collision` adds the critical-section offset
    ///   ([`Preset::critical_offset`]) in seconds to a clock in milliseconds, so a later
    ///   packet's critical section starts with the packet.
    Meshtasticator,
}

impl MediumModel {
    /// Whether a packet received at `rssi` takes part in collisions at a receiver whose
    /// sensitivity is `sensitivity` (both dBm).
    pub fn interferes(self, rssi: f32, sensitivity: f32) -> bool {
        match self {
            MediumModel::Physical => true,
            MediumModel::Meshtasticator => rssi >= sensitivity,
        }
    }
}

/// A regulatory region and sub-band: carrier, power and the duty rule the simulator audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// EU868 869.4-869.65 MHz: 10 % duty cycle (360 s per rolling hour), 27 dBm.
    #[serde(rename = "eu868-10")]
    Eu868TenPercent,
    /// EU868 g1 sub-band: 1 % duty cycle (36 s per rolling hour), 14 dBm.
    #[serde(rename = "eu868-1")]
    Eu868OnePercent,
    /// US915: 30 dBm, 400 ms dwell time per transmission (FCC 15.247 when hopping).
    /// Carrier 908.75 MHz, Meshtasticator's default (902 MHz + 27 x 250 kHz).
    Us915,
}

/// The rule the simulator checks every transmission against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum DutyRule {
    /// At most this much transmit time in any rolling hour.
    PerHour(Duration),
    /// No single transmission longer than this.
    Dwell(Duration),
}

impl Region {
    /// Carrier frequency in Hz.
    pub const fn frequency_hz(self) -> f64 {
        match self {
            Region::Eu868TenPercent => 869_525_000.0,
            Region::Eu868OnePercent => 868_100_000.0,
            Region::Us915 => 908_750_000.0,
        }
    }

    /// Transmit power (dBm).
    pub const fn tx_power_dbm(self) -> f64 {
        match self {
            Region::Eu868TenPercent => 27.0,
            Region::Eu868OnePercent => 14.0,
            Region::Us915 => 30.0,
        }
    }

    /// The duty rule of the region.
    pub const fn duty_rule(self) -> DutyRule {
        match self {
            Region::Eu868TenPercent => DutyRule::PerHour(Duration::from_secs(360)),
            Region::Eu868OnePercent => DutyRule::PerHour(Duration::from_secs(36)),
            Region::Us915 => DutyRule::Dwell(Duration::from_millis(400)),
        }
    }

    /// Transmit-time budget per rolling hour (the whole hour where only dwell applies).
    pub const fn hourly_budget(self) -> Duration {
        match self.duty_rule() {
            DutyRule::PerHour(d) => d,
            DutyRule::Dwell(_) => Duration::from_secs(3600),
        }
    }
}

/// Path-loss models, numbered as in Meshtasticator's `conf.MODEL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathLossModel {
    /// 0: log-distance, gamma 2.08, d0 40 m, PL(d0) 127.41 dB.
    LogDistance,
    /// 1: Okumura-Hata, small and medium-size cities.
    HataSmallCity,
    /// 2: Okumura-Hata, metropolitan areas.
    HataMetropolitan,
    /// 3: Okumura-Hata, suburban.
    HataSuburban,
    /// 5: 3GPP suburban macro (default).
    ThreeGppSuburban,
    /// 6: 3GPP metropolitan (urban) macro, +3 dB.
    ThreeGppMetropolitan,
}

impl PathLossModel {
    /// Path loss in dB at `dist_m` metres and `freq_hz`, antennas at [`ANTENNA_HEIGHT_M`].
    /// Meshtasticator's formulas verbatim, including its use of the transmitter height in
    /// `a(hm)` and of a natural log for the receiver height (both vanish at 1 m).
    pub fn loss_db(self, dist_m: f64, freq_hz: f64) -> f64 {
        let d = if dist_m.is_finite() {
            dist_m.max(0.001)
        } else {
            0.001
        };
        let tx_z = ANTENNA_HEIGHT_M;
        let rx_z = ANTENNA_HEIGHT_M;
        let lf = freq_hz.log10() - 6.0;
        let hata = |ahm: f64, c: f64| {
            let a = 69.55 + 26.16 * lf - 13.82 * rx_z.ln() - ahm;
            let b = 44.9 - 6.55 * rx_z.log10();
            a + b * (d.log10() - 3.0) + c
        };
        let small_city_ahm = (1.1 * lf - 0.7) * tx_z - (1.56 * lf - 0.8);
        match self {
            PathLossModel::LogDistance => 127.41 + 10.0 * 2.08 * (d / 40.0).log10(),
            PathLossModel::HataSmallCity => hata(small_city_ahm, 0.0),
            PathLossModel::HataMetropolitan => {
                let ahm = if freq_hz <= 200e6 {
                    8.29 * (1.54 * tx_z).log10().powi(2) - 1.1
                } else {
                    3.2 * (11.75 * tx_z).log10().powi(2) - 4.97
                };
                hata(ahm, 0.0)
            }
            PathLossModel::HataSuburban => {
                let c = -2.0 * (freq_hz.log10() - 28_000_000f64.log10()).powi(2) - 5.4;
                hata(small_city_ahm, c)
            }
            PathLossModel::ThreeGppSuburban | PathLossModel::ThreeGppMetropolitan => {
                let c = if self == PathLossModel::ThreeGppMetropolitan {
                    3.0
                } else {
                    0.0
                };
                (44.9 - 6.55 * rx_z.log10()) * (d.log10() - 3.0) + 45.5 + (35.46 - 1.1 * tx_z) * lf
                    - 13.82 * tx_z.log10()
                    + 0.7 * tx_z
                    + c
            }
        }
    }

    /// Largest distance (m) at which the loss is at most `budget_db` (bisection; path loss
    /// grows with distance in every model). Capped at 1000 km.
    pub fn range_m(self, budget_db: f64, freq_hz: f64) -> f64 {
        let (mut lo, mut hi) = (0.001f64, 1_000_000.0f64);
        if self.loss_db(hi, freq_hz) <= budget_db {
            return hi;
        }
        if self.loss_db(lo, freq_hz) > budget_db {
            return 0.0;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.loss_db(mid, freq_hz) <= budget_db {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Everything about the radio environment one simulation uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RadioConfig {
    /// Modem preset of the whole mesh.
    pub preset: Preset,
    /// Region (carrier, power, duty rule).
    pub region: Region,
    /// Path-loss model.
    pub path_loss: PathLossModel,
    /// Standard deviation of the per-directed-link offset (dB).
    pub link_sigma_db: f64,
    /// Time-on-air formula of the medium.
    pub medium: MediumModel,
}

impl RadioConfig {
    /// Time on air of a frame of `len` bytes on this medium.
    pub fn time_on_air(&self, len: usize) -> Duration {
        self.preset.time_on_air_as(self.medium, len)
    }

    /// Mean received power (dBm) at `dist_m` before the per-link offset.
    pub fn mean_rssi_dbm(&self, dist_m: f64) -> f64 {
        self.region.tx_power_dbm() + 2.0 * ANTENNA_GAIN_DBI
            - self.path_loss.loss_db(dist_m, self.region.frequency_hz())
    }

    /// Weakest signal that still matters for collisions: a packet can only be destroyed by an
    /// interferer less than [`CAPTURE_THRESHOLD_DB`] weaker, and wanted packets are at least at
    /// sensitivity, so anything below `sensitivity - 6 dB` is harmless.
    pub fn interference_floor_dbm(&self) -> f64 {
        self.preset.sensitivity_dbm() - CAPTURE_THRESHOLD_DB
    }

    /// Nominal range (m): distance where the mean link closes at sensitivity.
    pub fn nominal_range_m(&self) -> f64 {
        let budget =
            self.region.tx_power_dbm() + 2.0 * ANTENNA_GAIN_DBI - self.preset.sensitivity_dbm();
        self.path_loss.range_m(budget, self.region.frequency_hz())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> f64 {
        d.as_micros() as f64 / 1000.0
    }

    #[test]
    fn toa_check_value_sf9_bw125() {
        let p = BaseBandModulationParams::new(
            SpreadingFactor::_9,
            Bandwidth::_125KHz,
            CodingRate::_4_5,
        );
        assert_eq!(p.time_on_air_us(Some(8), true, 12), 144_384);
    }

    #[test]
    fn toa_table_radio_md() {
        // (params, preamble, [(len, expected ms)]) from radio.md; table values are rounded.
        let rows: [(SpreadingFactor, Bandwidth, u8, [f64; 5]); 4] = [
            (
                SpreadingFactor::_7,
                Bandwidth::_125KHz,
                8,
                [51.5, 118.0, 215.0, 318.0, 400.0],
            ),
            (
                SpreadingFactor::_9,
                Bandwidth::_125KHz,
                8,
                [165.0, 390.0, 677.0, 1005.0, 1250.0],
            ),
            (
                SpreadingFactor::_11,
                Bandwidth::_250KHz,
                16,
                [354.0, 723.0, 1215.0, 1747.0, 2157.0],
            ),
            (
                SpreadingFactor::_12,
                Bandwidth::_125KHz,
                8,
                [1320.0, 2790.0, 4920.0, 7220.0, 9020.0],
            ),
        ];
        for (sf, bw, pre, expect) in rows {
            let p = BaseBandModulationParams::new(sf, bw, CodingRate::_4_5);
            for (len, want) in [16u8, 64, 128, 200, 255].into_iter().zip(expect) {
                let got = p.time_on_air_us(Some(pre), true, len) as f64 / 1000.0;
                let tol = (want * 0.006).max(1.0);
                assert!(
                    (got - want).abs() <= tol,
                    "{sf:?} {bw:?} {len} B: {got} vs {want}"
                );
            }
        }
        assert!((ms(Preset::LongFast.time_on_air(16)) - 354.0).abs() < 1.0);
        assert!((ms(Preset::Sf7.time_on_air(255)) - 400.0).abs() < 1.5);
    }

    #[test]
    fn meshtasticator_airtime_of_the_anchor_packet() {
        // 150 B payload + 16 B header at LongFast: (16 + 4.25) x 8.192 ms of preamble plus
        // (8 + 31 x 12) symbols = 3278.848 ms in Meshtasticator.
        let t = Preset::LongFast.time_on_air_as(MediumModel::Meshtasticator, 166);
        assert_eq!(t.as_micros(), 3_278_848);
        let real = Preset::LongFast.time_on_air_as(MediumModel::Physical, 166);
        assert!(t.as_micros() > 2 * real.as_micros());
    }

    #[test]
    fn sensitivities_match_meshtasticator() {
        assert_eq!(Preset::LongFast.sensitivity_dbm(), -131.5);
        assert_eq!(Preset::LongFast.cad_threshold_dbm(), -134.5);
        assert_eq!(Preset::MediumFast.sensitivity_dbm(), -126.5);
        assert_eq!(Preset::Sf7.sensitivity_dbm(), -124.5);
    }

    #[test]
    fn slot_time_long_fast_about_28_ms() {
        let s = ms(Preset::LongFast.slot_time());
        assert!((s - 28.08).abs() < 0.01, "{s}");
    }

    #[test]
    fn path_loss_values() {
        let f = 908_750_000.0;
        // log-distance: PL(d0) at d0, +20.8 dB per decade.
        assert!((PathLossModel::LogDistance.loss_db(40.0, f) - 127.41).abs() < 1e-9);
        assert!((PathLossModel::LogDistance.loss_db(400.0, f) - 148.21).abs() < 1e-9);
        // 3GPP suburban at 1 km: 45.5 + 34.36 * (log10 f - 6) + 0.7.
        let want = 45.5 + 34.36 * (f.log10() - 6.0) + 0.7;
        let got = PathLossModel::ThreeGppSuburban.loss_db(1000.0, f);
        assert!(
            (got - want).abs() < 1e-9 && (got - 147.86).abs() < 0.01,
            "{got}"
        );
        assert!((PathLossModel::ThreeGppMetropolitan.loss_db(1000.0, f) - got - 3.0).abs() < 1e-9);
        // 44.9 dB per decade.
        let d10 = PathLossModel::ThreeGppSuburban.loss_db(10_000.0, f);
        assert!((d10 - got - 44.9).abs() < 1e-9);
        // Okumura-Hata, small city at 1 km, 1 m antennas: A - a(hm).
        let lf = f.log10() - 6.0;
        let ahm = (1.1 * lf - 0.7) - (1.56 * lf - 0.8);
        let hata = 69.55 + 26.16 * lf - ahm;
        assert!((PathLossModel::HataSmallCity.loss_db(1000.0, f) - hata).abs() < 1e-9);
        assert!(
            PathLossModel::HataSuburban.loss_db(1000.0, f)
                < PathLossModel::HataSmallCity.loss_db(1000.0, f)
        );
        // Range of the anchor configuration: ~2.0 km.
        let cfg = RadioConfig {
            preset: Preset::LongFast,
            region: Region::Us915,
            path_loss: PathLossModel::ThreeGppSuburban,
            link_sigma_db: 3.0,
            medium: MediumModel::Physical,
        };
        let r = cfg.nominal_range_m();
        assert!((1900.0..2100.0).contains(&r), "{r}");
        assert!(
            PathLossModel::ThreeGppSuburban
                .loss_db(f64::NAN, f)
                .is_finite()
        );
    }
}
