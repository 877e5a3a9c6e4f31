//! A value with its estimated standard deviation (esd, "standard uncertainty" in IUCr usage),
//! written the crystallographer's way: `4.1403(2)`.
//!
//! # Notation
//! The esd is written in parentheses in units of the last digit of the value (IUCr/CIF
//! convention: International Tables Vol. G (2005) §2.2.7.4.2 and the CIF 1.1 numeric syntax;
//! BIPM JCGM 100:2008 (GUM) §7.2.2 for the parenthesis form). The number of esd digits follows
//! the "rule of 19" of the IUCr Notes for Authors (Acta Cryst. / J. Appl. Cryst.; also
//! Schwarzenbach et al. (1995) Acta Cryst. A51, 565): the esd, rounded, lies between 2 and 19
//! units of the last digit, so it has **two** digits when its leading two digits are 10–19 and
//! **one** digit otherwise:
//!
//! | value ± esd        | written       |
//! |--------------------|---------------|
//! | 4.14032 ± 0.00019  | `4.14032(19)` |
//! | 4.14032 ± 0.00021  | `4.1403(2)`   |
//! | 4.14037 ± 0.00037  | `4.1404(4)`   |
//! | 12.3 ± 1.5         | `12.3(15)`    |
//! | 4.14 ± 0.00099     | `4.1400(10)`  |
//!
//! When the rule would put the last digit to the left of the decimal point (esd ≥ 20), the
//! value is written as an integer and the esd as its rounded integer (`1234(56)`), rather than
//! `1230(60)`, whose trailing zero would read as a significant digit.
//!
//! Exact values (esd `None` or 0) are written plainly, rounded to 10 significant digits and
//! without trailing zeros (`90`, `0.3333333333`). NaN and infinities are written as `NaN`,
//! `inf`, `-inf`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Significant digits kept when writing an exact value (no esd).
const EXACT_SIGNIFICANT_DIGITS: usize = 10;

/// A value with an optional estimated standard deviation (same unit as the value).
///
/// `esd: None` means the value is exact or was not refined (fixed); `Some(0.0)` is displayed
/// the same way.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Uncertain {
    /// The value.
    pub value: f64,
    /// Its estimated standard deviation (≥ 0), or `None` for an exact or fixed value.
    pub esd: Option<f64>,
}

impl Uncertain {
    /// A value with esd `esd`.
    pub fn new(value: f64, esd: f64) -> Self {
        Uncertain { value, esd: Some(esd) }
    }

    /// An exact (or fixed, not refined) value.
    pub fn exact(value: f64) -> Self {
        Uncertain { value, esd: None }
    }

    /// True when there is no esd or it is zero.
    pub fn is_exact(&self) -> bool {
        matches!(self.esd, None | Some(0.0))
    }

    /// esd / |value|, or `None` when exact or the value is zero.
    pub fn relative_esd(&self) -> Option<f64> {
        match self.esd {
            Some(s) if s != 0.0 && self.value != 0.0 => Some(s / self.value.abs()),
            _ => None,
        }
    }

    /// The value scaled by a constant factor (esd scaled by |factor|), e.g. for unit changes.
    pub fn scaled(&self, factor: f64) -> Self {
        Uncertain { value: self.value * factor, esd: self.esd.map(|s| s * factor.abs()) }
    }

    /// The display form followed by a unit: `4.1403(2) Å`, `90.12(3)°` (no space before
    /// °, ′, ″, per SI Brochure §5.4.3), or the bare number when `unit` is empty.
    pub fn format_with_unit(&self, unit: &str) -> String {
        let number = self.to_string();
        if unit.is_empty() {
            number
        } else if matches!(unit, "°" | "′" | "″") {
            format!("{number}{unit}")
        } else {
            format!("{number} {unit}")
        }
    }
}

/// The esd digits and the decimal exponent `p` of their last digit (esd ≈ digits·10^p), by
/// the rule of 19 (module docs), for a finite esd > 0.
fn esd_digits(esd: f64) -> (u64, i32) {
    // `{:.1e}` rounds the exact binary value to two significant decimal digits; parsing the
    // text avoids floating-point log10 at digit boundaries. The nudge by a few ulps makes exact
    // ties (2.5, 0.125) round up, so that an esd is never understated by the rounding.
    let esd = esd * (1.0 + 4.0 * f64::EPSILON);
    let (two, e) = mantissa_exponent(&format!("{esd:.1e}"));
    let (mut digits, mut p) = if two <= 19 {
        (two, e - 1)
    } else {
        let (one, e1) = mantissa_exponent(&format!("{esd:.0e}"));
        if one == 1 {
            // Rounded up to a power of ten (0.00099 → 0.0010): leading digits "10".
            (10, e1 - 1)
        } else {
            (one, e1)
        }
    };
    if p > 0 {
        p = 0;
        digits = esd_integer(esd);
    }
    (digits, p)
}

