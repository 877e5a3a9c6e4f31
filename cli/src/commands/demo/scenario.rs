//! The simulated experiment behind `bragg demo`: an in situ cell with the seed paper's
//! Li-rich rock salt Li1.17Ti0.58Ni0.25O2 (B. Li et al., Nat. Mater. 21, 1165 (2022), Fig. 3),
//! charged at constant current, left at open circuit, then discharged, with the truth of every
//! quantity the pipeline recovers: Li content, lattice parameter a(t), voltage.
//!
//! # Electrochemistry
//! Constant current ±I through an active mass m of molar mass M: x(t) = x₀ − M/(F·m)·∫I dt
//! (Faraday's law; F = 96485.33212 C/mol, CODATA 2018). The charge removes x₀ − x_charged Li
//! per formula unit, the discharge puts back x_discharged − x_charged (the first-cycle loss
//! is x₀ − x_discharged); the durations follow from the current.
//!
//! # Lattice parameter (Å), after the seed's Fig. 3b,d
//! - charge: a shrinks linearly while Ni²⁺ is oxidised (x₀ → x_ni), then more slowly through
//!   the O-redox region (x_ni → x_charged), reaching ≈ 4.111 Å as seen in situ;
//! - rest at open circuit: the lattice expands by Δa as Ni³⁺/⁴⁺ is reduced by O→Ni charge
//!   transfer (the seed's "relaxation"), a stretched exponential (Kohlrausch–Williams–Watts;
//!   Williams & Watts (1970) Trans. Faraday Soc. 66, 80):
//!   a(t) = a_charged + Δa·(1 − exp(−(t/τ)^β)), t from the start of the rest;
//! - discharge: Ni is reduced first, so a expands steeply (x_charged → x_ni_discharge), then
//!   barely changes during O reduction: the "structural hysteresis" with the redox inversion
//!   (a on discharge above a on charge at the same x).
//!
//! # Voltage (V)
//! A plausible curve for plots only (not a model of the seed's cell): a sloping Ni region and
//! an O plateau up to 4.8 V on charge, the open-circuit voltage decaying at rest, Ni then O
//! reduction plateaus on discharge down to 2.0 V.

use bragg_refine::analysis::{
    lithium::FARADAY_C_PER_MOL, molar_mass_of_formula, CurrentState, EchemTrace,
};

use super::noise::SplitMix64;

/// What happens when: the three segments of the experiment (times in s from the start of the
/// charge, the cycler log's clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// End of the charge (start of the rest), s.
    pub charge_end_s: f64,
    /// End of the rest (start of the discharge), s.
    pub rest_end_s: f64,
    /// End of the discharge (end of the experiment), s.
    pub discharge_end_s: f64,
}

/// One diffraction scan of the simulated series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanSlot {
    /// 1-based scan number.
    pub scan: usize,
    /// The segment the exposure lies in.
    pub segment: CurrentState,
    /// Start of the exposure, s on the log's clock.
    pub start_s: f64,
    /// End of the exposure, s.
    pub end_s: f64,
}

impl ScanSlot {
    /// Mid time of the exposure, s.
    pub fn mid_s(&self) -> f64 {
        0.5 * (self.start_s + self.end_s)
    }
}

