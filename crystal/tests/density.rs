#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Oxygen-loss models (vacancy vs densified) against the seed paper's numbers, analytic
//! identities, an independent density implementation (`Phase::density`) and finite
//! differences; the fit of the densified fraction against closed forms; bad input.

use bragg_crystal::density::{
    compare, li_extraction_capacity, xray_density, CellVolume, Composition, Estimate, Measurements,
    Observable, OxygenLoss, OxygenLossModels, Sample, Verdict, FARADAY,
};
use bragg_crystal::examples::ltno_rock_salt;
use bragg_crystal::{Element, Error};

/// The seed paper's pristine LMR-NMC (Csernica et al., "Persistent and partially mobile oxygen
/// vacancies in Li-rich layered oxides", abstract and Fig. 3).
const LMR: &str = "Li1.18Ni0.21Mn0.53Co0.08O2";

/// The main text gives no cell volume: a typical LMR-NMC cell in R-3m on hexagonal axes,
/// a = 2.85 Å, c = 14.24 Å (V = √3/2·a²·c = 100.168 Å³), Z = 3 formula units of MO2.
fn lmr_cell(esd: f64) -> CellVolume {
    let v = 3f64.sqrt() / 2.0 * 2.85 * 2.85 * 14.24;
    CellVolume { volume: Estimate::new(v, esd), z: 3.0 }
}

/// IUPAC 2021 abridged standard atomic weights (Prohaska et al., Pure Appl. Chem. 94, 573
/// (2022)), written out here independently of the crate's table.
const M_LI: f64 = 6.94;
const M_NI: f64 = 58.6934;
const M_MN: f64 = 54.938043;
const M_CO: f64 = 58.933194;
const M_O: f64 = 15.999;
const M_TI: f64 = 47.867;
const N_A: f64 = 6.022_140_76e23;

fn models(delta: f64) -> OxygenLossModels {
    let p = Composition::parse(LMR).unwrap();
    OxygenLossModels::new(&p, OxygenLoss::Delta(Estimate::exact(delta))).unwrap()
}

fn el(s: &str) -> Element {
    Element::from_symbol(s).unwrap()
}

#[test]
fn parses_formulas() {
    let c = Composition::parse(LMR).unwrap();
    assert_eq!(c.amount(el("Li")), 1.18);
    assert_eq!(c.amount(el("Mn")), 0.53);
    assert_eq!(c.amount(el("O")), 2.0);
    assert_eq!(c.to_string(), LMR);
    // Groups, brackets, multipliers, spaces and repeated elements.
    let g = Composition::parse("Li[Li0.2Ni0.2Mn0.6]O2").unwrap();
    assert!((g.amount(el("Li")) - 1.2).abs() < 1e-12);
    let h = Composition::parse("Li1.2 (Ni0.5Mn1.5)0.4 O2").unwrap();
    assert!((h.amount(el("Mn")) - 0.6).abs() < 1e-12);
    assert_eq!(Composition::parse("LiCoO2").unwrap().amount(el("Co")), 1.0);
    // Molar mass of LiCoO2 by hand from the IUPAC values above.
    let m = Composition::parse("LiCoO2").unwrap().molar_mass().unwrap();
    assert!((m - (M_LI + M_CO + 2.0 * M_O)).abs() < 1e-9);
}

#[test]
fn bad_formulas_are_named() {
    assert_eq!(
        Composition::parse("LiXxO2").unwrap_err(),
        Error::UnknownElement { symbol: "Xx".into() }
    );
    for bad in ["Li1.2(NiO2", "Li1..2O2", "li2O", "Li2O)", "", "Li-0.1O2", "()"] {
        let e = Composition::parse(bad).unwrap_err();
        assert!(matches!(e, Error::Model(_) | Error::UnknownElement { .. }), "{bad}: {e}");
    }
    let e = Composition::parse("Li1.2(NiO2").unwrap_err().to_string();
    assert!(e.contains("missing ')'"), "{e}");
}

