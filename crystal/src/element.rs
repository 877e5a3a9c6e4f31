//! Chemical elements and species (element + formal charge).
//!
//! Symbols, atomic numbers and standard atomic weights come from the generated table
//! [`crate::tables::masses`] (IUPAC 2021 abridged standard atomic weights).

use crate::error::{Error, Result};
use crate::tables::masses::ELEMENTS;
use crate::tables::ElementRow;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Highest atomic number bragg knows (californium).
pub const MAX_Z: u8 = 98;

/// A chemical element, identified by its atomic number Z (1 ≤ Z ≤ 98).
///
/// Serialized as its atomic number; deserialization rejects Z outside 1..=98.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Element(u8);

impl Element {
    /// The element of a symbol such as `Ni`. The first letter must be upper case and the
    /// second lower case (`NI` and `ni` are errors). Errors with [`Error::UnknownElement`].
    pub fn from_symbol(symbol: &str) -> Result<Self> {
        ELEMENTS
            .iter()
            .find(|row| row.symbol == symbol)
            .map(|row| Element(row.z))
            .ok_or_else(|| Error::UnknownElement { symbol: symbol.to_string() })
    }

    /// The element of atomic number Z (1..=98); otherwise [`Error::UnknownElement`].
    pub fn from_z(z: u8) -> Result<Self> {
        if (1..=MAX_Z).contains(&z) {
            Ok(Element(z))
        } else {
            Err(Error::UnknownElement { symbol: format!("Z = {z}") })
        }
    }

    /// All elements in order of Z, hydrogen to californium.
    pub fn all() -> impl Iterator<Item = Element> {
        (1..=MAX_Z).map(Element)
    }

    /// Atomic number Z.
    pub fn z(self) -> u8 {
        self.0
    }

    /// The table row of this element.
    fn row(self) -> Option<&'static ElementRow> {
        ELEMENTS.get(usize::from(self.0).wrapping_sub(1))
    }

    /// Symbol, e.g. `"Ni"`.
    pub fn symbol(self) -> &'static str {
        // INVARIANT: an Element is only built with 1 ≤ Z ≤ 98, so the row exists.
        self.row().map_or("?", |row| row.symbol)
    }

    /// Standard atomic weight in g/mol (IUPAC 2021 abridged values, Prohaska et al. 2022,
    /// Pure Appl. Chem. 94, 573). For the 14 elements without a standard atomic weight (Tc,
    /// Pm, Po–Ac, Np–Cf) this is the mass number of a long-lived isotope (Tc 98, Pu 244, …,
    /// as periodictable assigns them); see [`Element::has_standard_atomic_weight`].
    pub fn atomic_mass(self) -> Result<f64> {
        self.row()
            .map(|row| row.atomic_weight)
            .ok_or_else(|| Error::UnknownElement { symbol: format!("Z = {}", self.0) })
    }

    /// Whether IUPAC assigns this element a standard atomic weight.
    pub fn has_standard_atomic_weight(self) -> bool {
        self.row().is_some_and(|row| row.standard)
    }
}

impl TryFrom<u8> for Element {
    type Error = Error;
    fn try_from(z: u8) -> Result<Self> {
        Element::from_z(z)
    }
}

impl From<Element> for u8 {
    fn from(element: Element) -> u8 {
        element.0
    }
}

impl FromStr for Element {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Element::from_symbol(s.trim())
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A scattering species: an element with an optional formal charge, e.g. `Ni2+`, `O2-`, `Li`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Species {
    /// The element.
    pub element: Element,
    /// Formal charge (0 for a neutral atom).
    pub charge: i8,
}

impl Species {
    /// The neutral atom of an element.
    pub fn neutral(element: Element) -> Self {
        Species { element, charge: 0 }
    }

    /// The same element with charge 0: what a caller may choose when an ion has no table
    /// entry (bragg never makes that substitution silently).
    pub fn to_neutral(self) -> Self {
        Species::neutral(self.element)
    }

    /// Parses a CIF `_atom_type_symbol`-style species: `Ni`, `Ni2+`, `Ni+2`, `O2-`, `O-2`,
    /// `Li+`, `Li1+`, `Ti4+`, `H-`. Surrounding white space is ignored. The charge must not
    /// exceed Z (no more electrons removed than the atom has). Errors with
    /// [`Error::UnknownElement`] carrying the whole text.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::UnknownElement { symbol: text.to_string() };
        let t = text.trim();
        let split = t.find(|c: char| c.is_ascii_digit() || c == '+' || c == '-').unwrap_or(t.len());
        let (symbol, rest) = t.split_at(split);
        let element = Element::from_symbol(symbol).map_err(|_| bad())?;
        let charge = parse_charge(rest).ok_or_else(bad)?;
        if i16::from(charge) > i16::from(element.z()) {
            return Err(bad());
        }
        Ok(Species { element, charge })
    }
}

/// The charge suffix: "" → 0; "+"/"-" → ±1; "2+"/"+2" → ±2. Digits without a sign, two signs,
/// or a magnitude above 9 are rejected.
fn parse_charge(rest: &str) -> Option<i8> {
    if rest.is_empty() {
        return Some(0);
    }
    let (digits, sign) = if let Some(d) = rest.strip_suffix('+') {
        (d, 1)
    } else if let Some(d) = rest.strip_suffix('-') {
        (d, -1)
    } else if let Some(d) = rest.strip_prefix('+') {
        (d, 1)
    } else if let Some(d) = rest.strip_prefix('-') {
        (d, -1)
    } else {
        return None;
    };
    let magnitude: i8 = match digits {
        "" => 1,
        d if d.len() == 1 && d.bytes().all(|b| b.is_ascii_digit()) => d.parse().ok()?,
        _ => return None,
    };
    Some(sign * magnitude)
}

