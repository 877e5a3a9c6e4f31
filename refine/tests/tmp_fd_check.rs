#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use bragg_crystal::pattern::{Evaluator, Instrument, PatternModel, PhaseContribution, Target};
use nalgebra::DMatrix;
#[test]
fn fd() {
    let d = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/seq-cucr2o4-11bm/");
    let scan = bragg_io::read_powder(std::path::Path::new(&format!("{d}OH_00.fxye"))).unwrap();
    let mut phases = Vec::new();
    for f in ["CuCr2O4.cif", "CuO.cif"] {
        let b = bragg_io::read_cif(std::path::Path::new(&format!("{d}{f}"))).unwrap();
        let mut p = b[0].phase.clone();
        p.name = f.trim_end_matches(".cif").into();
        for s in &p.sites { eprintln!("{} {:?} biso {}", s.label, s.position, s.biso); }
        phases.push(PhaseContribution::new(p, 5.8e-7));
    }
    let model = PatternModel { instrument: Instrument::synchrotron(0.413263).unwrap(), phases, background: bragg_crystal::background::ChebyshevBackground::new(vec![12.0], 0.5, 26.1).unwrap() };
    let grid: Vec<f64> = scan.data.two_theta_deg.iter().copied().filter(|t| *t > 5.0).collect();
    let ev = Evaluator::new(&model, &grid).unwrap();
    let t = [Target::Scale { phase: 0 }];
    let mut j = DMatrix::zeros(grid.len(), 1);
    let e0 = ev.evaluate(&model, &t, Some(&mut j)).unwrap();
    let mut m2 = model.clone();
    let h = 5.8e-10;
    m2.set(t[0], 5.8e-7 + h).unwrap();
    let e1 = ev.evaluate(&m2, &[], None).unwrap();
    let mut worst = 0.0f64; let mut k0 = 0;
    for k in 0..grid.len() { let fd = (e1.total[k]-e0.total[k])/h; let r = (fd - j[(k,0)]).abs()/(fd.abs()+1e-3*j.amax()); if r > worst { worst = r; k0 = k; } }
    eprintln!("worst rel {worst} at {} fd {} an {}", grid[k0], (e1.total[k0]-e0.total[k0])/h, j[(k0,0)]);
    let ph: f64 = e0.total.iter().sum::<f64>();
    eprintln!("sum {ph}, finite {}", e0.total.iter().all(|v| v.is_finite()));
}
#[test]
fn scale_fit() {
    let d = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/seq-cucr2o4-11bm/");
    let scan = bragg_io::read_powder(std::path::Path::new(&format!("{d}OH_00.fxye"))).unwrap();
    let mut phases = Vec::new();
    for f in ["CuCr2O4.cif", "CuO.cif"] {
        let b = bragg_io::read_cif(std::path::Path::new(&format!("{d}{f}"))).unwrap();
        let mut p = b[0].phase.clone();
        p.name = f.trim_end_matches(".cif").into();
        phases.push(PhaseContribution::new(p, 5.8e-7));
    }
    let model = PatternModel { instrument: Instrument::synchrotron(0.413263).unwrap(), phases, background: bragg_crystal::background::ChebyshevBackground::new(vec![12.0, 0.0, 0.0], 5.0, 26.1).unwrap() };
    let dd = &scan.data;
    let obs = bragg_refine::Observations::new(&dd.two_theta_deg, &dd.intensity, dd.esd.as_deref(), Some((5.0, 26.0)), &[]).unwrap();
    let mut r = bragg_refine::Refinement::new(model, obs).unwrap();
    for bounds in [false, true] {
        if bounds { bragg_refine::strategy::apply_default_bounds(&mut r); }
        r.fix_all();
        r.refine(&["CuCr2O4.scale".parse().unwrap()], true).unwrap();
        let out = r.fit(bragg_refine::FitOptions::default()).unwrap();
        eprintln!("bounds {bounds}: {:?} rwp {} evals {} scale {}", out.termination, out.statistics.rwp, out.evaluations, r.parameters[0].value);
    }
}
