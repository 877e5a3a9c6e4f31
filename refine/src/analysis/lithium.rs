//! Li content from the cycler log by coulomb counting, and what the cell was doing during each
//! scan (mid time, voltage, current direction, cycle, x averaged over the exposure).
//!
//! # Faraday's law
//! A charge Q (C) passed through a cathode of active mass m (g) and molar mass M (g/mol)
//! changes its Li content per formula unit by Δx = Q·M/(F·m), F = 96485.33212 C/mol (CODATA
//! 2018, exact since the 2019 SI). Charging (positive current, oxidation of the cathode)
//! removes Li: x(t) = x₀ − M/(F·m)·∫₀ᵗ I dt, with I in A.
//!
//! # Discretisation
//! The current is taken as linear between logged points (the trapezoid rule, exact for a
//! constant or piecewise-linear current). x(t) is then piecewise quadratic and its average over
//! a scan's exposure is computed exactly (Simpson's rule on each piece); the voltage, linear
//! between points, is averaged the same way.

use super::check_increasing;
use crate::error::{Error, Result};
use bragg_crystal::element::Element;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Faraday constant in C/mol (CODATA 2018; exact in the 2019 SI: N_A·e).
pub const FARADAY_C_PER_MOL: f64 = 96_485.332_12;

/// What the cell is doing: the sign of the current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrentState {
    /// Positive current above the rest threshold: oxidation of the cathode, Li removed.
    Charge,
    /// Negative current beyond the rest threshold: Li inserted.
    Discharge,
    /// |I| at or below the rest threshold (open circuit or a pause).
    Rest,
}

impl CurrentState {
    /// The state of a current `current_ma` with rest threshold `threshold_ma` (≥ 0).
    pub fn of_current(current_ma: f64, threshold_ma: f64) -> Self {
        if current_ma > threshold_ma {
            CurrentState::Charge
        } else if current_ma < -threshold_ma {
            CurrentState::Discharge
        } else {
            CurrentState::Rest
        }
    }

    /// The lower-case name used in CSV files (`charge`, `discharge`, `rest`).
    pub fn as_str(self) -> &'static str {
        match self {
            CurrentState::Charge => "charge",
            CurrentState::Discharge => "discharge",
            CurrentState::Rest => "rest",
        }
    }

    /// Parses a segment label: `charge`/`chg`/`c`/`ox`, `discharge`/`dchg`/`d`/`red`,
    /// `rest`/`ocv`/`pause`/`relax` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "charge" | "chg" | "c" | "ch" | "ox" | "oxidation" => Some(CurrentState::Charge),
            "discharge" | "dchg" | "dis" | "d" | "red" | "reduction" => {
                Some(CurrentState::Discharge)
            }
            "rest" | "ocv" | "pause" | "relax" | "relaxation" | "open" | "r" => {
                Some(CurrentState::Rest)
            }
            _ => None,
        }
    }
}

impl fmt::Display for CurrentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A cycler log reduced to what the analysis needs, on one clock (seconds).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EchemTrace {
    /// Time of each record in s, strictly increasing.
    pub time_s: Vec<f64>,
    /// Cell voltage in V.
    pub voltage_v: Vec<f64>,
    /// Current in mA, positive on charge (oxidation of the working electrode).
    pub current_ma: Vec<f64>,
    /// The cycler's cycle number of each record, if it logs one (1-based); otherwise cycles
    /// are counted from the current (see [`EchemTrace::cycles`]).
    pub cycle: Option<Vec<u32>>,
}

/// The cell and the starting Li content.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CellSpec {
    /// Active mass in mg (> 0).
    pub active_mass_mg: f64,
    /// Molar mass of the active material per formula unit in g/mol (> 0).
    pub molar_mass_g_mol: f64,
    /// Li content per formula unit at the first record of the log.
    pub x0: f64,
    /// |I| at or below this (mA) counts as rest; `None`: 1 % of the largest |I| in the log.
    pub rest_threshold_ma: Option<f64>,
}

impl CellSpec {
    /// Δx per coulomb: M/(F·m) with m in g (Faraday's law, module docs), in 1/C.
    pub fn dx_per_coulomb(&self) -> f64 {
        self.molar_mass_g_mol / (FARADAY_C_PER_MOL * self.active_mass_mg * 1e-3)
    }

    fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !ok(self.active_mass_mg) {
            return Err(Error::InvalidInput(format!(
                "active mass {} mg must be finite and positive",
                self.active_mass_mg
            )));
        }
        if !ok(self.molar_mass_g_mol) {
            return Err(Error::InvalidInput(format!(
                "molar mass {} g/mol must be finite and positive",
                self.molar_mass_g_mol
            )));
        }
        if !self.x0.is_finite() {
            return Err(Error::InvalidInput(format!("x0 = {} is not finite", self.x0)));
        }
        if let Some(t) = self.rest_threshold_ma {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::InvalidInput(format!(
                    "rest threshold {t} mA must be finite and ≥ 0"
                )));
            }
        }
        Ok(())
    }
}

