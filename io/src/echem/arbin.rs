//! Arbin MITS Pro exports: CSV, and Excel workbooks (`.xlsx`, `.xls`).
//!
//! **CSV**: one header line then one record per line, comma separated (semicolon and tab
//! accepted), fields optionally quoted.
//!
//! **Excel**: a `Global_Info` sheet (test metadata, not needed here) and one or more data
//! sheets named `Channel_<n>_<m>` (Arbin starts a new sheet every 65 k rows, so a long test
//! spans several); each data sheet has the header in its first row and one record per row.
//! Every sheet whose name starts with `Channel` (any case; chart sheets excepted) is read, in
//! workbook order, as one continuous series. Numbers may be numeric or text cells; the
//! date-time may be an Excel date cell, an ISO date cell or text.
//!
//! Columns used, the same mapping for both ([`Columns`]; unit in parentheses, also with a
//! space before it): `Test_Time(s)` (or `(h)`), `Voltage(V)`, `Current(A)` (or `(mA)`),
//! `Charge_Capacity(Ah)` and `Discharge_Capacity(Ah)` (or `(mAh)`; unsigned counters that
//! reset at each cycle, summed into the net charge; without them the current is integrated),
//! `Cycle_Index`, `Step_Index`, `Date_Time` (the first record's date-time minus its test time
//! dates time zero; formats `MM/DD/YYYY hh:mm:ss[.fff] [AM|PM]` or ISO).

use super::text::{
    counter_at, find_col, num_at, parse_naive_datetime, parse_num, read_text, split_fields,
    start_from_record, table, Table,
};
use super::{
    finish, integrate_charge, CellState, CounterSum, EchemFormat, EchemLog, EchemPoint, Loc,
};
use crate::error::{Error, Result};
use calamine::{Data, Reader};
use chrono::{NaiveDate, NaiveDateTime};
use std::path::Path;

/// Reads an Arbin CSV export.
pub fn read_arbin_csv(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_arbin_csv(path, &text)
}

/// Column index and factor to the normalised unit, over `(name, factor)` candidates.
fn scaled(header: &[String], c: &[(&str, f64)]) -> Option<(usize, f64)> {
    c.iter().find_map(|(n, f)| find_col(header, &[n]).map(|i| (i, *f)))
}

/// Where the columns of an Arbin export are (0-based) and the factor of each to the
/// normalised unit (s, V, mA, mAh): the one mapping of the CSV and the Excel readers.
#[derive(Debug, Clone, Copy)]
struct Columns {
    time: (usize, f64),
    voltage: usize,
    current: (usize, f64),
    /// Charge and discharge capacity counters, when both are present.
    capacity: Option<((usize, f64), (usize, f64))>,
    cycle: Option<usize>,
    step: Option<usize>,
    date_time: Option<usize>,
}

impl Columns {
    /// The mapping of a header row, or the name of the first required column it lacks.
    fn find(header: &[String]) -> std::result::Result<Self, &'static str> {
        let time = scaled(header, &[("Test_Time(s)", 1.0), ("Test_Time(h)", 3600.0)])
            .ok_or("Test_Time(s)")?;
        let voltage = find_col(header, &["Voltage(V)"]).ok_or("Voltage(V)")?;
        let current =
            scaled(header, &[("Current(A)", 1e3), ("Current(mA)", 1.0)]).ok_or("Current(A)")?;
        let qc = scaled(header, &[("Charge_Capacity(Ah)", 1e3), ("Charge_Capacity(mAh)", 1.0)]);
        let qd =
            scaled(header, &[("Discharge_Capacity(Ah)", 1e3), ("Discharge_Capacity(mAh)", 1.0)]);
        Ok(Self {
            time,
            voltage,
            current,
            capacity: qc.zip(qd),
            cycle: find_col(header, &["Cycle_Index"]),
            step: find_col(header, &["Step_Index"]),
            date_time: find_col(header, &["Date_Time", "DateTime"]),
        })
    }
}

