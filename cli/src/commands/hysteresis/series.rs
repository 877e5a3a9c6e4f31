//! The in situ series as the analysis commands see it: one parameter (with esd) per scan, its
//! time, Li content, voltage, current direction and cycle, from `sequential.csv` and
//! optionally a cycler log (which then supplies voltage, direction, cycle and, given the cell,
//! x(Li) at each scan's time).

use anyhow::{anyhow, bail, Context, Result};
use bragg_refine::analysis::{
    molar_mass_of_formula, scan_echem, CellSpec, CurrentState, EchemTrace, ScanWindow,
};
use clap::Args;
use std::path::{Path, PathBuf};

/// Cycler-log options shared by `bragg hysteresis` and `bragg relax`.
#[derive(Debug, Clone, Default, Args)]
pub struct EchemArgs {
    /// Cycler log(s) on the scans' clock (BioLogic .mpt/.mpr, Neware .ndax, Arbin, Maccor, or
    /// a CSV naming time in s, voltage in V and current in mA). Several logs are joined in
    /// time order. When given, voltage, current direction and cycle come from the log.
    #[arg(long = "echem", value_name = "LOG", num_args = 1..)]
    pub echem: Vec<PathBuf>,
    /// Active mass in mg (with --formula or --molar-mass: x(Li) by coulomb counting).
    #[arg(long = "active-mass", value_name = "mg")]
    pub active_mass_mg: Option<f64>,
    /// Formula of the active material, e.g. Li1.17Ti0.58Ni0.25O2 (its molar mass; its Li
    /// count is the default --x0).
    #[arg(long, value_name = "FORMULA", conflicts_with = "molar_mass")]
    pub formula: Option<String>,
    /// Molar mass of the active material in g/mol (instead of --formula).
    #[arg(long = "molar-mass", value_name = "g/mol")]
    pub molar_mass: Option<f64>,
    /// Li content per formula unit at the start of the log.
    #[arg(long, value_name = "X")]
    pub x0: Option<f64>,
    /// Exposure of each scan in s, centred on its time_s (default 0: the log at time_s).
    #[arg(long = "exposure", value_name = "s", default_value_t = 0.0)]
    pub exposure_s: f64,
    /// |I| at or below this (mA) is rest (default: 1 % of the largest |I| of the log).
    #[arg(long = "rest-current", value_name = "mA")]
    pub rest_current_ma: Option<f64>,
}

/// One parameter of an in situ series, scan by scan (rows with a value only).
#[derive(Debug, Clone, Default)]
pub struct InsituSeries {
    /// The parameter's key (column name).
    pub key: String,
    /// Scan number (1-based).
    pub scan: Vec<usize>,
    /// Scan time in s.
    pub time_s: Vec<f64>,
    /// Li content (NaN when unknown).
    pub x_li: Vec<f64>,
    /// Voltage in V (NaN when unknown).
    pub voltage_v: Vec<f64>,
    /// Current direction (None when unknown).
    pub state: Vec<Option<CurrentState>>,
    /// Cycle (None when unknown).
    pub cycle: Vec<Option<u32>>,
    /// Temperature in K (NaN when unknown).
    pub temperature_k: Vec<f64>,
    /// The parameter.
    pub value: Vec<f64>,
    /// Its esd (NaN when the column has none).
    pub esd: Vec<f64>,
    /// Rows skipped because flagged or without a value.
    pub skipped: usize,
}

/// A parsed CSV: header and records (RFC 4180 quoting).
struct Csv {
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

fn parse_csv(path: &Path, text: &str) -> Result<Csv> {
    let mut records: Vec<(usize, Vec<String>)> = Vec::new();
    let mut field = String::new();
    let mut record: Vec<String> = Vec::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => in_quotes = false,
            ('"', false) if field.is_empty() => in_quotes = true,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                let r = std::mem::take(&mut record);
                if (r.len() != 1 || !r[0].trim().is_empty()) && !r[0].starts_with('#') {
                    records.push((start_line, r));
                }
                line += 1;
                start_line = line;
            }
            (c, _) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if in_quotes {
        bail!("{}: line {start_line}: unterminated quoted field", path.display());
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start_line, record));
    }
    let mut it = records.into_iter();
    let (_, header) = it.next().ok_or_else(|| anyhow!("{}: empty file", path.display()))?;
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_string()).collect();
    let rows: Vec<(usize, Vec<String>)> = it.collect();
    for (l, r) in &rows {
        if r.len() != header.len() {
            bail!(
                "{}: line {l}: {} fields, the header has {}",
                path.display(),
                r.len(),
                header.len()
            );
        }
    }
    Ok(Csv { header, rows })
}