/// A scan's exposure on the log's clock, in s (`end_s ≥ start_s`; equal for an instant).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanWindow {
    /// Start of the exposure in s.
    pub start_s: f64,
    /// End of the exposure in s.
    pub end_s: f64,
}

impl ScanWindow {
    /// A window of `duration_s` centred on `mid_s`.
    pub fn centred(mid_s: f64, duration_s: f64) -> Self {
        ScanWindow { start_s: mid_s - 0.5 * duration_s, end_s: mid_s + 0.5 * duration_s }
    }

    /// The mid time in s.
    pub fn mid_s(&self) -> f64 {
        0.5 * (self.start_s + self.end_s)
    }
}

/// What the cell did during one scan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanEchem {
    /// Mid time of the exposure in s.
    pub mid_time_s: f64,
    /// Voltage averaged over the exposure, V.
    pub voltage_v: f64,
    /// Current averaged over the exposure, mA.
    pub current_ma: f64,
    /// The state that lasted longest during the exposure.
    pub state: CurrentState,
    /// Cycle number (1-based) at the mid time.
    pub cycle: u32,
    /// Index (0-based) of the run of constant state at the mid time (0 = the log's first).
    pub segment: usize,
    /// Li content per formula unit averaged over the exposure.
    pub x_li: f64,
}

impl EchemTrace {
    /// Checks lengths, finiteness and that time strictly increases.
    pub fn validate(&self) -> Result<()> {
        let n = self.time_s.len();
        if n < 2 {
            return Err(Error::InvalidInput(format!(
                "the cycler log has {n} records; at least 2 are needed"
            )));
        }
        if self.voltage_v.len() != n || self.current_ma.len() != n {
            return Err(Error::InvalidInput(format!(
                "cycler log: {n} times, {} voltages, {} currents",
                self.voltage_v.len(),
                self.current_ma.len()
            )));
        }
        if let Some(c) = &self.cycle {
            if c.len() != n {
                return Err(Error::InvalidInput(format!(
                    "cycler log: {n} times but {} cycle numbers",
                    c.len()
                )));
            }
        }
        check_increasing(&self.time_s, "cycler log")?;
        for (name, v) in [("voltage", &self.voltage_v), ("current", &self.current_ma)] {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::InvalidInput(format!(
                    "cycler log: {name} at record {i} (t = {} s) is not finite",
                    self.time_s[i]
                )));
            }
        }
        Ok(())
    }

    /// The rest threshold in mA: the given one, or 1 % of the largest |I|.
    pub fn rest_threshold_ma(&self, given: Option<f64>) -> f64 {
        given.unwrap_or_else(|| 0.01 * self.current_ma.iter().fold(0.0_f64, |m, i| m.max(i.abs())))
    }

    /// The state of each interval between records i and i + 1 (from the mean current of the
    /// interval), `len − 1` values.
    pub fn interval_states(&self, threshold_ma: f64) -> Vec<CurrentState> {
        self.current_ma
            .windows(2)
            .map(|w| CurrentState::of_current(0.5 * (w[0] + w[1]), threshold_ma))
            .collect()
    }

    /// The cycle number of each interval: the log's own when present (its value at the
    /// interval's start), otherwise counted from the states: cycle 1 at the start, and a new
    /// cycle each time a charge begins after a discharge (a cathode cycle is charge then
    /// discharge).
    pub fn interval_cycles(&self, states: &[CurrentState]) -> Vec<u32> {
        if let Some(c) = &self.cycle {
            return c.iter().take(states.len()).copied().collect();
        }
        let mut cycle = 1;
        let mut seen_discharge = false;
        let mut previous = CurrentState::Rest;
        states
            .iter()
            .map(|&s| {
                if s == CurrentState::Discharge {
                    seen_discharge = true;
                }
                if s == CurrentState::Charge && previous != CurrentState::Charge && seen_discharge {
                    cycle += 1;
                    seen_discharge = false;
                }
                if s != CurrentState::Rest {
                    previous = s;
                }
                cycle
            })
            .collect()
    }

    /// Charge passed from the first record to each record, in C (positive on charge),
    /// by the trapezoid rule.
    pub fn cumulative_charge_c(&self) -> Vec<f64> {
        let mut q = Vec::with_capacity(self.time_s.len());
        let mut acc = 0.0;
        q.push(0.0);
        for i in 1..self.time_s.len() {
            let dt = self.time_s[i] - self.time_s[i - 1];
            acc += 0.5 * (self.current_ma[i] + self.current_ma[i - 1]) * 1e-3 * dt;
            q.push(acc);
        }
        q
    }

    /// Li content at each record: x = x₀ − Q·M/(F·m) (module docs).
    pub fn lithium_profile(&self, cell: &CellSpec) -> Result<Vec<f64>> {
        self.validate()?;
        cell.validate()?;
        let k = cell.dx_per_coulomb();
        Ok(self.cumulative_charge_c().into_iter().map(|q| cell.x0 - k * q).collect())
    }

    /// Index i of the interval [t_i, t_{i+1}] holding `t` (clamped to the first/last).
    fn interval_of(&self, t: f64) -> usize {
        let n = self.time_s.len();
        self.time_s.partition_point(|&x| x <= t).saturating_sub(1).min(n - 2)
    }
}