#[test]
fn seed_paper_lmr_after_500_cycles() {
    // Seed paper, "The existence of bulk oxygen vacancies": vacancy structure
    // [Li1.18TM0.82][O1.87□0.13] with Li:TM 1.44, densified [Li1.06TM0.94][O2] with Li:TM 1.12,
    // the same average TM oxidation state in both, densities "differing by nearly 10 %".
    let m = models(0.13);
    let vac = m.vacancy().unwrap();
    let den = m.densified().unwrap();
    let tm = |c: &Composition| c.amount(el("Ni")) + c.amount(el("Mn")) + c.amount(el("Co"));
    assert!((vac.amount(el("O")) - 1.87).abs() < 1e-12);
    assert!((tm(&vac) - 0.82).abs() < 1e-12);
    assert!((den.amount(el("Li")) - 1.06).abs() < 0.005, "{den}");
    assert!((tm(&den) - 0.94).abs() < 0.005, "{den}");
    assert_eq!(den.amount(el("O")), 2.0);
    // Full cation sublattice and TM proportions of the pristine material.
    assert!((den.amount(el("Li")) + tm(&den) - 2.0).abs() < 1e-12);
    assert!((den.amount(el("Mn")) / tm(&den) - 0.53 / 0.82).abs() < 1e-12);

    let cell = lmr_cell(0.0);
    let pv = m.predict(0.0, &cell, None).unwrap();
    let pd = m.predict(1.0, &cell, None).unwrap();
    assert_eq!(format!("{:.2}", pv.li_tm.value), "1.44");
    assert_eq!(format!("{:.2}", pd.li_tm.value), "1.12");
    // Same oxidation state by charge balance (Li⁺, O²⁻) in both structures.
    let v = pv.tm_oxidation.value;
    assert_eq!(pv.tm_oxidation, pd.tm_oxidation);
    assert!((1.18 + v * 0.82 - 2.0 * 1.87).abs() < 1e-12);
    assert!((den.amount(el("Li")) + v * tm(&den) - 4.0).abs() < 1e-12);
    // Densities about 10 % apart (9.6 % here, independent of V).
    let rel = pd.density.value / pv.density.value - 1.0;
    assert!((0.09..0.10).contains(&rel), "{rel}");

    // Densities by hand: ρ = Z·M/(N_A·V).
    let m_vac = 1.18 * M_LI + 0.21 * M_NI + 0.53 * M_MN + 0.08 * M_CO + 1.87 * M_O;
    let rho = 3.0 * m_vac / (N_A * cell.volume.value * 1e-24);
    assert!((pv.density.value - rho).abs() < 1e-9, "{} vs {rho}", pv.density.value);
    assert!((pv.molar_mass - m_vac).abs() < 1e-9);
    assert!((xray_density(3.0, m_vac, cell.volume.value).unwrap() - rho).abs() < 1e-12);
}

#[test]
fn capacities_follow_faraday_and_li_per_tm() {
    let m = models(0.13);
    let cell = lmr_cell(0.0);
    let m0 = 1.18 * M_LI + 0.21 * M_NI + 0.53 * M_MN + 0.08 * M_CO + 2.0 * M_O;
    // Pristine Li-extraction capacity x·F/(3.6·M) ≈ 366 mAh/g for all 1.18 Li.
    let q0 = m.predict_pristine(&cell).unwrap().capacity.value;
    assert!((q0 - 1.18 * 96_485.332_12 / (3.6 * m0)).abs() < 1e-9);
    assert!((q0 - 366.3).abs() < 0.1, "{q0}");
    assert!((li_extraction_capacity(1.18, m0) - q0).abs() < 1e-12);
    assert_eq!(FARADAY, 96_485.332_12);
    // Retention per gram of material as made: vacancy 1, densified (Li:TM)_d/(Li:TM)_0.
    let q_ref = Estimate::new(250.0, 5.0);
    let pv = m.predict(0.0, &cell, Some(q_ref)).unwrap();
    let pd = m.predict(1.0, &cell, Some(q_ref)).unwrap();
    assert!((pv.capacity_retention.value - 1.0).abs() < 1e-12);
    let r = pd.li_tm.value / (1.18 / 0.82);
    assert!((pd.capacity_retention.value - r).abs() < 1e-12);
    let e = pd.expected_capacity.unwrap();
    assert!((e.value - 250.0 * r).abs() < 1e-9);
    // Only Q_ref is uncertain here: σ = r·σ_ref.
    assert!((e.esd - 5.0 * r).abs() < 1e-9);
}

