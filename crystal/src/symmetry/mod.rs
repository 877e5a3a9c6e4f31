//! Space groups, symmetry operators, Wyckoff positions and symmetry constraints.
//!
//! The group data (530 Hall settings of the 230 space-group types, their operators and Wyckoff
//! positions) come from the `moyo` crate, whose tables follow International Tables for
//! Crystallography Vol. A (2016) and the Hall-symbol list of ITA Vol. B (2010) Table A1.4.2.7.
//! No moyo type appears in this module's interface.
//!
//! Conventions:
//! - default setting of an ITA number: first-listed setting (unique axis b, cell choice 1),
//!   origin choice 2 where ITA gives two origins (as GSAS-II, FullProf and most CIFs), hexagonal
//!   axes for rhombohedral groups; `:1` selects origin choice 1, `:R` rhombohedral axes;
//! - operators act on fractional coordinates, x' = R·x + t, translations reduced into [0, 1);
//! - reflection hkl transforms as a row vector: (hkl)' = (hkl)·R (ITA Vol. A (2016) §1.4.2).

mod constraints;
mod ops;
mod parse;
mod wyckoff;

pub use constraints::{
    AdpConstraint, CellConstraint, CellParam, CellRule, PositionConstraint, SubspaceConstraint,
    CELL_TOLERANCE,
};
pub use ops::SymOp;
pub use wyckoff::WyckoffPosition;

use crate::cell::Cell;
use crate::error::{Error, Result};
use constraints::{cell_rules, LatticeKind};
use ops::{det, neg, transpose, ExactOp, Rot, DEN, IDENTITY};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Default tolerance (fractional coordinates) for merging positions in [`SpaceGroup::orbit`] and
/// for deciding which operators fix a point.
pub const POSITION_TOLERANCE: f64 = 1e-5;

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

impl CrystalSystem {
    /// The crystal system of an ITA space-group number (ITA Vol. A (2016) Table 2.1.1.1
    /// ranges: 1–2, 3–15, 16–74, 75–142, 143–167, 168–194, 195–230).
    pub fn from_number(number: u16) -> Option<Self> {
        Some(match number {
            1..=2 => CrystalSystem::Triclinic,
            3..=15 => CrystalSystem::Monoclinic,
            16..=74 => CrystalSystem::Orthorhombic,
            75..=142 => CrystalSystem::Tetragonal,
            143..=167 => CrystalSystem::Trigonal,
            168..=194 => CrystalSystem::Hexagonal,
            195..=230 => CrystalSystem::Cubic,
            _ => return None,
        })
    }

    /// Lower-case English name (`cubic`).
    pub fn name(self) -> &'static str {
        match self {
            CrystalSystem::Triclinic => "triclinic",
            CrystalSystem::Monoclinic => "monoclinic",
            CrystalSystem::Orthorhombic => "orthorhombic",
            CrystalSystem::Tetragonal => "tetragonal",
            CrystalSystem::Trigonal => "trigonal",
            CrystalSystem::Hexagonal => "hexagonal",
            CrystalSystem::Cubic => "cubic",
        }
    }
}

/// A space group in one setting, with all its operators (centring translations included).
///
/// Serialised as its symbol (e.g. `"R -3 m :R"`), which [`SpaceGroup::from_symbol`] reads back
/// to the same setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpaceGroup {
    number: u16,
    symbol: String,
    operations: Vec<SymOp>,
    hall_number: u16,
    exact: Vec<ExactOp>,
    /// Distinct rotations of the Laue group (point group and its product with −1), sorted.
    laue: Vec<Rot>,
}

impl TryFrom<String> for SpaceGroup {
    type Error = Error;
    fn try_from(symbol: String) -> Result<Self> {
        SpaceGroup::from_symbol(&symbol)
    }
}

impl From<SpaceGroup> for String {
    fn from(group: SpaceGroup) -> String {
        group.symbol
    }
}