/// One record's cells, as a container gives them; errors name the file and the record.
trait Cells {
    /// The number in column `col`.
    fn num(&self, col: usize) -> Result<f64>;
    /// The non-negative integer (cycle or step counter) in column `col`.
    fn counter(&self, col: usize) -> Result<u32>;
    /// The date-time in column `col` minus `time_s` (the start of the test), `None` when
    /// `time_s` is not finite.
    fn start(&self, col: usize, time_s: f64) -> Result<Option<NaiveDateTime>>;
}

/// Records normalised so far (shared by the CSV and Excel readers).
#[derive(Default)]
struct Records {
    rows: Vec<(EchemPoint, Loc)>,
    q: CounterSum,
    start: Option<NaiveDateTime>,
}

impl Records {
    /// Normalises one record (time s, voltage V, current mA, net charge mAh, cycle ≥ 1, step).
    fn push(&mut self, cols: &Columns, cells: &impl Cells, loc: Loc) -> Result<()> {
        let time_s = cells.num(cols.time.0)? * cols.time.1;
        let voltage_v = cells.num(cols.voltage)?;
        let current_ma = cells.num(cols.current.0)? * cols.current.1;
        let charge_mah = match cols.capacity {
            Some(((c, fc), (d, fd))) => self.q.push(cells.num(c)? * fc, cells.num(d)? * fd),
            None => 0.0,
        };
        let counter = |col: Option<usize>| col.map_or(Ok(1), |c| cells.counter(c));
        let cycle = counter(cols.cycle)?.max(1);
        let step = counter(cols.step)?;
        if self.start.is_none() {
            if let Some(c) = cols.date_time {
                self.start = cells.start(c, time_s)?;
            }
        }
        self.rows.push((
            EchemPoint {
                time_s,
                voltage_v,
                current_ma,
                charge_mah,
                cycle,
                step,
                state: CellState::from_current(current_ma),
            },
            loc,
        ));
        Ok(())
    }

    /// Integrates the current when there were no capacity counters, zeroes the first charge
    /// and validates.
    fn finish(
        mut self,
        path: &Path,
        integrate: bool,
        format: EchemFormat,
        end: Loc,
    ) -> Result<EchemLog> {
        if integrate {
            integrate_charge(&mut self.rows);
        }
        super::zero_first_charge(&mut self.rows);
        finish(path, format, self.start, self.rows, end)
    }
}

/// A CSV record: its fields, with the header for column names in messages.
struct CsvCells<'a> {
    path: &'a Path,
    line: usize,
    fields: &'a [String],
    header: &'a [String],
    delim: char,
}

impl CsvCells<'_> {
    fn name(&self, c: usize) -> &str {
        self.header.get(c).map_or("", String::as_str)
    }
}

impl Cells for CsvCells<'_> {
    fn num(&self, col: usize) -> Result<f64> {
        num_at(self.path, self.line, self.fields, col, self.name(col), self.delim)
    }
    fn counter(&self, col: usize) -> Result<u32> {
        counter_at(self.path, self.line, self.fields, col, self.name(col), self.delim)
    }
    fn start(&self, col: usize, time_s: f64) -> Result<Option<NaiveDateTime>> {
        let s = self.fields.get(col).map_or("", String::as_str);
        start_from_record(s, time_s, self.path, self.line, self.name(col))
    }
}

/// Parses the text of an Arbin CSV export (`path` names the file in errors).
pub fn parse_arbin_csv(path: &Path, text: &str) -> Result<EchemLog> {
    let Table { header_line, delim, header, rows: lines } = table(path, text, false, "empty file")?;
    let cols = Columns::find(&header).map_err(|what| Error::Missing {
        path: path.to_path_buf(),
        line: header_line,
        what: format!("column '{what}'"),
    })?;
    let mut rec = Records::default();
    let mut last_line = header_line;
    for (idx, l) in lines {
        let line = idx + 1;
        last_line = line;
        let fields = split_fields(l, delim);
        let cells = CsvCells { path, line, fields: &fields, header: &header, delim };
        rec.push(&cols, &cells, Loc::Line(line))?;
    }
    rec.finish(path, cols.capacity.is_none(), EchemFormat::ArbinCsv, Loc::Line(last_line))
}

