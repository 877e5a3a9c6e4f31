//! The simulated in situ series of `bragg demo`: lab scans of the LTNO electrode in a cell
//! with a beryllium window and an aluminium current collector (Cu Kα1/Kα2, Bragg–Brentano,
//! 15–80° 2θ in 0.02° steps = 3,251 points), each the average of the patterns over its
//! exposure, with Poisson counting noise.

use super::noise::SplitMix64;
use super::scenario::{ScanSlot, Scenario};
use anyhow::Result;
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::examples::{aluminium, beryllium, ltno_rock_salt};
use bragg_crystal::instrument::{Anode, Radiation, DEFAULT_KALPHA2_RATIO};
use bragg_crystal::pattern::{simulate, Instrument, PatternModel, PhaseContribution};
use bragg_crystal::Cell;
use bragg_refine::analysis::EchemTrace;

/// First 2θ of every scan, degrees.
pub const START_DEG: f64 = 15.0;
/// Last 2θ, degrees.
pub const STOP_DEG: f64 = 80.0;
/// Step, degrees.
pub const STEP_DEG: f64 = 0.02;
/// Sub-exposures over which each scan's pattern is averaged (midpoint rule in time).
pub const SUB_EXPOSURES: usize = 4;
/// True zero shift of the simulated diffractometer, degrees 2θ.
pub const TRUE_ZERO_DEG: f64 = 0.012;
/// True Lorentzian size term Y of the (nanocrystalline) electrode, degrees.
pub const TRUE_Y_DEG: f64 = 0.06;
/// True phase scales: LTNO, Be window, Al current collector.
pub const TRUE_SCALES: [f64; 3] = [0.006, 0.05, 0.0012];
/// True background of the cell (electrolyte, separator, window; counts), Chebyshev over the
/// scan range.
pub const TRUE_BACKGROUND: [f64; 6] = [130.0, -45.0, 21.0, -7.5, 3.0, -1.2];

/// One simulated scan with its truth.
#[derive(Debug, Clone)]
pub struct SimScan {
    /// When and in which segment.
    pub slot: ScanSlot,
    /// The true a averaged over the exposure (the mean of the sub-exposures' a, which is what
    /// the averaged pattern holds), Å.
    pub a_true: f64,
    /// The true Li content averaged over the exposure (x is linear in time inside a segment,
    /// so this is x at mid-exposure).
    pub x_true: f64,
    /// Observed counts at each 2θ of [`grid`].
    pub counts: Vec<f64>,
}

/// The whole simulated data set.
#[derive(Debug, Clone)]
pub struct SimData {
    /// The 2θ grid of every scan, degrees.
    pub grid: Vec<f64>,
    /// The scans in time order.
    pub scans: Vec<SimScan>,
    /// The cycler log.
    pub trace: EchemTrace,
}

/// The scan grid, degrees.
pub fn grid() -> Vec<f64> {
    let n = ((STOP_DEG - START_DEG) / STEP_DEG).round() as usize + 1;
    (0..n).map(|i| START_DEG + STEP_DEG * i as f64).collect()
}

fn cu_kalpha() -> Result<Instrument> {
    let radiation = Radiation::kalpha_doublet(Anode::Cu, DEFAULT_KALPHA2_RATIO)?;
    Ok(Instrument::lab_bragg_brentano(radiation))
}

/// The true pattern model at lattice parameter `a` (Å) and Li content `x` (Li occupancy of
/// the cation site x/2: Li_x on the two cation sites of the rock salt's formula unit).
pub fn truth_model(a: f64, x: f64) -> Result<PatternModel> {
    let mut instrument = cu_kalpha()?;
    instrument.zero_deg = TRUE_ZERO_DEG;
    instrument.profile.y = TRUE_Y_DEG;
    let mut ltno = ltno_rock_salt(a, 0.5)?;
    if let Some(li) =
        ltno.sites[0].occupants.iter_mut().find(|o| o.species.element.symbol() == "Li")
    {
        li.occupancy = 0.5 * x;
    }
    Ok(PatternModel {
        instrument,
        phases: vec![
            PhaseContribution::new(ltno, TRUE_SCALES[0]),
            PhaseContribution::new(beryllium()?, TRUE_SCALES[1]),
            PhaseContribution::new(aluminium()?, TRUE_SCALES[2]),
        ],
        background: ChebyshevBackground::new(TRUE_BACKGROUND.to_vec(), START_DEG, STOP_DEG)?,
    })
}

/// The starting model a user would build: the pristine LTNO from the literature (a = 4.14 Å)
/// and the Be and Al cells of the examples, the lab instrument's default profile, no zero
/// shift, scales off by 30 % and a flat background at `level` counts.
pub fn start_model(level: f64) -> Result<PatternModel> {
    let mut m = truth_model(4.14, 1.17)?;
    m.instrument = cu_kalpha()?;
    m.phases[0].phase.cell = Cell::cubic(4.14)?;
    m.phases[0].scale *= 1.3;
    m.phases[1].scale *= 0.7;
    m.phases[2].scale *= 0.7;
    m.background =
        ChebyshevBackground::new(vec![level, 0.0, 0.0, 0.0, 0.0, 0.0], START_DEG, STOP_DEG)?;
    Ok(m)
}

/// Simulates scan `slot`: the average of [`SUB_EXPOSURES`] patterns at the midpoints of equal
/// parts of the exposure, with Poisson counts from the generator of (`seed`, scan number).
pub fn simulate_scan(s: &Scenario, slot: &ScanSlot, grid: &[f64], seed: u64) -> Result<SimScan> {
    let tl = s.timeline()?;
    let rate = s.dx_per_s()?;
    let k = SUB_EXPOSURES;
    let mut mean = vec![0.0; grid.len()];
    let mut a_sum = 0.0;
    for j in 0..k {
        let t = slot.start_s + (slot.end_s - slot.start_s) * (j as f64 + 0.5) / k as f64;
        let a = s.a_at(&tl, rate, t);
        a_sum += a;
        let p = simulate(&truth_model(a, s.x_at(&tl, rate, t))?, grid)?;
        for (m, y) in mean.iter_mut().zip(&p.total) {
            *m += y / k as f64;
        }
    }
    let mut rng = SplitMix64::new(seed, slot.scan as u64);
    let counts = mean.iter().map(|&mu| rng.poisson(mu) as f64).collect();
    Ok(SimScan {
        slot: *slot,
        a_true: a_sum / k as f64,
        x_true: s.x_at(&tl, rate, slot.mid_s()),
        counts,
    })
}

/// The whole series of `n` scans and its cycler log (scans simulated on two threads).
pub fn simulate_series(s: &Scenario, n: usize, seed: u64) -> Result<SimData> {
    let slots = s.slots(n)?;
    let g = grid();
    let half = slots.len().div_ceil(2);
    let (first, second) = slots.split_at(half);
    let run = |part: &[ScanSlot]| -> Result<Vec<SimScan>> {
        part.iter().map(|slot| simulate_scan(s, slot, &g, seed)).collect()
    };
    let (a, b) = std::thread::scope(|scope| {
        let h = scope.spawn(|| run(second));
        let a = run(first);
        let b = h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("simulation thread failed")));
        (a, b)
    });
    let mut scans = a?;
    scans.extend(b?);
    Ok(SimData { grid: g, scans, trace: s.cycler_log(seed)? })
}
