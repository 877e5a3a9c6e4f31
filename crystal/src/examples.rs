//! Reference models used by the demo, the tests and the benchmarks.
//!
//! The rock salt is the seed paper's cation-disordered Li1.17Ti0.58Ni0.25O2 (B. Li et al.,
//! Nature Materials 21, 1165 (2022)): Fm-3m, all cations on octahedral 4a (Li 0.585 / Ti 0.29 /
//! Ni 0.125), O on 4b. The same models are written out as TOML in `fixtures/models/`.

use crate::background::ChebyshevBackground;
use crate::cell::Cell;
use crate::element::Species;
use crate::error::Result;
use crate::instrument::{Anode, Radiation, DEFAULT_KALPHA2_RATIO};
use crate::pattern::{Instrument, PatternModel, PhaseContribution};
use crate::structure::{Occupant, Phase, Site};
use crate::symmetry::SpaceGroup;

fn occupants(list: &[(&str, f64)]) -> Result<Vec<Occupant>> {
    list.iter()
        .map(|(s, occ)| Ok(Occupant { species: Species::parse(s)?, occupancy: *occ }))
        .collect()
}

/// The LTNO rock salt with cubic edge `a` (Å) and B_iso = `biso` (Å²) on both sites; Z = 2 for
/// the formula Li1.17Ti0.58Ni0.25O2.
pub fn ltno_rock_salt(a: f64, biso: f64) -> Result<Phase> {
    let group = SpaceGroup::from_symbol("Fm-3m")?;
    let m1 = Site::at_wyckoff(
        "M1",
        &group,
        'a',
        [0.0; 3],
        occupants(&[("Li", 0.585), ("Ti", 0.29), ("Ni", 0.125)])?,
        biso,
    )?;
    let o1 = Site::at_wyckoff("O1", &group, 'b', [0.0; 3], occupants(&[("O", 1.0)])?, biso)?;
    let mut phase = Phase::new("LTNO", Cell::cubic(a)?, group, vec![m1, o1])?;
    phase.z = Some(2.0);
    Ok(phase)
}

/// Aluminium (the in situ cell's current collector): Fm-3m, a = 4.0495 Å, Al on 4a,
/// B_iso = 0.6 Å².
pub fn aluminium() -> Result<Phase> {
    let group = SpaceGroup::from_symbol("Fm-3m")?;
    let al = Site::at_wyckoff("Al1", &group, 'a', [0.0; 3], occupants(&[("Al", 1.0)])?, 0.6)?;
    Phase::new("Al", Cell::cubic(4.0495)?, group, vec![al])
}

/// The synchrotron reference: LTNO (a = 4.14 Å, B = 0.5 Å²) at λ = 0.458 Å with the
/// synchrotron instrument defaults, phase scale 0.01 and a six-term Chebyshev background over
/// 2–40° (`fixtures/models/ltno-11bm.toml`).
pub fn ltno_synchrotron_model() -> Result<PatternModel> {
    let mut instrument = Instrument::synchrotron(0.458)?;
    instrument.profile.asym = 0.002;
    Ok(PatternModel {
        instrument,
        phases: vec![PhaseContribution::new(ltno_rock_salt(4.14, 0.5)?, 0.01)],
        background: ChebyshevBackground::new(vec![200.0, -40.0, 15.0, -5.0, 2.0, -1.0], 2.0, 40.0)?,
    })
}

/// The lab reference: LTNO + Al under Cu Kα1/Kα2 (ratio 0.5) on a Bragg–Brentano instrument,
/// four-term background over 15–80° (`fixtures/models/ltno-al-cuka.toml`).
pub fn ltno_al_lab_model() -> Result<PatternModel> {
    let radiation = Radiation::kalpha_doublet(Anode::Cu, DEFAULT_KALPHA2_RATIO)?;
    Ok(PatternModel {
        instrument: Instrument::lab_bragg_brentano(radiation),
        phases: vec![
            PhaseContribution::new(ltno_rock_salt(4.14, 0.5)?, 0.02),
            PhaseContribution::new(aluminium()?, 0.005),
        ],
        background: ChebyshevBackground::new(vec![150.0, -30.0, 10.0, -3.0], 15.0, 80.0)?,
    })
}
