#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! In situ analysis on simulated series with known truth: x(Li) by coulomb counting, the
//! structural hysteresis Δa(x), relaxation kinetics (exp / KWW / bi-exponential, AICc) and the
//! Arrhenius fit. Every simulation is seeded.

use bragg_refine::analysis::arrhenius::{BOLTZMANN_EV_PER_K, KJ_PER_MOL_PER_EV};
use bragg_refine::analysis::hysteresis::HysteresisInput;
use bragg_refine::analysis::lithium::FARADAY_C_PER_MOL;
use bragg_refine::analysis::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64;

// ---------------------------------------------------------------- Li content

/// A galvanostatic protocol: charge at +I for 10 h, rest 2 h, discharge at −I for 10 h, rest
/// 1 h, charge 5 h; logged at irregular intervals (1–30 s) as a cycler does.
fn constant_current_log(i_ma: f64, seed: u64) -> (EchemTrace, Vec<(f64, f64, f64)>) {
    let segments =
        [(36_000.0, i_ma), (7_200.0, 0.0), (36_000.0, -i_ma), (3_600.0, 0.0), (18_000.0, i_ma)];
    let mut rng = Pcg64::seed_from_u64(seed);
    let dt = rand_distr::Uniform::new(1.0, 30.0).unwrap();
    let mut trace = EchemTrace::default();
    let mut t0 = 0.0;
    let mut bounds = Vec::new();
    for (k, &(dur, cur)) in segments.iter().enumerate() {
        let t_end: f64 = t0 + dur;
        let mut t = t0;
        // Both ends of every segment are logged (a step change is recorded at its instant,
        // as two records 1 ms apart).
        loop {
            trace.time_s.push(if t == t0 && k > 0 { t + 1e-3 } else { t });
            trace.current_ma.push(cur);
            trace.voltage_v.push(3.5 + 1e-5 * t);
            if t >= t_end {
                break;
            }
            t = (t + dt.sample(&mut rng)).min(t_end);
        }
        bounds.push((t0, t_end, cur));
        t0 = t_end;
    }
    (trace, bounds)
}

/// x(t) of the protocol, from the specific capacity written the battery way: 1 Li per formula
/// unit is F/(3.6·M) mAh/g, and I·t/3.6 in mAh (I in mA, t in s) over m in g.
fn x_true(t: f64, bounds: &[(f64, f64, f64)], x0: f64, m_mg: f64, molar: f64) -> f64 {
    let mah_per_g_per_li = FARADAY_C_PER_MOL / (3.6 * molar);
    let mut q_mah = 0.0;
    for &(a, b, cur) in bounds {
        let hi = t.min(b);
        if hi > a {
            q_mah += cur * (hi - a) / 3600.0;
        }
    }
    x0 - q_mah / (m_mg * 1e-3) / mah_per_g_per_li
}

