//! Chemical compositions: formulas with amounts, parsed from text or taken from a phase.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::structure::Phase;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Elements that cannot be cations of an oxide in these models (anions, H, C, noble gases).
pub(super) const NON_CATIONS: [&str; 18] = [
    "H", "He", "C", "N", "F", "Ne", "P", "S", "Cl", "Ar", "Se", "Br", "Kr", "Te", "I", "Xe", "At",
    "Rn",
];

/// A chemical composition: elements with amounts per formula unit, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composition {
    entries: Vec<(Element, f64)>,
}

impl Composition {
    /// A composition from (element, amount) pairs; repeated elements are added up. Amounts
    /// must be finite and non-negative ([`Error::InvalidValue`]), and at least one positive.
    pub fn new(entries: impl IntoIterator<Item = (Element, f64)>) -> Result<Self> {
        let mut out: Vec<(Element, f64)> = Vec::new();
        for (e, n) in entries {
            if !(n.is_finite() && n >= 0.0) {
                return Err(Error::InvalidValue {
                    name: format!("amount of {e}"),
                    value: n,
                    reason: "amounts must be finite and non-negative",
                });
            }
            match out.iter_mut().find(|(x, _)| *x == e) {
                Some(slot) => slot.1 += n,
                None => out.push((e, n)),
            }
        }
        if !out.iter().any(|(_, n)| *n > 0.0) {
            return Err(Error::Model("a composition needs at least one element".into()));
        }
        Ok(Composition { entries: out })
    }

    /// Parses a formula such as `Li1.18Ni0.21Mn0.53Co0.08O2`, `LiCoO2`,
    /// `Li[Li0.2Ni0.2Mn0.6]O2` or `Li1.2(Ni0.13Mn0.54Co0.13)O2`: element symbols (upper-case
    /// letter, optional lower-case letter) each followed by an optional decimal amount (default
    /// 1), groups in `()` or `[]` with an optional multiplier. Spaces are ignored.
    ///
    /// Errors: [`Error::UnknownElement`] for a symbol not in the periodic table;
    /// [`Error::Model`] naming the position of any other syntax error.
    pub fn parse(formula: &str) -> Result<Self> {
        let chars: Vec<char> = formula.chars().filter(|c| !c.is_whitespace()).collect();
        let mut parser = FormulaParser { text: formula, chars: &chars, pos: 0 };
        let entries = parser.group(None)?;
        if entries.is_empty() {
            return Err(Error::Model(format!("formula '{formula}' is empty")));
        }
        Composition::new(entries)
    }

    /// The composition per formula unit of a phase: its cell contents (multiplicity ×
    /// occupancy) divided by Z ([`Phase::formula_units`]); e.g. the refined 4a/4b (or 8c)
    /// occupancies of a rock salt. Order: Li first, then by atomic number, O last.
    pub fn from_phase(phase: &Phase) -> Result<Self> {
        let z = phase.formula_units();
        if !(z.is_finite() && z > 0.0) {
            return Err(Error::InvalidValue {
                name: format!("{}.z", phase.name),
                value: z,
                reason: "formula units per cell must be positive",
            });
        }
        let mut entries: Vec<(Element, f64)> =
            phase.cell_contents().into_iter().map(|(e, n)| (e, n / z)).collect();
        entries.sort_by_key(|(e, _)| match e.symbol() {
            "Li" => (0, 0),
            "O" => (2, 0),
            _ => (1, e.z()),
        });
        Composition::new(entries)
    }

    /// The (element, amount) pairs in order.
    pub fn entries(&self) -> &[(Element, f64)] {
        &self.entries
    }

    /// Amount of `element` (0 when absent).
    pub fn amount(&self, element: Element) -> f64 {
        self.entries.iter().filter(|(e, _)| *e == element).map(|(_, n)| n).sum()
    }