/// Charge at time t inside interval i (current linear in the interval), in C.
fn charge_at(trace: &EchemTrace, q: &[f64], i: usize, t: f64) -> f64 {
    let (t0, t1) = (trace.time_s[i], trace.time_s[i + 1]);
    let (i0, i1) = (trace.current_ma[i] * 1e-3, trace.current_ma[i + 1] * 1e-3);
    let tau = t - t0;
    q[i] + i0 * tau + (i1 - i0) * tau * tau / (2.0 * (t1 - t0))
}

/// Linear interpolation of `v` at time t inside interval i.
fn linear_at(trace: &EchemTrace, v: &[f64], i: usize, t: f64) -> f64 {
    let (t0, t1) = (trace.time_s[i], trace.time_s[i + 1]);
    v[i] + (v[i + 1] - v[i]) * (t - t0) / (t1 - t0)
}

/// Per-scan electrochemistry: for each exposure window, the mean voltage and current, the
/// state that lasted longest, the cycle and segment at the mid time, and x(Li) averaged over
/// the window (exact for a piecewise-linear current; module docs).
///
/// Errors: an invalid log or cell, or a window that is inverted, not finite or not inside
/// the log's time span.
pub fn scan_echem(
    trace: &EchemTrace,
    cell: &CellSpec,
    windows: &[ScanWindow],
) -> Result<Vec<ScanEchem>> {
    trace.validate()?;
    cell.validate()?;
    let threshold = trace.rest_threshold_ma(cell.rest_threshold_ma);
    let states = trace.interval_states(threshold);
    let cycles = trace.interval_cycles(&states);
    let mut segments = Vec::with_capacity(states.len());
    let mut seg = 0usize;
    for (i, s) in states.iter().enumerate() {
        if i > 0 && states[i - 1] != *s {
            seg += 1;
        }
        segments.push(seg);
    }
    let q = trace.cumulative_charge_c();
    let k = cell.dx_per_coulomb();
    let (first, last) = (trace.time_s[0], trace.time_s[trace.time_s.len() - 1]);
    let tol = 1e-9 * (last - first).abs().max(1.0);
    windows
        .iter()
        .enumerate()
        .map(|(n, w)| {
            if !(w.start_s.is_finite() && w.end_s.is_finite()) || w.end_s < w.start_s {
                return Err(Error::InvalidInput(format!(
                    "scan {n}: exposure window {}..{} s is not a finite, ordered interval",
                    w.start_s, w.end_s
                )));
            }
            if w.start_s < first - tol || w.end_s > last + tol {
                return Err(Error::InvalidInput(format!(
                    "scan {n}: exposure {}..{} s lies outside the cycler log ({first}..{last} s); \
                     check that the scan times and the log share one clock",
                    w.start_s, w.end_s
                )));
            }
            let (a, b) = (w.start_s.max(first), w.end_s.min(last));
            let mid = 0.5 * (a + b);
            let im = trace.interval_of(mid);
            let (voltage, current, x, state) = if b - a <= 0.0 {
                (
                    linear_at(trace, &trace.voltage_v, im, mid),
                    linear_at(trace, &trace.current_ma, im, mid),
                    cell.x0 - k * charge_at(trace, &q, im, mid),
                    states[im],
                )
            } else {
                let (mut sv, mut si, mut sx) = (0.0, 0.0, 0.0);
                let mut time_in = [0.0_f64; 3];
                let (ia, ib) = (trace.interval_of(a), trace.interval_of(b));
                for (i, state) in states.iter().enumerate().take(ib + 1).skip(ia) {
                    let lo = a.max(trace.time_s[i]);
                    let hi = b.min(trace.time_s[i + 1]);
                    if hi <= lo {
                        continue;
                    }
                    let h = hi - lo;
                    let c = 0.5 * (lo + hi);
                    // Linear pieces: mean = value at the middle. Quadratic Q: Simpson (exact).
                    sv += h * linear_at(trace, &trace.voltage_v, i, c);
                    si += h * linear_at(trace, &trace.current_ma, i, c);
                    let qs = (charge_at(trace, &q, i, lo)
                        + 4.0 * charge_at(trace, &q, i, c)
                        + charge_at(trace, &q, i, hi))
                        / 6.0;
                    sx += h * (cell.x0 - k * qs);
                    let slot = match state {
                        CurrentState::Charge => 0,
                        CurrentState::Discharge => 1,
                        CurrentState::Rest => 2,
                    };
                    time_in[slot] += h;
                }
                let span = b - a;
                let order = [CurrentState::Charge, CurrentState::Discharge, CurrentState::Rest];
                let best = (0..3).fold(0, |m, j| if time_in[j] > time_in[m] { j } else { m });
                (sv / span, si / span, sx / span, order[best])
            };
            Ok(ScanEchem {
                mid_time_s: w.mid_s(),
                voltage_v: voltage,
                current_ma: current,
                state,
                cycle: cycles[im],
                segment: segments[im],
                x_li: x,
            })
        })
        .collect()
}

