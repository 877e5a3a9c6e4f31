#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! bragg against FullProf's own calculated PbSO4 profile (issue 3).
//!
//! `fixtures/reference/pbso4_fullprof_calc.csv` is the calculated curve of FullProf 5.40's
//! X-ray refinement of the IUCr PbSO4 round robin (`pbsox.prf`, provenance in
//! `fixtures/README.md`), computed at the parameters its `pbsox.sum` reports. Here bragg draws
//! the same model — FullProf's cell, atoms, zero, U V W, profile function 5 (η = η₀ + X·2θ),
//! Bérar–Baldinozzi Asy1–3, λ 1.54056/1.54440 (ratio 0.5), Cthm 0.8 — and fits it to that
//! noise-free curve (no data from `../shared/` needed), then refines it against the measured
//! pattern (`../shared/data/pbso4-roundrobin/pbsox.dat`; skipped with a note when absent).

use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::{Polarization, Radiation, WavelengthComponent};
use bragg_crystal::pattern::{Geometry, Instrument, PatternModel, PhaseContribution, ProbeKind};
use bragg_crystal::profile::{ProfileFunction, ProfileParams};
use bragg_refine::{FitOptions, Observations, ParamKey, Refinement};

/// FullProf's refined values (pbsox.sum / pbsox.pcr).
const CELL: [f64; 3] = [8.485684, 5.402483, 6.964548];
const CELL_ESD: [f64; 3] = [0.00013, 0.00008, 0.00011];
const ZERO: f64 = 0.00609;
const ASY: [f64; 3] = [-0.37024, 0.00736, 1.23023];

fn fullprof_model(window_fwhm: f64) -> PatternModel {
    let g = bragg_crystal::SpaceGroup::from_symbol("Pnma").unwrap();
    let occ = |s: &str| {
        vec![bragg_crystal::Occupant {
            species: bragg_crystal::Species::parse(s).unwrap(),
            occupancy: 1.0,
        }]
    };
    let site = |l: &str, el: &str, w: char, x: [f64; 3], b: f64| {
        bragg_crystal::Site::at_wyckoff(l, &g, w, x, occ(el), b).unwrap()
    };
    let sites = vec![
        site("Pb", "Pb", 'c', [0.18797, 0.25, 0.16754], 1.36126),
        site("S", "S", 'c', [0.06467, 0.25, 0.68300], 0.89890),
        site("O1", "O", 'c', [0.90706, 0.25, 0.59672], 0.56096),
        site("O2", "O", 'c', [0.18642, 0.25, 0.54268], 1.00191),
        site("O3", "O", 'd', [0.08025, 0.02961, 0.81208], 1.06887),
    ];
    let cell = bragg_crystal::Cell::new(CELL[0], CELL[1], CELL[2], 90.0, 90.0, 90.0).unwrap();
    let phase = bragg_crystal::Phase::new("PbSO4", cell, g, sites).unwrap();
    let radiation = Radiation::new(vec![
        WavelengthComponent::line(1.54056, 1.0),
        WavelengthComponent::line(1.54440, 0.5),
    ])
    .unwrap();
    PatternModel {
        instrument: Instrument {
            radiation,
            probe: ProbeKind::Xray,
            zero_deg: ZERO,
            geometry: Geometry::BraggBrentano { goniometer_radius_mm: 200.0, displacement_um: 0.0 },
            polarization: Polarization::Monochromator {
                two_theta_m_deg: 0.8f64.sqrt().acos().to_degrees(),
            },
            profile: ProfileParams {
                u: 0.030989,
                v: -0.051981,
                w: 0.032000,
                p: 0.0,
                x: 0.014724,
                y: 0.00001,
                asym: 0.0,
                bb: [ASY[0], ASY[1], ASY[2], 0.0],
                function: ProfileFunction::PseudoVoigt,
                window_fwhm,
                divergence_deg: 0.0,
            },
            anomalous: true,
        },
        phases: vec![PhaseContribution::new(phase, 4.0e-4)],
        background: ChebyshevBackground::new(vec![150.0, 0.0, 0.0, 0.0, 0.0, 0.0], 10.0, 154.0)
            .unwrap(),
    }
}

