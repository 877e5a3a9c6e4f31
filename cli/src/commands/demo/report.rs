//! What `bragg demo` found against what it simulated: refined vs true a per segment, the Li
//! content from the log vs Faraday's law, the hysteresis metrics vs those of the true a(x),
//! and the relaxation τ, β, Δa vs the simulated KWW law. Written as `demo.json` and printed.

use super::data::{SimData, START_DEG, STEP_DEG, STOP_DEG};
use super::scenario::Scenario;
use super::A_KEY;
use crate::commands::hysteresis::HysteresisSummary;
use anyhow::{anyhow, Result};
use bragg_refine::analysis::hysteresis::HysteresisInput;
use bragg_refine::analysis::{hysteresis, CurrentState, HysteresisOptions, ScanEchem};
use bragg_refine::sequential::SequentialTable;
use bragg_refine::uncertain::Uncertain;
use serde::Serialize;
use std::fmt::Write as _;

/// Refined vs true a over one segment of the experiment.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentComparison {
    /// `charge`, `rest` or `discharge`.
    pub segment: String,
    /// Scans in the segment.
    pub n_scans: usize,
    /// Of which flagged by the sequential fit.
    pub n_flagged: usize,
    /// True Li content of the first and last scan.
    pub x_li: [f64; 2],
    /// True a of the first and last scan, Å.
    pub a_true: [f64; 2],
    /// Refined a of the first and last scan, Å.
    pub a_refined: [f64; 2],
    /// Mean of |a − a_true| / esd over the good scans.
    pub mean_abs_z: f64,
    /// Largest |a − a_true| / esd.
    pub max_abs_z: f64,
    /// Mean esd of a, Å.
    pub mean_esd: f64,
}

/// The hysteresis against x(Li) of the refined series and of the true a at the same scans.
#[derive(Debug, Clone, Serialize)]
pub struct HysteresisComparison {
    /// Δa = a_discharge − a_charge of largest magnitude, refined, Å.
    pub delta_max: f64,
    /// Its esd, Å.
    pub delta_max_esd: f64,
    /// Where (x).
    pub delta_max_at: f64,
    /// ∮ a dx, refined, Å.
    pub loop_area: f64,
    /// Its esd, Å.
    pub loop_area_esd: f64,
    /// The same from the true a of each scan.
    pub true_delta_max: f64,
    /// Where (x).
    pub true_delta_max_at: f64,
    /// ∮ a dx of the true a.
    pub true_loop_area: f64,
}

/// The relaxation fit of the rest against the simulated law.
#[derive(Debug, Clone, Serialize)]
pub struct RelaxComparison {
    /// Model chosen by AICc.
    pub model: String,
    /// Scans fitted.
    pub n_points: usize,
    /// τ, s.
    pub tau_s: f64,
    /// Its esd.
    pub tau_s_esd: Option<f64>,
    /// β (1 for the exponential, None for the bi-exponential).
    pub beta: Option<f64>,
    /// Its esd.
    pub beta_esd: Option<f64>,
    /// Δa, Å.
    pub delta: f64,
    /// Its esd.
    pub delta_esd: Option<f64>,
    /// Simulated τ, s.
    pub true_tau_s: f64,
    /// Simulated β.
    pub true_beta: f64,
    /// Simulated Δa, Å.
    pub true_delta: f64,
}

/// Wall times of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Simulation of the scans and the log, s.
    pub simulate_s: f64,
    /// Sequential fit, s.
    pub fit_s: f64,
    /// Li content, hysteresis, relaxation, tables and figures, s.
    pub analysis_s: f64,
    /// The whole run, s.
    pub total_s: f64,
    /// Scans fitted per second.
    pub scans_per_s: f64,
}

/// `demo.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// bragg version.
    pub bragg_version: String,
    /// Noise seed.
    pub seed: u64,
    /// Scans.
    pub n_scans: usize,
    /// Points per scan.
    pub n_points: usize,
    /// 2θ start, stop, step (degrees).
    pub range_deg: [f64; 3],
    /// Scans on charge, at rest, on discharge.
    pub scans_per_segment: [usize; 3],
    /// Scans flagged by the sequential fit.
    pub n_flagged: usize,
    /// Per segment.
    pub segments: Vec<SegmentComparison>,
    /// Largest |x(Li) from the log − x from Faraday's law| over the scans.
    pub x_li_max_abs_error: f64,
    /// Hysteresis against x(Li).
    pub hysteresis: Option<HysteresisComparison>,
    /// Relaxation.
    pub relaxation: RelaxComparison,
    /// Wall times.
    pub timings: Timings,
}

