//! Symmetry operators as CIF writes them (`x,1/2-y,z+1/2`), and the resolution of a CIF's
//! space-group information (H-M symbol, number, Hall symbol, operator list) into a
//! [`SpaceGroup`] whose operators are verified against the file's.

use super::syntax::{CifValue, DataBlock};
use crate::error::{Error, Result};
use bragg_crystal::{SpaceGroup, SymOp};
use std::path::Path;

/// Tolerance on translations when comparing operators (fractions of a cell edge).
const TRANSLATION_TOLERANCE: f64 = 1e-4;
/// Largest number of operators of a space group in a conventional cell (Fm-3m: 192).
const MAX_OPERATIONS: usize = 192;

/// Parses one operator in the Jones-faithful form of CIF (`-x+y,y,1/2+z`, `x-y+2/3, ...`,
/// case-insensitive, spaces allowed, translations as fractions or decimals).
pub fn parse_xyz(text: &str) -> Option<SymOp> {
    let parts: Vec<&str> = text.split(',').collect();
    if parts.len() != 3 {
        return None;
    }
    let mut rotation = [[0i32; 3]; 3];
    let mut translation = [0.0f64; 3];
    for (row, part) in parts.iter().enumerate() {
        let s: String =
            part.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        if s.is_empty() {
            return None;
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut any_term = false;
        while i < bytes.len() {
            let mut sign = 1.0;
            if bytes[i] == b'+' || bytes[i] == b'-' {
                if bytes[i] == b'-' {
                    sign = -1.0;
                }
                i += 1;
            } else if any_term {
                return None;
            }
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'+' | b'-') {
                i += 1;
            }
            let term = s.get(start..i)?;
            match term {
                "x" | "y" | "z" => {
                    let col = usize::from(term.as_bytes()[0] - b'x');
                    rotation[row][col] += if sign > 0.0 { 1 } else { -1 };
                }
                _ => {
                    let value = if let Some((num, den)) = term.split_once('/') {
                        let num: f64 = num.parse().ok()?;
                        let den: f64 = den.parse().ok()?;
                        if den == 0.0 {
                            return None;
                        }
                        num / den
                    } else {
                        term.parse().ok()?
                    };
                    if !f64::is_finite(value) {
                        return None;
                    }
                    translation[row] += sign * value;
                }
            }
            any_term = true;
        }
    }
    if rotation.iter().flatten().any(|r| r.abs() > 1) {
        return None;
    }
    Some(SymOp { rotation, translation: translation.map(|t| t.rem_euclid(1.0)) })
}

/// Writes an operator in the CIF form, e.g. `-x+1/2,y,-z+1/2` (translations as fractions with
/// denominators up to 12, otherwise as decimals).
pub fn format_xyz(op: &SymOp) -> String {
    let mut parts = Vec::with_capacity(3);
    for row in 0..3 {
        let mut s = String::new();
        for (col, name) in ['x', 'y', 'z'].iter().enumerate() {
            match op.rotation[row][col] {
                0 => {}
                r => {
                    let sign = if r < 0 {
                        "-"
                    } else if s.is_empty() {
                        ""
                    } else {
                        "+"
                    };
                    let k = if r.abs() == 1 { String::new() } else { r.abs().to_string() };
                    s.push_str(&format!("{sign}{k}{name}"));
                }
            }
        }
        let t = op.translation[row].rem_euclid(1.0);
        if t.abs() > 1e-9 && (1.0 - t).abs() > 1e-9 {
            let frac = [2, 3, 4, 6, 8, 12]
                .iter()
                .find_map(|&den| {
                    let num = t * f64::from(den);
                    ((num - num.round()).abs() < 1e-6).then(|| (num.round() as i64, den))
                })
                .map(|(num, den)| {
                    let g = gcd(num, i64::from(den));
                    format!("{}/{}", num / g, i64::from(den) / g)
                })
                .unwrap_or_else(|| format!("{t}"));
            s.push('+');
            s.push_str(&frac);
        }
        if s.is_empty() {
            s.push('0');
        }
        parts.push(s);
    }
    parts.join(",")
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs().max(1)
    } else {
        gcd(b, a % b)
    }
}

fn same_op(a: &SymOp, b: &SymOp) -> bool {
    a.rotation == b.rotation
        && a.translation.iter().zip(&b.translation).all(|(x, y)| {
            let d = x - y;
            (d - d.round()).abs() < TRANSLATION_TOLERANCE
        })
}