/// The experiment and its truth (module documentation). Every field is public so that a test
/// can vary it; [`Scenario::default`] is the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Formula of the active material (its molar mass enters Faraday's law).
    pub formula: String,
    /// Active mass in mg.
    pub active_mass_mg: f64,
    /// Magnitude of the constant current in mA (positive on charge).
    pub current_ma: f64,
    /// Li content per formula unit at the start.
    pub x0: f64,
    /// Li content at the end of the charge.
    pub x_charged: f64,
    /// Li content at the end of the discharge.
    pub x_discharged: f64,
    /// Duration of the open-circuit rest, s.
    pub rest_s: f64,
    /// a of the pristine material, Å.
    pub a_pristine: f64,
    /// x at the end of Ni oxidation on charge.
    pub x_ni_charge: f64,
    /// a at the end of Ni oxidation on charge, Å.
    pub a_ni_charge: f64,
    /// a at the end of the charge, Å.
    pub a_charged: f64,
    /// Expansion Δa of the full relaxation at open circuit, Å.
    pub relax_delta: f64,
    /// KWW time constant τ of the relaxation, s.
    pub relax_tau_s: f64,
    /// KWW stretching exponent β.
    pub relax_beta: f64,
    /// x at the end of Ni reduction on discharge.
    pub x_ni_discharge: f64,
    /// Expansion during Ni reduction on discharge, Å.
    pub da_ni_discharge: f64,
    /// Expansion during O reduction on discharge, Å.
    pub da_o_discharge: f64,
    /// Fraction of each scan slot that is exposure (the rest is detector read-out).
    pub exposure_fraction: f64,
    /// Interval of the cycler log's records, s.
    pub log_interval_s: f64,
    /// Standard deviation of the logged voltage's noise, V.
    pub voltage_noise_v: f64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            formula: "Li1.17Ti0.58Ni0.25O2".into(),
            active_mass_mg: 10.0,
            current_ma: 0.4, // 40 mA/g: C/5 for this material
            x0: 1.17,
            x_charged: 0.37,
            x_discharged: 1.07,
            rest_s: 8.0 * 3600.0,
            a_pristine: 4.140,
            x_ni_charge: 0.67,
            a_ni_charge: 4.119,
            a_charged: 4.111,
            relax_delta: 0.010,
            relax_tau_s: 2.0 * 3600.0,
            relax_beta: 0.6,
            x_ni_discharge: 0.87,
            da_ni_discharge: 0.016,
            da_o_discharge: 0.002,
            exposure_fraction: 0.15, // a 3-minute scan every 20 minutes
            log_interval_s: 60.0,
            voltage_noise_v: 0.0005,
        }
    }
}

/// The smallest number of scans [`Scenario::slots`] accepts.
pub const MIN_SCANS: usize = 16;

impl Scenario {
    /// Molar mass of the active material in g/mol (IUPAC 2021 atomic weights).
    pub fn molar_mass(&self) -> anyhow::Result<f64> {
        Ok(molar_mass_of_formula(&self.formula)?)
    }

    /// |dx/dt| at the constant current, per s: I·M/(F·m) (Faraday's law).
    pub fn dx_per_s(&self) -> anyhow::Result<f64> {
        Ok(self.current_ma * 1e-3 * self.molar_mass()?
            / (FARADAY_C_PER_MOL * self.active_mass_mg * 1e-3))
    }

    /// When each segment ends (charge and discharge durations from the current).
    pub fn timeline(&self) -> anyhow::Result<Timeline> {
        let rate = self.dx_per_s()?;
        let charge = (self.x0 - self.x_charged) / rate;
        let discharge = (self.x_discharged - self.x_charged) / rate;
        if !(charge > 0.0 && discharge > 0.0 && self.rest_s > 0.0) {
            anyhow::bail!("the demo scenario needs x0 > x_charged < x_discharged and a rest");
        }
        Ok(Timeline {
            charge_end_s: charge,
            rest_end_s: charge + self.rest_s,
            discharge_end_s: charge + self.rest_s + discharge,
        })
    }

    /// The current in mA at time `t_s` (+I on charge, 0 at rest, −I on discharge).
    pub fn current_ma_at(&self, tl: &Timeline, t_s: f64) -> f64 {
        if t_s < tl.charge_end_s {
            self.current_ma
        } else if t_s < tl.rest_end_s {
            0.0
        } else {
            -self.current_ma
        }
    }

    /// The true Li content at `t_s` (Faraday's law for the piecewise-constant current).
    pub fn x_at(&self, tl: &Timeline, rate: f64, t_s: f64) -> f64 {
        if t_s <= tl.charge_end_s {
            self.x0 - rate * t_s
        } else if t_s <= tl.rest_end_s {
            self.x_charged
        } else {
            self.x_charged + rate * (t_s - tl.rest_end_s)
        }
    }

    /// a(x) on charge, Å.
    pub fn a_charge(&self, x: f64) -> f64 {
        if x >= self.x_ni_charge {
            let f = (self.x0 - x) / (self.x0 - self.x_ni_charge);
            self.a_pristine + f * (self.a_ni_charge - self.a_pristine)
        } else {
            let f = (self.x_ni_charge - x) / (self.x_ni_charge - self.x_charged);
            self.a_ni_charge + f * (self.a_charged - self.a_ni_charge)
        }
    }