/// Settings of the run for the summary.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Noise seed.
    pub seed: u64,
    /// Scans per segment.
    pub counts: [usize; 3],
}

fn num(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key).and_then(serde_json::Value::as_f64)
}

/// Compares the run's results with the truth.
pub fn summarise(
    s: &Scenario,
    data: &SimData,
    table: &SequentialTable,
    echem: &[ScanEchem],
    hyst: &HysteresisSummary,
    relax: &serde_json::Value,
    setup: Setup,
) -> Result<DemoSummary> {
    let mut segments = Vec::new();
    for state in [CurrentState::Charge, CurrentState::Rest, CurrentState::Discharge] {
        let idx: Vec<usize> =
            (0..data.scans.len()).filter(|&i| data.scans[i].slot.segment == state).collect();
        let (Some(&i0), Some(&i1)) = (idx.first(), idx.last()) else { continue };
        let mut zs = Vec::new();
        let mut esds = Vec::new();
        let mut flagged = 0;
        let refined = |i: usize| {
            table
                .rows
                .iter()
                .find(|r| r.scan == data.scans[i].slot.scan)
                .and_then(|r| r.value(A_KEY).map(|v| (v.value, v.esd, r.is_good())))
        };
        for &i in &idx {
            match refined(i) {
                Some((a, Some(e), true)) if e > 0.0 => {
                    zs.push(((a - data.scans[i].a_true) / e).abs());
                    esds.push(e);
                }
                _ => flagged += 1,
            }
        }
        let mean = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        segments.push(SegmentComparison {
            segment: state.as_str().into(),
            n_scans: idx.len(),
            n_flagged: flagged,
            x_li: [data.scans[i0].x_true, data.scans[i1].x_true],
            a_true: [data.scans[i0].a_true, data.scans[i1].a_true],
            a_refined: [
                refined(i0).map_or(f64::NAN, |r| r.0),
                refined(i1).map_or(f64::NAN, |r| r.0),
            ],
            mean_abs_z: mean(&zs),
            max_abs_z: zs.iter().fold(0.0, |m: f64, z| m.max(*z)),
            mean_esd: mean(&esds),
        });
    }
    let x_err =
        data.scans.iter().zip(echem).map(|(sc, e)| (sc.x_true - e.x_li).abs()).fold(0.0, f64::max);

    // The hysteresis of the true a at the same x, state and cycle as the refined series.
    let x: Vec<f64> = echem.iter().map(|e| e.x_li).collect();
    let a_true: Vec<f64> = data.scans.iter().map(|sc| sc.a_true).collect();
    let zeros = vec![0.0; x.len()];
    let states: Vec<CurrentState> = echem.iter().map(|e| e.state).collect();
    let cycles: Vec<u32> = echem.iter().map(|e| e.cycle).collect();
    let truth = hysteresis(
        &HysteresisInput {
            abscissa: &x,
            value: &a_true,
            esd: &zeros,
            state: &states,
            cycle: &cycles,
        },
        &HysteresisOptions::default(),
    )?;
    let hysteresis = match (hyst.x_li.as_ref().and_then(|a| a.cycles.first()), truth.cycles.first())
    {
        (Some(r), Some(t)) => Some(HysteresisComparison {
            delta_max: r.delta_max,
            delta_max_esd: r.delta_max_esd,
            delta_max_at: r.delta_max_at,
            loop_area: r.loop_area,
            loop_area_esd: r.loop_area_esd,
            true_delta_max: t.delta_max.value,
            true_delta_max_at: t.delta_max_at,
            true_loop_area: t.loop_area.value,
        }),
        _ => None,
    };
    let relaxation = RelaxComparison {
        model: relax.get("model").and_then(|m| m.as_str()).unwrap_or("?").to_string(),
        n_points: relax.get("n_points").and_then(serde_json::Value::as_u64).unwrap_or(0) as usize,
        tau_s: num(relax, "tau_s").ok_or_else(|| anyhow!("relax.json has no tau_s"))?,
        tau_s_esd: num(relax, "tau_s_esd"),
        beta: num(relax, "beta"),
        beta_esd: num(relax, "beta_esd"),
        delta: num(relax, "delta").ok_or_else(|| anyhow!("relax.json has no delta"))?,
        delta_esd: num(relax, "delta_esd"),
        true_tau_s: s.relax_tau_s,
        true_beta: s.relax_beta,
        true_delta: s.relax_delta,
    };
    let n_flagged = table.rows.iter().filter(|r| !r.is_good()).count();
    Ok(DemoSummary {
        bragg_version: env!("CARGO_PKG_VERSION").into(),
        seed: setup.seed,
        n_scans: data.scans.len(),
        n_points: data.grid.len(),
        range_deg: [START_DEG, STOP_DEG, STEP_DEG],
        scans_per_segment: setup.counts,
        n_flagged,
        segments,
        x_li_max_abs_error: x_err,
        hysteresis,
        relaxation,
        timings: Timings::default(),
    })
}