    /// Molar mass in g/mol per formula unit, Σ n_e·M_e with the IUPAC 2021 standard atomic
    /// weights ([`Element::atomic_mass`]).
    ///
    /// Errors: [`Error::Model`] for an element without a standard atomic weight (Tc, Pm, Po–Ac,
    /// Np–Cf): its mass depends on the isotope, which a formula does not say.
    pub fn molar_mass(&self) -> Result<f64> {
        let mut total = 0.0;
        for &(e, n) in &self.entries {
            total += n * standard_mass(e)?;
        }
        Ok(total)
    }
}

/// The standard atomic weight of `e` or an error naming it.
pub(super) fn standard_mass(e: Element) -> Result<f64> {
    if !e.has_standard_atomic_weight() {
        return Err(Error::Model(format!(
            "element {e} has no standard atomic weight (IUPAC 2021): its molar mass depends on \
             the isotope, so no density or capacity can be computed"
        )));
    }
    e.atomic_mass()
}

/// Writes an amount to 4 decimals without trailing zeros (omitted when it is 1).
fn write_amount(out: &mut String, n: f64) {
    if (n - 1.0).abs() > 5e-5 {
        let text = format!("{n:.4}");
        out.push_str(text.trim_end_matches('0').trim_end_matches('.'));
    }
}

impl fmt::Display for Composition {
    /// The formula in entry order, amounts to 4 decimals (`Li1.18Ni0.21Mn0.53Co0.08O1.87`);
    /// zero amounts are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for &(e, n) in &self.entries {
            if n > 5e-5 {
                out.push_str(e.symbol());
                write_amount(&mut out, n);
            }
        }
        f.pad(&out)
    }
}

impl FromStr for Composition {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Composition::parse(s)
    }
}

/// Recursive-descent parser of formulas (see [`Composition::parse`]).
struct FormulaParser<'a> {
    text: &'a str,
    chars: &'a [char],
    pos: usize,
}

impl FormulaParser<'_> {
    fn err(&self, message: &str) -> Error {
        Error::Model(format!(
            "formula '{}': {message} at character {} (after removing spaces)",
            self.text,
            self.pos + 1
        ))
    }

    /// Parses until `close` (or the end when `None`), returning the entries.
    fn group(&mut self, close: Option<char>) -> Result<Vec<(Element, f64)>> {
        let mut out = Vec::new();
        while let Some(&c) = self.chars.get(self.pos) {
            if Some(c) == close {
                return Ok(out);
            }
            if c.is_ascii_uppercase() {
                let mut symbol = c.to_string();
                self.pos += 1;
                if let Some(&l) = self.chars.get(self.pos).filter(|l| l.is_ascii_lowercase()) {
                    symbol.push(l);
                    self.pos += 1;
                }
                let element = Element::from_symbol(&symbol)?;
                let n = self.number()?.unwrap_or(1.0);
                out.push((element, n));
            } else if c == '(' || c == '[' {
                let end = if c == '(' { ')' } else { ']' };
                self.pos += 1;
                let inner = self.group(Some(end))?;
                if self.chars.get(self.pos) != Some(&end) {
                    return Err(self.err(&format!("missing '{end}'")));
                }
                if inner.is_empty() {
                    return Err(self.err("empty group"));
                }
                self.pos += 1;
                let m = self.number()?.unwrap_or(1.0);
                out.extend(inner.into_iter().map(|(e, n)| (e, n * m)));
            } else {
                return Err(self.err(&format!("unexpected '{c}'")));
            }
        }
        match close {
            Some(end) => Err(self.err(&format!("missing '{end}'"))),
            None => Ok(out),
        }
    }

    /// An optional decimal number: digits with at most one '.', e.g. `0.21`, `2`, `.5`.
    fn number(&mut self) -> Result<Option<f64>> {
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
            self.pos += 1;
        }
        if start == self.pos {
            return Ok(None);
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse::<f64>().map(Some).map_err(|_| self.err(&format!("'{text}' is not an amount")))
    }
}