    /// a during the rest, `t_s` from its start: a_charged + Δa·(1 − exp(−(t/τ)^β)), Å.
    pub fn a_rest(&self, t_s: f64) -> f64 {
        let u = if t_s > 0.0 { (t_s / self.relax_tau_s).powf(self.relax_beta) } else { 0.0 };
        self.a_charged + self.relax_delta * (1.0 - (-u).exp())
    }

    /// a(x) on discharge, starting from a at the end of the rest `a_start`, Å.
    pub fn a_discharge(&self, a_start: f64, x: f64) -> f64 {
        if x <= self.x_ni_discharge {
            let f = (x - self.x_charged) / (self.x_ni_discharge - self.x_charged);
            a_start + f * self.da_ni_discharge
        } else {
            let f = (x - self.x_ni_discharge) / (self.x_discharged - self.x_ni_discharge);
            a_start + self.da_ni_discharge + f * self.da_o_discharge
        }
    }

    /// The true lattice parameter at time `t_s`, Å.
    pub fn a_at(&self, tl: &Timeline, rate: f64, t_s: f64) -> f64 {
        let x = self.x_at(tl, rate, t_s);
        if t_s <= tl.charge_end_s {
            self.a_charge(x)
        } else if t_s <= tl.rest_end_s {
            self.a_rest(t_s - tl.charge_end_s)
        } else {
            self.a_discharge(self.a_rest(self.rest_s), x)
        }
    }

    /// The noiseless cell voltage at `t_s`, V (module documentation).
    pub fn voltage_at(&self, tl: &Timeline, rate: f64, t_s: f64) -> f64 {
        let x = self.x_at(tl, rate, t_s);
        if t_s <= tl.charge_end_s {
            let q = (self.x0 - x) / (self.x0 - self.x_charged);
            let q_ni = (self.x0 - self.x_ni_charge) / (self.x0 - self.x_charged);
            if q <= q_ni {
                3.55 + 0.75 * (q / q_ni).sqrt()
            } else {
                let s = (q - q_ni) / (1.0 - q_ni);
                4.30 + 0.2 * s + 0.3 * s.powi(4)
            }
        } else if t_s <= tl.rest_end_s {
            let t = t_s - tl.charge_end_s;
            let u = (t / (0.5 * self.relax_tau_s)).powf(self.relax_beta);
            4.80 - 0.40 * (1.0 - (-u).exp())
        } else {
            let p = (x - self.x_charged) / (self.x_discharged - self.x_charged);
            let p_ni =
                (self.x_ni_discharge - self.x_charged) / (self.x_discharged - self.x_charged);
            if p <= p_ni {
                4.15 - 1.35 * (p / p_ni).powf(1.3)
            } else {
                let s = (p - p_ni) / (1.0 - p_ni);
                2.0 + 0.3 * (1.0 - s) + 0.5 * (-s / 0.08).exp()
            }
        }
    }

    /// Scans per segment for a series of `n` scans, in proportion to the segments' durations
    /// (at least 3 on charge and discharge and 8 at rest, enough to choose between the
    /// relaxation models by AICc).
    pub fn scans_per_segment(&self, n: usize) -> anyhow::Result<[usize; 3]> {
        if n < MIN_SCANS {
            anyhow::bail!("--scans {n}: the demo needs at least {MIN_SCANS} scans");
        }
        let tl = self.timeline()?;
        let total = tl.discharge_end_s;
        let share = |d: f64| (n as f64 * d / total).round() as usize;
        let n_c = share(tl.charge_end_s).max(3);
        let n_r = share(self.rest_s).max(8);
        let n_d = n.saturating_sub(n_c + n_r);
        if n_d < 3 {
            anyhow::bail!("--scans {n}: too few scans for the three segments");
        }
        Ok([n_c, n_r, n_d])
    }

