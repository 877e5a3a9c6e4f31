//! Symmetry constraints for refinement: cell parameters of a crystal system, coordinates of a
//! special position, and anisotropic displacement parameters on a special position.
//!
//! Sources: cell restrictions of the crystal systems, ITA Vol. A (2016) Table 2.1.1.1 (and
//! §1.3.4 for rhombohedral axes); site-symmetry restrictions on coordinates, ITA Vol. A (2016)
//! §1.4.4 (the site-symmetry group fixes the point, the allowed positions form the affine
//! subspace fixed by all its elements); restrictions on anisotropic displacement tensors,
//! Peterse & Palm, *Acta Cryst.* 20 (1966) 147, and ITA Vol. D (2013) §1.2.4 (β = R β Rᵀ for every
//! rotation R of the site-symmetry group).

use crate::cell::Cell;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One of the six cell parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellParam {
    /// Edge a (Å).
    A,
    /// Edge b (Å).
    B,
    /// Edge c (Å).
    C,
    /// Angle α (degrees).
    Alpha,
    /// Angle β (degrees).
    Beta,
    /// Angle γ (degrees).
    Gamma,
}

impl CellParam {
    /// The six parameters in the order a, b, c, α, β, γ.
    pub const ALL: [CellParam; 6] = [
        CellParam::A,
        CellParam::B,
        CellParam::C,
        CellParam::Alpha,
        CellParam::Beta,
        CellParam::Gamma,
    ];

    /// Position in the order a, b, c, α, β, γ.
    pub fn index(self) -> usize {
        match self {
            CellParam::A => 0,
            CellParam::B => 1,
            CellParam::C => 2,
            CellParam::Alpha => 3,
            CellParam::Beta => 4,
            CellParam::Gamma => 5,
        }
    }

    /// Whether this is an angle (degrees) rather than an edge (Å).
    pub fn is_angle(self) -> bool {
        self.index() >= 3
    }

    /// Conventional name: `a`, `b`, `c`, `alpha`, `beta`, `gamma`.
    pub fn name(self) -> &'static str {
        ["a", "b", "c", "alpha", "beta", "gamma"][self.index()]
    }
}

/// What the crystal system says about one cell parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CellRule {
    /// Refinable on its own.
    Free,
    /// Equal to another (free) parameter.
    SameAs(CellParam),
    /// Fixed to a value in degrees (only angles are ever fixed: 90° or 120°).
    FixedDeg(f64),
}

/// The cell restrictions of a space group's setting (ITA Vol. A (2016) Table 2.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CellConstraint {
    /// Rules for a, b, c, α, β, γ in that order.
    pub rules: [CellRule; 6],
}

/// Default relative tolerance on tied edges and absolute tolerance (degrees) on angles used by
/// [`CellConstraint::check`] when called through `SpaceGroup::check_cell`.
pub const CELL_TOLERANCE: f64 = 1e-4;

impl CellConstraint {
    /// The rule for one parameter.
    pub fn rule(&self, p: CellParam) -> CellRule {
        self.rules[p.index()]
    }

    /// The independent (refinable) parameters, in the order a, b, c, α, β, γ.
    pub fn free_params(&self) -> Vec<CellParam> {
        CellParam::ALL.into_iter().filter(|p| matches!(self.rule(*p), CellRule::Free)).collect()
    }

    /// Number of independent cell parameters (1 cubic … 6 triclinic).
    pub fn n_free(&self) -> usize {
        self.free_params().len()
    }

    /// A cell built from the values of the free parameters (in the order of
    /// [`CellConstraint::free_params`]; Å and degrees), tied and fixed ones filled in.
    pub fn apply(&self, free: &[f64]) -> Result<Cell> {
        let params = self.free_params();
        if free.len() != params.len() {
            return Err(Error::Model(format!(
                "cell constraint expects {} free parameters ({}), got {}",
                params.len(),
                params.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
                free.len()
            )));
        }
        let mut v = [0.0f64; 6];
        for (p, x) in params.iter().zip(free) {
            v[p.index()] = *x;
        }
        for p in CellParam::ALL {
            match self.rule(p) {
                CellRule::Free => {}
                CellRule::SameAs(q) => v[p.index()] = v[q.index()],
                CellRule::FixedDeg(x) => v[p.index()] = x,
            }
        }
        Cell::new(v[0], v[1], v[2], v[3], v[4], v[5])
    }