impl Csv {
    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn number(&self, path: &Path, line: usize, name: &str, text: &str) -> Result<f64> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("nan") {
            return Ok(f64::NAN);
        }
        t.parse::<f64>().map_err(|_| {
            anyhow!("{}: line {line}: column {name}: '{t}' is not a number", path.display())
        })
    }
}

/// The first `*.cell.a` column, else the first parameter column with an `_esd` partner.
pub fn default_param(header: &[String]) -> Option<String> {
    let params: Vec<&String> = header
        .iter()
        .filter(|h| !h.ends_with("_esd") && header.iter().any(|e| *e == format!("{h}_esd")))
        .collect();
    params.iter().find(|h| h.ends_with(".cell.a")).or_else(|| params.first()).map(|s| (*s).clone())
}

/// Reads `sequential.csv`: the parameter `param` (default: the first `*.cell.a`) with its esd,
/// and the time, x(Li), voltage, segment, cycle and temperature columns when present. Rows
/// with flags are skipped unless `include_flagged`; rows without a value always.
pub fn load_series(
    path: &Path,
    param: Option<&str>,
    include_flagged: bool,
) -> Result<InsituSeries> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the series {}", path.display()))?;
    let csv = parse_csv(path, &text)?;
    let key = match param {
        Some(p) => p.to_string(),
        None => default_param(&csv.header).ok_or_else(|| {
            anyhow!(
                "{}: no parameter column with an _esd column; name one with --param",
                path.display()
            )
        })?,
    };
    let Some(vc) = csv.col(&key) else {
        let params: Vec<&str> = csv
            .header
            .iter()
            .filter(|h| !h.ends_with("_esd") && csv.header.iter().any(|e| *e == format!("{h}_esd")))
            .map(String::as_str)
            .collect();
        bail!(
            "{}: no column '{key}'; parameters in the file: {}",
            path.display(),
            if params.is_empty() { "none".to_string() } else { params.join(", ") }
        );
    };
    // Within one series the scan-to-scan esd (`_esd_stat` of `bragg sequential`, without the
    // common error the shared parameters pass on to every scan) is the right weight for
    // differences and fits of a(t); the total `_esd` otherwise.
    let ec = csv.col(&format!("{key}_esd_stat")).or_else(|| csv.col(&format!("{key}_esd")));
    let Some(tc) = csv.col("time_s") else {
        bail!("{}: no time_s column", path.display());
    };
    let (xc, vcol, sc, cc, kc, fc, nc) = (
        csv.col("x_li"),
        csv.col("voltage_v"),
        csv.col("segment"),
        csv.col("cycle"),
        csv.col("temperature_k"),
        csv.col("flags"),
        csv.col("scan"),
    );
    let mut s = InsituSeries { key: key.clone(), ..Default::default() };
    for (k, (line, r)) in csv.rows.iter().enumerate() {
        let num = |c: Option<usize>, name: &str| -> Result<f64> {
            c.map_or(Ok(f64::NAN), |c| csv.number(path, *line, name, &r[c]))
        };
        let value = num(Some(vc), &key)?;
        let flagged = fc.is_some_and(|c| !r[c].trim().is_empty());
        if !value.is_finite() || (flagged && !include_flagged) {
            s.skipped += 1;
            continue;
        }
        s.scan.push(match nc {
            Some(c) => r[c].trim().parse().unwrap_or(k + 1),
            None => k + 1,
        });
        s.time_s.push(num(Some(tc), "time_s")?);
        s.x_li.push(num(xc, "x_li")?);
        s.voltage_v.push(num(vcol, "voltage_v")?);
        s.state.push(sc.and_then(|c| CurrentState::parse(&r[c])));
        s.cycle.push(cc.and_then(|c| r[c].trim().parse().ok()));
        s.temperature_k.push(num(kc, "temperature_k")?);
        s.value.push(value);
        s.esd.push(num(ec, &format!("{key}_esd"))?);
    }
    if s.value.is_empty() {
        bail!(
            "{}: no row with a value of {key} ({} skipped{})",
            path.display(),
            s.skipped,
            if include_flagged {
                ""
            } else {
                "; flagged rows are left out unless --include-flagged"
            }
        );
    }
    Ok(s)
}

/// Reads and joins cycler logs into one trace (records at the same time are separated by
/// 1 µs so that a step change keeps its two currents).
pub fn read_trace(paths: &[PathBuf]) -> Result<EchemTrace> {
    let mut points = Vec::new();
    for p in paths {
        let log = bragg_io::read_echem(p)
            .with_context(|| format!("cannot read the cycler log {}", p.display()))?;
        points.extend(log.points);
    }
    points.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    let mut trace = EchemTrace::default();
    for p in points {
        let t = match trace.time_s.last() {
            Some(&prev) if p.time_s <= prev => prev + 1e-6,
            _ => p.time_s,
        };
        trace.time_s.push(t);
        trace.voltage_v.push(p.voltage_v);
        trace.current_ma.push(p.current_ma);
    }
    // Cycles are counted "charge first" from the current (a cycle = charge then discharge),
    // whatever the cycler's own loop counter: that is the pairing the hysteresis needs.
    trace.cycle = None;
    trace.validate().map_err(|e| anyhow!("cycler log: {e}"))?;
    Ok(trace)
}