/// `value(esd)`, or the value alone.
fn u(value: f64, esd: Option<f64>) -> String {
    Uncertain { value, esd }.to_string()
}

/// (refined − true)/esd as text.
fn z(value: f64, esd: Option<f64>, truth: f64) -> String {
    match esd {
        Some(e) if e > 0.0 => format!("{:+.2} esd", (value - truth) / e),
        _ => "no esd".into(),
    }
}

/// The printed report.
pub fn text(d: &DemoSummary) -> String {
    let mut t = String::new();
    let [n_c, n_r, n_d] = d.scans_per_segment;
    let _ = writeln!(
        t,
        "bragg demo: {} simulated in situ scans of Li1.17Ti0.58Ni0.25O2 in a Be-window cell with \
         an Al current collector (Cu Kα1/Kα2, Bragg–Brentano, {}–{}° 2θ, {} points), seed {}",
        d.n_scans, d.range_deg[0], d.range_deg[1], d.n_points, d.seed
    );
    let _ = writeln!(
        t,
        "  {n_c} scans on charge, {n_r} at open circuit, {n_d} on discharge; simulated in {:.1} s, \
         chained sequential fit in {:.1} s ({:.1} scans/s, {} flagged), analysis and figures in {:.1} s",
        d.timings.simulate_s, d.timings.fit_s, d.timings.scans_per_s, d.n_flagged, d.timings.analysis_s
    );
    let _ = writeln!(t, "refined vs true {A_KEY} (Å):");
    let _ = writeln!(
        t,
        "  {:<10} {:>5}  {:<15} {:<17} {:<17} {:>12} {:>11} {:>9}",
        "segment", "scans", "x(Li)", "a true", "a refined", "mean |Δ|/esd", "max |Δ|/esd", "esd"
    );
    for s in &d.segments {
        let _ = writeln!(
            t,
            "  {:<10} {:>5}  {:<15} {:<17} {:<17} {:>12.2} {:>11.2} {:>9.5}",
            s.segment,
            s.n_scans,
            format!("{:.3} → {:.3}", s.x_li[0], s.x_li[1]),
            format!("{:.4} → {:.4}", s.a_true[0], s.a_true[1]),
            format!("{:.4} → {:.4}", s.a_refined[0], s.a_refined[1]),
            s.mean_abs_z,
            s.max_abs_z,
            s.mean_esd
        );
    }
    let _ = writeln!(
        t,
        "x(Li) from the cycler log (coulomb counting over each exposure): largest |x − x_true| = {:.1e}",
        d.x_li_max_abs_error
    );
    if let Some(h) = &d.hysteresis {
        let _ = writeln!(
            t,
            "hysteresis against x(Li): max Δa = {} Å at x = {:.3} (simulated {:.5} Å at x = {:.3}); \
             loop ∮a dx = {} Å (simulated {:.5} Å)",
            u(h.delta_max, Some(h.delta_max_esd)),
            h.delta_max_at,
            h.true_delta_max,
            h.true_delta_max_at,
            u(h.loop_area, Some(h.loop_area_esd)),
            h.true_loop_area
        );
    }
    let r = &d.relaxation;
    let beta = match r.beta {
        Some(b) => format!(
            ", β = {} (true {}, {})",
            u(b, r.beta_esd),
            r.true_beta,
            z(b, r.beta_esd, r.true_beta)
        ),
        None => String::new(),
    };
    let _ = writeln!(
        t,
        "relaxation at open circuit ({} by AICc, {} scans): τ = {} s (true {} s, {}){beta}, \
         Δa = {} Å (true {} Å, {})",
        r.model,
        r.n_points,
        u(r.tau_s, r.tau_s_esd),
        r.true_tau_s,
        z(r.tau_s, r.tau_s_esd, r.true_tau_s),
        u(r.delta, r.delta_esd),
        r.true_delta,
        z(r.delta, r.delta_esd, r.true_delta)
    );
    t
}
