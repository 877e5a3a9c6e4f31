//! Space groups, symmetry operators and Wyckoff positions. OWNER: symmetry helper.
//! (Interface placeholder: the helper replaces the bodies, keeping the signatures.)

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A symmetry operation x' = R·x + t on fractional coordinates (R integer, t in [0, 1)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SymOp {
    /// Rotation part R (rows).
    pub rotation: [[i32; 3]; 3],
    /// Translation part t (fractions of the cell edges).
    pub translation: [f64; 3],
}

/// The seven crystal systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CrystalSystem {
    /// a, b, c, α, β, γ free.
    Triclinic,
    /// Unique axis b: α = γ = 90°.
    Monoclinic,
    /// All angles 90°.
    Orthorhombic,
    /// a = b, all angles 90°.
    Tetragonal,
    /// Hexagonal axes a = b, γ = 120° (or rhombohedral axes a = b = c, α = β = γ).
    Trigonal,
    /// a = b, γ = 120°.
    Hexagonal,
    /// a = b = c, all angles 90°.
    Cubic,
}

/// A space group in one setting, with all its operators (centring translations included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceGroup {
    number: u16,
    symbol: String,
    operations: Vec<SymOp>,
}

/// A Wyckoff position: x = linear·(x, y, z) + origin for the free parameters (x, y, z).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WyckoffPosition {
    /// Letter, e.g. `a`.
    pub letter: char,
    /// Multiplicity in the conventional cell.
    pub multiplicity: usize,
    /// Site-symmetry symbol, e.g. `m-3m`.
    pub site_symmetry: String,
    /// Linear part on the free coordinates.
    pub linear: [[i32; 3]; 3],
    /// Constant part.
    pub origin: [f64; 3],
}

impl SpaceGroup {
    /// From a Hermann–Mauguin symbol (`Fm-3m`, `F m -3 m`, `R-3m`, `R -3 m :R`, `P6_3/mmc`) or
    /// an ITA number as text (`225`).
    pub fn from_symbol(symbol: &str) -> Result<Self> {
        Err(Error::UnknownSpaceGroup { symbol: symbol.to_string() })
    }
    /// From an ITA number 1–230, standard setting (hexagonal axes for R groups).
    pub fn from_number(number: u16) -> Result<Self> {
        Err(Error::UnknownSpaceGroup { symbol: number.to_string() })
    }
    /// ITA number.
    pub fn number(&self) -> u16 {
        self.number
    }
    /// Hermann–Mauguin symbol (short).
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    /// All operators of the conventional cell, centring included.
    pub fn operations(&self) -> &[SymOp] {
        &self.operations
    }
    /// The crystal system.
    pub fn crystal_system(&self) -> CrystalSystem {
        CrystalSystem::Triclinic
    }
    /// Whether reflection hkl is systematically absent.
    pub fn is_absent(&self, _hkl: [i32; 3]) -> bool {
        false
    }
    /// The distinct reflections equivalent to hkl in the powder sense (Laue class: Friedel
    /// pairs merged), hkl itself included. Its length is the powder multiplicity.
    pub fn equivalent_reflections(&self, hkl: [i32; 3]) -> Vec<[i32; 3]> {
        vec![hkl]
    }
    /// The Wyckoff position of a letter.
    pub fn wyckoff(&self, letter: char) -> Result<WyckoffPosition> {
        Err(Error::UnknownWyckoff { group: self.symbol.clone(), letter })
    }
    /// The distinct positions (in [0, 1)) generated from x by all operators.
    pub fn orbit(&self, x: [f64; 3]) -> Vec<[f64; 3]> {
        vec![x]
    }
}
