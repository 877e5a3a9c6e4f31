//! CIF 1.1 syntax: tokens, data blocks, data items and loops, each value with its line.
//!
//! Follows the CIF 1.1 syntax specification (International Tables for Crystallography
//! Vol. G (2006), §2.2.7; <https://www.iucr.org/resources/cif/spec/version1.1/cifsyntax>):
//! data blocks `data_name`; save frames (skipped here, they carry dictionary definitions);
//! `loop_` with its tags followed by values filling whole rows; values unquoted, single- or
//! double-quoted (a quote closes only when followed by whitespace or the end of the line) or
//! `;`-delimited text fields; `#` comments outside values; `.` (inapplicable) and `?`
//! (unknown) as unquoted null values. Tags are case-insensitive and stored lower-case.
//!
//! No crate on crates.io was both maintained and able to report line numbers for values (the
//! one candidate, `crystal-cif-io` 0.2, is a young single-author crate without positions), so
//! bragg keeps this small parser of its own.

use crate::error::{Error, Result};
use std::path::Path;

/// One value as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct CifValue {
    /// The text, quotes and text-field delimiters removed.
    pub text: String,
    /// 1-based line where the value starts.
    pub line: usize,
    /// Whether it was quoted or a text field (a quoted `'?'` is the string "?", not a null).
    pub quoted: bool,
}

impl CifValue {
    /// Whether the value is the unquoted `?` (unknown) or `.` (inapplicable / default).
    pub fn is_null(&self) -> bool {
        !self.quoted && (self.text == "?" || self.text == ".")
    }

    /// The value as a number with its standard uncertainty, see [`parse_number`]; `None` for
    /// text that is not a CIF number.
    pub fn number(&self) -> Option<(f64, Option<f64>)> {
        parse_number(&self.text)
    }
}

/// A `loop_`: column tags and the values filling its rows, row after row.
#[derive(Debug, Clone, PartialEq)]
pub struct CifLoop {
    /// 1-based line of the `loop_` keyword.
    pub line: usize,
    /// Lower-case tags, one per column.
    pub tags: Vec<String>,
    /// All values, row-major; the length is a multiple of `tags.len()`.
    pub values: Vec<CifValue>,
}

impl CifLoop {
    /// Column index of a tag (given in any case).
    pub fn column(&self, tag: &str) -> Option<usize> {
        let tag = tag.to_ascii_lowercase();
        self.tags.iter().position(|t| *t == tag)
    }

    /// The rows of the loop.
    pub fn rows(&self) -> impl Iterator<Item = &[CifValue]> {
        self.values.chunks(self.tags.len().max(1))
    }

    /// Number of rows.
    pub fn row_count(&self) -> usize {
        self.values.len() / self.tags.len().max(1)
    }
}

/// A data item: a tag–value pair or a loop.
#[derive(Debug, Clone, PartialEq)]
pub enum CifItem {
    /// `_tag value`.
    Pair {
        /// Lower-case tag.
        tag: String,
        /// Its value.
        value: CifValue,
    },
    /// A `loop_`.
    Loop(CifLoop),
}

/// A data block `data_name` with its items in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct DataBlock {
    /// The block code after `data_` (case preserved).
    pub name: String,
    /// 1-based line of the `data_` header.
    pub line: usize,
    /// The items of the block (save frames left out).
    pub items: Vec<CifItem>,
}

impl DataBlock {
    /// The value of a tag (any case): a tag–value pair, or the only row of a one-row loop.
    pub fn value(&self, tag: &str) -> Option<&CifValue> {
        let tag = tag.to_ascii_lowercase();
        self.items.iter().find_map(|item| match item {
            CifItem::Pair { tag: t, value } if *t == tag => Some(value),
            CifItem::Loop(l) if l.row_count() == 1 => l.column(&tag).and_then(|c| l.values.get(c)),
            _ => None,
        })
    }

    /// The value of a tag unless it is absent or a null (`?`, `.`).
    pub fn non_null(&self, tag: &str) -> Option<&CifValue> {
        self.value(tag).filter(|v| !v.is_null())
    }

    /// The loop that has a column `tag` (any case).
    pub fn find_loop(&self, tag: &str) -> Option<&CifLoop> {
        self.items.iter().find_map(|item| match item {
            CifItem::Loop(l) if l.column(tag).is_some() => Some(l),
            _ => None,
        })
    }
}