fn compose(a: &SymOp, b: &SymOp) -> SymOp {
    let mut rotation = [[0i32; 3]; 3];
    let mut translation = a.translation;
    for (i, (row, t)) in rotation.iter_mut().zip(translation.iter_mut()).enumerate() {
        for (j, r) in row.iter_mut().enumerate() {
            *r = (0..3).map(|k| a.rotation[i][k] * b.rotation[k][j]).sum();
            *t += f64::from(a.rotation[i][j]) * b.translation[j];
        }
    }
    SymOp { rotation, translation: translation.map(|t| t.rem_euclid(1.0)) }
}

/// The group generated by `ops` (modulo lattice translations), or `None` if it exceeds the size
/// of any space group (the operators are not those of a space group in this cell).
fn closure(ops: &[SymOp]) -> Option<Vec<SymOp>> {
    let mut out: Vec<SymOp> = Vec::new();
    for op in ops {
        if !out.iter().any(|o| same_op(o, op)) {
            out.push(*op);
        }
    }
    let mut i = 0;
    while i < out.len() {
        let mut j = 0;
        while j < out.len() {
            let c = compose(&out[i], &out[j]);
            if !out.iter().any(|o| same_op(o, &c)) {
                out.push(c);
                if out.len() > MAX_OPERATIONS {
                    return None;
                }
            }
            j += 1;
        }
        i += 1;
    }
    Some(out)
}

/// Whether the operators listed in a file generate exactly the operators of `group`.
pub fn matches_group(file_ops: &[SymOp], group: &SpaceGroup) -> bool {
    let Some(generated) = closure(file_ops) else { return false };
    let group_ops = group.operations();
    generated.len() == group_ops.len()
        && generated.iter().all(|op| group_ops.iter().any(|g| same_op(op, g)))
}

/// The complete operator set (centring included) of a Hall symbol, via moyo's Hall-symbol parser
/// (ITB (2010) Appendix A1.4.2). Only called with symbols from moyo's own database: its parser
/// asserts on some malformed input, so text from a file never reaches it (file Hall symbols are
/// matched against the database as strings, see [`symbols_of_hall`]).
fn hall_operations(hall: &str) -> Option<Vec<SymOp>> {
    let symbol = moyo::data::HallSymbol::new(hall)?;
    let mut centrings = vec![[0.0; 3]];
    centrings.extend(symbol.centering_translations.iter().map(|t| [t[0], t[1], t[2]]));
    let mut out = Vec::new();
    for op in symbol.traverse() {
        let mut rotation = [[0i32; 3]; 3];
        for (i, row) in rotation.iter_mut().enumerate() {
            for (j, r) in row.iter_mut().enumerate() {
                *r = op.rotation[(i, j)];
            }
        }
        for c in &centrings {
            let translation = [0, 1, 2].map(|k| (op.translation[k] + c[k]).rem_euclid(1.0));
            out.push(SymOp { rotation, translation });
        }
    }
    Some(out)
}