#[test]
fn lithium_content_is_exact_for_constant_current() {
    // The seed's compound (0.4LTO–0.6LTNO, written Li1.17Ti0.58Ni0.25O2), 5 mg active,
    // C/10-like 20 mA/g → 0.1 mA.
    let molar = molar_mass_of_formula("Li1.17Ti0.58Ni0.25O2").unwrap();
    // IUPAC 2021: 1.17·6.94 + 0.58·47.867 + 0.25·58.6934 + 2·15.999 = 82.554 g/mol.
    assert!((molar - 82.554).abs() < 2e-3, "{molar}");
    let cell = CellSpec {
        active_mass_mg: 5.0,
        molar_mass_g_mol: molar,
        x0: 1.17,
        rest_threshold_ma: None,
    };
    let (trace, bounds) = constant_current_log(0.1, 7);
    // Scans: 10-minute exposures every 12 minutes over the whole protocol.
    let windows: Vec<ScanWindow> = (0..(100_800 / 720 - 1))
        .map(|k| ScanWindow { start_s: 30.0 + 720.0 * k as f64, end_s: 630.0 + 720.0 * k as f64 })
        .collect();
    let scans = scan_echem(&trace, &cell, &windows).unwrap();
    let mut worst: f64 = 0.0;
    for (w, s) in windows.iter().zip(&scans) {
        // x is linear in t inside a segment, so its window average is x at the mid time;
        // windows straddling a step are averaged by brute force.
        let n = 2000;
        let avg: f64 = (0..n)
            .map(|i| {
                let t = w.start_s + (w.end_s - w.start_s) * (i as f64 + 0.5) / n as f64;
                x_true(t, &bounds, 1.17, 5.0, molar)
            })
            .sum::<f64>()
            / n as f64;
        worst = worst.max((s.x_li - avg).abs());
    }
    assert!(worst < 1e-3, "x(Li) off by {worst}");
    assert!(worst < 1e-6, "x(Li) should be exact up to the 1 ms step records: {worst}");
    // 10 h at 0.1 mA on 5 mg of 82.554 g/mol removes 3.6 C × 82.554/(96485 × 0.005) = 0.6160 Li.
    let end_of_charge = scans.iter().rfind(|s| s.mid_time_s < 36_000.0).unwrap();
    assert!(
        (end_of_charge.x_li - (1.17 - 0.6160 * end_of_charge.mid_time_s / 36_000.0)).abs() < 2e-4
    );
    // States, cycles and segments.
    let at = |t: f64| {
        scans
            .iter()
            .min_by(|a, b| (a.mid_time_s - t).abs().total_cmp(&(b.mid_time_s - t).abs()))
            .unwrap()
    };
    assert_eq!(at(10_000.0).state, CurrentState::Charge);
    assert_eq!(at(40_000.0).state, CurrentState::Rest);
    assert_eq!(at(60_000.0).state, CurrentState::Discharge);
    assert_eq!(at(81_000.0).state, CurrentState::Rest);
    assert_eq!(at(90_000.0).state, CurrentState::Charge);
    assert_eq!(
        (at(10_000.0).cycle, at(60_000.0).cycle, at(81_000.0).cycle, at(90_000.0).cycle),
        (1, 1, 1, 2)
    );
    assert_eq!(at(10_000.0).segment, 0);
    assert!(at(90_000.0).segment > at(60_000.0).segment);
    assert!((at(10_000.0).current_ma - 0.1).abs() < 1e-12);
}

#[test]
fn lithium_content_rejects_bad_logs() {
    let cell = CellSpec {
        active_mass_mg: 5.0,
        molar_mass_g_mol: 81.68,
        x0: 1.17,
        rest_threshold_ma: None,
    };
    let mut log = EchemTrace {
        time_s: vec![0.0, 10.0, 5.0],
        voltage_v: vec![3.0; 3],
        current_ma: vec![0.1; 3],
        cycle: None,
    };
    let e = scan_echem(&log, &cell, &[ScanWindow { start_s: 0.0, end_s: 1.0 }]).unwrap_err();
    assert!(e.to_string().contains("not strictly increasing"), "{e}");
    log.time_s = vec![0.0, 10.0, 20.0];
    let e = scan_echem(&log, &cell, &[ScanWindow { start_s: 15.0, end_s: 30.0 }]).unwrap_err();
    assert!(e.to_string().contains("outside the cycler log"), "{e}");
    let bad = CellSpec { active_mass_mg: 0.0, ..cell };
    assert!(scan_echem(&log, &bad, &[ScanWindow { start_s: 1.0, end_s: 2.0 }]).is_err());
}

// ---------------------------------------------------------------- hysteresis

/// a(x) of the seed's Fig. 3d in shape: on charge a shrinks linearly from 4.140 Å (x = 1.17) to
/// 4.111 Å (x = 0.30); on discharge the lattice expands fast first (Ni reduction) and then
/// barely changes (O reduction): a_dis = 4.111 + 0.029·√u, u = (x − 0.30)/0.87.
fn a_charge(x: f64) -> f64 {
    4.111 + 0.029 * (x - 0.30) / 0.87
}
fn a_discharge(x: f64) -> f64 {
    4.111 + 0.029 * ((x - 0.30) / 0.87).max(0.0).sqrt()
}