/// Parses a CIF number with an optional standard uncertainty in parentheses, e.g. `4.1403(2)`
/// → (4.1403, Some(0.0002)), `1.5e-3(12)` → (0.0015, Some(0.0012)), `-7` → (−7, None).
///
/// Grammar of CIF 1.1 (ITC Vol. G §2.2.7.4.5): `[+-]? (digits [. digits*] | . digits)
/// ([eE] [+-]? digits)? ('(' digits ')')?`; the su applies to the last digit of the mantissa.
/// Anything else (including `nan`, `inf`, `1/2`) gives `None`.
pub fn parse_number(text: &str) -> Option<(f64, Option<f64>)> {
    let (number, su_digits) = match text.find('(') {
        Some(open) => {
            let rest = text.get(open + 1..)?;
            let digits = rest.strip_suffix(')')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (text.get(..open)?, Some(digits))
        }
        None => (text, None),
    };
    let bytes = number.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut decimals = 0i32;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        decimals = i32::try_from(i - frac_start).ok()?;
    }
    if int_digits == 0 && decimals == 0 {
        return None;
    }
    let mut exponent = 0i32;
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let exp_text = number.get(i + 1..)?;
        let digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        exponent = exp_text.parse().ok()?;
        i = bytes.len();
    }
    if i != bytes.len() {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let su = match su_digits {
        Some(d) => {
            let n: f64 = d.parse().ok()?;
            Some(n * 10f64.powi(exponent - decimals))
        }
        None => None,
    };
    Some((value, su))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Data(String),
    Save(String),
    Loop,
    Tag(String),
    Value(CifValue),
}

/// Splits CIF text into tokens, each with its 1-based line.
fn tokenize(text: &str, path: &Path) -> Result<Vec<(Token, usize)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut tokens = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let line_no = n + 1;
        let line = lines[n];
        if let Some(first) = line.strip_prefix(';') {
            // Text field: runs to the next line that begins with ';'.
            let mut content = vec![first];
            let mut m = n + 1;
            let close = loop {
                match lines.get(m) {
                    Some(l) if l.starts_with(';') => break Some(m),
                    Some(l) => content.push(l.trim_end_matches('\r')),
                    None => break None,
                }
                m += 1;
            };
            let Some(close) = close else {
                return Err(parse_err(path, line_no, "text field opened with ';' is never closed"));
            };
            let mut body = content.join("\n");
            if body.trim().is_empty() && content.len() == 1 {
                body.clear();
            } else if content.first().is_some_and(|f| f.trim().is_empty()) {
                body = content.get(1..).unwrap_or(&[]).join("\n");
            }
            tokens.push((
                Token::Value(CifValue { text: body, line: line_no, quoted: true }),
                line_no,
            ));
            let rest = lines[close].get(1..).unwrap_or("");
            tokenize_line(rest, close + 1, path, &mut tokens)?;
            n = close + 1;
            continue;
        }
        tokenize_line(line, line_no, path, &mut tokens)?;
        n += 1;
    }
    Ok(tokens)
}

fn tokenize_line(
    line: &str,
    line_no: usize,
    path: &Path,
    tokens: &mut Vec<(Token, usize)>,
) -> Result<()> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        if c == '\'' || c == '"' {
            let start = i + 1;
            let mut j = start;
            let end = loop {
                if j >= chars.len() {
                    break None;
                }
                if chars[j] == c && chars.get(j + 1).is_none_or(|n| n.is_whitespace()) {
                    break Some(j);
                }
                j += 1;
            };
            let Some(end) = end else {
                return Err(parse_err(
                    path,
                    line_no,
                    &format!("quoted string opened with {c} is not closed on this line"),
                ));
            };
            let text: String = chars[start..end].iter().collect();
            tokens.push((Token::Value(CifValue { text, line: line_no, quoted: true }), line_no));
            i = end + 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let lower = word.to_ascii_lowercase();
        let token = if lower.starts_with('_') {
            Token::Tag(lower)
        } else if lower.starts_with("data_") {
            Token::Data(word.get(5..).unwrap_or("").to_string())
        } else if lower == "loop_" {
            Token::Loop
        } else if lower.starts_with("save_") {
            Token::Save(word.get(5..).unwrap_or("").to_string())
        } else if lower == "global_" || lower == "stop_" {
            return Err(parse_err(
                path,
                line_no,
                &format!("reserved word '{word}' is not allowed in CIF 1.1"),
            ));
        } else {
            Token::Value(CifValue { text: word, line: line_no, quoted: false })
        };
        tokens.push((token, line_no));
    }
    Ok(())
}

fn parse_err(path: &Path, line: usize, message: &str) -> Error {
    Error::Parse { path: path.to_path_buf(), line, message: message.to_string() }
}

