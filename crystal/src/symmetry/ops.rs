//! Symmetry operators: the public [`SymOp`] (float translations) and the exact internal
//! representation used for group arithmetic (translations as integers over 24).
//!
//! Every translation that occurs in the 530 settings of the space-group types tabulated in
//! International Tables for Crystallography Vol. A (2016), §1.4, and Vol. B (2010), §A1.4
//! (Hall symbols) is a multiple of 1/24 (halves, thirds, quarters, sixths, eighths, twelfths), so
//! exact arithmetic modulo the lattice is possible with integer numerators over 24.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Common denominator of all space-group translations (see the module documentation).
pub(crate) const DEN: i32 = 24;

/// A rotation part: integer matrix acting on fractional coordinates (rows).
pub(crate) type Rot = [[i32; 3]; 3];

/// The 3×3 identity.
pub(crate) const IDENTITY: Rot = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/// A symmetry operation x' = R·x + t on fractional coordinates (R integer, t in [0, 1)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SymOp {
    /// Rotation part R (rows).
    pub rotation: [[i32; 3]; 3],
    /// Translation part t (fractions of the cell edges).
    pub translation: [f64; 3],
}

impl SymOp {
    /// The image R·x + t of a point x (fractional coordinates), not reduced into the cell.
    pub fn apply(&self, x: [f64; 3]) -> [f64; 3] {
        let mut y = self.translation;
        for (i, yi) in y.iter_mut().enumerate() {
            for (j, xj) in x.iter().enumerate() {
                *yi += f64::from(self.rotation[i][j]) * xj;
            }
        }
        y
    }

    /// Parses an operator in the coordinate-triplet notation of ITA Vol. A §1.2.2.1 and CIF
    /// `_space_group_symop_operation_xyz`, e.g. `-x+1/2, y, z+1/2` or `x-y,x,z+0.25`.
    /// Translations are reduced into [0, 1).
    pub fn from_xyz(text: &str) -> Result<Self> {
        let (rotation, translation) = parse_triplet(text)
            .ok_or_else(|| Error::Model(format!("cannot parse symmetry operator '{text}'")))?;
        Ok(SymOp { rotation, translation: translation.map(reduce_unit) })
    }

    /// The operator in coordinate-triplet notation (`-x+1/2,y,z+1/2`), translations written as
    /// fractions when they are multiples of 1/24.
    pub fn to_xyz(&self) -> String {
        let names = ['x', 'y', 'z'];
        let mut parts = Vec::with_capacity(3);
        for i in 0..3 {
            let mut s = String::new();
            for (j, name) in names.iter().enumerate() {
                let c = self.rotation[i][j];
                if c == 0 {
                    continue;
                }
                if c < 0 {
                    s.push('-');
                } else if !s.is_empty() {
                    s.push('+');
                }
                if c.abs() != 1 {
                    s.push_str(&c.abs().to_string());
                }
                s.push(*name);
            }
            let t = self.translation[i];
            if t.abs() > 1e-12 {
                let sign = if t < 0.0 { "-" } else { "+" };
                let frac = fraction_text(t.abs());
                if s.is_empty() {
                    if t < 0.0 {
                        s.push('-');
                    }
                    s.push_str(&frac);
                } else {
                    s.push_str(sign);
                    s.push_str(&frac);
                }
            }
            if s.is_empty() {
                s.push('0');
            }
            parts.push(s);
        }
        parts.join(",")
    }
}

impl fmt::Display for SymOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xyz())
    }
}

/// A fraction with denominator dividing 24 when t is one, else the decimal value.
fn fraction_text(t: f64) -> String {
    let n = (t * f64::from(DEN)).round();
    if (t * f64::from(DEN) - n).abs() < 1e-9 {
        // INVARIANT: |t| < a few cells, so n fits comfortably in i32.
        let n = n as i32;
        let g = gcd(n, DEN);
        let (num, den) = (n / g, DEN / g);
        if den == 1 {
            num.to_string()
        } else {
            format!("{num}/{den}")
        }
    } else {
        format!("{t}")
    }
}

/// Greatest common divisor (non-negative; gcd(0, n) = |n|).
pub(crate) fn gcd(a: i32, b: i32) -> i32 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// x reduced into [0, 1), with values within 1e-12 of 1 sent to 0 and −0 to +0.
pub(crate) fn reduce_unit(x: f64) -> f64 {
    let y = x.rem_euclid(1.0);
    if y > 1.0 - 1e-12 || y.abs() < 1e-15 {
        0.0
    } else {
        y
    }
}