struct SimLoop {
    x: Vec<f64>,
    a: Vec<f64>,
    esd: Vec<f64>,
    state: Vec<CurrentState>,
    cycle: Vec<u32>,
}

fn simulated_loop(n_branch: usize, sigma: f64, seed: u64) -> SimLoop {
    let mut rng = Pcg64::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).unwrap();
    let mut s = SimLoop { x: vec![], a: vec![], esd: vec![], state: vec![], cycle: vec![] };
    for k in 0..n_branch {
        let x = 1.17 - 0.87 * k as f64 / (n_branch - 1) as f64;
        s.x.push(x);
        s.a.push(a_charge(x) + noise.sample(&mut rng));
        s.state.push(CurrentState::Charge);
    }
    for k in 0..5 {
        s.x.push(0.30);
        s.a.push(4.111 + 0.001 * k as f64);
        s.state.push(CurrentState::Rest); // a rest with relaxation: not part of a branch
    }
    for k in 0..n_branch {
        let x = 0.30 + 0.87 * k as f64 / (n_branch - 1) as f64;
        s.x.push(x);
        s.a.push(a_discharge(x) + noise.sample(&mut rng));
        s.state.push(CurrentState::Discharge);
    }
    s.esd = vec![sigma; s.x.len()];
    s.cycle = vec![1; s.x.len()];
    s
}

fn input(s: &SimLoop) -> HysteresisInput<'_> {
    HysteresisInput { abscissa: &s.x, value: &s.a, esd: &s.esd, state: &s.state, cycle: &s.cycle }
}

#[test]
fn hysteresis_recovers_the_simulated_inversion() {
    let sigma = 2e-4;
    let s = simulated_loop(120, sigma, 11);
    let report = hysteresis(&input(&s), &HysteresisOptions { grid_points: 201 }).unwrap();
    assert_eq!(report.cycles.len(), 1);
    let c = &report.cycles[0];
    assert_eq!((c.n_charge, c.n_discharge), (120, 120));
    assert!(!c.x_increases_on_charge);
    // Δa(x) against the analytic difference, point by point (noise + interpolation error,
    // which is largest near x = 0.30 where √u is steep: skip the first 2 % of the range).
    let mut chi = 0.0;
    let mut m = 0;
    for ((x, d), e) in c.grid.iter().zip(&c.delta).zip(&c.delta_esd) {
        let truth = a_discharge(*x) - a_charge(*x);
        if *x > 0.32 {
            assert!((d - truth).abs() < 4.0 * e + 1e-5, "x = {x}: {d} vs {truth} ± {e}");
            chi += ((d - truth) / e).powi(2);
            m += 1;
        }
    }
    assert!(chi / (m as f64) < 2.0, "mean z² {}", chi / m as f64);
    // Maximum of √u − u at u = 1/4: x = 0.30 + 0.87/4 = 0.5175, Δa = 0.029/4 = 0.00725 Å.
    assert!(
        (c.delta_max.value - 0.00725).abs() < 3.0 * c.delta_max.esd.unwrap() + 1e-5,
        "{}",
        c.delta_max
    );
    assert!((c.delta_max_at - 0.5175).abs() < 0.06, "{}", c.delta_max_at);
    // Area ∫(√u − u)·0.029 dx = 0.029·0.87·(2/3 − 1/2) = 0.004205 Å (loop = area for x).
    let area = 0.029 * 0.87 / 6.0;
    let e = c.area.esd.unwrap();
    assert!((c.area.value - area).abs() < 3.0 * e + 2e-5, "{} vs {area}", c.area);
    assert_eq!(c.loop_area.value, c.area.value);
}

