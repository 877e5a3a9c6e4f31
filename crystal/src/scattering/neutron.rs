//! Bound coherent neutron scattering lengths of the natural elements.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::tables::neutron::NEUTRON;
use num_complex::Complex64;

/// Name of the neutron table in error messages.
pub const TABLE_NAME: &str = "neutron b_c (Rauch & Waschkowski 2003, periodictable)";

/// The bound coherent scattering length b = b′ + i b_im (fm) of the natural element, for
/// thermal neutrons (λ = 1.798 Å). Values: Rauch & Waschkowski (2003), ILL Neutron Data
/// Booklet, an update of Sears (1992) Neutron News 3(3), 26, as shipped in periodictable (see
/// [`crate::tables::neutron`] for the elements whose value differs from Sears 1992). The
/// imaginary part is ≤ 0 and non-zero only where the table prints it (B, Cd, In, Sm, Gd).
/// Errors with [`Error::MissingScatteringData`] for Po, At, Rn, Fr, Ac, Bk, Cf.
pub fn scattering_length_fm(element: Element) -> Result<Complex64> {
    NEUTRON
        .get(usize::from(element.z()).wrapping_sub(1))
        .and_then(|row| row.b_re_fm.map(|re| Complex64::new(re, row.b_im_fm)))
        .ok_or_else(|| Error::MissingScatteringData {
            species: element.to_string(),
            table: TABLE_NAME,
        })
}

/// Whether the element's b depends strongly on neutron energy (resonance absorbers Cd, Sm,
/// Eu, Gd): its tabulated b then holds at 1.798 Å only.
pub fn is_energy_dependent(element: Element) -> bool {
    NEUTRON.get(usize::from(element.z()).wrapping_sub(1)).is_some_and(|row| row.energy_dependent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_are_errors() {
        let po = Element::from_symbol("Po").unwrap();
        assert!(matches!(scattering_length_fm(po), Err(Error::MissingScatteringData { .. })));
        let gd = Element::from_symbol("Gd").unwrap();
        assert!(is_energy_dependent(gd));
        assert!(scattering_length_fm(gd).unwrap().im < 0.0);
        assert!(!is_energy_dependent(Element::from_symbol("Ni").unwrap()));
    }
}