/// FullProf's calculated profile over its fitted range 10–154° (its pcr excludes 154–180°).
fn fullprof_calc() -> (Vec<f64>, Vec<f64>) {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/reference/pbso4_fullprof_calc.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut t, mut y) = (vec![], vec![]);
    for line in text.lines().skip(1) {
        let (a, b) = line.split_once(',').unwrap();
        let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
        if a <= 154.0 {
            t.push(a);
            y.push(b);
        }
    }
    assert_eq!(t.len(), 5761);
    (t, y)
}

fn keys(k: &[&str]) -> Vec<ParamKey> {
    k.iter().map(|k| k.parse().unwrap()).collect()
}

fn value(r: &Refinement, key: &str) -> (f64, f64) {
    let p = r.parameters.iter().find(|p| p.key.to_string() == key).unwrap();
    (p.value, p.esd.unwrap_or(f64::NAN))
}

/// Fitting bragg's model to FullProf's calculated curve, with FullProf's profile widths and
/// atoms fixed, returns FullProf's cell within a tenth of FullProf's esds and its zero: the
/// two programs place peaks the same way (Bragg's law, Kα1/Kα2, zero sign, the Bérar–
/// Baldinozzi asymmetry with its sign, its z = (2θ_k − 2θ)/H and the clamp A ≥ 0).
///
/// Two differences remain and are measured here. (1) FullProf draws each peak only within
/// ±Wdt·FWHM (Wdt = 6 in its pcr), bragg to 0.09 % of the area: after the fit the curves
/// differ by Rw 2.1 %, mostly intensity at high angle where η = η₀ + X·2θ exceeds 1 and the
/// truncated Lorentzian tails carry more area (with the truncation emulated in an
/// experiment the difference falls to 0.34 %). (2) bragg's P₁ that reproduces FullProf's curve is
/// 0.93–0.94 × FullProf's Asy1 at every angle (P₂, P₃ agree within 1 %). P₁ and the constant
/// of F_b are degenerate: with F_b = 2(2z² − c)·F_a, a curve drawn with (P₁, P₂, c) is drawn
/// exactly with (P₁ + 2P₂(c′ − c), P₂, c′). Bérar & Baldinozzi's F_b has c = 3 (bragg keeps it);
/// FullProf's Asy1 behaves as if c ≈ 1.2 (with c = 1 the three ratios are 1.009, 1.001, 0.993,
/// measured by a temporary switch). With Asy2 = 0 the two conventions agree.
#[test]
fn fullprof_calculated_profile_gives_fullprof_cell() {
    let (r, rw) = fit_to_fullprof_curve(0.0);
    assert!(rw < 0.025, "Rw {:.2} %", 100.0 * rw);
    check_against_fullprof(&r);
}

/// With FullProf's own peak window (±Wdt·FWHM, Wdt = 6, `ProfileParams::window_fwhm`) the two
/// curves agree to Rw 0.3 %: the window was the rest of the difference.
#[test]
fn with_fullprof_window_the_curves_agree() {
    let (r, rw) = fit_to_fullprof_curve(6.0);
    assert!(rw < 0.005, "Rw {:.2} %", 100.0 * rw);
    check_against_fullprof(&r);
}

