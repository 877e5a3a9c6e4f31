//! Resolution of space-group names (Hermann–Mauguin symbols written any common way, ITA
//! numbers, setting codes, Hall symbols) to a Hall number of moyo's 530-setting database.
//!
//! The database is the list of Hall settings of ITA Vol. B (2010) Table A1.4.2.7, as shipped by
//! the `moyo` crate. Symbols are compared after removing blanks and underscores and folding case,
//! so `P6_3/mmc`, `P 63/m m c` and `p63/mmc` are the same key.

use moyo::data::{hall_symbol_entry, HallSymbolEntry, Setting};

/// Number of Hall settings in the database.
pub(crate) const N_HALL: i32 = 530;

/// The database entry of a Hall number (1–530).
pub(crate) fn entry(hall: i32) -> Option<HallSymbolEntry> {
    if (1..=N_HALL).contains(&hall) {
        hall_symbol_entry(hall)
    } else {
        None
    }
}

/// The default Hall number of an ITA number: first-listed setting (unique axis b, cell choice
/// 1), origin choice 2 and hexagonal axes (moyo's `Setting::Standard`).
pub(crate) fn standard_hall(number: i32) -> Option<i32> {
    if (1..=230).contains(&number) {
        Setting::Standard.hall_number(number)
    } else {
        None
    }
}

