#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Arbin Excel exports: the rows of `fixtures/echem/arbin.csv` written into a workbook shaped
//! like an Arbin MITS Pro export (`Global_Info`, two `Channel_1_<m>` data sheets, a
//! `Statistics` sheet that must be ignored) read back identically to the CSV reader's log of
//! the same rows; errors name the file and the sheet.

use bragg_io::echem::arbin::{read_arbin_csv, read_arbin_excel};
use bragg_io::echem::EchemFormat;
use bragg_io::{read_echem, Error};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/echem").join(name)
}

/// Header and rows of the CSV fixture, split at commas.
fn csv_rows() -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(fixture("arbin.csv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    (header, rows)
}

/// `MM/DD/YYYY hh:mm:ss` as an Excel date-time.
fn excel_datetime(s: &str) -> ExcelDateTime {
    let (date, time) = s.split_once(' ').unwrap();
    let d: Vec<u16> = date.split('/').map(|x| x.parse().unwrap()).collect();
    let t: Vec<u16> = time.split(':').map(|x| x.parse().unwrap()).collect();
    ExcelDateTime::from_ymd(d[2], d[0] as u8, d[1] as u8)
        .unwrap()
        .and_hms(t[0], t[1] as u8, f64::from(t[2]))
        .unwrap()
}

/// Writes a workbook: `Global_Info`, then one data sheet per `(name, header, rows)` and a
/// `Statistics_1-006` sheet. Dates are Excel date cells in the first data sheet and text in
/// the others (both occur in exports); every other cell is a number.
/// A data sheet to write: name, header, rows.
type Sheet<'a> = (&'a str, &'a [String], &'a [Vec<String>]);

fn write_book(path: &Path, sheets: &[Sheet]) {
    let mut book = Workbook::new();
    let info = book.add_worksheet();
    info.set_name("Global_Info").unwrap();
    info.write_string(0, 0, "TEST REPORT").unwrap();
    info.write_string(2, 0, "Channel").unwrap();
    info.write_number(2, 1, 1).unwrap();
    let date_fmt = Format::new().set_num_format("mm/dd/yyyy hh:mm:ss");
    for (k, (name, header, rows)) in sheets.iter().enumerate() {
        let ws = book.add_worksheet();
        ws.set_name(*name).unwrap();
        for (c, h) in header.iter().enumerate() {
            ws.write_string(0, c as u16, h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                if header.get(c as usize).is_some_and(|h| h == "Date_Time") {
                    if k == 0 {
                        ws.write_datetime_with_format(r, c, excel_datetime(cell), &date_fmt)
                            .unwrap();
                    } else {
                        ws.write_string(r, c, cell).unwrap();
                    }
                } else if let Ok(x) = cell.parse::<f64>() {
                    ws.write_number(r, c, x).unwrap();
                } else {
                    ws.write_string(r, c, cell).unwrap();
                }
            }
        }
    }
    let stats = book.add_worksheet();
    stats.set_name("Statistics_1-006").unwrap();
    stats.write_string(0, 0, "Cycle_Index").unwrap();
    stats.write_number(1, 0, 1).unwrap();
    book.save(path).unwrap();
}

#[test]
fn two_channel_sheets_match_the_csv_reader() {
    let (header, rows) = csv_rows();
    assert_eq!(rows.len(), 18);
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("cell.xlsx");
    // Split as Arbin does at its row limit, here after 10 records (inside cycle 1).
    write_book(
        &xlsx,
        &[("Channel_1_1", &header, &rows[..10]), ("Channel_1_2", &header, &rows[10..])],
    );

    let want = read_arbin_csv(fixture("arbin.csv")).unwrap();
    let got = read_arbin_excel(&xlsx).unwrap();
    assert_eq!(got.points.len(), 18);
    assert_eq!(got.points, want.points, "Excel and CSV logs of the same rows differ");
    assert_eq!(got.start, want.start);
    assert_eq!(got.source, xlsx);
    assert_eq!(got.format, EchemFormat::ArbinCsv);
    // The unit conversions themselves (closed forms of the fixture's protocol,
    // fixtures/README.md): Current(A) 5e-4 → 0.5 mA; cycle 2 starts at record 16.
    assert_eq!(got.points[17].current_ma, 0.5);
    assert_eq!((got.points[14].cycle, got.points[15].cycle), (1, 2));
    assert_eq!(got.points[10].time_s, 100.0);

    // The dispatcher reads .xlsx by extension.
    assert_eq!(read_echem(&xlsx).unwrap().points, want.points);
}

#[test]
fn workbook_without_channel_sheet_names_file_and_sheets() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("summary_only.xlsx");
    write_book(&xlsx, &[]);
    let e = read_arbin_excel(&xlsx).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Missing { .. }), "{e:?}");
    assert!(msg.contains("summary_only.xlsx"), "{msg}");
    assert!(msg.contains("Channel_<n>_<m>"), "{msg}");
    assert!(msg.contains("'Global_Info'"), "{msg}");
}

#[test]
fn missing_voltage_column_names_file_and_sheet() {
    let (header, rows) = csv_rows();
    let renamed: Vec<String> =
        header.iter().map(|h| if h == "Voltage(V)" { "Volts".into() } else { h.clone() }).collect();
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("novolt.xlsx");
    write_book(
        &xlsx,
        &[("Channel_1_1", &header, &rows[..4]), ("Channel_1_2", &renamed, &rows[4..8])],
    );
    let e = read_arbin_excel(&xlsx).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Missing { line: 1, .. }), "{e:?}");
    assert!(msg.contains("novolt.xlsx"), "{msg}");
    assert!(msg.contains("'Voltage(V)'") && msg.contains("sheet 'Channel_1_2'"), "{msg}");
}

#[test]
fn bad_cell_and_time_going_back_name_sheet_and_row() {
    let (header, mut rows) = csv_rows();
    let v = header.iter().position(|h| h == "Voltage(V)").unwrap();
    rows[6][v] = "n/a".into(); // sheet 2, row 4 (header in row 1, rows[3] in row 2)
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("bad.xlsx");
    write_book(
        &xlsx,
        &[("Channel_1_1", &header, &rows[..3]), ("Channel_1_2", &header, &rows[3..8])],
    );
    let e = read_arbin_excel(&xlsx).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Parse { line: 5, .. }), "{e:?}");
    assert!(msg.contains("sheet 'Channel_1_2'") && msg.contains("'n/a'"), "{msg}");

    // The second sheet starting before the end of the first: time goes back at its row 2.
    let (header, rows) = csv_rows();
    let xlsx = dir.path().join("back.xlsx");
    write_book(
        &xlsx,
        &[("Channel_1_1", &header, &rows[..6]), ("Channel_1_2", &header, &rows[2..8])],
    );
    let e = read_arbin_excel(&xlsx).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Data { line: 2, .. }), "{e:?}");
    assert!(msg.contains("sheet 'Channel_1_2'") && msg.contains("backwards"), "{msg}");

    // Not a workbook at all.
    let junk = dir.path().join("junk.xlsx");
    std::fs::write(&junk, b"Data_Point,Test_Time(s)\n").unwrap();
    let e = read_arbin_excel(&junk).unwrap_err();
    assert!(matches!(e, Error::ParseBinary { .. }), "{e:?}");
    assert!(e.to_string().contains("junk.xlsx"), "{e}");
}
