//! Wyckoff positions from moyo's database (ITA Vol. A (2016), Part 7 tables, first coordinate
//! triplet of each position, per Hall setting).

use super::ops::parse_triplet;
use serde::{Deserialize, Serialize};

/// A Wyckoff position: x = linear·(x, y, z) + origin for the free parameters (x, y, z).
///
/// The representative is the first coordinate triplet printed for the position in ITA Vol. A
/// (2016), Part 7 (e.g. Fm-3m 32f: `x,x,x`, linear = all-ones column 0, origin 0).
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

impl WyckoffPosition {
    /// The position linear·free + origin (fractional coordinates). `free` holds the values of the
    /// variables x, y, z of the representative triplet; a variable the triplet does not use is
    /// ignored (4a of Fm-3m gives (0, 0, 0) whatever `free` is).
    pub fn position(&self, free: [f64; 3]) -> [f64; 3] {
        let mut p = self.origin;
        for (i, pi) in p.iter_mut().enumerate() {
            for (j, fj) in free.iter().enumerate() {
                *pi += f64::from(self.linear[i][j]) * fj;
            }
        }
        p
    }

    /// Which of the variables x, y, z the representative uses (its free parameters).
    pub fn free_variables(&self) -> [bool; 3] {
        let mut used = [false; 3];
        for row in &self.linear {
            for (j, v) in row.iter().enumerate() {
                if *v != 0 {
                    used[j] = true;
                }
            }
        }
        used
    }

    /// Number of free coordinate parameters (0 for a fixed special position, 3 for the
    /// general position).
    pub fn n_free(&self) -> usize {
        self.free_variables().iter().filter(|u| **u).count()
    }

    /// The representative in ITA coordinate-triplet notation (e.g. `x,1/4,z`).
    pub fn coordinates(&self) -> String {
        let op = super::SymOp { rotation: self.linear, translation: self.origin };
        op.to_xyz()
    }
}

/// All Wyckoff positions of a Hall setting, general position first (moyo's order:
/// descending multiplicity, letters from the last down to `a`).
pub(crate) fn positions_of_hall(hall: i32) -> Vec<WyckoffPosition> {
    moyo::data::iter_wyckoff_positions_from_hall_number(hall)
        .filter_map(|w| {
            let (linear, origin) = parse_triplet(w.coordinates)?;
            Some(WyckoffPosition {
                letter: w.letter,
                multiplicity: w.multiplicity,
                site_symmetry: w.site_symmetry.to_string(),
                linear,
                origin,
            })
        })
        .collect()
}