/// Normalised comparison key: no blanks, no underscores, lower case.
pub(crate) fn key(symbol: &str) -> String {
    symbol
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// For a monoclinic unique-axis-b setting, the abbreviated symbol without the `1`s
/// (`P 1 2_1/n 1` → `P 2_1/n`), as used in most papers and CIFs.
fn monoclinic_abbreviation(e: &HallSymbolEntry) -> Option<String> {
    if !(3..=15).contains(&e.number) || !(e.setting.starts_with('b') || e.setting.starts_with("-b"))
    {
        return None;
    }
    let tokens: Vec<&str> = e.hm_full.split_whitespace().collect();
    if tokens.len() != 4 {
        return None;
    }
    Some(format!("{} {}", tokens[0], tokens[2]))
}

/// Symbols of the 2016 edition of ITA Vol. A that replaced a glide letter by `e`, with their
/// earlier forms (ITA Vol. A 2016, §1.5.4): Aem2 (Abm2), Aea2 (Aba2), Cmce (Cmca), Cmme (Cmma),
/// Ccce (Ccca).
const OLD_E_GLIDE: [(&str, i32); 5] =
    [("abm2", 39), ("aba2", 41), ("cmca", 64), ("cmma", 67), ("ccca", 68)];

/// All keys under which a Hall setting may be named.
pub(crate) fn keys_of(e: &HallSymbolEntry) -> Vec<String> {
    let mut keys = vec![key(e.hm_short), key(e.hm_full)];
    if let Some(abbr) = monoclinic_abbreviation(e) {
        keys.push(key(&abbr));
    }
    if e.number >= 195 {
        // Older cubic notation without the bar on the threefold axis: Fm3m, Ia3, Pn3n.
        let more: Vec<String> = keys.iter().map(|k| k.replace("-3", "3")).collect();
        keys.extend(more);
    }
    keys
}

/// Hall numbers in the order in which a bare symbol is matched: first the default settings of
/// the 230 types, then the remaining settings that are not origin choice 1 nor rhombohedral
/// axes, then those.
fn search_order() -> Vec<i32> {
    let mut seen = [false; N_HALL as usize + 1];
    let mut order = Vec::with_capacity(N_HALL as usize);
    let mut push = |h: i32, order: &mut Vec<i32>| {
        if let Some(s) = seen.get_mut(h as usize) {
            if !*s {
                *s = true;
                order.push(h);
            }
        }
    };
    for n in 1..=230 {
        if let Some(h) = standard_hall(n) {
            push(h, &mut order);
        }
    }
    let is_alt =
        |h: i32| entry(h).map(|e| e.setting.starts_with('1') || e.setting == "R").unwrap_or(false);
    for h in 1..=N_HALL {
        if !is_alt(h) {
            push(h, &mut order);
        }
    }
    for h in 1..=N_HALL {
        push(h, &mut order);
    }
    order
}

/// Hall number for a bare symbol (no setting suffix).
fn resolve_bare(symbol: &str) -> Option<i32> {
    let trimmed = symbol.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(n) = trimmed.parse::<i32>() {
        return standard_hall(n);
    }
    let k = key(trimmed);
    for h in search_order() {
        if let Some(e) = entry(h) {
            if keys_of(&e).contains(&k) {
                return Some(h);
            }
        }
    }
    if let Some((_, n)) = OLD_E_GLIDE.iter().find(|(old, _)| *old == k) {
        return standard_hall(*n);
    }
    // Hall symbols, compared with blanks collapsed (case matters in Hall notation).
    let collapsed = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
    (1..=N_HALL).find(|h| entry(*h).map(|e| e.hall_symbol == collapsed).unwrap_or(false))
}

/// The Hall number of the same type as `base` in the setting given by `code`.
///
/// Codes: `1`/`S` and `2`/`Z` (origin choice), `H`/`R` (hexagonal or rhombohedral axes), or any
/// setting code of the database (`b2`, `-c1`, `cab`, `ba-c`, `1cab`...).
fn apply_code(base: i32, code: &str) -> Option<i32> {
    let e = entry(base)?;
    let same_type = |setting: &str| -> Option<i32> {
        (1..=N_HALL).find(|h| {
            entry(*h).map(|c| c.number == e.number && c.setting == setting).unwrap_or(false)
        })
    };
    let has_origin_choices = (1..=N_HALL).any(|h| {
        entry(h).map(|c| c.number == e.number && c.setting.starts_with(['1', '2'])).unwrap_or(false)
    });
    let origin = match code {
        "1" | "S" | "s" => Some('1'),
        "2" | "Z" | "z" => Some('2'),
        _ => None,
    };
    if let Some(o) = origin {
        if !has_origin_choices {
            // Only one origin is tabulated: nothing to choose, no ambiguity.
            return Some(base);
        }
        let rest = e.setting.trim_start_matches(['1', '2']);
        return same_type(&format!("{o}{rest}"));
    }
    match code {
        "H" | "h" => same_type("H"),
        "R" | "r" => same_type("R"),
        _ => same_type(code),
    }
}

/// Resolves any accepted spelling to a Hall number.
pub(crate) fn resolve(symbol: &str) -> Option<i32> {
    let trimmed = symbol.trim();
    if let Some((base, code)) = trimmed.rsplit_once(':') {
        let base = resolve_bare(base)?;
        return apply_code(base, code.trim());
    }
    if let Some(h) = resolve_bare(trimmed) {
        return Some(h);
    }
    // A trailing setting letter after a blank: `R -3 m R`, `F d -3 m S`. Hermann–Mauguin symbols
    // have no upper-case letter after the lattice symbol, so this cannot be misread.
    let (base, last) = trimmed.rsplit_once(char::is_whitespace)?;
    if matches!(last, "H" | "R" | "S" | "Z") {
        let base = resolve_bare(base)?;
        return apply_code(base, last);
    }
    None
}

/// The name under which a Hall setting is displayed: the short symbol (abbreviated or full for
/// monoclinic settings), with ` :1` for origin choice 1 and ` :R` for rhombohedral axes; the
/// setting code is appended where that is still ambiguous. [`resolve`] maps it back to `hall`.
pub(crate) fn display_name(hall: i32) -> Option<String> {
    let e = entry(hall)?;
    let base = if (3..=15).contains(&e.number) {
        monoclinic_abbreviation(&e).unwrap_or_else(|| e.hm_full.to_string())
    } else {
        e.hm_short.to_string()
    };
    let candidates = [
        base.clone(),
        if e.setting.starts_with('1') { format!("{base} :1") } else { base.clone() },
        if e.setting == "R" { format!("{base} :R") } else { base.clone() },
        format!("{base} :{}", e.setting),
        format!("{} :{}", e.number, e.setting),
    ];
    candidates.into_iter().find(|c| resolve(c) == Some(hall))
}