#[test]
fn mixture_interpolates_formulas_and_keeps_the_oxidation_state() {
    let m = models(0.13);
    let cell = lmr_cell(0.0);
    let (vac, den) = (m.vacancy().unwrap(), m.densified().unwrap());
    for f in [0.0, 0.15, 0.5, 0.8, 1.0] {
        let c = m.composition(f).unwrap();
        for &(e, x) in c.entries() {
            let want = (1.0 - f) * vac.amount(e) + f * den.amount(e);
            assert!((x - want).abs() < 1e-12, "{e} at f = {f}");
        }
        // Charge balance Li + v·TM = 2·O holds for every f with the same v.
        let v = m.tm_oxidation().value;
        let tm = c.amount(el("Ni")) + c.amount(el("Mn")) + c.amount(el("Co"));
        assert!((c.amount(el("Li")) + v * tm - 2.0 * c.amount(el("O"))).abs() < 1e-12);
        // Density is linear in f at fixed V; Li:TM is the ratio of the interpolated totals.
        let p = m.predict(f, &cell, None).unwrap();
        let (p0, p1) = (m.predict(0.0, &cell, None).unwrap(), m.predict(1.0, &cell, None).unwrap());
        let lin = (1.0 - f) * p0.density.value + f * p1.density.value;
        assert!((p.density.value - lin).abs() < 1e-12);
        assert!((p.li_tm.value - c.amount(el("Li")) / tm).abs() < 1e-12);
    }
    assert!(m.composition(1.2).is_err());
}

#[test]
fn oxidation_state_input_equals_delta_input() {
    let p = Composition::parse(LMR).unwrap();
    let by_delta = models(0.13);
    let v = by_delta.tm_oxidation().value;
    let by_v = OxygenLossModels::new(&p, OxygenLoss::TmOxidation(Estimate::new(v, 0.02))).unwrap();
    assert!((by_v.delta().value - 0.13).abs() < 1e-12);
    // σ_δ = T₀σ_v/2.
    assert!((by_v.delta().esd - 0.82 * 0.02 / 2.0).abs() < 1e-15);
    assert_eq!(by_v.vacancy().unwrap().to_string(), by_delta.vacancy().unwrap().to_string());
    // Pristine: v₀ = (4 − 1.18)/0.82.
    assert!((by_v.pristine_tm_oxidation() - 2.82 / 0.82).abs() < 1e-12);
}

#[test]
fn esds_from_volume_and_delta() {
    let p = Composition::parse(LMR).unwrap();
    // Volume only: σ_ρ = ρ·σ_V/V.
    let m = models(0.13);
    let cell = lmr_cell(0.05);
    let pr = m.predict(1.0, &cell, None).unwrap();
    assert!((pr.density.esd - pr.density.value * 0.05 / cell.volume.value).abs() < 1e-15);
    assert_eq!(pr.li_tm.esd, 0.0);
    // δ only: against central differences of the public predictions.
    let sd = 0.01;
    let m = OxygenLossModels::new(&p, OxygenLoss::Delta(Estimate::new(0.13, sd))).unwrap();
    let h = 1e-6;
    let at = |d: f64| models(d).predict(1.0, &lmr_cell(0.0), None).unwrap();
    let (lo, hi) = (at(0.13 - h), at(0.13 + h));
    let pr = m.predict(1.0, &lmr_cell(0.0), None).unwrap();
    let fd = |a: f64, b: f64| ((b - a) / (2.0 * h)).abs() * sd;
    assert!((pr.li_tm.esd - fd(lo.li_tm.value, hi.li_tm.value)).abs() < 1e-8);
    assert!((pr.density.esd - fd(lo.density.value, hi.density.value)).abs() < 1e-8);
    assert!((pr.capacity.esd - fd(lo.capacity.value, hi.capacity.value)).abs() < 1e-6);
    // Vacancy model: Li:TM does not depend on δ.
    assert_eq!(m.predict(0.0, &lmr_cell(0.0), None).unwrap().li_tm.esd, 0.0);
}

