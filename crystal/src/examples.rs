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

/// Beryllium (the X-ray window of an in situ cell): P6_3/mmc, a = 2.2858 Å, c = 3.5843 Å
/// (room temperature; ICDD PDF 00-006-0690, Swanson & Tatge, NBS Circular 539 (1953)), Be on
/// 2c (1/3, 2/3, 1/4), B_iso = 0.5 Å².
pub fn beryllium() -> Result<Phase> {
    let group = SpaceGroup::from_symbol("P6_3/mmc")?;
    let be = Site::at_wyckoff("Be1", &group, 'c', [0.0; 3], occupants(&[("Be", 1.0)])?, 0.5)?;
    Phase::new("Be", Cell::hexagonal(2.2858, 3.5843)?, group, vec![be])
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reflection::generate;
    use crate::scattering::Probe;
    use crate::StructureFactors;

    #[test]
    fn beryllium_is_hcp_with_the_2c_absences() {
        let be = beryllium().unwrap();
        // Wyckoff 2c of P6_3/mmc is (1/3, 2/3, 1/4) (ITA Vol. A, space group 194).
        let p = be.sites[0].position;
        for (x, want) in p.iter().zip([1.0 / 3.0, 2.0 / 3.0, 0.25]) {
            assert!((x - want).abs() < 1e-12, "{p:?}");
        }
        let refl = generate(&be.cell, &be.space_group, 1.0).unwrap();
        // d(100) = a√3/2, d(002) = c/2 (hexagonal metric, ITA Vol. B §1.1).
        let d = |hkl: [i32; 3]| refl.iter().find(|r| r.hkl == hkl).map(|r| r.d);
        let d100 = d([1, 0, 0]).or(d([0, 1, 0])).unwrap();
        assert!((d100 - 2.2858 * 3f64.sqrt() / 2.0).abs() < 1e-9);
        let sf = StructureFactors::new(&be, Probe::Xray { anomalous_wavelength_angstrom: None })
            .unwrap();
        // hcp on 2c: F(00l) = f·(e^{iπl/2} + e^{i3πl/2}) vanishes for odd l and is −2f for
        // l = 2: |F(001)|² = 0 and |F(002)|² = 4f².
        let s001 = 0.5 / 3.5843;
        assert!(sf.f([0, 0, 1], s001).norm() < 1e-9);
        let s002 = 1.0 / 3.5843;
        let f002 = sf.f([0, 0, 2], s002).norm();
        let f1 = {
            let mut one = be.clone();
            one.space_group = SpaceGroup::from_symbol("P1").unwrap();
            one.sites[0].position = [0.0; 3];
            StructureFactors::new(&one, Probe::Xray { anomalous_wavelength_angstrom: None })
                .unwrap()
                .f([0, 0, 2], s002)
                .norm()
        };
        assert!((f002 - 2.0 * f1).abs() < 1e-9 * f1, "{f002} vs 2·{f1}");
    }
}