#[test]
fn hysteresis_area_esd_matches_monte_carlo() {
    // The propagated esd of the area against the scatter of 300 realisations.
    let sigma = 3e-4;
    let mut areas = Vec::new();
    let mut esd = 0.0;
    for seed in 0..300 {
        let s = simulated_loop(40, sigma, 1000 + seed);
        let r = hysteresis(&input(&s), &HysteresisOptions::default()).unwrap();
        areas.push(r.cycles[0].area.value);
        esd = r.cycles[0].area.esd.unwrap();
    }
    let mean = areas.iter().sum::<f64>() / areas.len() as f64;
    let sd =
        (areas.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (areas.len() - 1) as f64).sqrt();
    // The sample sd of 300 draws is within ±12 % of σ at ~3σ.
    assert!((sd / esd - 1.0).abs() < 0.12, "MC sd {sd} vs propagated {esd}");
}

#[test]
fn hysteresis_against_voltage_has_the_opposite_loop_sign() {
    let s = simulated_loop(60, 1e-4, 3);
    // Voltage rising on charge (3.0 → 4.8 V), a hysteretic path back on discharge.
    let v: Vec<f64> =
        s.x.iter()
            .zip(&s.state)
            .map(|(x, st)| match st {
                CurrentState::Discharge => 4.8 - 2.8 * (x - 0.30) / 0.87,
                _ => 4.8 - 1.8 * (x - 0.30) / 0.87,
            })
            .collect();
    let inp = HysteresisInput { abscissa: &v, ..input(&s) };
    let r = hysteresis(&inp, &HysteresisOptions::default()).unwrap();
    let c = &r.cycles[0];
    assert!(c.x_increases_on_charge);
    assert_eq!(c.loop_area.value, -c.area.value);
    // Overlap of 3.0..4.8 (charge) and 2.0..4.8 (discharge).
    assert!((c.grid[0] - 3.0).abs() < 1e-6 && (c.grid[c.grid.len() - 1] - 4.8).abs() < 1e-6);
}

#[test]
fn hysteresis_without_both_branches_says_why() {
    let mut s = simulated_loop(10, 1e-4, 1);
    for st in &mut s.state {
        if *st == CurrentState::Discharge {
            *st = CurrentState::Rest;
        }
    }
    let e = hysteresis(&input(&s), &HysteresisOptions::default()).unwrap_err().to_string();
    assert!(e.contains("cycle 1") && e.contains("0 on discharge"), "{e}");
}

// ---------------------------------------------------------------- relaxation

struct Relax {
    t: Vec<f64>,
    a: Vec<f64>,
    s: Vec<f64>,
}

fn simulate(f: impl Fn(f64) -> f64, n: usize, t_end: f64, sigma: f64, seed: u64) -> Relax {
    let mut rng = Pcg64::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).unwrap();
    let t: Vec<f64> = (0..n).map(|i| t_end * (i as f64 + 0.5) / n as f64).collect();
    let a = t.iter().map(|&t| f(t) + noise.sample(&mut rng)).collect();
    Relax { t, a, s: vec![sigma; n] }
}

/// KWW of the seed's in-electrolyte relaxation in shape: a grows from ≈4.111 Å toward 4.125 Å.
fn kww(t: f64) -> f64 {
    4.125 - 0.014 * (-(t / 3600.0).powf(0.5)).exp()
}

#[test]
fn kww_tau_and_beta_recovered_within_esds_and_aicc_prefers_kww() {
    // 20 h of 10-minute scans, esd 1e-4 Å.
    let r = simulate(kww, 120, 72_000.0, 1e-4, 42);
    let f = fit_relaxation(&r.t, &r.a, &r.s, RelaxModel::Kww).unwrap();
    let (tau, beta) = (f.tau_s, f.beta.unwrap());
    assert!((tau.value - 3600.0).abs() < 2.0 * tau.esd.unwrap(), "τ = {tau}");
    assert!((beta.value - 0.5).abs() < 2.0 * beta.esd.unwrap(), "β = {beta}");
    assert!((f.a_inf.value - 4.125).abs() < 3.0 * f.a_inf.esd.unwrap());
    assert!((f.delta.value - 0.014).abs() < 3.0 * f.delta.esd.unwrap());
    // ⟨τ⟩ = (τ/β)Γ(1/β) = 2τ·Γ(2) = 7200 s for β = 1/2.
    assert!((f.tau_mean_s.value - 7200.0).abs() < 3.0 * f.tau_mean_s.esd.unwrap());
    assert!(f.chi2_reduced > 0.7 && f.chi2_reduced < 1.4, "{}", f.chi2_reduced);
    let sel = fit_relaxation_auto(&r.t, &r.a, &r.s).unwrap();
    assert_eq!(
        sel.best.model,
        RelaxModel::Kww,
        "{:?}",
        sel.candidates.iter().map(|c| (c.model, c.aicc)).collect::<Vec<_>>()
    );
    let exp = sel.candidates.iter().find(|c| c.model == RelaxModel::Exp).unwrap();
    assert!(exp.aicc.unwrap() - sel.best.aicc.unwrap() > 10.0);
}