#[test]
fn rock_salt_from_refined_occupancies() {
    // LTNO (seed paper B. Li et al., Nat. Mater. 21, 1165 (2022)): Fm-3m, 4a Li 0.585 /
    // Ti 0.29 / Ni 0.125, O on 4b; per O2 (Z = 2): Li1.17Ti0.58Ni0.25O2.
    let phase = ltno_rock_salt(4.14, 0.5).unwrap();
    let c = Composition::from_phase(&phase).unwrap();
    assert!((c.amount(el("Li")) - 1.17).abs() < 1e-12);
    assert!((c.amount(el("Ti")) - 0.58).abs() < 1e-12);
    assert!((c.amount(el("Ni")) - 0.25).abs() < 1e-12);
    assert!((c.amount(el("O")) - 2.0).abs() < 1e-12);
    assert_eq!(c.to_string(), "Li1.17Ti0.58Ni0.25O2");
    let cell = CellVolume { volume: Estimate::exact(phase.cell.volume()), z: 2.0 };
    let m = OxygenLossModels::new(&c, OxygenLoss::Delta(Estimate::exact(0.05))).unwrap();
    // δ = 0 reproduces the independent Phase::density of the refined structure.
    let p0 = m.predict_pristine(&cell).unwrap();
    assert!((p0.density.value - phase.density().unwrap()).abs() < 1e-12);
    let m_ltno = 1.17 * M_LI + 0.58 * M_TI + 0.25 * M_NI + 2.0 * M_O;
    assert!((p0.molar_mass - m_ltno).abs() < 1e-9);
    // Vacancy and densified compositions by hand: v = (2·1.95 − 1.17)/0.83,
    // TM_d = 2/(v − 1), Li_d = 2 − TM_d.
    let v = (2.0 * 1.95 - 1.17) / 0.83;
    let t_d = 2.0 / (v - 1.0);
    let pd = m.predict(1.0, &cell, None).unwrap();
    assert!((pd.tm_oxidation.value - v).abs() < 1e-12);
    assert!((pd.li_tm.value - (2.0 - t_d) / t_d).abs() < 1e-12);
    let den = m.densified().unwrap();
    assert!((den.amount(el("Ti")) - 0.58 * t_d / 0.83).abs() < 1e-12);
    assert!(pd.density.value > m.predict(0.0, &cell, None).unwrap().density.value);
}

fn sample(delta: f64, cycle: f64, meas: Measurements) -> Sample {
    Sample { cycle, models: models(delta), cell: lmr_cell(0.0), measurements: meas }
}

#[test]
fn best_fraction_from_density_alone_is_the_closed_form() {
    // Density is linear in f: f̂ = (ρ − ρ_v)/(ρ_d − ρ_v), σ_f = σ_ρ/(ρ_d − ρ_v) exactly.
    let m = models(0.13);
    let cell = lmr_cell(0.0);
    let (rv, rd) = (
        m.predict(0.0, &cell, None).unwrap().density.value,
        m.predict(1.0, &cell, None).unwrap().density.value,
    );
    let rho = rv + 0.05 * (rd - rv);
    let meas = Measurements { density: Some(Estimate::new(rho, 0.02)), ..Default::default() };
    let c = compare(&[sample(0.13, 500.0, meas)], None).unwrap();
    let fit = c.fit.unwrap();
    assert!((fit.f.value - 0.05).abs() < 1e-9);
    assert!((fit.f.esd - 0.02 / (rd - rv)).abs() < 1e-12);
    assert_eq!(fit.dof, 0);
    // χ² of each model = z².
    let r = &c.residuals[0];
    assert!((c.chi2_vacancy - r.z_vacancy * r.z_vacancy).abs() < 1e-9);
    assert!((c.chi2_densified - r.z_densified * r.z_densified).abs() < 1e-9);
    assert!((r.z_vacancy - (rho - rv) / 0.02).abs() < 1e-9);
    // σ_f = 0.0494 → upper bound 0.05 + 1.645·0.0494 = 0.131 → 14 %.
    assert_eq!(c.verdict.to_string(), "vacancy model preferred, densification ≤ 14 %");
}