/// FullProf's reported solution is not the least-squares minimum of its own model. bragg,
/// drawing FullProf's curve to Rw 0.3 % (above), gets FullProf's Rwp on the measured data at
/// FullProf's parameters (10.32 % over 10–154°; pbsox.sum: 10.3 %); refining FullProf's 34
/// parameters from there lowers it to ≈ 10.19 % and moves the cell by several of FullProf's
/// esds — so "FullProf's cell within 3 esd" cannot be asked of a converged refinement, even one
/// with FullProf's exact model. Needs `../shared/data/pbso4-roundrobin/pbsox.dat`.
#[test]
fn fullprof_reported_point_is_not_the_minimum_of_its_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/pbso4-roundrobin/pbsox.dat");
    if !std::path::Path::new(path).exists() {
        eprintln!(
            "note: {path} not found; skipping (the shared data folder is not beside this checkout)"
        );
        return;
    }
    let scan = bragg_io::read_powder(std::path::Path::new(path)).unwrap();
    let d = &scan.data;
    let keep: Vec<usize> = (0..d.len()).filter(|&i| d.two_theta_deg[i] <= 154.0).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let obs =
        Observations::new(&pick(&d.two_theta_deg), &pick(&d.intensity), None, None, &[]).unwrap();
    // FullProf's model as bragg draws it (P₁ from the fit to FullProf's curve).
    let (emulated, _) = fit_to_fullprof_curve(6.0);
    let mut r = Refinement::new(emulated.model.clone(), obs).unwrap();
    r.refine(&keys(&["PbSO4.scale", "bkg.0", "bkg.1", "bkg.2", "bkg.3", "bkg.4", "bkg.5"]), true)
        .unwrap();
    let at_fullprof = r.fit(FitOptions::default()).unwrap().statistics.rwp;
    // The cell and zero alone, every other parameter at FullProf's value: b moves already.
    let mut cell_only = Refinement::new(r.model.clone(), r.observations.clone()).unwrap();
    cell_only
        .refine(
            &keys(&[
                "PbSO4.scale",
                "bkg.0",
                "bkg.1",
                "bkg.2",
                "bkg.3",
                "bkg.4",
                "bkg.5",
                "PbSO4.cell.a",
                "PbSO4.cell.b",
                "PbSO4.cell.c",
                "inst.zero",
            ]),
            true,
        )
        .unwrap();
    cell_only.fit(FitOptions::default()).unwrap();
    let (b_only, _) = value(&cell_only, "PbSO4.cell.b");
    eprintln!(
        "cell + zero alone: b = {b_only:.5} Å ({:+.1} FullProf esd)",
        (b_only - CELL[1]) / CELL_ESD[1]
    );
    assert!((b_only - CELL[1]).abs() > 3.0 * CELL_ESD[1], "b = {b_only}");
    let mut all = vec![
        "PbSO4.cell.a",
        "PbSO4.cell.b",
        "PbSO4.cell.c",
        "inst.zero",
        "inst.U",
        "inst.V",
        "inst.W",
        "inst.X",
        "inst.asy1",
        "inst.asy2",
        "inst.asy3",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for site in ["Pb", "S", "O1", "O2"] {
        for q in ["x", "z", "biso"] {
            all.push(format!("PbSO4.{site}.{q}"));
        }
    }
    for q in ["x", "y", "z", "biso"] {
        all.push(format!("PbSO4.O3.{q}"));
    }
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    r.refine(&keys(&all), true).unwrap();
    let out = r.fit(FitOptions::default()).unwrap();
    let converged = out.statistics.rwp;
    eprintln!(
        "Rwp at FullProf's parameters {:.3} %, after refining its 34 parameters {:.3} %",
        100.0 * at_fullprof,
        100.0 * converged
    );
    assert!((at_fullprof - 0.1032).abs() < 0.0005, "Rwp {:.3} %", 100.0 * at_fullprof);
    assert!(converged < at_fullprof - 0.0008, "Rwp {:.3} %", 100.0 * converged);
    let mut moved = 0.0f64;
    for (k, (fp, esd)) in ["a", "b", "c"].iter().zip(CELL.iter().zip(CELL_ESD)) {
        let (v, e) = value(&r, &format!("PbSO4.cell.{k}"));
        eprintln!(
            "{k}: {v:.5}({e:.5}), FullProf {fp:.5}({esd}): {:+.1} FullProf esd",
            (v - fp) / esd
        );
        moved = moved.max(((v - fp) / esd).abs());
    }
    assert!(moved > 5.0, "the cell moved by at most {moved:.1} FullProf esd");
}

/// Fits bragg's FullProf model (with `window_fwhm`) to FullProf's calculated curve: scale and
/// background first, then cell, zero and Asy1–3. Returns the refinement and its Rw.
fn fit_to_fullprof_curve(window_fwhm: f64) -> (Refinement, f64) {
    let (t, y) = fullprof_calc();
    let obs = Observations::new(&t, &y, None, None, &[]).unwrap();
    let mut r = Refinement::new(fullprof_model(window_fwhm), obs).unwrap();
    r.refine(&keys(&["PbSO4.scale", "bkg.0", "bkg.1", "bkg.2", "bkg.3", "bkg.4", "bkg.5"]), true)
        .unwrap();
    r.fit(FitOptions::default()).unwrap();
    r.refine(
        &keys(&[
            "PbSO4.cell.a",
            "PbSO4.cell.b",
            "PbSO4.cell.c",
            "inst.zero",
            "inst.asy1",
            "inst.asy2",
            "inst.asy3",
        ]),
        true,
    )
    .unwrap();
    let out = r.fit(FitOptions::default()).unwrap();
    eprintln!(
        "window {window_fwhm} FWHM: bragg vs FullProf's calculated curve Rw {:.2} %",
        100.0 * out.statistics.rwp
    );
    (r, out.statistics.rwp)
}

