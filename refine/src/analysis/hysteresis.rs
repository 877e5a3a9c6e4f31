//! Structural hysteresis: a refined parameter (the cell edge a, Å) on charge and on discharge
//! of each cycle, against Li content x or against voltage, compared on a common grid.
//!
//! For each cycle the charge and the discharge branch (points at rest are left out) are each
//! sorted by the abscissa X and interpolated linearly onto `grid_points` equidistant values
//! spanning the X range both branches cover. Then
//!
//! - Δa(X) = a_discharge(X) − a_charge(X), with esd;
//! - its largest |Δa| and where;
//! - `area` = ∫ Δa dX over the common range (trapezoid rule on the grid), in Å × unit of X;
//! - `loop_area` = ∮ a dX along the cycle (charge, then discharge, in the direction each was
//!   traversed): equal to `area` when X decreases on charge (x(Li)) and to −`area` when it
//!   increases (voltage). The seed paper's structural hysteresis (Fig. 3d) shows as Δa > 0
//!   over the Ni redox region.
//!
//! # Uncertainties
//! Each interpolated value is a linear combination Σ c_k a_k of the refined values, which are
//! taken as independent with esds σ_k; σ² = Σ c_k² σ_k² (GUM, JCGM 100:2008 §5.1.2). The area
//! is propagated the same way from its coefficients over all points, so the correlation
//! between neighbouring grid values (they share data points) is accounted for exactly.
//! Points with equal X in a branch are averaged first.

use super::lithium::CurrentState;
use crate::error::{Error, Result};
use crate::uncertain::Uncertain;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The series to analyse: one entry per scan.
#[derive(Debug, Clone, Copy)]
pub struct HysteresisInput<'a> {
    /// The abscissa X of each scan: x(Li) or voltage (V). Non-finite X skips the scan.
    pub abscissa: &'a [f64],
    /// The parameter (e.g. a in Å). Non-finite values skip the scan.
    pub value: &'a [f64],
    /// Its esd (finite, ≥ 0).
    pub esd: &'a [f64],
    /// Charge, discharge or rest.
    pub state: &'a [CurrentState],
    /// Cycle number.
    pub cycle: &'a [u32],
}

/// Options of [`hysteresis`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HysteresisOptions {
    /// Points of the common grid (≥ 2; default 101).
    pub grid_points: usize,
}

impl Default for HysteresisOptions {
    fn default() -> Self {
        HysteresisOptions { grid_points: 101 }
    }
}

/// The hysteresis of one cycle on the common grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HysteresisCycle {
    /// Cycle number.
    pub cycle: u32,
    /// Scans on charge used.
    pub n_charge: usize,
    /// Scans on discharge used.
    pub n_discharge: usize,
    /// Whether X increases during the charge (voltage) or decreases (x(Li)).
    pub x_increases_on_charge: bool,
    /// The common grid of X.
    pub grid: Vec<f64>,
    /// a on charge at each grid point.
    pub charge: Vec<f64>,
    /// Its esd.
    pub charge_esd: Vec<f64>,
    /// a on discharge at each grid point.
    pub discharge: Vec<f64>,
    /// Its esd.
    pub discharge_esd: Vec<f64>,
    /// Δa = a_discharge − a_charge.
    pub delta: Vec<f64>,
    /// Its esd.
    pub delta_esd: Vec<f64>,
    /// Δa at the grid point of largest |Δa| (signed).
    pub delta_max: Uncertain,
    /// X of that grid point.
    pub delta_max_at: f64,
    /// ∫ Δa dX over the grid (module docs).
    pub area: Uncertain,
    /// ∮ a dX along the cycle (module docs).
    pub loop_area: Uncertain,
}

/// The hysteresis of every cycle with both branches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HysteresisReport {
    /// One entry per analysed cycle, by cycle number.
    pub cycles: Vec<HysteresisCycle>,
    /// Cycles left out, with the reason (one branch missing, no overlap, ...).
    pub skipped: Vec<(u32, String)>,
}

/// A branch node: X and the coefficients of its value over the input points.
struct Node {
    x: f64,
    coef: Vec<(usize, f64)>,
}

fn branch(indices: &[usize], input: &HysteresisInput<'_>) -> Vec<Node> {
    let mut idx = indices.to_vec();
    idx.sort_by(|&a, &b| input.abscissa[a].total_cmp(&input.abscissa[b]));
    let mut nodes: Vec<Node> = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let x = input.abscissa[idx[i]];
        let mut j = i;
        while j + 1 < idx.len() && input.abscissa[idx[j + 1]] == x {
            j += 1;
        }
        let m = (j - i + 1) as f64;
        nodes.push(Node { x, coef: idx[i..=j].iter().map(|&k| (k, 1.0 / m)).collect() });
        i = j + 1;
    }
    nodes
}

/// Coefficients of the branch interpolated at `x` (inside its range).
fn interpolate(nodes: &[Node], x: f64) -> Vec<(usize, f64)> {
    let j = nodes.partition_point(|n| n.x <= x).clamp(1, nodes.len() - 1);
    let (a, b) = (&nodes[j - 1], &nodes[j]);
    let f = ((x - a.x) / (b.x - a.x)).clamp(0.0, 1.0);
    a.coef
        .iter()
        .map(|&(k, c)| (k, c * (1.0 - f)))
        .chain(b.coef.iter().map(|&(k, c)| (k, c * f)))
        .collect()
}

fn value_and_esd(coef: &[(usize, f64)], input: &HysteresisInput<'_>) -> (f64, f64) {
    let v = coef.iter().map(|&(k, c)| c * input.value[k]).sum();
    let var: f64 = coef.iter().map(|&(k, c)| (c * input.esd[k]).powi(2)).sum();
    (v, var.sqrt())
}

