//! X-ray form factors f0(s) of free atoms and ions from Waasmaier & Kirfel (1995).

use crate::element::Species;
use crate::error::{Error, Result};
use crate::tables::waasmaier_kirfel::WAASMAIER_KIRFEL;
use crate::tables::WkRow;

/// Name of the f0 table in error messages.
pub const TABLE_NAME: &str = "Waasmaier-Kirfel (1995) f0";

/// Upper end (Å⁻¹) of the s = sinθ/λ range over which the Waasmaier–Kirfel fits hold.
pub const MAX_S: f64 = 6.0;

/// The Waasmaier–Kirfel (1995, Acta Cryst. A51, 416) entry of a species: the neutral atom for
/// charge 0, otherwise the ion with exactly that charge. Valence-state curves (`Cval`, `Siva`)
/// are never returned. There is no fallback from an ion to its neutral atom: a missing ion is
/// [`Error::MissingScatteringData`] (use [`Species::to_neutral`] to choose the atom).
pub fn coefficients(species: Species) -> Result<&'static WkRow> {
    let z = species.element.z();
    WAASMAIER_KIRFEL
        .iter()
        .find(|row| row.z == z && row.charge == species.charge && !row.valence)
        .ok_or_else(|| Error::MissingScatteringData {
            species: species.to_string(),
            table: TABLE_NAME,
        })
}

/// The Waasmaier–Kirfel (1995) form factor f0(s) = Σᵢ aᵢ exp(−bᵢ s²) + c in electrons, with
/// s = sinθ/λ in Å⁻¹. The fit holds for 0 ≤ s ≤ 6 Å⁻¹ ([`MAX_S`]); it is evaluated as is
/// outside that range.
pub fn f0(row: &WkRow, s: f64) -> f64 {
    let s2 = s * s;
    row.a.iter().zip(&row.b).map(|(a, b)| a * (-b * s2).exp()).sum::<f64>() + row.c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_exact_in_charge() {
        let ni2 = coefficients(Species::parse("Ni2+").unwrap()).unwrap();
        assert_eq!(ni2.label, "Ni2+");
        let ni = coefficients(Species::parse("Ni").unwrap()).unwrap();
        assert_eq!(ni.label, "Ni");
        // C: the free atom, not the valence curve Cval.
        assert_eq!(coefficients(Species::parse("C").unwrap()).unwrap().label, "C");
        // Ni4+ is not in the table: an error naming species and table, no silent fallback.
        assert_eq!(
            coefficients(Species::parse("Ni4+").unwrap()),
            Err(Error::MissingScatteringData { species: "Ni4+".into(), table: TABLE_NAME })
        );
    }

    #[test]
    fn f0_decreases_from_z_minus_charge() {
        let row = coefficients(Species::parse("O2-").unwrap()).unwrap();
        assert!((f0(row, 0.0) - 10.0).abs() < 0.01);
        let mut last = f0(row, 0.0);
        for i in 1..=60 {
            let v = f0(row, 0.1 * f64::from(i));
            assert!(v < last, "f0 must decrease with s");
            last = v;
        }
    }
}
