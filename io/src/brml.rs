//! Bruker DIFFRAC.SUITE `.brml` scans (a zip archive of XML documents), and the zip helpers
//! shared with [`crate::rigaku`] (`.rasx`).
//!
//! Layout (as read by GSAS-II's `G2pwd_BrukerBRML` and described with the DIFFRAC.SUITE
//! file-exchange notes): the archive holds `Experiment0/RawData0.xml`, `RawData1.xml`, ...
//! one per measured range, each
//!
//! ```text
//! RawData
//!   TimeStampStarted, TimeStampFinished
//!   DataRoutes/DataRoute [@RouteFlag]                 (the one holding <Datum> rows)
//!     ScanInformation [@ScanName @VisibleName]
//!       TimePerStep, MeasurementPoints
//!       ScanAxes/ScanAxisInfo [@AxisId="TwoTheta"]: Start, Stop, Increment
//!       (ScaleAxes/ScaleAxisInfo for a stationary 1-D detector snapshot)
//!     DataViews/RawDataView [@xsi:type @Start @Length @LogicName]:
//!       FixedRawDataView MeasuredTime | AbsorptionFactor, VaryingRawDataView with
//!       FieldDefinitions (TwoTheta, Theta, ...), RecordedRawDataView (the counts)
//!     Datum: comma-separated values of one point, e.g. `time,absorption,2θ,θ,counts`
//!   FixedInformation/.../WaveLengthAlpha1, WaveLengthAlpha2, WaveLengthRatio [@Value]
//! ```
//!
//! Columns come from the `DataViews` when present, otherwise the usual order (time 0,
//! absorption factor 1, 2θ 2, counts 4). Counts stay counts: intensity = counts·a, esd =
//! √counts·a with a the absorption (attenuator) factor of the point; the time per step is kept
//! in the metadata fields. Errors inside an archive member name the member as
//! `scan.brml/Experiment0/RawData0.xml:LINE`; archive errors name the byte offset.

use crate::error::{Error, Result};
use crate::powder::{read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength};
use crate::xrdml::{
    child, children, descendant, element_path, first_with_note, line_of, number_of, parse_xml,
    text_of, xml_err,
};
use crate::xye::PowderData;
use roxmltree::{Document, Node};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use zip::ZipArchive;

/// Largest archive member read (uncompressed), to stop a zip bomb: 1 GiB.
const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// Whether `bytes` start with a zip local-file header (`PK\x03\x04`, APPNOTE.TXT §4.3.7) or
/// the end-of-central-directory record of an empty archive.
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// An opened zip archive in memory.
pub(crate) type Zip<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// Opens a zip archive; a truncated or corrupt archive gives [`Error::ParseBinary`].
pub(crate) fn open_zip<'a>(bytes: &'a [u8], path: &Path) -> Result<Zip<'a>> {
    ZipArchive::new(Cursor::new(bytes)).map_err(|e| Error::ParseBinary {
        path: path.to_path_buf(),
        offset: 0,
        message: format!("not a readable zip archive (truncated or corrupt): {e}"),
    })
}

/// The member names of an archive (names that are not valid text are skipped).
pub(crate) fn zip_names(zip: &Zip) -> Vec<String> {
    zip.file_names().filter_map(|n| n.ok().map(|n| n.to_string())).collect()
}

/// The bytes of member `name`; a corrupt member names its header's byte offset.
pub(crate) fn zip_member(zip: &mut Zip, name: &str, path: &Path) -> Result<Vec<u8>> {
    let bad = |offset: u64, message: String| Error::ParseBinary {
        path: path.to_path_buf(),
        offset,
        message,
    };
    let mut f = zip.by_name(name).map_err(|e| bad(0, format!("archive member {name}: {e}")))?;
    let at = f.header_start();
    let mut out = Vec::new();
    (&mut f)
        .take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| bad(at, format!("archive member {name} is corrupt: {e}")))?;
    if out.len() as u64 > MAX_MEMBER_BYTES {
        return Err(bad(at, format!("archive member {name} exceeds {MAX_MEMBER_BYTES} bytes")));
    }
    Ok(out)
}