/// Whether a sheet of an Arbin workbook holds data records (`Channel…`, not a chart).
fn is_channel_sheet(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("channel") && !n.contains("chart")
}

/// A row of a data sheet of an Arbin workbook; `row` is 1-based, as Excel numbers rows.
struct SheetCells<'a> {
    path: &'a Path,
    sheet: &'a str,
    row: usize,
    cells: &'a [Data],
    header: &'a [String],
}

impl SheetCells<'_> {
    fn name(&self, c: usize) -> &str {
        self.header.get(c).map_or("", String::as_str)
    }

    fn parse_err(&self, col: usize, what: String) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line: self.row,
            message: format!("sheet '{}', column '{}': {what}", self.sheet, self.name(col)),
        }
    }
}

/// The date-time of an Excel serial day number (days since 1899-12-30 in the 1900 date
/// system, ms resolution as Excel keeps; ECMA-376 Part 1, §18.17.4.1).
fn excel_serial_datetime(days: f64) -> Option<NaiveDateTime> {
    if !days.is_finite() || !(0.0..1e7).contains(&days) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let ms = (days * 86_400_000.0).round() as i64;
    epoch.checked_add_signed(chrono::TimeDelta::milliseconds(ms))
}

impl Cells for SheetCells<'_> {
    fn num(&self, col: usize) -> Result<f64> {
        match self.cells.get(col) {
            Some(Data::Float(x)) => Ok(*x),
            Some(Data::Int(i)) => Ok(*i as f64),
            Some(Data::String(s)) => parse_num(s, ';')
                .ok_or_else(|| self.parse_err(col, format!("'{s}' is not a number"))),
            None | Some(Data::Empty) => Err(Error::Data {
                path: self.path.to_path_buf(),
                line: self.row,
                message: format!(
                    "sheet '{}', column '{}' (column {}): empty cell",
                    self.sheet,
                    self.name(col),
                    col + 1
                ),
            }),
            Some(other) => Err(self.parse_err(col, format!("{other:?} is not a number"))),
        }
    }

    fn counter(&self, col: usize) -> Result<u32> {
        let x = self.num(col)?;
        if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < f64::from(u32::MAX) {
            Ok(x as u32)
        } else {
            Err(Error::Data {
                path: self.path.to_path_buf(),
                line: self.row,
                message: format!(
                    "sheet '{}', column '{}': {x} is not a counter",
                    self.sheet,
                    self.name(col)
                ),
            })
        }
    }

    fn start(&self, col: usize, time_s: f64) -> Result<Option<NaiveDateTime>> {
        let d = match self.cells.get(col) {
            Some(Data::DateTime(d)) => {
                let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
                NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(da))
                    .and_then(|x| x.and_hms_milli_opt(h.into(), mi.into(), s.into(), ms.into()))
            }
            // A date cell without a date format reads as its serial number.
            Some(Data::Float(x)) => excel_serial_datetime(*x),
            Some(Data::String(s) | Data::DateTimeIso(s)) => parse_naive_datetime(s),
            _ => None,
        };
        let d = d.ok_or_else(|| {
            let cell = self.cells.get(col).map_or_else(String::new, |c| c.to_string());
            self.parse_err(col, format!("cannot read date-time '{cell}'"))
        })?;
        Ok(if time_s.is_finite() {
            d.checked_sub_signed(chrono::TimeDelta::microseconds((time_s * 1e6).round() as i64))
        } else {
            None
        })
    }
}