    /// The values of the free parameters of a cell.
    pub fn free_values(&self, cell: &Cell) -> Vec<f64> {
        let v = cell_values(cell);
        self.free_params().iter().map(|p| v[p.index()]).collect()
    }

    /// The cell with the restrictions imposed: fixed angles set, tied parameters replaced by the
    /// mean of their group.
    pub fn impose(&self, cell: &Cell) -> Result<Cell> {
        let v = cell_values(cell);
        let mut out = v;
        for p in self.free_params() {
            let group: Vec<usize> = CellParam::ALL
                .iter()
                .filter(|q| **q == p || self.rule(**q) == CellRule::SameAs(p))
                .map(|q| q.index())
                .collect();
            let mean = group.iter().map(|i| v[*i]).sum::<f64>() / group.len() as f64;
            for i in group {
                out[i] = mean;
            }
        }
        for p in CellParam::ALL {
            if let CellRule::FixedDeg(x) = self.rule(p) {
                out[p.index()] = x;
            }
        }
        Cell::new(out[0], out[1], out[2], out[3], out[4], out[5])
    }

    /// Checks a cell against the restrictions: tied edges equal within a relative `tolerance`,
    /// tied or fixed angles within `tolerance` degrees.
    pub fn check(&self, cell: &Cell, tolerance: f64, system_name: &str) -> Result<()> {
        let v = cell_values(cell);
        for p in CellParam::ALL {
            let unit = if p.is_angle() { "°" } else { " Å" };
            match self.rule(p) {
                CellRule::Free => {}
                CellRule::SameAs(q) => {
                    let (x, y) = (v[p.index()], v[q.index()]);
                    let diff = if p.is_angle() {
                        (x - y).abs()
                    } else {
                        (x - y).abs() / y.abs().max(f64::MIN_POSITIVE)
                    };
                    if diff.is_nan() || diff > tolerance {
                        return Err(Error::InvalidCell {
                            reason: format!(
                                "{system_name} requires {} = {}, but {} = {x}{unit} and {} = {y}{unit}",
                                p.name(),
                                q.name(),
                                p.name(),
                                q.name()
                            ),
                        });
                    }
                }
                CellRule::FixedDeg(x) => {
                    let y = v[p.index()];
                    if (x - y).is_nan() || (x - y).abs() > tolerance {
                        return Err(Error::InvalidCell {
                            reason: format!(
                                "{system_name} requires {} = {x}°, but it is {y}°",
                                p.name()
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// a, b, c, α, β, γ of a cell.
fn cell_values(cell: &Cell) -> [f64; 6] {
    [cell.a, cell.b, cell.c, cell.alpha_deg, cell.beta_deg, cell.gamma_deg]
}

/// The cell rules of a lattice family (internal constructor used by `SpaceGroup`).
pub(crate) fn cell_rules(kind: LatticeKind) -> CellConstraint {
    use CellParam::*;
    use CellRule::*;
    let rules = match kind {
        LatticeKind::Triclinic => [Free, Free, Free, Free, Free, Free],
        LatticeKind::Monoclinic(axis) => {
            let mut r = [Free, Free, Free, FixedDeg(90.0), FixedDeg(90.0), FixedDeg(90.0)];
            r[3 + axis] = Free;
            r
        }
        LatticeKind::Orthorhombic => {
            [Free, Free, Free, FixedDeg(90.0), FixedDeg(90.0), FixedDeg(90.0)]
        }
        LatticeKind::Tetragonal => {
            [Free, SameAs(A), Free, FixedDeg(90.0), FixedDeg(90.0), FixedDeg(90.0)]
        }
        LatticeKind::Hexagonal => {
            [Free, SameAs(A), Free, FixedDeg(90.0), FixedDeg(90.0), FixedDeg(120.0)]
        }
        LatticeKind::Rhombohedral => {
            [Free, SameAs(A), SameAs(A), Free, SameAs(Alpha), SameAs(Alpha)]
        }
        LatticeKind::Cubic => {
            [Free, SameAs(A), SameAs(A), FixedDeg(90.0), FixedDeg(90.0), FixedDeg(90.0)]
        }
    };
    CellConstraint { rules }
}

/// The metric family of a setting (the monoclinic one carries its unique axis 0, 1, 2 = a, b, c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LatticeKind {
    Triclinic,
    Monoclinic(usize),
    Orthorhombic,
    Tetragonal,
    Hexagonal,
    Rhombohedral,
    Cubic,
}

/// An affine (or linear) subspace allowed by site symmetry: value = origin + Σ pⱼ·basisⱼ.
///
/// Used for the coordinates of a special position (dimension 3) and for anisotropic
/// displacement tensors (dimension 6). `apply` is linear in the free parameters, so
/// ∂value/∂pⱼ = basisⱼ exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct SubspaceConstraint<const N: usize> {
    /// Directions of the free parameters (integer-valued, smallest integers).
    pub basis: Vec<[f64; N]>,
    /// The point of the subspace where all free parameters are zero.
    pub origin: [f64; N],
    /// For each free parameter, the component it is read from: pⱼ = value[pivot] / basisⱼ[pivot].
    pivots: Vec<usize>,
}

/// Coordinate constraint of a (special) position: x = origin + Σ pⱼ·basisⱼ.
///
/// For Fm-3m 32f (x,x,x) there is one free parameter with basis (1,1,1); for 4a (0,0,0)
/// none. `free_params(x)` reads the parameters back so that `apply(free_params(x))` is the
/// position symmetrised onto the subspace.
pub type PositionConstraint = SubspaceConstraint<3>;

/// Constraint on an anisotropic displacement tensor on a special position, acting on
/// (β₁₁, β₂₂, β₃₃, β₁₂, β₁₃, β₂₃) (equally on U_ij in the ITA Vol. D convention, since tied
/// components always belong to axes of equal length). Origin is zero.
pub type AdpConstraint = SubspaceConstraint<6>;

impl<const N: usize> SubspaceConstraint<N> {
    /// Number of free parameters.
    pub fn n_free(&self) -> usize {
        self.basis.len()
    }

    /// For each free parameter, the component (0 = x, 1 = y, 2 = z for positions) it is read
    /// from; names a coordinate parameter (`O1.x` for x,x,x).
    pub fn pivots(&self) -> &[usize] {
        &self.pivots
    }

    /// The value origin + Σ pⱼ·basisⱼ for free parameters p (length [`Self::n_free`]).
    pub fn apply(&self, free: &[f64]) -> Result<[f64; N]> {
        if free.len() != self.basis.len() {
            return Err(Error::Model(format!(
                "symmetry constraint expects {} free parameters, got {}",
                self.basis.len(),
                free.len()
            )));
        }
        let mut x = self.origin;
        for (b, p) in self.basis.iter().zip(free) {
            for i in 0..N {
                x[i] += b[i] * p;
            }
        }
        Ok(x)
    }

    /// The free parameters of a value (read from the pivot components; for a value on the
    /// subspace, `apply(free_params(x)) == x`).
    pub fn free_params(&self, x: [f64; N]) -> Vec<f64> {
        self.basis.iter().zip(&self.pivots).map(|(b, &k)| (x[k] - self.origin[k]) / b[k]).collect()
    }

    /// Builds the constraint from the linear conditions M·v = 0 (rows of `rows`) and a point
    /// `point` of the subspace (the origin is the point with all pivot components zero); with
    /// `integer` the directions are scaled to the smallest integers.
    pub(crate) fn from_conditions(rows: &[[f64; N]], point: [f64; N], integer: bool) -> Self {
        let (basis, pivots) = null_space(rows, integer);
        let mut origin = point;
        for (b, &k) in basis.iter().zip(&pivots) {
            let p = point[k] / b[k];
            for i in 0..N {
                origin[i] -= b[i] * p;
            }
        }
        for o in origin.iter_mut() {
            if o.abs() < 1e-12 {
                *o = 0.0;
            }
        }
        SubspaceConstraint { basis, origin, pivots }
    }
}

/// Null space of a small matrix with integer (or small rational) entries by Gauss–Jordan
/// elimination; each basis vector has 1 at one free column and 0 at the others, then (if
/// `integer`) is scaled to the smallest integers. Returns the vectors and their free columns.
fn null_space<const N: usize>(rows: &[[f64; N]], integer: bool) -> (Vec<[f64; N]>, Vec<usize>) {
    let mut m: Vec<[f64; N]> = rows.to_vec();
    let mut pivot_cols = Vec::new();
    let mut r = 0;
    // Columns from the last to the first, so that the free parameters are the earliest
    // coordinates, as ITA writes them (x,x,x; x,2x,z; 0,y,-y).
    for c in (0..N).rev() {
        if r >= m.len() {
            break;
        }
        let Some(best) = (r..m.len()).max_by(|a, b| m[*a][c].abs().total_cmp(&m[*b][c].abs()))
        else {
            break;
        };
        if m[best][c].abs() < 1e-9 {
            continue;
        }
        m.swap(r, best);
        let pv = m[r][c];
        for v in m[r].iter_mut() {
            *v /= pv;
        }
        let pivot_row = m[r];
        for (i, row) in m.iter_mut().enumerate() {
            if i != r && row[c].abs() > 1e-12 {
                let f = row[c];
                for (v, p) in row.iter_mut().zip(pivot_row.iter()) {
                    *v -= f * p;
                }
            }
        }
        pivot_cols.push(c);
        r += 1;
    }
    let mut basis = Vec::new();
    let mut free_cols = Vec::new();
    for f in (0..N).filter(|c| !pivot_cols.contains(c)) {
        let mut v = [0.0f64; N];
        v[f] = 1.0;
        for (row, &pc) in pivot_cols.iter().enumerate() {
            v[pc] = -m[row][f];
        }
        // Smallest integer multiple (denominators of crystallographic constraints are ≤ 12).
        let scale = if integer {
            (1..=24)
                .map(f64::from)
                .find(|s| v.iter().all(|x| (x * s - (x * s).round()).abs() < 1e-9))
                .unwrap_or(1.0)
        } else {
            1.0
        };
        for x in v.iter_mut() {
            *x = (*x * scale * 1e12).round() / 1e12;
            if x.abs() < 1e-12 {
                *x = 0.0;
            }
        }
        basis.push(v);
        free_cols.push(f);
    }
    (basis, free_cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_space_of_xxx() {
        // x − y = 0, y − z = 0 → one direction (1, 1, 1).
        let (b, p) = null_space::<3>(&[[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], true);
        assert_eq!(b, vec![[1.0, 1.0, 1.0]]);
        assert_eq!(p, vec![0]);
        // y = 2x (hexagonal x,2x,z): directions (1, 2, 0) and (0, 0, 1), parameters x and z.
        let (b, p) = null_space::<3>(&[[2.0, -1.0, 0.0]], true);
        assert_eq!(b, vec![[1.0, 2.0, 0.0], [0.0, 0.0, 1.0]]);
        assert_eq!(p, vec![0, 2]);
        // x = 2y (2x,x,z): integer direction (2, 1, 0) read from x.
        let (b, _) = null_space::<3>(&[[1.0, -2.0, 0.0]], true);
        assert_eq!(b[0], [2.0, 1.0, 0.0]);
    }

    #[test]
    fn cell_apply_and_check() {
        let cubic = cell_rules(LatticeKind::Cubic);
        assert_eq!(cubic.n_free(), 1);
        let c = cubic.apply(&[4.0]).unwrap();
        assert_eq!((c.b, c.c, c.gamma_deg), (4.0, 4.0, 90.0));
        assert!(cubic.apply(&[4.0, 5.0]).is_err());
        let rh = cell_rules(LatticeKind::Rhombohedral);
        assert_eq!(rh.free_params(), vec![CellParam::A, CellParam::Alpha]);
        let bad = Cell::new(5.0, 5.0, 5.1, 60.0, 60.0, 60.0).unwrap();
        assert!(rh.check(&bad, CELL_TOLERANCE, "rhombohedral").is_err());
        let fixed = rh.impose(&bad).unwrap();
        assert!((fixed.a - 5.0333333333).abs() < 1e-9 && fixed.c == fixed.a);
        assert!(rh.check(&fixed, CELL_TOLERANCE, "rhombohedral").is_ok());
    }
}