/// The path used in messages about archive member `name`: `archive/member`.
pub(crate) fn member_path(path: &Path, name: &str) -> PathBuf {
    path.join(name)
}

/// UTF-8 text of a member (a byte-order mark removed; Latin-1 if not UTF-8).
pub(crate) fn member_text(bytes: &[u8]) -> String {
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    crate::powder::decode_text(b)
}

/// The number in `name` after `prefix` and before `.xml`/`.txt` (`RawData12.xml` → 12).
pub(crate) fn member_number(name: &str, prefix: &str, suffix: &str) -> Option<u32> {
    let file = name.rsplit('/').next()?;
    file.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok()
}

/// The `RawData<N>.xml` members of a `.brml` archive, in (folder, N) order.
pub(crate) fn brml_members(names: &[String]) -> Vec<String> {
    let mut v: Vec<(String, u32, String)> = names
        .iter()
        .filter_map(|n| {
            let k = member_number(n, "RawData", ".xml")?;
            let dir = n.rsplit_once('/').map_or("", |(d, _)| d).to_string();
            Some((dir, k, n.clone()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, _, n)| n).collect()
}

/// Reads the first range of a `.brml` file (a note says when there are more).
pub fn read_brml(path: &Path) -> Result<PowderScan> {
    parse_brml(&read_bytes(path)?, path)
}

/// Reads every range (`RawData<N>.xml`) of a `.brml` file, in order.
pub fn read_brml_scans(path: &Path) -> Result<Vec<PowderScan>> {
    parse_brml_scans(&read_bytes(path)?, path)
}

/// [`read_brml`] on the bytes of the archive; `path` names it in messages.
pub fn parse_brml(bytes: &[u8], path: &Path) -> Result<PowderScan> {
    first_with_note(parse_brml_scans(bytes, path)?, "ranges", "read_brml_scans", path)
}

/// [`read_brml_scans`] on the bytes of the archive.
///
/// Errors: [`Error::ParseBinary`] for an archive that is not a readable zip or a corrupt
/// member; [`Error::Missing`] for an archive without `RawData*.xml` or a range without
/// `<Datum>` rows; [`Error::Parse`] / [`Error::Data`] naming `archive/member:line` and the
/// element path for malformed XML, non-numbers, short rows, negative counts or 2θ not
/// increasing.
pub fn parse_brml_scans(bytes: &[u8], path: &Path) -> Result<Vec<PowderScan>> {
    let mut zip = open_zip(bytes, path)?;
    let members = brml_members(&zip_names(&zip));
    if members.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "Experiment0/RawData0.xml (not a Bruker .brml archive)".to_string(),
        });
    }
    let mut out = Vec::new();
    for name in members {
        let raw = zip_member(&mut zip, &name, path)?;
        let text = member_text(&raw);
        let mpath = member_path(path, &name);
        if let Some(mut scan) = raw_data(&text, &mpath)? {
            scan.data.source = path.to_path_buf();
            scan.meta.fields.insert(0, ("member".to_string(), name.clone()));
            out.push(scan);
        }
    }
    if out.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "measured points (<Datum> rows) in any RawData*.xml".to_string(),
        });
    }
    Ok(out)
}

/// Column layout of a `<Datum>` row.
struct Columns {
    time: Option<usize>,
    absorption: Option<usize>,
    two_theta: Option<usize>,
    counts: usize,
}

