//! Time stamps of scan headers → seconds on the file's clock.
//!
//! Scan files write their start time in many ways and seldom with a time zone. The stamp is
//! read as written, counted in seconds since 1970-01-01 00:00 of that clock (proleptic
//! Gregorian calendar; days from the civil date after H. Hinnant, "chrono-Compatible
//! Low-Level Date Algorithms", `days_from_civil`); an explicit `Z` or `±HH:MM` offset is
//! applied, giving UTC. Accepted forms:
//!
//! | example | where |
//! |---|---|
//! | `2023-05-01T12:00:00`, `2023-05-01 12:00:00.25`, `…+02:00`, `…Z` | ISO 8601, xye headers, Neware, logs |
//! | `APR 25, 2011 12:35:45.325926` | APS 11-BM GSAS headers |
//! | `25-Apr-2011 12:35:45` | various |
//! | `04/25/2011 12:35:45`, `04/25/11 12:35:45` | Bruker (month first) |

const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month_of(text: &str) -> Option<i64> {
    let t = text.get(..3)?.to_ascii_uppercase();
    MONTHS.iter().position(|m| *m == t).map(|i| i as i64 + 1)
}

/// `HH:MM[:SS[.fff]]` with an optional `Z` / `±HH:MM` suffix → (seconds of day, offset s).
fn time_of_day(text: &str) -> Option<(f64, f64)> {
    let text = text.trim();
    let (clock, offset) = if let Some(c) = text.strip_suffix('Z') {
        (c, 0.0)
    } else if let Some(i) = text.rfind(['+', '-']).filter(|&i| i >= 5) {
        let (c, o) = text.split_at(i);
        let sign = if o.starts_with('-') { -1.0 } else { 1.0 };
        let parts: Vec<&str> = o[1..].split(':').collect();
        let h: f64 = parts.first()?.parse().ok()?;
        let m: f64 = parts.get(1).map_or(Some(0.0), |m| m.parse().ok())?;
        (c, sign * (h * 3600.0 + m * 60.0))
    } else {
        (text, 0.0)
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h: f64 = parts[0].parse().ok()?;
    let m: f64 = parts[1].parse().ok()?;
    let s: f64 = parts.get(2).map_or(Some(0.0), |s| s.parse().ok())?;
    if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&m) || !(0.0..61.0).contains(&s) {
        return None;
    }
    Some((h * 3600.0 + m * 60.0 + s, offset))
}

fn valid(y: i64, m: i64, d: i64) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d) && (1000..=9999).contains(&y)
}

fn full_year(y: i64, digits: usize) -> i64 {
    if digits == 2 {
        if y < 70 {
            2000 + y
        } else {
            1900 + y
        }
    } else {
        y
    }
}

/// Seconds since 1970-01-01 00:00 (module documentation), or `None` for an unknown form.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) if d.contains('-') && d.len() == 10 && d.as_bytes()[4] == b'-' => (d, t),
        _ => {
            // Month-name or slash forms: the date is everything before the last token that
            // holds a ':'.
            let i = text.rfind(' ')?;
            (text[..i].trim(), &text[i + 1..])
        }
    };
    let (y, m, d) = if date.len() == 10 && date.as_bytes()[4] == b'-' {
        let p: Vec<&str> = date.split('-').collect();
        (p[0].parse().ok()?, p[1].parse().ok()?, p[2].parse().ok()?)
    } else if let Some(m) = month_of(date).filter(|_| date.as_bytes()[0].is_ascii_alphabetic()) {
        // APR 25, 2011
        let rest: Vec<&str> = date[3..].split([' ', ',']).filter(|s| !s.is_empty()).collect();
        let [d, y] = rest.as_slice() else { return None };
        (y.parse().ok()?, m, d.parse().ok()?)
    } else if date.contains('-') {
        // 25-Apr-2011
        let p: Vec<&str> = date.split('-').collect();
        let [d, mon, y] = p.as_slice() else { return None };
        (full_year(y.parse().ok()?, y.len()), month_of(mon)?, d.parse().ok()?)
    } else if date.contains('/') {
        let p: Vec<&str> = date.split('/').collect();
        let [m, d, y] = p.as_slice() else { return None };
        (full_year(y.parse().ok()?, y.len()), m.parse().ok()?, d.parse().ok()?)
    } else {
        return None;
    };
    if !valid(y, m, d) {
        return None;
    }
    let (seconds, offset) = time_of_day(time)?;
    Some(days_from_civil(y, m, d) as f64 * 86_400.0 + seconds - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_in_every_form_give_the_same_seconds() {
        // 2011-04-25 12:35:45 = 1303734945 s after the Unix epoch (UTC clock); `date -u -d
        // '2011-04-25 12:35:45' +%s`.
        let t = 1_303_734_945.0;
        assert_eq!(parse_timestamp("2011-04-25T12:35:45"), Some(t));
        assert_eq!(parse_timestamp("2011-04-25 12:35:45.5"), Some(t + 0.5));
        assert_eq!(parse_timestamp("2011-04-25T14:35:45+02:00"), Some(t));
        assert_eq!(parse_timestamp("2011-04-25T12:35:45Z"), Some(t));
        let s = parse_timestamp("APR 25, 2011 12:35:45.325926").unwrap();
        assert!((s - t - 0.325926).abs() < 1e-6);
        assert_eq!(parse_timestamp("25-Apr-2011 12:35:45"), Some(t));
        assert_eq!(parse_timestamp("04/25/2011 12:35:45"), Some(t));
        assert_eq!(parse_timestamp("04/25/11 12:35:45"), Some(t));
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0.0));
        // 2000-03-01 (after a leap day): 951868800.
        assert_eq!(parse_timestamp("2000-03-01 00:00"), Some(951_868_800.0));
        for bad in ["", "yesterday", "2011-13-01 00:00:00", "APR 25, 2011", "12:00:00"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