impl FromStr for Species {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Species::parse(s)
    }
}

impl From<Element> for Species {
    fn from(element: Element) -> Self {
        Species::neutral(element)
    }
}

impl fmt::Display for Species {
    /// `Ni`, `Ni2+`, `O2-`, `Li1+` (magnitude always written, as in Waasmaier & Kirfel and
    /// International Tables labels); round-trips through [`Species::parse`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let symbol = self.element.symbol();
        match self.charge {
            0 => f.write_str(symbol),
            q if q > 0 => write!(f, "{symbol}{q}+"),
            q => write!(f, "{symbol}{}-", q.unsigned_abs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(text: &str) -> Species {
        Species::parse(text).unwrap()
    }

    #[test]
    fn symbols_round_trip_for_all_z() {
        let mut count = 0;
        for el in Element::all() {
            assert_eq!(Element::from_symbol(el.symbol()).unwrap(), el);
            assert_eq!(Element::from_z(el.z()).unwrap(), el);
            count += 1;
        }
        assert_eq!(count, 98);
        assert_eq!(Element::from_symbol("Ni").unwrap().z(), 28);
        assert_eq!(Element::from_symbol("Cf").unwrap().z(), 98);
        assert_eq!(Element::from_symbol("H").unwrap().z(), 1);
    }

    #[test]
    fn unknown_symbols_and_z_are_errors() {
        for bad in ["NI", "ni", "Xx", "", "Es", "D", "Ni "] {
            assert_eq!(
                Element::from_symbol(bad),
                Err(Error::UnknownElement { symbol: bad.to_string() }),
                "{bad:?}"
            );
        }
        assert!(Element::from_z(0).is_err());
        assert!(Element::from_z(99).is_err());
    }

    #[test]
    fn iupac_standard_atomic_weights() {
        // IUPAC/CIAAW 2021 abridged standard atomic weights (Prohaska et al. 2022, Pure Appl.
        // Chem. 94, 573, Table 2 / the CIAAW periodic table).
        let printed = [
            ("Li", 6.94),
            ("B", 10.81),
            ("O", 15.999),
            ("S", 32.06),
            ("Ti", 47.867),
            ("Mn", 54.938_043),
            ("Co", 58.933_194),
            ("Ni", 58.693_4),
            ("La", 138.905_47),
            ("Pb", 207.2),
        ];
        for (symbol, mass) in printed {
            let el = Element::from_symbol(symbol).unwrap();
            assert_eq!(el.atomic_mass().unwrap(), mass, "{symbol}");
            assert!(el.has_standard_atomic_weight(), "{symbol}");
        }
        // No standard atomic weight: Tc [98].
        let tc = Element::from_symbol("Tc").unwrap();
        assert!(!tc.has_standard_atomic_weight());
        assert_eq!(tc.atomic_mass().unwrap(), 98.0);
        // Masses increase with Z except for the known inversions Ar/K, Co/Ni, Te/I, Th/Pa, U/Np,
        // Pu/Am (Cm/Bk are equal, 247) — a check that the table is not shuffled.
        let inversions: Vec<&str> = Element::all()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1].atomic_mass().unwrap() < w[0].atomic_mass().unwrap())
            .map(|w| w[0].symbol())
            .collect();
        assert_eq!(inversions, ["Ar", "Co", "Te", "Th", "U", "Pu"]);
    }

    #[test]
    fn species_parse_cif_forms() {
        let ni = Element::from_symbol("Ni").unwrap();
        assert_eq!(sp("Ni"), Species { element: ni, charge: 0 });
        assert_eq!(sp("Ni2+"), Species { element: ni, charge: 2 });
        assert_eq!(sp("Ni+2"), Species { element: ni, charge: 2 });
        assert_eq!(sp(" Ni2+ "), Species { element: ni, charge: 2 });
        assert_eq!(sp("O2-").charge, -2);
        assert_eq!(sp("O-2").charge, -2);
        assert_eq!(sp("Li+").charge, 1);
        assert_eq!(sp("Li1+").charge, 1);
        assert_eq!(sp("Ti4+").charge, 4);
        assert_eq!(sp("H-").charge, -1);
        assert_eq!(sp("H-").element.z(), 1);
        assert_eq!("Mn3+".parse::<Species>().unwrap().charge, 3);
    }

    #[test]
    fn species_parse_rejects_malformed() {
        for bad in ["", "+", "2+", "Ni2", "Ni++", "Ni2+1", "Ni 2+", "NI2+", "Xx2+", "Ni10+", "H2+"]
        {
            assert_eq!(
                Species::parse(bad),
                Err(Error::UnknownElement { symbol: bad.to_string() }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn species_display_round_trips() {
        for (text, shown) in
            [("Ni", "Ni"), ("Ni2+", "Ni2+"), ("Ni+2", "Ni2+"), ("Li+", "Li1+"), ("O-2", "O2-")]
        {
            let s = sp(text);
            assert_eq!(s.to_string(), shown);
            assert_eq!(sp(&s.to_string()), s);
        }
        assert_eq!(sp("Ni2+").to_neutral(), sp("Ni"));
    }

    #[test]
    fn element_serde_validates_z() {
        let ni = Element::from_symbol("Ni").unwrap();
        assert_eq!(u8::from(ni), 28);
        assert_eq!(Element::try_from(28u8).unwrap(), ni);
        assert!(Element::try_from(0u8).is_err());
    }
}