/// Columns from `<DataViews>`, or the usual order when absent.
fn columns(route: Node) -> Columns {
    let mut c = Columns { time: Some(0), absorption: Some(1), two_theta: Some(2), counts: 4 };
    let Some(views) = child(route, "DataViews") else { return c };
    let mut found_counts = false;
    let mut found_tth = false;
    for v in children(views, "RawDataView") {
        let start: Option<usize> = v.attribute("Start").and_then(|s| s.trim().parse().ok());
        let Some(start) = start else { continue };
        let kind = v
            .attributes()
            .find(|a| a.name() == "type")
            .map(|a| a.value().rsplit(':').next().unwrap_or("").to_string())
            .unwrap_or_default();
        match (kind.as_str(), v.attribute("LogicName")) {
            (_, Some("MeasuredTime")) => c.time = Some(start),
            (_, Some("AbsorptionFactor")) => c.absorption = Some(start),
            ("VaryingRawDataView", _) => {
                let fields: Vec<Node> = descendant(v, "Varying")
                    .map(|var| children(var, "FieldDefinitions").collect())
                    .unwrap_or_default();
                if let Some(k) = fields.iter().position(|f| {
                    f.attribute("FieldName") == Some("TwoTheta")
                        || f.attribute("AxisId") == Some("TwoTheta")
                }) {
                    c.two_theta = Some(start + k);
                    found_tth = true;
                }
            }
            ("RecordedRawDataView", _) if !found_counts => {
                c.counts = start;
                found_counts = true;
            }
            _ => {}
        }
    }
    if !found_tth && views.children().any(|n| n.is_element()) {
        c.two_theta = None; // 2θ then comes from ScanAxisInfo start + i·increment
    }
    c
}

