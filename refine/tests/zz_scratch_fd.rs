#![allow(clippy::unwrap_used)]
use bragg_crystal::background::ChebyshevBackground;
use bragg_crystal::instrument::{MarchDollase, Radiation};
use bragg_crystal::pattern::{Evaluator, Instrument, PatternModel, PhaseContribution, Target};
use bragg_crystal::{Cell, Occupant, Phase, Site, SpaceGroup, Species};
#[test]
fn fd_check() {
    let g = SpaceGroup::from_symbol("R-3m").unwrap();
    let occ = |s: &str| vec![Occupant { species: Species::parse(s).unwrap(), occupancy: 1.0 }];
    let sites = vec![
        Site::at_wyckoff("Li1", &g, 'b', [0.0; 3], occ("Li"), 2.0).unwrap(),
        Site::at_wyckoff("Co1", &g, 'a', [0.0; 3], occ("Co"), 0.3).unwrap(),
        Site::at_wyckoff("O1", &g, 'c', [0.0, 0.0, 0.252], occ("O"), 0.5).unwrap(),
    ];
    let phase =
        Phase::new("LCO", Cell::new(2.814, 2.814, 14.048, 90.0, 90.0, 120.0).unwrap(), g, sites)
            .unwrap();
    let mut pc = PhaseContribution::new(phase, 0.01);
    pc.preferred_orientation = Some(MarchDollase { axis_hkl: [0, 0, 1], r: 0.88 });
    let model = PatternModel {
        instrument: Instrument::lab_bragg_brentano(
            Radiation::from_name_with_ratio("CuKa", 0.514).unwrap(),
        ),
        phases: vec![pc],
        background: ChebyshevBackground::new(vec![400.0], 15.0, 136.0).unwrap(),
    };
    let grid: Vec<f64> = (0..4000).map(|i| 16.0 + 0.03 * i as f64).collect();
    let ev = Evaluator::new(&model, &grid).unwrap();
    let targets = [
        Target::Coordinate { phase: 0, site: 2, free: 0 },
        Target::Biso { phase: 0, site: 2 },
        Target::Biso { phase: 0, site: 0 },
        Target::Scale { phase: 0 },
    ];
    let mut j = nalgebra::DMatrix::zeros(grid.len(), targets.len());
    ev.evaluate(&model, &targets, Some(&mut j)).unwrap();
    for (c, t) in targets.iter().enumerate() {
        let v = model.get(*t).unwrap();
        let h = 1e-6 * v.abs().max(1e-3);
        let mut m2 = model.clone();
        m2.set(*t, v + h).unwrap();
        let e2 = ev.evaluate(&m2, &[], None).unwrap();
        let mut m3 = model.clone();
        m3.set(*t, v - h).unwrap();
        let e3 = ev.evaluate(&m3, &[], None).unwrap();
        let (mut num, mut maxfd, mut maxan) = (0.0f64, 0.0f64, 0.0f64);
        for i in 0..grid.len() {
            let fd = (e2.total[i] - e3.total[i]) / (2.0 * h);
            num = num.max((fd - j[(i, c)]).abs());
            maxfd = maxfd.max(fd.abs());
            maxan = maxan.max(j[(i, c)].abs());
        }
        println!("{t:?}: value {v}, max|fd-an| {num:e}, max|fd| {maxfd:e}, max|an| {maxan:e}");
    }
}