/// The operators of a Hall setting, exact, conventional cell (centring included).
fn exact_ops_of_hall(hall: i32) -> Option<Vec<ExactOp>> {
    let moyo_ops =
        moyo::data::operations_from_number(0, moyo::data::Setting::HallNumber(hall), false).ok()?;
    let mut out = Vec::with_capacity(moyo_ops.len());
    for op in &moyo_ops {
        let e = ExactOp::from_float(op.rotation_as_array(), op.translation_as_array())?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Some(out)
}

impl SpaceGroup {
    /// From a Hermann–Mauguin symbol written any common way — short or full, with or without
    /// blanks and underscores (`Fm-3m`, `F m -3 m`, `F 4/m -3 2/m`, `Fm3m`, `P6_3/mmc`,
    /// `P 63/m m c`, `P 21/c`, `P 1 21/n 1`, `Pbnm`, `Cmca` or `Cmce`), an optional setting
    /// suffix (`:1`/`:2` origin choice, `:R`/`:H` axes, or a database setting code such as `:b2`,
    /// `:cab`), a Hall symbol (`-P 2ac 2n`), or an ITA number as text (`225`, `166:R`).
    pub fn from_symbol(symbol: &str) -> Result<Self> {
        let hall = parse::resolve(symbol)
            .ok_or_else(|| Error::UnknownSpaceGroup { symbol: symbol.to_string() })?;
        Self::from_hall(hall).ok_or_else(|| Error::UnknownSpaceGroup { symbol: symbol.to_string() })
    }

    /// From an ITA number 1–230, standard setting (hexagonal axes for R groups, origin choice 2).
    pub fn from_number(number: u16) -> Result<Self> {
        parse::standard_hall(i32::from(number))
            .and_then(Self::from_hall)
            .ok_or_else(|| Error::UnknownSpaceGroup { symbol: number.to_string() })
    }

    /// From a Hall number 1–530 (the setting list of ITA Vol. B (2010) Table A1.4.2.7, as
    /// numbered by spglib and moyo).
    pub fn from_hall_number(hall_number: u16) -> Result<Self> {
        Self::from_hall(i32::from(hall_number)).ok_or_else(|| Error::UnknownSpaceGroup {
            symbol: format!("Hall number {hall_number}"),
        })
    }

    /// The group whose operator set equals `ops` (any order, translations modulo lattice
    /// translations), searched over all 530 settings; for CIFs that list only
    /// `_space_group_symop_operation_xyz`.
    pub fn from_operations(ops: &[SymOp]) -> Result<Self> {
        let unknown = || Error::UnknownSpaceGroup {
            symbol: format!("operator set of {} operators", ops.len()),
        };
        let mut wanted = BTreeSet::new();
        for op in ops {
            wanted.insert(ExactOp::from_float(op.rotation, op.translation).ok_or_else(unknown)?);
        }
        for hall in 1..=parse::N_HALL {
            let Some(candidate) = exact_ops_of_hall(hall) else { continue };
            if candidate.len() == wanted.len() && candidate.iter().all(|o| wanted.contains(o)) {
                return Self::from_hall(hall).ok_or_else(unknown);
            }
        }
        Err(unknown())
    }

    fn from_hall(hall: i32) -> Option<Self> {
        let entry = parse::entry(hall)?;
        let exact = exact_ops_of_hall(hall)?;
        let symbol = parse::display_name(hall)?;
        let mut laue = BTreeSet::new();
        for op in &exact {
            laue.insert(op.rot);
            laue.insert(neg(&op.rot));
        }
        Some(SpaceGroup {
            number: u16::try_from(entry.number).ok()?,
            symbol,
            operations: exact.iter().map(|o| o.to_symop()).collect(),
            hall_number: u16::try_from(hall).ok()?,
            exact,
            laue: laue.into_iter().collect(),
        })
    }

    /// ITA number.
    pub fn number(&self) -> u16 {
        self.number
    }

    /// Hermann–Mauguin symbol (short; abbreviated for monoclinic unique axis b, full for other
    /// monoclinic settings), with ` :1` for origin choice 1 and ` :R` for rhombohedral axes.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Full Hermann–Mauguin symbol (`F 4/m -3 2/m`).
    pub fn full_symbol(&self) -> &'static str {
        parse::entry(i32::from(self.hall_number)).map(|e| e.hm_full).unwrap_or("")
    }

    /// Hall symbol of the setting (`-F 4 2 3`).
    pub fn hall_symbol(&self) -> &'static str {
        parse::entry(i32::from(self.hall_number)).map(|e| e.hall_symbol).unwrap_or("")
    }

    /// Hall number 1–530 of the setting.
    pub fn hall_number(&self) -> u16 {
        self.hall_number
    }

    /// Setting code of the database: empty for the only setting, `b1`…, `cab`…, `1`/`2`
    /// (origin choice), `H`/`R` (axes).
    pub fn setting(&self) -> &'static str {
        parse::entry(i32::from(self.hall_number)).map(|e| e.setting).unwrap_or("")
    }

    /// All operators of the conventional cell, centring included.
    pub fn operations(&self) -> &[SymOp] {
        &self.operations
    }

    /// Lattice symbol of the setting's cell from its Hall symbol: `P`, `A`, `B`, `C`, `I`, `F`
    /// or `R` (`P` for rhombohedral groups on rhombohedral axes, whose cell is primitive).
    pub fn centring(&self) -> char {
        self.hall_symbol().trim_start_matches('-').chars().next().unwrap_or('P')
    }

    /// The centring translations (pure translations among the operators), (0,0,0) first.
    pub fn centring_translations(&self) -> Vec<[f64; 3]> {
        self.operations.iter().filter(|o| o.rotation == IDENTITY).map(|o| o.translation).collect()
    }

    /// Whether the group contains the inversion (about some point).
    pub fn is_centrosymmetric(&self) -> bool {
        self.exact.iter().any(|o| o.rot == neg(&IDENTITY))
    }

    /// The distinct rotation parts (the point group, in the lattice basis).
    pub fn point_group_rotations(&self) -> Vec<[[i32; 3]; 3]> {
        let mut seen = Vec::new();
        for op in &self.exact {
            if !seen.contains(&op.rot) {
                seen.push(op.rot);
            }
        }
        seen
    }

    /// The crystal system.
    pub fn crystal_system(&self) -> CrystalSystem {
        CrystalSystem::from_number(self.number).unwrap_or(CrystalSystem::Triclinic)
    }

    /// The metric family of this setting.
    fn lattice_kind(&self) -> LatticeKind {
        match self.crystal_system() {
            CrystalSystem::Triclinic => LatticeKind::Triclinic,
            CrystalSystem::Monoclinic => LatticeKind::Monoclinic(self.unique_axis()),
            CrystalSystem::Orthorhombic => LatticeKind::Orthorhombic,
            CrystalSystem::Tetragonal => LatticeKind::Tetragonal,
            CrystalSystem::Trigonal if self.setting() == "R" => LatticeKind::Rhombohedral,
            CrystalSystem::Trigonal | CrystalSystem::Hexagonal => LatticeKind::Hexagonal,
            CrystalSystem::Cubic => LatticeKind::Cubic,
        }
    }

    /// Unique axis (0 = a, 1 = b, 2 = c) of a monoclinic setting: the axis of its 2 or m, whose
    /// rotation matrix is diagonal with the odd sign on that axis. 1 (b) for other systems.
    pub fn unique_axis(&self) -> usize {
        for op in &self.exact {
            let r = op.rot;
            if r == IDENTITY || r == neg(&IDENTITY) {
                continue;
            }
            let d = [r[0][0], r[1][1], r[2][2]];
            for i in 0..3 {
                let (j, k) = ((i + 1) % 3, (i + 2) % 3);
                if d[j] == d[k] && d[i] != d[j] {
                    return i;
                }
            }
        }
        1
    }

    /// The cell restrictions of this setting (ITA Vol. A (2016) Table 2.1.1.1): which of a, b,
    /// c, α, β, γ are free, tied or fixed. Monoclinic settings leave the angle of their unique
    /// axis free; rhombohedral axes give a = b = c, α = β = γ.
    pub fn cell_constraint(&self) -> CellConstraint {
        cell_rules(self.lattice_kind())
    }

    /// Checks that a cell obeys [`SpaceGroup::cell_constraint`] (tied edges equal within a
    /// relative [`CELL_TOLERANCE`], fixed and tied angles within [`CELL_TOLERANCE`] degrees);
    /// the error names the violated restriction.
    pub fn check_cell(&self, cell: &Cell) -> Result<()> {
        let kind = match self.lattice_kind() {
            LatticeKind::Rhombohedral => "rhombohedral axes".to_string(),
            _ => format!("{} space group {}", self.crystal_system().name(), self.symbol),
        };
        self.cell_constraint().check(cell, CELL_TOLERANCE, &kind)
    }

    /// Whether reflection hkl is systematically absent: some operator (R, t) with hᵀR = hᵀ
    /// has exp(2πi h·t) ≠ 1 (ITA Vol. A (2016) §1.6.3; Giacovazzo, *Fundamentals of
    /// Crystallography* 3rd ed., §3.4). (000) is never absent.
    pub fn is_absent(&self, hkl: [i32; 3]) -> bool {
        self.exact.iter().any(|op| {
            row_times(hkl, &op.rot) == hkl
                && (0..3).map(|i| hkl[i] * op.tr[i]).sum::<i32>().rem_euclid(DEN) != 0
        })
    }

    /// The distinct reflections equivalent to hkl in the powder sense (Laue class: Friedel
    /// pairs merged), hkl itself included, sorted in decreasing lexicographic order (so the
    /// first is [`SpaceGroup::canonical_hkl`]). Its length is the powder multiplicity.
    pub fn equivalent_reflections(&self, hkl: [i32; 3]) -> Vec<[i32; 3]> {
        let set: BTreeSet<[i32; 3]> = self.laue.iter().map(|r| row_times(hkl, r)).collect();
        set.into_iter().rev().collect()
    }

    /// Powder multiplicity of hkl: the number of distinct reflections related by the Laue group.
    pub fn multiplicity(&self, hkl: [i32; 3]) -> usize {
        let set: BTreeSet<[i32; 3]> = self.laue.iter().map(|r| row_times(hkl, r)).collect();
        set.len()
    }

    /// The representative of hkl's Laue-equivalence class: the lexicographically largest member
    /// (e.g. 210 for any permutation and sign change of it in m-3m). Equal for all members.
    pub fn canonical_hkl(&self, hkl: [i32; 3]) -> [i32; 3] {
        self.laue.iter().map(|r| row_times(hkl, r)).max().unwrap_or(hkl)
    }

    /// All Wyckoff positions of the setting, general position first, then by decreasing
    /// letter (ITA Vol. A (2016), Part 7).
    pub fn wyckoff_positions(&self) -> Vec<WyckoffPosition> {
        wyckoff::positions_of_hall(i32::from(self.hall_number))
    }

    /// The Wyckoff position of a letter. The 27th position of Pmmm (No. 47), printed `α` in ITA,
    /// is `A` here, as in moyo's database (`α` is accepted too).
    pub fn wyckoff(&self, letter: char) -> Result<WyckoffPosition> {
        let wanted = if letter == 'α' { 'A' } else { letter };
        self.wyckoff_positions()
            .into_iter()
            .find(|w| w.letter == wanted)
            .ok_or_else(|| Error::UnknownWyckoff { group: self.symbol.clone(), letter })
    }

    /// The distinct positions (in [0, 1)) generated from x by all operators, merged within
    /// [`POSITION_TOLERANCE`] modulo lattice translations; x's own image comes first.
    pub fn orbit(&self, x: [f64; 3]) -> Vec<[f64; 3]> {
        self.orbit_with_tolerance(x, POSITION_TOLERANCE)
    }

    /// As [`SpaceGroup::orbit`] with an explicit merging tolerance (fractional coordinates).
    pub fn orbit_with_tolerance(&self, x: [f64; 3], tolerance: f64) -> Vec<[f64; 3]> {
        let mut out: Vec<[f64; 3]> = Vec::with_capacity(self.exact.len());
        for op in &self.exact {
            let y = op.apply(x).map(ops::reduce_unit);
            if !out.iter().any(|p| same_mod_lattice(p, &y, tolerance)) {
                out.push(y);
            }
        }
        out
    }

    /// The site-symmetry group of x: the operators that map x onto itself modulo a lattice
    /// translation, within `tolerance` (fractional) per coordinate (ITA Vol. A (2016) §1.4.4).
    /// Its order times the orbit size equals the number of operators.
    pub fn site_symmetry(&self, x: [f64; 3], tolerance: f64) -> Vec<SymOp> {
        self.site_ops(x, tolerance).into_iter().map(|(op, _)| op.to_symop()).collect()
    }

    /// Number of positions in the conventional cell equivalent to x (the Wyckoff
    /// multiplicity of its position): operators / site-symmetry order.
    pub fn site_multiplicity(&self, x: [f64; 3], tolerance: f64) -> usize {
        self.exact.len() / self.site_ops(x, tolerance).len().max(1)
    }

    /// Site operators with the lattice vector n such that R·x + t − n = x.
    fn site_ops(&self, x: [f64; 3], tolerance: f64) -> Vec<(ExactOp, [f64; 3])> {
        self.exact
            .iter()
            .filter_map(|op| {
                let y = op.apply(x);
                let n = [(y[0] - x[0]).round(), (y[1] - x[1]).round(), (y[2] - x[2]).round()];
                (0..3).all(|i| (y[i] - n[i] - x[i]).abs() <= tolerance).then_some((*op, n))
            })
            .collect()
    }

    /// The coordinates allowed at x by its site symmetry (found within `tolerance`): the affine
    /// subspace fixed by every operator of the site-symmetry group (ITA Vol. A (2016) §1.4.4).
    /// Its origin is taken from x symmetrised by the site group, so `apply(free_params(x))`
    /// lies within `tolerance` of x. Fm-3m 32f (x,x,x): one parameter; 4a: none.
    pub fn position_constraint(&self, x: [f64; 3], tolerance: f64) -> PositionConstraint {
        let site = self.site_ops(x, tolerance);
        let mut rows = Vec::with_capacity(3 * site.len());
        let mut mean = [0.0f64; 3];
        for (op, n) in &site {
            for i in 0..3 {
                let mut row = [0.0f64; 3];
                for (j, r) in row.iter_mut().enumerate() {
                    *r = f64::from(op.rot[i][j] - i32::from(i == j));
                }
                rows.push(row);
            }
            let y = op.apply(x);
            for i in 0..3 {
                mean[i] += y[i] - n[i];
            }
        }
        let count = site.len().max(1) as f64;
        let point = mean.map(|m| m / count);
        PositionConstraint::from_conditions(&rows, point, true)
    }

    /// The anisotropic displacement parameters allowed at x by its site symmetry: the
    /// (β₁₁, β₂₂, β₃₃, β₁₂, β₁₃, β₂₃) with R·β·Rᵀ = β for every site rotation R (Peterse & Palm,
    /// *Acta Cryst.* 20 (1966) 147; ITA Vol. D (2013) §1.2.4). Free parameters are the values
    /// of the first independent components.
    pub fn adp_constraint(&self, x: [f64; 3], tolerance: f64) -> AdpConstraint {
        const PAIRS: [(usize, usize); 6] = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)];
        let mut rows = Vec::new();
        let mut seen: Vec<Rot> = Vec::new();
        for (op, _) in self.site_ops(x, tolerance) {
            let r = op.rot;
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            for (out_idx, &(i, j)) in PAIRS.iter().enumerate() {
                let mut row = [0.0f64; 6];
                for (in_idx, &(k, l)) in PAIRS.iter().enumerate() {
                    let c = if k == l {
                        r[i][k] * r[j][k]
                    } else {
                        r[i][k] * r[j][l] + r[i][l] * r[j][k]
                    };
                    row[in_idx] = f64::from(c);
                }
                row[out_idx] -= 1.0;
                rows.push(row);
            }
        }
        AdpConstraint::from_conditions(&rows, [0.0; 6], false)
    }

    /// Checks that every product of two operators is again an operator modulo lattice
    /// translations (group closure) and that the identity is present.
    pub fn is_closed(&self) -> bool {
        let set: BTreeSet<ExactOp> = self.exact.iter().copied().collect();
        set.contains(&ExactOp::IDENTITY)
            && self.exact.iter().all(|a| self.exact.iter().all(|b| set.contains(&a.compose(b))))
            && self.exact.iter().all(|a| det(&a.rot).abs() == 1)
    }
}