/// One `RawData*.xml`: `None` when it holds no data route with points.
fn raw_data(text: &str, path: &Path) -> Result<Option<PowderScan>> {
    let doc = parse_xml(text, path)?;
    let root = doc.root_element();
    if root.tag_name().name() != "RawData" {
        return Err(xml_err(&doc, root, path, "the root element is not <RawData>".to_string()));
    }
    let routes: Vec<Node> = descendant(root, "DataRoutes")
        .map(|r| children(r, "DataRoute").filter(|d| child(*d, "Datum").is_some()).collect())
        .unwrap_or_default();
    let Some(route) = routes
        .iter()
        .find(|r| r.attribute("RouteFlag") == Some("Final"))
        .or_else(|| routes.last())
        .copied()
    else {
        return Ok(None);
    };
    let mut meta = PowderMetadata::new(PowderFormat::BrukerBrml);
    if let Some(t) = child(root, "TimeStampStarted").map(text_of).filter(|t| !t.is_empty()) {
        meta.timestamp = Some(t.to_string());
    }
    if let Some(t) = child(root, "TimeStampFinished").map(text_of).filter(|t| !t.is_empty()) {
        meta.fields.push(("end time".to_string(), t.to_string()));
    }
    if routes.len() > 1 {
        meta.notes.push(format!(
            "{} data routes with points; read <{}>",
            routes.len(),
            element_path(route)
        ));
    }
    wavelengths(&doc, root, path, &mut meta)?;
    let info = child(route, "ScanInformation");
    let mut axis_start_inc: Option<(f64, f64)> = None;
    if let Some(info) = info {
        for attr in ["ScanName", "VisibleName"] {
            if let Some(v) = info.attribute(attr) {
                meta.fields.push((attr.to_string(), v.to_string()));
            }
        }
        if let Some(t) = child(info, "TimePerStep") {
            meta.fields
                .push(("time per step (s)".to_string(), number_of(&doc, t, path)?.to_string()));
        }
        let axes = child(info, "ScanAxes")
            .into_iter()
            .flat_map(|a| children(a, "ScanAxisInfo"))
            .chain(child(info, "ScaleAxes").into_iter().flat_map(|a| children(a, "ScaleAxisInfo")));
        for ax in axes {
            let id = ax.attribute("AxisId").or_else(|| ax.attribute("AxisName")).unwrap_or("");
            if id.eq_ignore_ascii_case("TwoTheta") || id.eq_ignore_ascii_case("2Theta") {
                let s = child(ax, "Start").map(|n| number_of(&doc, n, path)).transpose()?;
                let i = child(ax, "Increment").map(|n| number_of(&doc, n, path)).transpose()?;
                if let (Some(s), Some(i)) = (s, i) {
                    axis_start_inc = Some((s, i));
                }
            }
        }
    }
    let cols = columns(route);
    let data_err = |node: Node, message: String| xml_err(&doc, node, path, message);
    let rows: Vec<Node> = children(route, "Datum").collect();
    // A stationary 1-D detector snapshot: one Datum `a,b,T,y1,y2,...` on a ScaleAxis grid.
    let stationary = rows.len() == 1
        && info.is_some_and(|i| child(i, "ScaleAxes").is_some_and(|a| a.has_children()));
    let mut tth = Vec::with_capacity(rows.len());
    let mut y = Vec::with_capacity(rows.len());
    let mut esd = Vec::with_capacity(rows.len());
    let parse_row = |row: Node| -> Result<Vec<f64>> {
        text_of(row)
            .split(',')
            .enumerate()
            .map(|(k, t)| {
                t.trim().parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| Error::Parse {
                    path: path.to_path_buf(),
                    line: line_of(&doc, row),
                    message: format!(
                        "<{}>: field {} '{}' is not a finite number",
                        element_path(row),
                        k + 1,
                        t.trim()
                    ),
                })
            })
            .collect()
    };
    if stationary {
        let row = rows[0];
        let v = parse_row(row)?;
        let (start, inc) = axis_start_inc.ok_or_else(|| Error::Missing {
            path: path.to_path_buf(),
            line: line_of(&doc, row),
            what: "the 2θ Start/Increment of the ScaleAxisInfo".to_string(),
        })?;
        for (i, &c) in v.iter().skip(3).enumerate() {
            if c < 0.0 {
                return Err(data_err(row, format!("negative count {c} at point {}", i + 1)));
            }
            tth.push(start + i as f64 * inc);
            y.push(c);
            esd.push(c.sqrt());
        }
        meta.notes.push("stationary detector snapshot (one <Datum> on a 2θ scale)".to_string());
    } else {
        for (i, &row) in rows.iter().enumerate() {
            let v = parse_row(row)?;
            let need = [Some(cols.counts), cols.two_theta, cols.absorption]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(0);
            if v.len() <= need {
                return Err(data_err(
                    row,
                    format!("{} fields; the data views need at least {}", v.len(), need + 1),
                ));
            }
            let x = match cols.two_theta {
                Some(k) => v[k],
                None => match axis_start_inc {
                    Some((s, inc)) => s + i as f64 * inc,
                    None => {
                        return Err(Error::Missing {
                            path: path.to_path_buf(),
                            line: line_of(&doc, row),
                            what: "a 2θ column or the TwoTheta ScanAxisInfo".to_string(),
                        })
                    }
                },
            };
            let c = v[cols.counts];
            if c < 0.0 {
                return Err(data_err(row, format!("negative count {c}")));
            }
            let a = cols.absorption.and_then(|k| v.get(k)).copied().filter(|a| *a > 0.0);
            let a = a.unwrap_or(1.0);
            if let Some(&p) = tth.last() {
                if x <= p {
                    return Err(data_err(
                        row,
                        format!("2θ = {x} does not increase (previous {p})"),
                    ));
                }
            }
            tth.push(x);
            y.push(c * a);
            esd.push(c.sqrt() * a);
            if i == 0 {
                if let Some(t) = cols.time.and_then(|k| v.get(k)) {
                    meta.fields
                        .push(("measured time of the first step (s)".to_string(), t.to_string()));
                }
            }
        }
    }
    if tth.is_empty() {
        return Ok(None);
    }
    meta.fields.push(("intensity unit".to_string(), "counts".to_string()));
    Ok(Some(PowderScan {
        data: PowderData { two_theta_deg: tth, intensity: y, esd: Some(esd), source: path.into() },
        meta,
    }))
}

/// Kα1, Kα2 and their ratio from `WaveLengthAlpha1`, `WaveLengthAlpha2`, `WaveLengthRatio`
/// elements anywhere in the document (value in the `Value` attribute or the text).
fn wavelengths(doc: &Document, root: Node, path: &Path, meta: &mut PowderMetadata) -> Result<()> {
    let get = |name: &str| descendant(root, name).map(|n| number_of(doc, n, path)).transpose();
    let (l1, l2, r) = (get("WaveLengthAlpha1")?, get("WaveLengthAlpha2")?, get("WaveLengthRatio")?);
    if let Some(l1) = l1.filter(|w| *w > 0.0) {
        meta.wavelengths.push(Wavelength { angstrom: l1, relative_intensity: Some(1.0) });
        if let Some(l2) = l2.filter(|w| *w > 0.0) {
            meta.wavelengths
                .push(Wavelength { angstrom: l2, relative_intensity: r.filter(|r| *r >= 0.0) });
        }
    }
    Ok(())
}