/// Parses CIF 1.1 text into its data blocks. `path` is used in error messages only.
///
/// Errors ([`Error::Parse`] with the line): data outside a data block, a tag without a value,
/// a value without a tag, a loop whose values do not fill whole rows, an unclosed quote or
/// text field, an unclosed save frame, reserved words `global_`/`stop_`.
pub fn parse_blocks(text: &str, path: &Path) -> Result<Vec<DataBlock>> {
    let tokens = tokenize(text, path)?;
    let mut blocks: Vec<DataBlock> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (token, line) = &tokens[i];
        let line = *line;
        match token {
            Token::Data(name) => {
                if name.is_empty() {
                    return Err(parse_err(path, line, "data block header 'data_' without a name"));
                }
                blocks.push(DataBlock { name: name.clone(), line, items: Vec::new() });
                i += 1;
            }
            Token::Save(name) => {
                if name.is_empty() {
                    return Err(parse_err(
                        path,
                        line,
                        "'save_' closes a save frame that was never opened",
                    ));
                }
                // Skip the frame up to its closing `save_`.
                let mut j = i + 1;
                loop {
                    match tokens.get(j) {
                        Some((Token::Save(n), _)) if n.is_empty() => break,
                        Some((Token::Data(_), _)) | None => {
                            return Err(parse_err(
                                path,
                                line,
                                &format!("save frame 'save_{name}' is never closed"),
                            ));
                        }
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
            }
            Token::Tag(tag) => {
                let block = current_block(&mut blocks, path, line)?;
                match tokens.get(i + 1) {
                    Some((Token::Value(v), _)) => {
                        block.items.push(CifItem::Pair { tag: tag.clone(), value: v.clone() });
                        i += 2;
                    }
                    _ => return Err(parse_err(path, line, &format!("tag {tag} has no value"))),
                }
            }
            Token::Loop => {
                let block = current_block(&mut blocks, path, line)?;
                let mut j = i + 1;
                let mut tags = Vec::new();
                while let Some((Token::Tag(t), _)) = tokens.get(j) {
                    tags.push(t.clone());
                    j += 1;
                }
                if tags.is_empty() {
                    return Err(parse_err(path, line, "loop_ without tags"));
                }
                let mut values = Vec::new();
                while let Some((Token::Value(v), _)) = tokens.get(j) {
                    values.push(v.clone());
                    j += 1;
                }
                if values.len() % tags.len() != 0 {
                    let last = values.last().map_or(line, |v| v.line);
                    return Err(parse_err(
                        path,
                        last,
                        &format!(
                            "loop_ of line {line} has {} values, not a multiple of its {} tags ({} ...): a value is missing or unquoted text has spaces",
                            values.len(),
                            tags.len(),
                            tags[0]
                        ),
                    ));
                }
                block.items.push(CifItem::Loop(CifLoop { line, tags, values }));
                i = j;
            }
            Token::Value(v) => {
                return Err(parse_err(path, v.line, &format!("value '{}' without a tag", v.text)));
            }
        }
    }
    Ok(blocks)
}

fn current_block<'a>(
    blocks: &'a mut [DataBlock],
    path: &Path,
    line: usize,
) -> Result<&'a mut DataBlock> {
    blocks
        .last_mut()
        .ok_or_else(|| parse_err(path, line, "data item before the first data_ block header"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_su() {
        let (v, su) = parse_number("4.1403(2)").unwrap();
        assert!(v == 4.1403 && (su.unwrap() - 0.0002).abs() < 1e-18);
        let (v, su) = parse_number("1.5e-3(12)").unwrap();
        // The su counts in the last digit of the mantissa 1.5, scaled by the exponent: 1.2e-3.
        assert!((v - 0.0015).abs() < 1e-18 && (su.unwrap() - 1.2e-3).abs() < 1e-15);
        assert_eq!(parse_number("-7"), Some((-7.0, None)));
        assert_eq!(parse_number("120(3)"), Some((120.0, Some(3.0))));
        assert_eq!(parse_number(".5"), Some((0.5, None)));
        assert_eq!(parse_number("5."), Some((5.0, None)));
        for bad in ["nan", "inf", "1/2", "4.14(", "4.14()", "4.1a", "", "-", ".", "1e", "(2)"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_quotes_text_fields_and_loops() {
        let text = "data_x\n_a 'it''s ok' # comment\n_b \"q\"\n_c\n;\nline one\nline two\n;\nloop_ _l1 _l2\n1 'a b'\n2 ?\n";
        let blocks = parse_blocks(text, Path::new("t.cif")).unwrap();
        assert_eq!(blocks.len(), 1);
        let b = &blocks[0];
        assert_eq!(b.value("_A").unwrap().text, "it''s ok");
        assert_eq!(b.value("_b").unwrap().text, "q");
        let c = b.value("_c").unwrap();
        assert_eq!((c.text.as_str(), c.line), ("line one\nline two", 5));
        let l = b.find_loop("_l2").unwrap();
        assert_eq!(l.row_count(), 2);
        assert_eq!(l.values[1].text, "a b");
        assert!(l.values[3].is_null());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let p = Path::new("bad.cif");
        let e = parse_blocks("data_x\n_a 'open\n", p).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
        let e = parse_blocks("data_x\nloop_ _a _b\n1 2\n3\n", p).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 4, .. }), "{e}");
        let e = parse_blocks("_a 1\n", p).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
        let e = parse_blocks("data_x\n_a\n_b 2\n", p).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
        let e = parse_blocks("data_x\n_a\n;\nnever closed\n", p).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 3, .. }), "{e}");
    }

    #[test]
    fn save_frames_are_skipped() {
        let text = "data_x\nsave_frame\n_inside 1\nsave_\n_after 2\n";
        let b = &parse_blocks(text, Path::new("s.cif")).unwrap()[0];
        assert!(b.value("_inside").is_none());
        assert_eq!(b.value("_after").unwrap().text, "2");
    }
}