/// The Hermann–Mauguin symbols, full then short (with `:1`, `:2`, `:H`, `:R` where the setting
/// needs it), of a moyo Hall-database entry.
fn entry_symbols(entry: &moyo::data::HallSymbolEntry) -> Vec<String> {
    let mut out = Vec::new();
    for hm in [entry.hm_full, entry.hm_short] {
        let s = match entry.setting {
            "1" | "2" | "H" | "R" => format!("{hm} :{}", entry.setting),
            _ => hm.to_string(),
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Normalises a Hall symbol for comparison: collapsed spaces, `'`/`"` as moyo writes them.
fn normalize_hall(hall: &str) -> String {
    hall.replace('\'', "^").replace('"', "=").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The H-M symbols of the database entry whose Hall symbol is `hall` (e.g. `-R 3 2"` →
/// `R -3 2/m :H`, `R -3 m :H`); empty if there is none.
fn symbols_of_hall(hall: &str) -> Vec<String> {
    let wanted = normalize_hall(hall);
    (1..=530)
        .filter_map(moyo::data::hall_symbol_entry)
        .find(|e| normalize_hall(e.hall_symbol).eq_ignore_ascii_case(&wanted))
        .map(|e| entry_symbols(&e))
        .unwrap_or_default()
}

/// Symbols of all database settings whose operators are exactly `ops`.
fn settings_matching(ops: &[SymOp]) -> Vec<String> {
    let Some(generated) = closure(ops) else { return Vec::new() };
    (1..=530)
        .filter_map(moyo::data::hall_symbol_entry)
        .filter(|e| {
            hall_operations(e.hall_symbol).is_some_and(|h| {
                h.len() == generated.len()
                    && generated.iter().all(|op| h.iter().any(|g| same_op(op, g)))
            })
        })
        .flat_map(|e| entry_symbols(&e))
        .collect()
}

/// The result of resolving a block's space group.
pub(crate) struct Resolved {
    pub group: SpaceGroup,
    pub warnings: Vec<String>,
}

/// Finds the space group of a data block (see [`crate::cif::read_cif`] for the order of the
/// tags consulted) and checks it against the listed operators, if any.
pub(crate) fn resolve_space_group(block: &DataBlock, path: &Path) -> Result<Resolved> {
    let mut warnings = Vec::new();
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };

    // The operator list, if given.
    let op_loop = block
        .find_loop("_space_group_symop_operation_xyz")
        .map(|l| (l, "_space_group_symop_operation_xyz"))
        .or_else(|| {
            block.find_loop("_symmetry_equiv_pos_as_xyz").map(|l| (l, "_symmetry_equiv_pos_as_xyz"))
        });
    let single_op = || {
        ["_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz"]
            .iter()
            .find_map(|t| block.non_null(t).map(|v| (vec![v.clone()], v.line)))
    };
    let listed: Option<(Vec<CifValue>, usize)> = match op_loop {
        Some((l, tag)) => {
            l.column(tag).map(|c| (l.rows().filter_map(|r| r.get(c).cloned()).collect(), l.line))
        }
        None => single_op(),
    };
    let file_ops = match &listed {
        Some((values, _)) => {
            let mut ops = Vec::with_capacity(values.len());
            for v in values {
                match parse_xyz(&v.text) {
                    Some(op) => ops.push(op),
                    None => {
                        return Err(data_err(
                            v.line,
                            format!("cannot read symmetry operator '{}'", v.text),
                        ))
                    }
                }
            }
            Some(ops)
        }
        None => None,
    };
    let ops_line = listed.as_ref().map_or(block.line, |(_, l)| *l);

    // Candidate symbols in order of preference.
    // Each candidate: the text as written, the symbols to try, its line and tag.
    let mut candidates: Vec<(String, Vec<String>, usize, &'static str)> = Vec::new();
    for tag in ["_space_group_name_h-m_alt", "_symmetry_space_group_name_h-m"] {
        if let Some(v) = block.non_null(tag) {
            let text = v.text.trim().to_string();
            candidates.push((text.clone(), vec![text], v.line, tag));
        }
    }
    for tag in ["_space_group_name_hall", "_symmetry_space_group_name_hall"] {
        if let Some(v) = block.non_null(tag) {
            let symbols = symbols_of_hall(&v.text);
            if symbols.is_empty() {
                warnings.push(format!(
                    "line {}: Hall symbol '{}' not recognised; ignored",
                    v.line, v.text
                ));
            } else {
                candidates.push((v.text.trim().to_string(), symbols, v.line, tag));
            }
        }
    }
    let mut stated_number: Option<(u16, usize)> = None;
    for tag in ["_space_group_it_number", "_symmetry_int_tables_number"] {
        if let Some(v) = block.non_null(tag) {
            let n = v.text.trim().parse::<u16>().ok().filter(|n| (1..=230).contains(n));
            match n {
                Some(n) => {
                    if stated_number.is_none() {
                        stated_number = Some((n, v.line));
                        candidates.push((n.to_string(), vec![n.to_string()], v.line, tag));
                    }
                }
                None => {
                    return Err(data_err(
                        v.line,
                        format!("{tag} '{}' is not a space-group number 1–230", v.text),
                    ))
                }
            }
        }
    }

    let mut first_failure: Option<(bragg_crystal::Error, usize)> = None;
    for (symbol, tries, line, tag) in &candidates {
        let mut attempt = Err(bragg_crystal::Error::UnknownSpaceGroup { symbol: symbol.clone() });
        for t in tries {
            attempt = SpaceGroup::from_symbol(t);
            if attempt.is_ok() {
                break;
            }
        }
        let group = match attempt {
            Ok(g) => g,
            Err(e) => {
                warnings.push(format!("line {line}: {tag} '{symbol}' not recognised ({e})"));
                if first_failure.is_none() {
                    first_failure = Some((e, *line));
                }
                continue;
            }
        };
        if let Some((n, n_line)) = stated_number {
            if group.number() != n {
                return Err(data_err(
                    *line,
                    format!(
                        "{tag} '{symbol}' is space group {} but line {n_line} gives number {n}",
                        group.number()
                    ),
                ));
            }
        }
        match &file_ops {
            Some(ops) if !matches_group(ops, &group) => {
                // Same group, other setting (origin choice, axes)? Find it from the operators.
                if let Some(g) = group_from_ops(ops, Some(group.number())) {
                    warnings.push(format!(
                        "line {line}: the operators at line {ops_line} are those of setting '{}' of '{symbol}'; using them",
                        g.symbol()
                    ));
                    return Ok(Resolved { group: g, warnings });
                }
                return Err(data_err(
                    ops_line,
                    format!(
                        "the {} symmetry operators listed here are not those of {symbol} (space group {} as bragg sets it up) nor of any setting of it bragg knows; \
                         check the origin choice / axes or give the matching _space_group_name_H-M_alt",
                        ops.len(),
                        group.number()
                    ),
                ));
            }
            _ => {}
        }
        return Ok(Resolved { group, warnings });
    }

    // No usable symbol: identify the group from the operators alone.
    if let Some(ops) = &file_ops {
        if let Some(g) = group_from_ops(ops, None) {
            if candidates.is_empty() {
                warnings.push(format!(
                    "no space-group symbol; operators at line {ops_line} identified as {} ({})",
                    g.symbol(),
                    g.number()
                ));
            }
            return Ok(Resolved { group: g, warnings });
        }
        return Err(data_err(
            ops_line,
            format!(
                "the {} symmetry operators listed here match no space-group setting bragg knows; give _space_group_name_H-M_alt",
                ops.len()
            ),
        ));
    }
    match first_failure {
        Some((source, line)) => Err(Error::Crystal { path: path.to_path_buf(), line, source }),
        None => Err(Error::Missing {
            path: path.to_path_buf(),
            line: block.line,
            what: format!(
                "space group in data block '{}' (none of _space_group_name_H-M_alt, _symmetry_space_group_name_H-M, _space_group_IT_number, \
                 _symmetry_Int_Tables_number, _space_group_name_Hall, or a symmetry-operator loop)",
                block.name
            ),
        }),
    }
}

/// A group whose operators are exactly `ops`, in the first matching setting bragg can build,
/// optionally restricted to one space-group number.
fn group_from_ops(ops: &[SymOp], number: Option<u16>) -> Option<SpaceGroup> {
    settings_matching(ops)
        .iter()
        .filter_map(|s| SpaceGroup::from_symbol(s).ok())
        .filter(|g| number.is_none_or(|n| g.number() == n))
        .find(|g| matches_group(ops, g))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xyz_round_trip() {
        for text in [
            "x,y,z",
            "-x+1/2,y+1/2,-z+1/2",
            "-x+y,-x,z+1/3",
            "x-y+2/3,-y+1/3,-z+1/3",
            "-y+3/4,x+1/4,z+1/4",
        ] {
            let op = parse_xyz(text).unwrap();
            let back = format_xyz(&op);
            assert!(same_op(&op, &parse_xyz(&back).unwrap()), "{text} -> {back}");
        }
        let op = parse_xyz(" 1/2-X , 1/2+y, Z+0.5").unwrap();
        assert_eq!(op.rotation, [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]);
        assert_eq!(op.translation, [0.5, 0.5, 0.5]);
        let op = parse_xyz("x-y+2/3,-y+1/3,-z-1/3").unwrap();
        assert_eq!(op.rotation[0], [1, -1, 0]);
        assert!((op.translation[2] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(format_xyz(&parse_xyz("x,y,z").unwrap()), "x,y,z");
        for bad in ["x,y", "x,y,w", "2x,y,z", "x,y,z,", "x,,z", "x y,y,z", "x,y,1/0"] {
            assert!(parse_xyz(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn hall_operators_have_the_group_order() {
        // Orders from ITA: Pnma 8, Fm-3m 192, R-3m (hexagonal axes) 36, P-1 2.
        for (hall, n) in [("-P 2ac 2n", 8), ("-F 4 2 3", 192), ("-R 3 2=", 36), ("-P 1", 2)] {
            assert_eq!(hall_operations(hall).unwrap().len(), n, "{hall}");
        }
        assert_eq!(symbols_of_hall("-R 3 2\""), ["R -3 2/m :H", "R -3 m :H"]);
    }

    #[test]
    fn closure_fills_in_missing_products() {
        // 2-fold along z and inversion generate 2/m: four operators.
        let ops = [parse_xyz("-x,-y,z").unwrap(), parse_xyz("-x,-y,-z").unwrap()];
        assert_eq!(closure(&ops).unwrap().len(), 4);
        // A translation of 1/7 generates more than any space group has.
        assert!(closure(&[
            parse_xyz("x+1/7,y,z").unwrap(),
            parse_xyz("-x,-y,-z").unwrap(),
            parse_xyz("z,x,y").unwrap(),
            parse_xyz("y,x,z+1/5").unwrap(),
            parse_xyz("-y,x,z").unwrap()
        ])
        .is_none());
    }
}