/// Reads an Arbin Excel export (`.xlsx`, or the older `.xls`): every `Channel…` data sheet in
/// workbook order, normalised exactly as [`read_arbin_csv`] does with the same column mapping.
///
/// Errors name the file, and the sheet and row of a bad cell: [`Error::Missing`] for a
/// workbook without a `Channel` sheet or a data sheet without a required column (line 1, the
/// header row), [`Error::Parse`] / [`Error::Data`] for a cell that is not a number, a
/// counter or a date-time, non-finite values, or time going backwards (line = the row),
/// [`Error::ParseBinary`] for a file that is not a readable workbook. The returned log's
/// format is [`EchemFormat::ArbinCsv`] (the Arbin format, whatever the container).
pub fn read_arbin_excel(path: impl AsRef<Path>) -> Result<EchemLog> {
    let path = path.as_ref();
    if let Err(source) = std::fs::metadata(path) {
        return Err(Error::Io { path: path.to_path_buf(), source });
    }
    let mut book = calamine::open_workbook_auto(path).map_err(|e| Error::ParseBinary {
        path: path.to_path_buf(),
        offset: 0,
        message: format!("not a readable Excel workbook: {e}"),
    })?;
    let names = book.sheet_names();
    let sheets: Vec<&String> = names.iter().filter(|n| is_channel_sheet(n)).collect();
    if sheets.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: format!(
                "an Arbin data sheet 'Channel_<n>_<m>' (the workbook has {})",
                if names.is_empty() {
                    "no sheets".to_string()
                } else {
                    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
                }
            ),
        });
    }
    let mut rec = Records::default();
    let mut capacity = true;
    let mut end = Loc::Line(1);
    for sheet in sheets {
        let range = book.worksheet_range(sheet).map_err(|e| Error::ParseBinary {
            path: path.to_path_buf(),
            offset: 0,
            message: format!("sheet '{sheet}' cannot be read: {e}"),
        })?;
        // Row numbers as Excel shows them (the range may not start at A1).
        let (row0, col0) = range.start().map_or((0, 0), |(r, c)| (r as usize, c as usize));
        let mut rows = range.rows();
        let Some(head) = rows.next() else {
            continue; // an empty sheet
        };
        let mut header: Vec<String> = vec![String::new(); col0];
        header.extend(head.iter().map(|c| c.to_string().trim().to_string()));
        let cols = Columns::find(&header).map_err(|what| Error::Missing {
            path: path.to_path_buf(),
            line: row0 + 1,
            what: format!("column '{what}' in sheet '{sheet}'"),
        })?;
        capacity &= cols.capacity.is_some();
        let mut padded: Vec<Data> = Vec::new();
        for (k, cells) in rows.enumerate() {
            if cells.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            let row = row0 + k + 2;
            let cells: &[Data] = if col0 == 0 {
                cells
            } else {
                padded.clear();
                padded.resize(col0, Data::Empty);
                padded.extend_from_slice(cells);
                &padded
            };
            let sc = SheetCells { path, sheet, row, cells, header: &header };
            rec.push(&cols, &sc, Loc::Line(row))?;
            check_last(path, sheet, row, &rec)?;
            end = Loc::Line(row);
        }
    }
    rec.finish(path, !capacity, EchemFormat::ArbinCsv, end)
}

/// The checks of [`finish`] on the last record, with the sheet in the message (the rows of
/// several sheets share line numbers).
fn check_last(path: &Path, sheet: &str, row: usize, rec: &Records) -> Result<()> {
    let err = |message: String| Error::Data {
        path: path.to_path_buf(),
        line: row,
        message: format!("sheet '{sheet}': {message}"),
    };
    let Some((p, _)) = rec.rows.last() else { return Ok(()) };
    for (name, v) in [
        ("time", p.time_s),
        ("voltage", p.voltage_v),
        ("current", p.current_ma),
        ("charge", p.charge_mah),
    ] {
        if !v.is_finite() {
            return Err(err(format!("{name} is not finite ({v})")));
        }
    }
    if let Some((prev, _)) = rec.rows.len().checked_sub(2).and_then(|i| rec.rows.get(i)) {
        if p.time_s < prev.time_s {
            return Err(err(format!(
                "time goes backwards: {} s after {} s (times must be non-decreasing)",
                p.time_s, prev.time_s
            )));
        }
    }
    Ok(())
}
