//! Chemical elements and species (element + formal charge). OWNER: tables helper.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A chemical element, identified by its atomic number Z (1 ≤ Z ≤ 98).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Element(u8);

impl Element {
    /// The element of a symbol such as `Ni` (case-insensitive on the second letter is not
    /// accepted: `NI` is an error). Errors with [`Error::UnknownElement`].
    pub fn from_symbol(symbol: &str) -> Result<Self> {
        Err(Error::UnknownElement { symbol: symbol.to_string() })
    }
    /// The element of atomic number Z.
    pub fn from_z(z: u8) -> Result<Self> {
        Err(Error::UnknownElement { symbol: z.to_string() })
    }
    /// Atomic number Z.
    pub fn z(self) -> u8 {
        self.0
    }
    /// Symbol, e.g. `"Ni"`.
    pub fn symbol(self) -> &'static str {
        "?"
    }
    /// Standard atomic weight in g/mol (IUPAC).
    pub fn atomic_mass(self) -> Result<f64> {
        Err(Error::UnknownElement { symbol: self.0.to_string() })
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
    /// Parses `Ni`, `Ni2+`, `Ni+2`, `O2-`, `Li+`, `Li1+` (CIF `_atom_type_symbol` style).
    pub fn parse(text: &str) -> Result<Self> {
        Err(Error::UnknownElement { symbol: text.to_string() })
    }
}

impl fmt::Display for Species {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.element.symbol())
    }
}