#[test]
fn model_esd_enters_chi_square() {
    // With σ_V, the density residual's variance is σ_meas² + (ρσ_V/V)².
    let m = models(0.13);
    let cell = lmr_cell(0.3);
    let pv = m.predict(0.0, &cell, None).unwrap();
    let meas = Measurements { density: Some(Estimate::new(4.3, 0.02)), ..Default::default() };
    let s = Sample { cycle: 1.0, models: m, cell, measurements: meas };
    let c = compare(&[s], None).unwrap();
    let var = 0.02f64.powi(2) + pv.density.esd.powi(2);
    assert!((c.chi2_vacancy - (4.3 - pv.density.value).powi(2) / var).abs() < 1e-9);
}

/// Measurements generated exactly at f = 0.15 on three cycles.
fn samples_at(f: f64, q_ref: Option<Estimate>) -> Vec<Sample> {
    [(100.0, 0.05), (300.0, 0.1), (500.0, 0.13)]
        .into_iter()
        .map(|(cycle, delta)| {
            let p = models(delta).predict(f, &lmr_cell(0.0), q_ref).unwrap();
            let meas = Measurements {
                density: Some(Estimate::new(p.density.value, 0.03)),
                li_tm: Some(Estimate::new(p.li_tm.value, 0.02)),
                capacity: p.expected_capacity.map(|q| Estimate::new(q.value, 5.0)),
            };
            sample(delta, cycle, meas)
        })
        .collect()
}

#[test]
fn nonlinear_fit_recovers_the_true_fraction() {
    // Li:TM is nonlinear in f. Without model esds C is diagonal and σ_f = (Σ (∂g/∂f)²/σ²)^(−½),
    // computed here from central differences of the public predictions.
    let samples = samples_at(0.15, None);
    let c = compare(&samples, None).unwrap();
    let fit = c.fit.unwrap();
    assert!((fit.f.value - 0.15).abs() < 1e-8, "{}", fit.f.value);
    assert!(fit.chi2 < 1e-12);
    assert_eq!((fit.dof, c.residuals.len()), (5, 6));
    let h = 1e-6;
    let mut info = 0.0;
    for delta in [0.05, 0.1, 0.13] {
        let a = models(delta).predict(0.15 - h, &lmr_cell(0.0), None).unwrap();
        let b = models(delta).predict(0.15 + h, &lmr_cell(0.0), None).unwrap();
        info += ((b.density.value - a.density.value) / (2.0 * h) / 0.03).powi(2)
            + ((b.li_tm.value - a.li_tm.value) / (2.0 * h) / 0.02).powi(2);
    }
    assert!((fit.f.esd * info.sqrt() - 1.0).abs() < 1e-6, "{} vs {}", fit.f.esd, info);
    assert!(c.chi2_densified > c.chi2_vacancy);
}

#[test]
fn capacity_with_shared_reference_error() {
    // Capacity adds information; the shared σ of Q_ref correlates the capacity rows.
    let q_ref = Estimate::new(250.0, 2.0);
    let with = compare(&samples_at(0.15, Some(q_ref)), Some(q_ref)).unwrap();
    let without = compare(&samples_at(0.15, None), None).unwrap();
    let (fw, fo) = (with.fit.unwrap(), without.fit.unwrap());
    assert!((fw.f.value - 0.15).abs() < 1e-8);
    assert!(fw.chi2 < 1e-12);
    assert!(fw.f.esd < fo.f.esd);
    assert!(with.residuals.iter().any(|r| r.observable == Observable::Capacity));
}