/// Analyses the hysteresis of every cycle (module docs).
///
/// Errors: mismatched lengths, fewer than 2 grid points, a negative or non-finite esd, or no
/// cycle with at least two distinct X on both charge and discharge overlapping in X (the
/// message lists why each cycle was left out).
pub fn hysteresis(
    input: &HysteresisInput<'_>,
    options: &HysteresisOptions,
) -> Result<HysteresisReport> {
    let n = input.abscissa.len();
    if [input.value.len(), input.esd.len(), input.state.len(), input.cycle.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err(Error::InvalidInput(format!(
            "hysteresis: {n} abscissae, {} values, {} esds, {} states, {} cycles",
            input.value.len(),
            input.esd.len(),
            input.state.len(),
            input.cycle.len()
        )));
    }
    if options.grid_points < 2 {
        return Err(Error::InvalidInput(format!(
            "hysteresis: {} grid points; at least 2 are needed",
            options.grid_points
        )));
    }
    if let Some(i) = input.esd.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
        return Err(Error::InvalidInput(format!(
            "hysteresis: esd {} of scan {i} must be finite and ≥ 0",
            input.esd[i]
        )));
    }
    // Points of each cycle and branch, in series order.
    let mut groups: BTreeMap<u32, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for i in 0..n {
        if !(input.abscissa[i].is_finite() && input.value[i].is_finite()) {
            continue;
        }
        let g = groups.entry(input.cycle[i]).or_default();
        match input.state[i] {
            CurrentState::Charge => g.0.push(i),
            CurrentState::Discharge => g.1.push(i),
            CurrentState::Rest => {}
        }
    }
    let mut cycles = Vec::new();
    let mut skipped = Vec::new();
    for (&cycle, (ch, dis)) in &groups {
        let (bc, bd) = (branch(ch, input), branch(dis, input));
        if bc.len() < 2 || bd.len() < 2 {
            skipped.push((
                cycle,
                format!(
                    "{} distinct points on charge and {} on discharge; both branches need 2",
                    bc.len(),
                    bd.len()
                ),
            ));
            continue;
        }
        let lo = bc[0].x.max(bd[0].x);
        let hi = bc[bc.len() - 1].x.min(bd[bd.len() - 1].x);
        if hi <= lo {
            skipped.push((
                cycle,
                format!(
                    "the branches do not overlap (charge {:.4}..{:.4}, discharge {:.4}..{:.4})",
                    bc[0].x,
                    bc[bc.len() - 1].x,
                    bd[0].x,
                    bd[bd.len() - 1].x
                ),
            ));
            continue;
        }
        let m = options.grid_points;
        let step = (hi - lo) / (m - 1) as f64;
        let grid: Vec<f64> =
            (0..m).map(|i| if i + 1 == m { hi } else { lo + step * i as f64 }).collect();
        let mut c = HysteresisCycle {
            cycle,
            n_charge: ch.len(),
            n_discharge: dis.len(),
            x_increases_on_charge: input.abscissa[ch[ch.len() - 1]] > input.abscissa[ch[0]],
            grid: grid.clone(),
            charge: Vec::with_capacity(m),
            charge_esd: Vec::with_capacity(m),
            discharge: Vec::with_capacity(m),
            discharge_esd: Vec::with_capacity(m),
            delta: Vec::with_capacity(m),
            delta_esd: Vec::with_capacity(m),
            delta_max: Uncertain::exact(0.0),
            delta_max_at: lo,
            area: Uncertain::exact(0.0),
            loop_area: Uncertain::exact(0.0),
        };
        let mut area_coef = vec![0.0; n];
        let mut area = 0.0;
        for (g, &x) in grid.iter().enumerate() {
            let cc = interpolate(&bc, x);
            let cd = interpolate(&bd, x);
            let (a_c, s_c) = value_and_esd(&cc, input);
            let (a_d, s_d) = value_and_esd(&cd, input);
            c.charge.push(a_c);
            c.charge_esd.push(s_c);
            c.discharge.push(a_d);
            c.discharge_esd.push(s_d);
            c.delta.push(a_d - a_c);
            c.delta_esd.push((s_c * s_c + s_d * s_d).sqrt());
            let w = if g == 0 || g + 1 == m { 0.5 * step } else { step };
            area += w * (a_d - a_c);
            for &(k, coef) in &cd {
                area_coef[k] += w * coef;
            }
            for &(k, coef) in &cc {
                area_coef[k] -= w * coef;
            }
        }
        let (imax, _) = c.delta.iter().enumerate().fold((0, -1.0), |(bi, bv), (i, d)| {
            if d.abs() > bv {
                (i, d.abs())
            } else {
                (bi, bv)
            }
        });
        c.delta_max = Uncertain::new(c.delta[imax], c.delta_esd[imax]);
        c.delta_max_at = grid[imax];
        let area_esd =
            area_coef.iter().zip(input.esd).map(|(c, s)| (c * s).powi(2)).sum::<f64>().sqrt();
        c.area = Uncertain::new(area, area_esd);
        c.loop_area = Uncertain::new(if c.x_increases_on_charge { -area } else { area }, area_esd);
        cycles.push(c);
    }
    if cycles.is_empty() {
        let why = if skipped.is_empty() {
            "no scan on charge or discharge (all at rest, or x/voltage missing)".to_string()
        } else {
            skipped.iter().map(|(c, w)| format!("cycle {c}: {w}")).collect::<Vec<_>>().join("; ")
        };
        return Err(Error::InvalidInput(format!(
            "no cycle has both a charge and a discharge: {why}"
        )));
    }
    Ok(HysteresisReport { cycles, skipped })
}