#[test]
fn kww_esds_are_calibrated() {
    // Over 60 seeded realisations, the fraction of |τ̂ − τ| < σ̂ (and β) is near 68 %
    // (binomial sd for 60 draws: 6 %; accept 50–85 %).
    let (mut in_tau, mut in_beta) = (0, 0);
    let n = 60;
    for seed in 0..n {
        let r = simulate(kww, 80, 54_000.0, 2e-4, 500 + seed);
        let f = fit_relaxation(&r.t, &r.a, &r.s, RelaxModel::Kww).unwrap();
        in_tau += usize::from((f.tau_s.value - 3600.0).abs() < f.tau_s.esd.unwrap());
        let b = f.beta.unwrap();
        in_beta += usize::from((b.value - 0.5).abs() < b.esd.unwrap());
    }
    for (name, k) in [("τ", in_tau), ("β", in_beta)] {
        let frac = k as f64 / n as f64;
        assert!((0.5..=0.85).contains(&frac), "{name}: {frac}");
    }
}

#[test]
fn single_exponential_is_recovered_and_chosen() {
    let f_true = |t: f64| 4.130 - 0.010 * (-t / 5000.0).exp();
    let r = simulate(f_true, 60, 30_000.0, 1e-4, 9);
    let sel = fit_relaxation_auto(&r.t, &r.a, &r.s).unwrap();
    assert_eq!(sel.best.model, RelaxModel::Exp);
    let f = &sel.best;
    assert!((f.tau_s.value - 5000.0).abs() < 3.0 * f.tau_s.esd.unwrap(), "{}", f.tau_s);
    assert_eq!(f.beta.unwrap().value, 1.0);
    let w: f64 = sel.weights.iter().sum();
    assert!((w - 1.0).abs() < 1e-12);
}

#[test]
fn biexponential_components_are_recovered() {
    let f_true = |t: f64| 4.125 - 0.006 * (-t / 600.0).exp() - 0.010 * (-t / 8000.0).exp();
    let r = simulate(f_true, 200, 40_000.0, 5e-5, 77);
    let f = fit_relaxation(&r.t, &r.a, &r.s, RelaxModel::Biexp).unwrap();
    let c = &f.components;
    assert!(c[0].tau_s.value < c[1].tau_s.value);
    for (comp, (d, tau)) in c.iter().zip([(0.006, 600.0), (0.010, 8000.0)]) {
        assert!((comp.tau_s.value - tau).abs() < 3.0 * comp.tau_s.esd.unwrap(), "{:?}", comp);
        assert!((comp.delta.value - d).abs() < 3.0 * comp.delta.esd.unwrap(), "{:?}", comp);
    }
    assert!((f.delta.value - 0.016).abs() < 3.0 * f.delta.esd.unwrap());
    // ⟨τ⟩ = (0.006·600 + 0.010·8000)/0.016 = 5225 s.
    assert!((f.tau_mean_s.value - 5225.0).abs() < 3.0 * f.tau_mean_s.esd.unwrap());
    let sel = fit_relaxation_auto(&r.t, &r.a, &r.s).unwrap();
    assert_eq!(sel.best.model, RelaxModel::Biexp);
    // The prediction follows the truth.
    for &t in &[0.0, 1000.0, 20_000.0] {
        assert!((f.predict(t) - f_true(t)).abs() < 1e-4);
    }
}