/// Row vector times matrix: (hᵀR)_j = Σ_i h_i R_ij.
fn row_times(h: [i32; 3], r: &Rot) -> [i32; 3] {
    let rt = transpose(r);
    [
        rt[0][0] * h[0] + rt[0][1] * h[1] + rt[0][2] * h[2],
        rt[1][0] * h[0] + rt[1][1] * h[1] + rt[1][2] * h[2],
        rt[2][0] * h[0] + rt[2][1] * h[1] + rt[2][2] * h[2],
    ]
}

/// Whether two fractional positions coincide modulo lattice translations within `tolerance`
/// per coordinate.
fn same_mod_lattice(a: &[f64; 3], b: &[f64; 3], tolerance: f64) -> bool {
    (0..3).all(|i| {
        let d = a[i] - b[i];
        (d - d.round()).abs() <= tolerance
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hall_setting_parses_with_exact_translations() {
        for hall in 1..=parse::N_HALL {
            let ops = exact_ops_of_hall(hall);
            assert!(ops.is_some(), "Hall number {hall}");
            let n_moyo =
                moyo::data::operations_from_number(0, moyo::data::Setting::HallNumber(hall), false)
                    .unwrap()
                    .len();
            assert_eq!(ops.unwrap().len(), n_moyo, "Hall number {hall}: duplicate operators");
            let n_wyckoff = moyo::data::iter_wyckoff_positions_from_hall_number(hall).count();
            assert_eq!(
                wyckoff::positions_of_hall(hall).len(),
                n_wyckoff,
                "Hall {hall}: Wyckoff parse"
            );
        }
    }

    #[test]
    fn row_times_matches_definition() {
        // 3-fold of the hexagonal lattice (−y, x−y, z): (hkl)·R = (k, −h−k, l).
        let r = [[0, -1, 0], [1, -1, 0], [0, 0, 1]];
        assert_eq!(row_times([1, 2, 3], &r), [2, -3, 3]);
    }
}