#[test]
fn verdict_rules() {
    assert_eq!(
        Verdict::from_fraction(0.05, 0.05).to_string(),
        "vacancy model preferred, densification ≤ 14 %"
    );
    assert_eq!(Verdict::from_fraction(-0.3, 0.05), Verdict::Vacancy { max_percent: 0 });
    assert_eq!(Verdict::from_fraction(0.95, 0.05), Verdict::Densified { min_percent: 86 });
    assert!(matches!(Verdict::from_fraction(0.5, 0.05), Verdict::Inconclusive { .. }));
    assert!(Verdict::from_fraction(0.4, 0.2).to_string().starts_with("inconclusive"));
    let none = compare(&[sample(0.13, 1.0, Measurements::default())], None).unwrap();
    assert_eq!(none.verdict, Verdict::NoMeasurements);
    let li = Measurements { li_tm: Some(Estimate::new(1.44, 0.02)), ..Default::default() };
    let flat = compare(&[sample(0.0, 1.0, li)], None).unwrap();
    assert_eq!(flat.verdict, Verdict::Undetermined);
}

#[test]
fn bad_input_is_rejected_with_a_reason() {
    let p = Composition::parse(LMR).unwrap();
    let err = |loss| OxygenLossModels::new(&p, loss).unwrap_err().to_string();
    let e = err(OxygenLoss::Delta(Estimate::exact(-0.05)));
    assert!(e.contains("δ") && e.contains("-0.05"), "{e}");
    // v above the pristine 3.44 (oxygen gain) or below 2 (more TMs than cation sites).
    let e = err(OxygenLoss::TmOxidation(Estimate::exact(3.6)));
    assert!(e.contains("impossible") && e.contains("3.4390"), "{e}");
    assert!(err(OxygenLoss::TmOxidation(Estimate::exact(1.8))).contains("impossible"));
    // δ so large that v < 2: δ ≤ 2 − (1.18 + 2·0.82)/2 = 0.59.
    let e = err(OxygenLoss::Delta(Estimate::exact(0.7)));
    assert!(e.contains("0.5900"), "{e}");
    assert!(err(OxygenLoss::Delta(Estimate::new(0.1, -0.01))).contains("esd"));
    // An element without a standard atomic weight (Tc) or that is no oxide cation (F).
    let tc = Composition::parse("Li1.2Tc0.8O2").unwrap();
    let e = OxygenLossModels::new(&tc, OxygenLoss::Delta(Estimate::exact(0.1))).unwrap_err();
    assert!(e.to_string().contains("Tc") && e.to_string().contains("atomic weight"), "{e}");
    assert!(tc.molar_mass().is_err());
    let f = Composition::parse("Li1.2Ni0.8O1.9F0.1").unwrap();
    let e = OxygenLossModels::new(&f, OxygenLoss::Delta(Estimate::exact(0.1))).unwrap_err();
    assert!(e.to_string().contains('F'), "{e}");
    let noli = Composition::parse("NiO").unwrap();
    assert!(OxygenLossModels::new(&noli, OxygenLoss::Delta(Estimate::exact(0.0))).is_err());
    // A measurement without uncertainty; a capacity without a reference capacity.
    let m = Measurements { density: Some(Estimate::exact(4.2)), ..Default::default() };
    let e = compare(&[sample(0.13, 500.0, m)], None).unwrap_err().to_string();
    assert!(e.contains("density") && e.contains("uncertainty"), "{e}");
    let m = Measurements { capacity: Some(Estimate::new(240.0, 5.0)), ..Default::default() };
    let e = compare(&[sample(0.13, 500.0, m)], None).unwrap_err().to_string();
    assert!(e.contains("reference"), "{e}");
    // Bad cells.
    let bad = CellVolume { volume: Estimate::exact(-1.0), z: 3.0 };
    assert!(models(0.1).predict(0.0, &bad, None).is_err());
    let bad = CellVolume { volume: Estimate::exact(100.0), z: 0.0 };
    assert!(models(0.1).predict(0.0, &bad, None).is_err());
}
