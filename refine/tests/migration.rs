#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use bragg_crystal::element::Species;
use bragg_crystal::examples::ltno_synchrotron_model;
use bragg_crystal::pattern::{simulate, PatternModel, TwoThetaRange};
use bragg_crystal::structure::{Occupant, Site};
use bragg_refine::{Constraint, FitOptions, Observations, ParamKey, Refinement};
use common::*;
use rayon::prelude::*;

fn model(occ8c: f64, scale: f64) -> PatternModel {
    let mut m = ltno_synchrotron_model().unwrap();
    let ph = &mut m.phases[0].phase;
    let t1 = Site::at_wyckoff(
        "T1",
        &ph.space_group,
        'c',
        [0.0; 3],
        vec![Occupant { species: Species::parse("Ni").unwrap(), occupancy: occ8c }],
        0.5,
    )
    .unwrap();
    ph.sites[0].occupants[2].occupancy = (0.5 - 8.0 * occ8c) / 4.0;
    ph.sites.push(t1);
    ph.validate().unwrap();
    m.phases[0].scale = scale;
    m
}

#[test]
fn explore() {
    let scale: f64 = std::env::var("SCALE").map(|s| s.parse().unwrap()).unwrap_or(0.01);
    let n: u64 = std::env::var("N").map(|s| s.parse().unwrap()).unwrap_or(8);
    let tie = std::env::var("TIE").is_ok();
    let occ = 0.015 * 0.5 / 8.0;
    let truth = model(occ, scale);
    let grid = TwoThetaRange::new(2.0, 40.0, 0.001).unwrap().points();
    let y = simulate(&truth, &grid).unwrap().total;
    eprintln!("max {}", y.iter().cloned().fold(0.0, f64::max));
    let t0 = std::time::Instant::now();
    let res: Vec<_> = (0..n)
        .into_par_iter()
        .map(|seed| {
            let yo = poisson(&y, 77 + seed);
            let obs = Observations::new(&grid, &yo, None, None, &[]).unwrap();
            let mut r = Refinement::new(model(0.0, scale), obs).unwrap();
            r.constraints.push(Constraint::ConserveSpecies {
                phase: "LTNO".into(),
                species: "Ni".into(),
                sites: vec!["M1".into(), "T1".into()],
            });
            let mut l = vec![
                "LTNO.scale",
                "LTNO.cell.a",
                "inst.zero",
                "inst.W",
                "LTNO.M1.biso",
                "LTNO.O1.biso",
                "LTNO.M1.occ.Ni",
                "LTNO.T1.occ.Ni",
                "bkg.0",
                "bkg.1",
                "bkg.2",
                "bkg.3",
                "bkg.4",
                "bkg.5",
            ];
            if tie {
                l.push("LTNO.T1.biso");
                r.constraints.push(Constraint::Linear {
                    terms: vec![
                        ("LTNO.M1.biso".parse::<ParamKey>().unwrap(), 1.0),
                        ("LTNO.T1.biso".parse().unwrap(), -1.0),
                    ],
                });
            }
            r.refine(&keys(&l), true).unwrap();
            let t = std::time::Instant::now();
            let out = r.fit(FitOptions::default()).unwrap();
            let t1 = param(&r, "LTNO.T1.occ.Ni").clone();
            let m1 = param(&r, "LTNO.M1.occ.Ni").clone();
            eprintln!(
                "{:?} {} {:?} gof {:.4} T1 {} ± {:?} M1 {} ± {:?} sum {} Bm {} Bt {}",
                out.termination,
                out.evaluations,
                t.elapsed(),
                out.statistics.gof,
                t1.value,
                t1.esd,
                m1.value,
                m1.esd,
                4.0 * m1.value + 8.0 * t1.value,
                param(&r, "LTNO.M1.biso").value,
                r.model.phases[0].phase.sites[2].biso
            );
            (t1.value - occ) / t1.esd.unwrap()
        })
        .collect();
    eprintln!("total {:?}", t0.elapsed());
    let (m, s) = mean_sd(&res);
    eprintln!("z mean {m} sd {s}");
}
