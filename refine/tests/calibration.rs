#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, TwoThetaRange};
use bragg_refine::{FitOptions, Observations, Refinement};
use common::*;
use rayon::prelude::*;

#[test]
fn explore() {
    let truth = ltno_synchrotron_model().unwrap();
    let step: f64 = std::env::var("STEP").map(|s| s.parse().unwrap()).unwrap_or(0.002);
    let n: u64 = std::env::var("N").map(|s| s.parse().unwrap()).unwrap_or(20);
    let grid = TwoThetaRange::new(2.0, 40.0, step).unwrap().points();
    let y = simulate(&truth, &grid).unwrap().total;
    let ymax = y.iter().cloned().fold(0.0, f64::max);
    eprintln!("points {} max {ymax}", grid.len());
    let list = keys(&[
        "LTNO.scale",
        "LTNO.cell.a",
        "inst.zero",
        "inst.W",
        "LTNO.M1.biso",
        "LTNO.O1.biso",
        "bkg.0",
        "bkg.1",
        "bkg.2",
        "bkg.3",
        "bkg.4",
        "bkg.5",
    ]);
    let t0 = std::time::Instant::now();
    let res: Vec<_> = (0..n)
        .into_par_iter()
        .map(|seed| {
            let yo = poisson(&y, 1000 + seed);
            let tw: Vec<f64> = y.iter().map(|v| v.sqrt()).collect();
            let obs = if std::env::var("TW").is_ok() {
                Observations::new(&grid, &yo, Some(&tw), None, &[]).unwrap()
            } else {
                Observations::new(&grid, &yo, None, None, &[]).unwrap()
            };
            let pert = if std::env::var("TS").is_ok() { 0.0 } else { 1.0 };
            let mut start = truth.clone();
            start.phases[0].phase.cell =
                bragg_crystal::Cell::cubic(4.14 * (1.0 + pert * 2e-6)).unwrap();
            start.phases[0].scale *= 1.0 + pert * 0.01;
            start.instrument.profile.w *= 1.0 + pert * 0.05;
            let mut r = Refinement::new(start, obs).unwrap();
            r.refine(&list, true).unwrap();
            let t = std::time::Instant::now();
            let out = r.fit(FitOptions::default()).unwrap();
            let el = t.elapsed();
            let vals: Vec<(f64, f64)> =
                ["LTNO.cell.a", "LTNO.scale", "LTNO.M1.biso", "LTNO.O1.biso", "inst.W", "bkg.0"]
                    .iter()
                    .map(|k| {
                        let p = param(&r, k);
                        (p.value, p.esd.unwrap())
                    })
                    .collect();
            (out.termination, out.evaluations, el, out.statistics.gof, vals)
        })
        .collect();
    eprintln!("total {:?}", t0.elapsed());
    let truths = [4.14, 0.01, 0.5, 0.5, 4e-5, 200.0];
    for (t, e, el, g, v) in &res[..5] {
        eprintln!("{t:?} {e} {el:?} gof {g:.4} {v:?}");
    }
    for (j, name) in ["a", "scale", "B_M", "B_O", "W", "bkg0"].iter().enumerate() {
        let z: Vec<f64> = res.iter().map(|r| (r.4[j].0 - truths[j]) / r.4[j].1).collect();
        let f = z.iter().filter(|v| v.abs() <= 1.0).count() as f64 / z.len() as f64;
        let (m, s) = mean_sd(&z);
        eprintln!("{name}: frac {f:.3} mean {m:.3} sd {s:.3}");
    }
}