/// Parses a coordinate triplet `a, b, c` where each term is a signed sum of `[n]x`, `[n]y`,
/// `[n]z` (also upper case) and constants (`1/2`, `0.25`, `3`). Returns the integer linear
/// part (row i = term i) and the constant part.
pub(crate) fn parse_triplet(text: &str) -> Option<(Rot, [f64; 3])> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let terms: Vec<&str> = cleaned.split(',').collect();
    if terms.len() != 3 {
        return None;
    }
    let mut linear = [[0i32; 3]; 3];
    let mut constant = [0.0f64; 3];
    for (i, term) in terms.iter().enumerate() {
        if term.is_empty() {
            return None;
        }
        // Split into signed tokens.
        let mut tokens: Vec<(i32, String)> = Vec::new();
        let mut sign = 1;
        let mut token = String::new();
        for c in term.chars() {
            if c == '+' || c == '-' {
                if !token.is_empty() {
                    tokens.push((sign, std::mem::take(&mut token)));
                } else if c == '-' && sign == -1 {
                    return None;
                }
                sign = if c == '-' { -1 } else { 1 };
            } else {
                token.push(c);
            }
        }
        if token.is_empty() {
            return None;
        }
        tokens.push((sign, token));
        for (sign, token) in tokens {
            let last = token.chars().last()?;
            let var = match last.to_ascii_lowercase() {
                'x' => Some(0),
                'y' => Some(1),
                'z' => Some(2),
                _ => None,
            };
            match var {
                Some(j) => {
                    let coeff_text = &token[..token.len() - 1];
                    let coeff = if coeff_text.is_empty() {
                        1
                    } else {
                        coeff_text.trim_end_matches('*').parse::<i32>().ok()?
                    };
                    linear[i][j] += sign * coeff;
                }
                None => {
                    let value = match token.split_once('/') {
                        Some((num, den)) => {
                            let num: f64 = num.parse().ok()?;
                            let den: f64 = den.parse().ok()?;
                            if den == 0.0 {
                                return None;
                            }
                            num / den
                        }
                        None => token.parse::<f64>().ok()?,
                    };
                    if !value.is_finite() {
                        return None;
                    }
                    constant[i] += f64::from(sign) * value;
                }
            }
        }
    }
    Some((linear, constant))
}

/// An operator with exact translation t = tr / 24 (components in 0..24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ExactOp {
    /// Rotation part.
    pub rot: Rot,
    /// Translation numerators over [`DEN`], reduced into 0..DEN.
    pub tr: [i32; 3],
}

impl ExactOp {
    /// The identity operator.
    pub const IDENTITY: ExactOp = ExactOp { rot: IDENTITY, tr: [0, 0, 0] };

    /// From a rotation and a float translation; `None` if t is not a multiple of 1/24.
    pub fn from_float(rot: Rot, t: [f64; 3]) -> Option<Self> {
        let mut tr = [0i32; 3];
        for i in 0..3 {
            let n = t[i] * f64::from(DEN);
            let r = n.round();
            if (n - r).abs() > 1e-6 || !r.is_finite() || r.abs() > 1e6 {
                return None;
            }
            // INVARIANT: |r| ≤ 1e6 was checked, so the cast is exact.
            tr[i] = (r as i32).rem_euclid(DEN);
        }
        Some(ExactOp { rot, tr })
    }

    /// The composition self ∘ other: x ↦ R₁(R₂x + t₂) + t₁, translation reduced mod 1.
    pub fn compose(&self, other: &ExactOp) -> ExactOp {
        let rot = mat_mul(&self.rot, &other.rot);
        let mut tr = self.tr;
        for (i, t) in tr.iter_mut().enumerate() {
            for j in 0..3 {
                *t += self.rot[i][j] * other.tr[j];
            }
            *t = t.rem_euclid(DEN);
        }
        ExactOp { rot, tr }
    }

    /// The public form with float translations in [0, 1).
    pub fn to_symop(self) -> SymOp {
        SymOp { rotation: self.rot, translation: self.tr.map(|n| f64::from(n) / f64::from(DEN)) }
    }

    /// The image R·x + t of x (not reduced).
    pub fn apply(&self, x: [f64; 3]) -> [f64; 3] {
        self.to_symop().apply(x)
    }
}

/// Product of two integer 3×3 matrices.
pub(crate) fn mat_mul(a: &Rot, b: &Rot) -> Rot {
    let mut c = [[0i32; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// Transpose of an integer 3×3 matrix.
pub(crate) fn transpose(a: &Rot) -> Rot {
    let mut t = [[0i32; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            t[i][j] = a[j][i];
        }
    }
    t
}

/// Determinant of an integer 3×3 matrix.
pub(crate) fn det(a: &Rot) -> i32 {
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
}

/// Negated matrix −R.
pub(crate) fn neg(a: &Rot) -> Rot {
    a.map(|row| row.map(|v| -v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xyz_round_trip() {
        let op = SymOp::from_xyz("-x+1/2, y, z+1/2").unwrap();
        assert_eq!(op.rotation, [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]);
        assert_eq!(op.translation, [0.5, 0.0, 0.5]);
        assert_eq!(op.to_xyz(), "-x+1/2,y,z+1/2");
        let hex = SymOp::from_xyz("x-y,x,z+1/6").unwrap();
        assert_eq!(hex.rotation, [[1, -1, 0], [1, 0, 0], [0, 0, 1]]);
        assert_eq!(SymOp::from_xyz(&hex.to_xyz()).unwrap(), hex);
        let neg_t = SymOp::from_xyz("-x-1/4,y,z").unwrap();
        assert_eq!(neg_t.translation, [0.75, 0.0, 0.0]);
        assert!(SymOp::from_xyz("x,y").is_err());
        assert!(SymOp::from_xyz("x,y,q").is_err());
        assert!(SymOp::from_xyz("x,y,1/0").is_err());
    }

    #[test]
    fn composition_is_exact() {
        // 4₁ screw along z in I4₁/amd-like setting: (−y, x+1/2, z+1/4); its fourth power is a
        // pure lattice translation (0,0,1) ≡ identity modulo the lattice.
        let s = ExactOp::from_float([[0, -1, 0], [1, 0, 0], [0, 0, 1]], [0.0, 0.5, 0.25]).unwrap();
        let s4 = s.compose(&s).compose(&s).compose(&s);
        assert_eq!(s4.rot, IDENTITY);
        assert_eq!(s4.tr, [0, 0, 0]);
    }
}