    /// The scans of a series of `n`: each segment divided into equal slots, each slot's
    /// exposure centred in it (a fraction [`Scenario::exposure_fraction`] of the slot), so no
    /// exposure straddles a change of current.
    pub fn slots(&self, n: usize) -> anyhow::Result<Vec<ScanSlot>> {
        let tl = self.timeline()?;
        let counts = self.scans_per_segment(n)?;
        let segments = [
            (CurrentState::Charge, 0.0, tl.charge_end_s),
            (CurrentState::Rest, tl.charge_end_s, tl.rest_end_s),
            (CurrentState::Discharge, tl.rest_end_s, tl.discharge_end_s),
        ];
        let mut out = Vec::with_capacity(n);
        for ((state, t0, t1), k) in segments.into_iter().zip(counts) {
            let slot = (t1 - t0) / k as f64;
            let gap = 0.5 * (1.0 - self.exposure_fraction) * slot;
            for j in 0..k {
                let s = t0 + slot * j as f64;
                out.push(ScanSlot {
                    scan: out.len() + 1,
                    segment: state,
                    start_s: s + gap,
                    end_s: s + slot - gap,
                });
            }
        }
        Ok(out)
    }

    /// The cycler log: a record every [`Scenario::log_interval_s`] plus a pair of records at
    /// each change of current (1 ms apart), voltage with Gaussian noise of
    /// [`Scenario::voltage_noise_v`] from the generator seeded with `seed`.
    pub fn cycler_log(&self, seed: u64) -> anyhow::Result<EchemTrace> {
        let tl = self.timeline()?;
        let rate = self.dx_per_s()?;
        let mut rng = SplitMix64::new(seed, u64::MAX);
        let mut times: Vec<f64> = Vec::new();
        let n = (tl.discharge_end_s / self.log_interval_s).floor() as usize;
        for k in 0..=n {
            times.push(self.log_interval_s * k as f64);
        }
        for b in [tl.charge_end_s, tl.rest_end_s] {
            times.push(b - 1e-3);
            times.push(b);
        }
        times.push(tl.discharge_end_s);
        times.sort_by(f64::total_cmp);
        times.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
        let mut trace = EchemTrace::default();
        for t in times {
            // The record just before a change still carries the old current.
            let i = self.current_ma_at(&tl, t);
            trace.time_s.push(t);
            trace.current_ma.push(i);
            trace
                .voltage_v
                .push(self.voltage_at(&tl, rate, t) + self.voltage_noise_v * rng.normal());
        }
        trace.validate()?;
        Ok(trace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_join_continuously_and_match_the_seed_numbers() {
        let s = Scenario::default();
        let tl = s.timeline().unwrap();
        let rate = s.dx_per_s().unwrap();
        let eps = 1e-6;
        for b in [tl.charge_end_s, tl.rest_end_s] {
            let (l, r) = (s.a_at(&tl, rate, b - eps), s.a_at(&tl, rate, b + eps));
            assert!((l - r).abs() < 1e-6, "a jumps at {b} s: {l} → {r}");
            let (l, r) = (s.x_at(&tl, rate, b - eps), s.x_at(&tl, rate, b + eps));
            assert!((l - r).abs() < 1e-6);
        }
        // The seed's numbers: a ≈ 4.14 Å pristine, ≈ 4.111 Å when charged in situ.
        assert!((s.a_at(&tl, rate, 0.0) - 4.14).abs() < 1e-12);
        assert!((s.a_at(&tl, rate, tl.charge_end_s) - 4.111).abs() < 1e-12);
        assert!((s.x_at(&tl, rate, tl.discharge_end_s) - s.x_discharged).abs() < 1e-12);
        // C/5-like rate: the charge takes hours.
        assert!(tl.charge_end_s > 5.0 * 3600.0 && tl.charge_end_s < 8.0 * 3600.0);
    }

    #[test]
    fn slots_cover_each_segment_without_straddling() {
        let s = Scenario::default();
        let tl = s.timeline().unwrap();
        for n in [MIN_SCANS, 20, 60, 61] {
            let slots = s.slots(n).unwrap();
            assert_eq!(slots.len(), n);
            for w in slots.windows(2) {
                assert!(w[1].start_s > w[0].end_s);
            }
            for sl in &slots {
                let (lo, hi) = match sl.segment {
                    CurrentState::Charge => (0.0, tl.charge_end_s),
                    CurrentState::Rest => (tl.charge_end_s, tl.rest_end_s),
                    CurrentState::Discharge => (tl.rest_end_s, tl.discharge_end_s),
                };
                assert!(sl.start_s > lo && sl.end_s < hi);
            }
        }
        assert!(s.slots(MIN_SCANS - 1).is_err());
    }
}