/// FullProf's cell within 0.2 of its esds, its zero within its esd, and the asymmetry ratios.
fn check_against_fullprof(r: &Refinement) {
    for (k, (fp, esd)) in ["a", "b", "c"].iter().zip(CELL.iter().zip(CELL_ESD)) {
        let (v, _) = value(r, &format!("PbSO4.cell.{k}"));
        eprintln!(
            "{k}: bragg {v:.6}, FullProf {fp:.6}({esd}): {:+.2} FullProf esd",
            (v - fp) / esd
        );
        assert!((v - fp).abs() < 0.2 * esd, "{k} = {v} vs FullProf {fp}({esd})");
    }
    let (zero, _) = value(r, "inst.zero");
    eprintln!("zero: bragg {zero:.5}°, FullProf {ZERO}(8)°");
    assert!((zero - ZERO).abs() < 0.0008, "zero {zero}");
    let asy: Vec<f64> =
        ["inst.asy1", "inst.asy2", "inst.asy3"].iter().map(|k| value(r, k).0).collect();
    eprintln!(
        "asymmetry bragg/FullProf: P1 {:.3}, P2 {:.3}, P3 {:.3}",
        asy[0] / ASY[0],
        asy[1] / ASY[1],
        asy[2] / ASY[2]
    );
    assert!((asy[0] / ASY[0] - 0.935).abs() < 0.02, "P1 ratio {}", asy[0] / ASY[0]);
    assert!((asy[1] / ASY[1] - 1.0).abs() < 0.03, "P2 ratio {}", asy[1] / ASY[1]);
    assert!((asy[2] / ASY[2] - 1.0).abs() < 0.02, "P3 ratio {}", asy[2] / ASY[2]);
}

/// FullProf's serial-correlation figures for its own fit (`pbsox.sum`, "all non-excluded
/// points": N − P + C = 5726 with P = 34, so N = 5760): Durbin–Watson d = 0.7258 from its
/// observed and calculated curves, and "DW-exp" 1.9301, which is Hill & Flack's 99.9 %
/// critical value Q (also 1.9277 for its 5315 "points with Bragg contributions"). bragg's
/// statistics on FullProf's curve (Ycalc printed to 0.1 count) give the same d within 0.3 %.
#[test]
fn durbin_watson_of_fullprof_fit_matches_fullprof() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/pbso4-roundrobin/pbsox.dat");
    if !std::path::Path::new(path).exists() {
        eprintln!("note: {path} not found; skipping");
        return;
    }
    let scan = bragg_io::read_powder(std::path::Path::new(path)).unwrap();
    let (tth, calc) = fullprof_calc();
    // FullProf excludes 154–180°.
    let n = tth.iter().filter(|&&t| t < 154.0).count();
    let obs = &scan.data.intensity[..n];
    assert!((scan.data.two_theta_deg[n - 1] - tth[n - 1]).abs() < 1e-9);
    let w: Vec<f64> = obs.iter().map(|&y| 1.0 / y.max(1.0)).collect();
    let fit = bragg_refine::stats::PatternFit::new(obs, &calc[..n], &w).unwrap();
    let s = bragg_refine::stats::Statistics::compute(&fit, 34).unwrap();
    assert_eq!(s.n_points, 5760);
    let d = s.durbin_watson.unwrap();
    eprintln!(
        "d = {d:.4} (FullProf 0.7258), Q = {:.4} (FullProf 1.9301)",
        s.durbin_watson_critical()
    );
    assert!((d / 0.7258 - 1.0).abs() < 3e-3, "d = {d}");
    assert!((s.durbin_watson_critical() - 1.9301).abs() < 1e-4);
    let bragg_points = bragg_refine::stats::Statistics { n_points: 5315, ..s };
    assert!((bragg_points.durbin_watson_critical() - 1.9277).abs() < 1e-4);
}