/// Molar mass in g/mol of a chemical formula such as `Li1.17Ti0.58Ni0.25O2`, `LiFePO4`,
/// `Li2MnO3` or `(Li0.5Ni0.5)O` (element symbols with optional decimal counts, parenthesised
/// groups with a multiplier), from the IUPAC 2021 standard atomic weights of
/// [`Element::atomic_mass`] (Prohaska et al. (2022) Pure Appl. Chem. 94, 573).
///
/// Errors: an unknown symbol, unbalanced parentheses or an empty formula.
pub fn molar_mass_of_formula(formula: &str) -> Result<f64> {
    let bad = |why: &str| Error::InvalidInput(format!("formula '{formula}': {why}"));
    let chars: Vec<char> = formula.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.is_empty() {
        return Err(bad("empty"));
    }
    let mut stack: Vec<f64> = vec![0.0];
    let mut i = 0;
    let number = |i: &mut usize| -> Option<f64> {
        let start = *i;
        while *i < chars.len() && (chars[*i].is_ascii_digit() || chars[*i] == '.') {
            *i += 1;
        }
        if *i == start {
            None
        } else {
            chars[start..*i].iter().collect::<String>().parse().ok()
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '(' || c == '[' {
            stack.push(0.0);
            i += 1;
        } else if c == ')' || c == ']' {
            i += 1;
            let group = stack.pop().ok_or_else(|| bad("unbalanced parentheses"))?;
            let mult = number(&mut i).unwrap_or(1.0);
            let top = stack.last_mut().ok_or_else(|| bad("unbalanced parentheses"))?;
            *top += group * mult;
        } else if c.is_ascii_uppercase() {
            let mut sym = c.to_string();
            i += 1;
            while i < chars.len() && chars[i].is_ascii_lowercase() {
                sym.push(chars[i]);
                i += 1;
            }
            let el =
                Element::from_symbol(&sym).map_err(|_| bad(&format!("unknown element '{sym}'")))?;
            let mass = el.atomic_mass()?;
            let count = number(&mut i).unwrap_or(1.0);
            if !count.is_finite() {
                return Err(bad(&format!("bad count after {sym}")));
            }
            if let Some(top) = stack.last_mut() {
                *top += mass * count;
            }
        } else {
            return Err(bad(&format!("unexpected character '{c}'")));
        }
    }
    if stack.len() != 1 {
        return Err(bad("unbalanced parentheses"));
    }
    let m = stack[0];
    if m > 0.0 {
        Ok(m)
    } else {
        Err(bad("no elements"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn molar_mass_of_simple_formulas() {
        // IUPAC 2021 standard atomic weights (abridged): Li 6.94, O 15.999, Fe 55.845,
        // P 30.973762; LiFePO4 = 157.757 g/mol.
        let m = molar_mass_of_formula("LiFePO4").unwrap();
        assert!((m - 157.757).abs() < 0.01, "{m}");
        let a = molar_mass_of_formula("(Li0.5Ni0.5)2O2").unwrap();
        let b = molar_mass_of_formula("LiNiO2").unwrap();
        assert!((a - b).abs() < 1e-9);
        assert!(molar_mass_of_formula("LiXx").is_err());
        assert!(molar_mass_of_formula("(LiO").is_err());
        assert!(molar_mass_of_formula("").is_err());
    }

    #[test]
    fn state_and_labels() {
        assert_eq!(CurrentState::of_current(0.1, 0.01), CurrentState::Charge);
        assert_eq!(CurrentState::of_current(-0.1, 0.01), CurrentState::Discharge);
        assert_eq!(CurrentState::of_current(0.005, 0.01), CurrentState::Rest);
        assert_eq!(CurrentState::parse(" Discharge "), Some(CurrentState::Discharge));
        assert_eq!(CurrentState::parse("OCV"), Some(CurrentState::Rest));
        assert_eq!(CurrentState::parse("3"), None);
    }
}