/// Mantissa digits (decimal point removed) and exponent of Rust's `{:e}` text of a positive
/// finite number, e.g. `2.1e-4` → (21, −4).
fn mantissa_exponent(text: &str) -> (u64, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(0), exponent.parse().unwrap_or(0))
}

/// An esd ≥ 1 rounded to an integer.
fn esd_integer(esd: f64) -> u64 {
    format!("{esd:.0}").parse().unwrap_or(u64::MAX)
}

/// `value` with `decimals` decimals, without a sign on a value that rounds to zero.
fn fixed(value: f64, decimals: usize) -> String {
    let s = format!("{value:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// An exact value rounded to [`EXACT_SIGNIFICANT_DIGITS`] and written in shortest form.
fn plain(value: f64) -> String {
    if !value.is_finite() {
        return non_finite(value);
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let rounded = format!("{value:.prec$e}", prec = EXACT_SIGNIFICANT_DIGITS - 1);
    let v: f64 = rounded.parse().unwrap_or(value);
    format!("{v}")
}

fn non_finite(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value > 0.0 {
        "inf".to_string()
    } else {
        "-inf".to_string()
    }
}

impl fmt::Display for Uncertain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.esd {
            _ if !self.value.is_finite() => non_finite(self.value),
            None => plain(self.value),
            Some(0.0) => plain(self.value), // also matches −0.0
            Some(s) if s.is_nan() || s.is_infinite() => {
                format!("{}({})", plain(self.value), non_finite(s))
            }
            Some(s) if s < 0.0 => format!("{}(invalid esd {s})", plain(self.value)),
            Some(s) => {
                let (digits, p) = esd_digits(s);
                let decimals = usize::try_from(-p).unwrap_or(0);
                format!("{}({digits})", fixed(self.value, decimals))
            }
        };
        f.pad(&text)
    }
}

impl FromStr for Uncertain {
    type Err = Error;

    /// Parses the CIF numeric forms `4.1403(2)`, `1234(56)`, `-0.5(12)`, `1.23(4)e-5`,
    /// `1.23e-5(4)` and plain numbers (esd `None`). The digits in parentheses are in units of
    /// the last digit of the mantissa, times the exponent.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || Error::InvalidInput(format!("'{s}' is not a number with optional esd"));
        let Some(open) = s.find('(') else {
            let value: f64 = s.parse().map_err(|_| bad())?;
            return Ok(Uncertain::exact(value));
        };
        let close = s.find(')').filter(|&c| c > open).ok_or_else(bad)?;
        let inner = &s[open + 1..close];
        if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let before = &s[..open];
        let after = &s[close + 1..];
        let (mantissa, exponent) = match (before.find(['e', 'E']), after.is_empty()) {
            (Some(i), true) => (&before[..i], &before[i + 1..]),
            (None, true) => (before, "0"),
            (None, false) if after.starts_with(['e', 'E']) => (before, &after[1..]),
            _ => return Err(bad()),
        };
        let exp: i32 = exponent.parse().map_err(|_| bad())?;
        let m: f64 = mantissa.parse().map_err(|_| bad())?;
        let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len());
        let decimals = i32::try_from(decimals).map_err(|_| bad())?;
        let su: f64 = inner.parse().map_err(|_| bad())?;
        // Build through decimal text so that 4.1403(2) gives exactly 0.0002.
        let value: f64 = format!("{m}e{exp}").parse().map_err(|_| bad())?;
        let esd: f64 = format!("{su}e{}", exp - decimals).parse().map_err(|_| bad())?;
        Ok(Uncertain::new(value, esd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(value: f64, esd: f64) -> String {
        Uncertain::new(value, esd).to_string()
    }

    #[test]
    fn rule_of_nineteen_examples() {
        // Leading esd digits 10..19 → two digits; 20..99 → one digit (IUCr Notes for Authors).
        assert_eq!(show(4.14032, 0.00019), "4.14032(19)");
        assert_eq!(show(4.14032, 0.00010), "4.14032(10)");
        assert_eq!(show(4.14032, 0.00021), "4.1403(2)");
        assert_eq!(show(4.14032, 0.0002), "4.1403(2)");
        assert_eq!(show(4.14037, 0.00037), "4.1404(4)");
        assert_eq!(show(4.14032, 0.00037), "4.1403(4)");
        assert_eq!(show(4.14032, 0.00094), "4.1403(9)");
        assert_eq!(show(12.3, 1.5), "12.3(15)");
        assert_eq!(show(12.34, 2.5), "12(3)");
        assert_eq!(show(0.25, 0.012), "0.250(12)");
        assert_eq!(show(1.0, 0.1), "1.00(10)");
        assert_eq!(show(90.0, 0.0123), "90.000(12)");
    }

    #[test]
    fn esd_rounding_up_to_next_decade() {
        // 0.00099 rounds to 0.0010, whose leading digits "10" take two digits.
        assert_eq!(show(4.14, 0.00099), "4.1400(10)");
        assert_eq!(show(4.14, 0.000996), "4.1400(10)");
        // 0.000196 → two significant digits "20" → one digit.
        assert_eq!(show(4.14, 0.000196), "4.1400(2)");
        // 9.6 → 10 → "10" in units of 1.
        assert_eq!(show(123.4, 9.6), "123(10)");
    }

    #[test]
    fn large_esds_are_integers() {
        assert_eq!(show(1234.0, 56.0), "1234(56)");
        assert_eq!(show(1234.4, 15.0), "1234(15)");
        assert_eq!(show(1234.4, 5.6), "1234(6)");
        assert_eq!(show(12345.6, 234.0), "12346(234)");
        assert_eq!(show(3.0, 25.0), "3(25)");
    }

    #[test]
    fn signs_and_small_values() {
        assert_eq!(show(-0.31234, 0.0012), "-0.3123(12)");
        // A negative value that rounds to zero loses its sign.
        assert_eq!(show(-0.00001, 0.002), "0.000(2)");
        assert_eq!(show(1.234e-7, 4e-9), "0.000000123(4)");
        assert_eq!(show(0.0, 0.003), "0.000(3)");
    }

    #[test]
    fn exact_and_non_finite() {
        assert_eq!(Uncertain::exact(90.0).to_string(), "90");
        assert_eq!(Uncertain::exact(4.14).to_string(), "4.14");
        assert_eq!(Uncertain::exact(1.0 / 3.0).to_string(), "0.3333333333");
        assert_eq!(Uncertain::new(5.0, 0.0).to_string(), "5");
        assert_eq!(Uncertain::exact(-0.0).to_string(), "0");
        assert_eq!(Uncertain::exact(f64::NAN).to_string(), "NaN");
        assert_eq!(Uncertain::new(f64::INFINITY, 0.1).to_string(), "inf");
        assert_eq!(Uncertain::exact(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(Uncertain::new(2.5, f64::NAN).to_string(), "2.5(NaN)");
        assert_eq!(Uncertain::new(2.5, f64::INFINITY).to_string(), "2.5(inf)");
        assert_eq!(Uncertain::new(2.5, -0.1).to_string(), "2.5(invalid esd -0.1)");
    }

    #[test]
    fn units_and_padding() {
        let a = Uncertain::new(4.14032, 0.0002);
        assert_eq!(a.format_with_unit("Å"), "4.1403(2) Å");
        assert_eq!(Uncertain::new(90.123, 0.031).format_with_unit("°"), "90.12(3)°");
        assert_eq!(a.format_with_unit(""), "4.1403(2)");
        assert_eq!(format!("{a:>12}"), "   4.1403(2)");
        assert_eq!(format!("{a:<10}|"), "4.1403(2) |");
    }

    #[test]
    fn parse_cif_forms() {
        let u: Uncertain = "4.1403(2)".parse().unwrap();
        assert_eq!(u, Uncertain::new(4.1403, 0.0002));
        let u: Uncertain = "1234(56)".parse().unwrap();
        assert_eq!(u, Uncertain::new(1234.0, 56.0));
        let u: Uncertain = "-0.5(12)".parse().unwrap();
        assert_eq!(u, Uncertain::new(-0.5, 1.2));
        let u: Uncertain = "1.23(4)e-5".parse().unwrap();
        assert_eq!(u, Uncertain::new(1.23e-5, 4e-7));
        let u: Uncertain = "1.23E-5(4)".parse().unwrap();
        assert_eq!(u, Uncertain::new(1.23e-5, 4e-7));
        let u: Uncertain = " 90 ".parse().unwrap();
        assert_eq!(u, Uncertain::exact(90.0));
        for bad in ["", "abc", "4.1(", "4.1()", "4.1(a)", "4.1(2)x", "(2)"] {
            assert!(bad.parse::<Uncertain>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_parse_round_trip_keeps_esd_within_rounding() {
        // Round trip through the text: the value moves by less than its esd and the esd by
        // less than the rounding to one significant digit allows (≤ 25 % for leading digit 2).
        let cases = [(4.14032, 0.00021), (12.3, 1.5), (0.0731, 0.00457), (-3.3, 0.049)];
        for (v, s) in cases {
            let text = show(v, s);
            let back: Uncertain = text.parse().unwrap();
            assert!((back.value - v).abs() <= back.esd.unwrap(), "{text}");
            let rel = (back.esd.unwrap() - s).abs() / s;
            assert!(rel < 0.35, "{text}: esd {} vs {s}", back.esd.unwrap());
            // Printed esd lies within 2..=19 units of the last digit (the rule itself).
            let digits: u64 = text[text.find('(').unwrap() + 1..text.len() - 1].parse().unwrap();
            assert!((2..=19).contains(&digits), "{text}");
        }
    }

    #[test]
    fn serde_shape() {
        let json = serde_json::to_string(&Uncertain::new(1.5, 0.25)).unwrap();
        assert_eq!(json, r#"{"value":1.5,"esd":0.25}"#);
        let json = serde_json::to_string(&Uncertain::exact(2.0)).unwrap();
        assert_eq!(json, r#"{"value":2.0,"esd":null}"#);
    }
}