/// The cell for coulomb counting, when the options give one (mass and molar mass).
pub fn cell_spec(args: &EchemArgs) -> Result<Option<CellSpec>> {
    let molar = match (&args.formula, args.molar_mass) {
        (Some(f), _) => Some(molar_mass_of_formula(f)?),
        (None, m) => m,
    };
    match (args.active_mass_mg, molar) {
        (None, None) => Ok(None),
        (Some(_), None) => bail!("--active-mass needs --formula or --molar-mass for x(Li)"),
        (None, Some(_)) => bail!("--formula/--molar-mass need --active-mass (mg) for x(Li)"),
        (Some(m), Some(mm)) => {
            let x0 = match (args.x0, &args.formula) {
                (Some(x), _) => x,
                (None, Some(f)) => lithium_count(f).ok_or_else(|| {
                    anyhow!("--formula {f} has no Li; give the starting content with --x0")
                })?,
                (None, None) => bail!("give the starting Li content with --x0"),
            };
            Ok(Some(CellSpec {
                active_mass_mg: m,
                molar_mass_g_mol: mm,
                x0,
                rest_threshold_ma: args.rest_current_ma,
            }))
        }
    }
}

/// The Li count of a flat formula (`Li1.17Ti0.58Ni0.25O2` → 1.17).
fn lithium_count(formula: &str) -> Option<f64> {
    let i = formula.find("Li")?;
    let rest = &formula[i + 2..];
    if rest.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    if digits.is_empty() {
        Some(1.0)
    } else {
        digits.parse().ok()
    }
}

/// Replaces voltage, direction and cycle of each scan (and x(Li) when `cell` is given) by the
/// log's, over each scan's exposure centred on its time.
pub fn apply_echem(
    s: &mut InsituSeries,
    trace: &EchemTrace,
    cell: Option<&CellSpec>,
    exposure_s: f64,
) -> Result<()> {
    if !(exposure_s.is_finite() && exposure_s >= 0.0) {
        bail!("--exposure {exposure_s} s must be ≥ 0");
    }
    let windows: Vec<ScanWindow> =
        s.time_s.iter().map(|&t| ScanWindow::centred(t, exposure_s)).collect();
    // Without a cell, x is not computed: any positive mass and molar mass give the rest.
    let spec = cell.copied().unwrap_or(CellSpec {
        active_mass_mg: 1.0,
        molar_mass_g_mol: 1.0,
        x0: 0.0,
        rest_threshold_ma: None,
    });
    let e = scan_echem(trace, &spec, &windows)
        .map_err(|e| anyhow!("aligning scans with the cycler log: {e}"))?;
    for (i, e) in e.iter().enumerate() {
        s.voltage_v[i] = e.voltage_v;
        s.state[i] = Some(e.state);
        s.cycle[i] = Some(e.cycle);
        if cell.is_some() {
            s.x_li[i] = e.x_li;
        }
    }
    Ok(())
}

/// The series with the log applied when one is given (see [`apply_echem`]); also returns the
/// trace for plots.
pub fn load_with_echem(
    path: &Path,
    param: Option<&str>,
    include_flagged: bool,
    echem: &EchemArgs,
) -> Result<(InsituSeries, Option<EchemTrace>)> {
    let mut s = load_series(path, param, include_flagged)?;
    let cell = cell_spec(echem)?;
    if echem.echem.is_empty() {
        if cell.is_some() {
            bail!("--active-mass/--formula need a cycler log (--echem LOG) to count charge");
        }
        return Ok((s, None));
    }
    let trace = read_trace(&echem.echem)?;
    apply_echem(&mut s, &trace, cell.as_ref(), echem.exposure_s)?;
    Ok((s, Some(trace)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defaults() {
        let text = "scan,file,time_s,X.cell.a,X.cell.a_esd,flags\n1,\"a,b.xye\",0,4.1,0.001,\n";
        let c = parse_csv(Path::new("t.csv"), text).unwrap();
        assert_eq!(c.rows[0].1[1], "a,b.xye");
        assert_eq!(default_param(&c.header).as_deref(), Some("X.cell.a"));
        assert_eq!(lithium_count("Li1.17Ti0.58Ni0.25O2"), Some(1.17));
        assert_eq!(lithium_count("LiFePO4"), Some(1.0));
        assert_eq!(lithium_count("NiO"), None);
    }
}