#[test]
fn relaxation_bad_input_gives_clear_errors() {
    let r = simulate(kww, 30, 10_000.0, 1e-4, 1);
    let msg = |e: bragg_refine::Error| e.to_string();
    let e = msg(fit_relaxation(&[], &[], &[], RelaxModel::Exp).unwrap_err());
    assert!(e.contains("holds no points"), "{e}");
    let e = msg(fit_relaxation(&r.t[..3], &r.a[..3], &r.s[..3], RelaxModel::Kww).unwrap_err());
    assert!(e.contains("3 points") && e.contains("at least 5"), "{e}");
    let e = msg(fit_relaxation_auto(&r.t[..5], &r.a[..5], &r.s[..5]).unwrap_err());
    assert!(e.contains("at least 6"), "{e}");
    let mut s = r.s.clone();
    s[4] = 0.0;
    let e = msg(fit_relaxation(&r.t, &r.a, &s, RelaxModel::Exp).unwrap_err());
    assert!(e.contains("esd 0") && e.contains("point 4"), "{e}");
    let mut t = r.t.clone();
    t.swap(7, 8);
    let e = msg(fit_relaxation(&t, &r.a, &r.s, RelaxModel::Exp).unwrap_err());
    assert!(e.contains("not strictly increasing"), "{e}");
    let t: Vec<f64> = r.t.iter().map(|t| t - 500.0).collect();
    let e = msg(fit_relaxation(&t, &r.a, &r.s, RelaxModel::Kww).unwrap_err());
    assert!(e.contains("before the start of the rest"), "{e}");
}

// ---------------------------------------------------------------- Arrhenius

#[test]
fn arrhenius_activation_energy_recovered() {
    // Ea = 0.80 eV, τ0 = 1e-9 s, 25–140 °C as in the seed's heating series (Fig. 4a).
    let (ea, tau0) = (0.80, 1e-9);
    let temps = [298.15, 313.15, 328.15, 343.15, 373.15, 393.15, 413.15];
    let exact: Vec<ArrheniusPoint> = temps
        .iter()
        .map(|&t| ArrheniusPoint {
            temperature_k: t,
            tau_s: tau0 * (ea / (BOLTZMANN_EV_PER_K * t)).exp(),
            tau_s_esd: 1.0,
        })
        .map(|p| ArrheniusPoint { tau_s_esd: 0.05 * p.tau_s, ..p })
        .collect();
    let f = arrhenius_fit(&exact).unwrap();
    assert!((f.ea_ev.value - ea).abs() < 1e-10);
    assert!((f.tau0_s.value / tau0 - 1.0).abs() < 1e-8);
    // 0.80 eV × 96.485 kJ/mol/eV = 77.188 kJ/mol.
    assert!((f.ea_kj_mol.value - 77.188).abs() < 1e-3);
    assert!((KJ_PER_MOL_PER_EV - 96.485).abs() < 1e-3);
    // With 5 % noise on τ.
    let mut rng = Pcg64::seed_from_u64(2024);
    let noise = Normal::new(0.0, 0.05).unwrap();
    let noisy: Vec<ArrheniusPoint> = exact
        .iter()
        .map(|p| ArrheniusPoint { tau_s: p.tau_s * (1.0 + noise.sample(&mut rng)), ..*p })
        .collect();
    let f = arrhenius_fit(&noisy).unwrap();
    assert!((f.ea_ev.value - ea).abs() < 3.0 * f.ea_ev.esd.unwrap(), "{}", f.ea_ev);
    assert!(f.ea_ev.esd.unwrap() < 0.02);
    assert!(f.correlation > 0.9 || f.correlation < -0.9);
    // One temperature only: a clear error.
    let e = arrhenius_fit(&noisy[..1]).unwrap_err().to_string();
    assert!(e.contains("two or more temperatures"), "{e}");
}
