//! Rigaku SmartLab / MiniFlex scans: text `.ras` and zipped `.rasx`.
//!
//! **`.ras`** (Rigaku "RAS" export; layout as read by GSAS-II's `G2pwd_rigaku` and
//! xrayutilities' `RASFile`): header lines `*KEY "value"` and data lines
//! `2θ intensity [attenuation]`, per scan
//!
//! ```text
//! *RAS_DATA_START
//! *RAS_HEADER_START
//! *HW_XG_WAVE_LENGTH_ALPHA1 "1.540593"   *MEAS_SCAN_START "10.0000"   *MEAS_DATA_COUNT "4001"
//! *MEAS_SCAN_UNIT_Y "counts"              *MEAS_SCAN_SPEED "10.0" *MEAS_SCAN_SPEED_UNIT "deg/min"
//! *RAS_HEADER_END
//! *RAS_INT_START
//! 10.0000 1234.0000 1.0000
//! *RAS_INT_END
//! ... further *RAS_HEADER_START … *RAS_INT_END scans ...
//! *RAS_DATA_END
//! ```
//!
//! **`.rasx`**: a zip archive with `Data<k>/Profile<k>.txt` (tab-separated `2θ intensity
//! attenuation`, possibly after a byte-order mark) and `Data<k>/MesurementConditions<k>.xml`
//! (sic) holding the conditions (`WavelengthKalpha1`, `WavelengthKalpha2`, `IntensityUnit`,
//! `Step`, `Speed`, `SpeedUnit`, `AxisName`, `StartTime`, ... looked up by element name).
//!
//! **Intensity convention.** The third column is the attenuator factor a (1 when absent):
//! intensity = y·a, esd = √y·a for counts; for counts per second (`cps`) esd = √(y·t)/t·a
//! with the counting time per step t = step/speed (continuous scans, speed in deg/min or
//! deg/s) or t = speed (step scans timed in seconds); without a usable time, no esd and a
//! note. A scan whose axis is not a 2θ axis (ω rocking curve, χ, φ, height) is refused.

use crate::brml::{member_number, member_path, member_text, open_zip, zip_member, zip_names};
use crate::error::{Error, Result};
use crate::powder::{
    decode_text, read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength,
};
use crate::xrdml::{descendant, first_with_note, parse_xml, text_of};
use crate::xye::PowderData;
use std::path::Path;

/// Reads the first scan of a `.ras` file (a note says when there are more).
pub fn read_ras(path: &Path) -> Result<PowderScan> {
    parse_ras(&decode_text(&read_bytes(path)?), path)
}

/// Reads every scan of a `.ras` file, in file order.
pub fn read_ras_scans(path: &Path) -> Result<Vec<PowderScan>> {
    parse_ras_scans(&decode_text(&read_bytes(path)?), path)
}

/// [`read_ras`] on text in memory; `path` names the file in messages.
pub fn parse_ras(text: &str, path: &Path) -> Result<PowderScan> {
    first_with_note(parse_ras_scans(text, path)?, "scans", "read_ras_scans", path)
}

/// Reads the first scan of a `.rasx` archive (a note says when there are more).
pub fn read_rasx(path: &Path) -> Result<PowderScan> {
    parse_rasx(&read_bytes(path)?, path)
}

/// Reads every `Data<k>/Profile<k>.txt` scan of a `.rasx` archive, in order of k.
pub fn read_rasx_scans(path: &Path) -> Result<Vec<PowderScan>> {
    parse_rasx_scans(&read_bytes(path)?, path)
}

/// [`read_rasx`] on the bytes of the archive.
pub fn parse_rasx(bytes: &[u8], path: &Path) -> Result<PowderScan> {
    first_with_note(parse_rasx_scans(bytes, path)?, "scans", "read_rasx_scans", path)
}

/// Whether `text` looks like RAS: `*RAS_DATA_START` or `*RAS_HEADER_START` among the first
/// 20 non-blank lines.
pub(crate) fn looks_like_ras(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim().trim_start_matches('\u{feff}'))
        .filter(|l| !l.is_empty())
        .take(20)
        .any(|l| l.starts_with("*RAS_DATA_START") || l.starts_with("*RAS_HEADER_START"))
}

/// The `Data<k>/Profile<k>.txt` members, in order of k.
pub(crate) fn rasx_profiles(names: &[String]) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = names
        .iter()
        .filter_map(|n| member_number(n, "Profile", ".txt").map(|k| (k, n.clone())))
        .collect();
    v.sort();
    v
}

/// Scan conditions shared by both variants: (key, value, line).
struct Conditions {
    keys: Vec<(String, String, usize)>,
}

impl Conditions {
    fn get(&self, key: &str) -> Option<(&str, usize)> {
        self.keys.iter().find(|(k, _, _)| k == key).map(|(_, v, l)| (v.as_str(), *l))
    }

    fn num(&self, key: &str, path: &Path) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(("", _)) => Ok(None),
            Some((v, line)) => {
                v.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(Some).ok_or_else(|| {
                    Error::Parse {
                        path: path.to_path_buf(),
                        line,
                        message: format!("{key} \"{v}\" is not a number"),
                    }
                })
            }
        }
    }
}

/// Names of the keys the two variants use for the same quantity.
struct KeyNames {
    alpha1: &'static str,
    alpha2: &'static str,
    unit_y: &'static str,
    step: &'static str,
    speed: &'static str,
    speed_unit: &'static str,
    axis: &'static str,
    start_time: &'static str,
    count: Option<&'static str>,
    comment: &'static [&'static str],
}

const RAS_KEYS: KeyNames = KeyNames {
    alpha1: "*HW_XG_WAVE_LENGTH_ALPHA1",
    alpha2: "*HW_XG_WAVE_LENGTH_ALPHA2",
    unit_y: "*MEAS_SCAN_UNIT_Y",
    step: "*MEAS_SCAN_STEP",
    speed: "*MEAS_SCAN_SPEED",
    speed_unit: "*MEAS_SCAN_SPEED_UNIT",
    axis: "*MEAS_SCAN_AXIS_X",
    start_time: "*MEAS_SCAN_START_TIME",
    count: Some("*MEAS_DATA_COUNT"),
    comment: &["*FILE_SAMPLE", "*FILE_COMMENT", "*FILE_MEMO"],
};

const RASX_KEYS: KeyNames = KeyNames {
    alpha1: "WavelengthKalpha1",
    alpha2: "WavelengthKalpha2",
    unit_y: "IntensityUnit",
    step: "Step",
    speed: "Speed",
    speed_unit: "SpeedUnit",
    axis: "AxisName",
    start_time: "StartTime",
    count: None,
    comment: &["SampleName", "Comment", "Memo"],
};

/// Whether a scan-axis name is a 2θ axis (`TwoThetaTheta`, `TwoThetaOmega`, `2-Theta/Omega`,
/// `TwoTheta`, `2Theta`, ...).
fn is_two_theta_axis(axis: &str) -> bool {
    let a = axis.to_ascii_lowercase().replace(['-', ' ', '/', '_'], "");
    a.starts_with("twotheta") || a.starts_with("2theta") || a.starts_with("2θ")
}

/// Builds a scan from points (2θ, y, attenuation, line) and conditions.
fn finish(
    points: &[(f64, f64, f64, usize)],
    cond: &Conditions,
    names: &KeyNames,
    format: PowderFormat,
    header_line: usize,
    path: &Path,
    cond_path: &Path,
) -> Result<PowderScan> {
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let cond_err =
        |line: usize, message: String| Error::Data { path: cond_path.to_path_buf(), line, message };
    if let Some((axis, line)) = cond.get(names.axis) {
        if !axis.is_empty() && !is_two_theta_axis(axis) {
            return Err(cond_err(
                line,
                format!(
                    "scan axis '{axis}' is not a 2θ axis (a rocking curve, tilt or height scan)"
                ),
            ));
        }
    }
    if let Some(key) = names.count {
        if let (Some(n), Some((_, line))) = (cond.num(key, cond_path)?, cond.get(key)) {
            if n != points.len() as f64 {
                return Err(cond_err(
                    line,
                    format!("{key} says {n} points but the scan holds {}", points.len()),
                ));
            }
        }
    }
    let mut meta = PowderMetadata::new(format);
    for (k, v, _) in &cond.keys {
        meta.fields.push((k.clone(), v.clone()));
    }
    if let Some(l1) = cond.num(names.alpha1, cond_path)?.filter(|w| *w > 0.0) {
        meta.wavelengths.push(Wavelength { angstrom: l1, relative_intensity: Some(1.0) });
        if let Some(l2) = cond.num(names.alpha2, cond_path)?.filter(|w| *w > 0.0) {
            meta.wavelengths.push(Wavelength { angstrom: l2, relative_intensity: None });
        }
    }
    meta.timestamp =
        cond.get(names.start_time).map(|(v, _)| v.to_string()).filter(|s| !s.is_empty());
    let comment: Vec<&str> = names
        .comment
        .iter()
        .filter_map(|k| cond.get(k).map(|(v, _)| v))
        .filter(|v| !v.is_empty())
        .collect();
    if !comment.is_empty() {
        meta.comment = Some(comment.join(" | "));
    }
    let unit = cond.get(names.unit_y).map(|(v, _)| v.to_ascii_lowercase()).unwrap_or_default();
    let cps = unit == "cps" || unit.contains("/s") || unit.contains("per sec");
    // Counting time per step, for cps data.
    let time = if cps {
        let step = cond.num(names.step, cond_path)?.map(f64::abs);
        let speed = cond.num(names.speed, cond_path)?.filter(|s| *s > 0.0);
        let unit = cond.get(names.speed_unit).map(|(v, _)| v.to_ascii_lowercase());
        match (step, speed, unit.as_deref()) {
            (Some(st), Some(sp), Some(u)) if u.contains("/min") => Some(60.0 * st / sp),
            (Some(st), Some(sp), Some(u)) if u.contains("/s") => Some(st / sp),
            (_, Some(sp), Some(u)) if u == "s" || u == "sec" || u.starts_with("sec/") => Some(sp),
            _ => None,
        }
        .filter(|t| t.is_finite() && *t > 0.0)
    } else {
        None
    };
    if points.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: header_line,
            what: "data points in the scan".to_string(),
        });
    }
    let n = points.len();
    let mut tth = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    let mut esd = Vec::with_capacity(n);
    for &(x, v, a, line) in points {
        if v < 0.0 {
            return Err(data_err(line, format!("negative intensity {v}")));
        }
        if a <= 0.0 {
            return Err(data_err(line, format!("attenuation factor {a} must be positive")));
        }
        if let Some(&p) = tth.last() {
            if x <= p {
                return Err(data_err(
                    line,
                    format!("2θ = {x} does not increase (previous point {p})"),
                ));
            }
        }
        tth.push(x);
        y.push(v * a);
        esd.push(match (cps, time) {
            (false, _) => v.sqrt() * a,
            (true, Some(t)) => (v * t).sqrt() / t * a,
            (true, None) => 0.0,
        });
    }
    let have_esd = !cps || time.is_some();
    if !have_esd {
        meta.notes.push("counts per second without a usable counting time: no esd".to_string());
    }
    meta.fields
        .push(("intensity unit".to_string(), if cps { "counts/s" } else { "counts" }.to_string()));
    Ok(PowderScan {
        data: PowderData {
            two_theta_deg: tth,
            intensity: y,
            esd: have_esd.then_some(esd),
            source: path.to_path_buf(),
        },
        meta,
    })
}

/// Parses a data line `2θ y [a]` (more columns are ignored).
fn data_line(line: &str, line_no: usize, path: &Path) -> Result<(f64, f64, f64, usize)> {
    let f: Vec<&str> =
        line.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).collect();
    if f.len() < 2 {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("{} column(s); expected 2θ, intensity and attenuation", f.len()),
        });
    }
    let mut v = [0.0f64, 0.0, 1.0];
    for (k, t) in f.iter().take(3).enumerate() {
        v[k] = t.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| Error::Parse {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("column {} '{t}' is not a finite number", k + 1),
        })?;
    }
    Ok((v[0], v[1], v[2], line_no))
}

/// [`read_ras_scans`] on text in memory.
///
/// Errors name the line: [`Error::Parse`] for a non-number or a header line without a key;
/// [`Error::Data`] for a short data line, negative counts, a non-positive attenuation factor,
/// 2θ not increasing, a point count that contradicts `*MEAS_DATA_COUNT`, or a non-2θ scan
/// axis; [`Error::Missing`] for a file without `*RAS_INT_START` data or an unterminated scan.
pub fn parse_ras_scans(text: &str, path: &Path) -> Result<Vec<PowderScan>> {
    let mut out = Vec::new();
    let mut cond = Conditions { keys: Vec::new() };
    let mut header_line = 1;
    let mut in_data: Option<usize> = None; // line of *RAS_INT_START
    let mut in_header = false;
    let mut points = Vec::new();
    let mut last = 0;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        last = line_no;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        if let Some(kw) = line.strip_prefix('*') {
            let (key, value) = match kw.split_once(|c: char| c.is_whitespace()) {
                Some((k, v)) => (k, v.trim().trim_matches('"').to_string()),
                None => (kw, String::new()),
            };
            match key {
                "RAS_DATA_START" | "RAS_DATA_END" => {}
                "RAS_HEADER_START" => {
                    cond = Conditions { keys: Vec::new() };
                    header_line = line_no;
                    in_header = true;
                }
                "RAS_HEADER_END" => in_header = false,
                "RAS_INT_START" => {
                    in_data = Some(line_no);
                    points.clear();
                }
                "RAS_INT_END" => {
                    if in_data.take().is_none() {
                        return Err(Error::Parse {
                            path: path.to_path_buf(),
                            line: line_no,
                            message: "*RAS_INT_END without *RAS_INT_START".to_string(),
                        });
                    }
                    out.push(finish(
                        &points,
                        &cond,
                        &RAS_KEYS,
                        PowderFormat::RigakuRas,
                        header_line,
                        path,
                        path,
                    )?);
                    points.clear();
                }
                _ => {
                    if key.is_empty() {
                        return Err(Error::Parse {
                            path: path.to_path_buf(),
                            line: line_no,
                            message: "'*' without a key".to_string(),
                        });
                    }
                    cond.keys.push((format!("*{key}"), value, line_no));
                }
            }
            continue;
        }
        if in_data.is_some() {
            points.push(data_line(line, line_no, path)?);
        } else if !in_header {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: line_no,
                message: format!("'{line}' outside a header or *RAS_INT_START data section"),
            });
        }
    }
    if let Some(start) = in_data {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: start,
            what: format!("*RAS_INT_END closing the data section (file ends at line {last})"),
        });
    }
    if out.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: last.max(1),
            what: "a *RAS_INT_START … *RAS_INT_END data section".to_string(),
        });
    }
    Ok(out)
}

/// [`read_rasx_scans`] on the bytes of the archive.
///
/// Errors: [`Error::ParseBinary`] for an unreadable archive or member; [`Error::Missing`] for
/// an archive without `Data<k>/Profile<k>.txt`; errors inside a member name it as
/// `file.rasx/Data0/Profile0.txt:LINE` (as for `.ras`).
pub fn parse_rasx_scans(bytes: &[u8], path: &Path) -> Result<Vec<PowderScan>> {
    let mut zip = open_zip(bytes, path)?;
    let names = zip_names(&zip);
    let profiles = rasx_profiles(&names);
    if profiles.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "Data0/Profile0.txt (not a Rigaku .rasx archive)".to_string(),
        });
    }
    let mut out = Vec::new();
    for (k, name) in profiles {
        let dir = name.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
        let cond_name = [
            format!("{dir}MesurementConditions{k}.xml"),
            format!("{dir}MeasurementConditions{k}.xml"),
        ]
        .into_iter()
        .find(|c| names.contains(c));
        let mut cond = Conditions { keys: Vec::new() };
        if let Some(c) = &cond_name {
            let xml = member_text(&zip_member(&mut zip, c, path)?);
            let cpath = member_path(path, c);
            let doc = parse_xml(&xml, &cpath)?;
            let root = doc.root_element();
            for key in [
                RASX_KEYS.alpha1,
                RASX_KEYS.alpha2,
                RASX_KEYS.unit_y,
                RASX_KEYS.step,
                RASX_KEYS.speed,
                RASX_KEYS.speed_unit,
                RASX_KEYS.axis,
                RASX_KEYS.start_time,
                "SampleName",
                "Comment",
                "Memo",
                "TargetName",
                "Voltage",
                "Current",
                "Start",
                "Stop",
            ] {
                if let Some(n) = descendant(root, key) {
                    let line = crate::xrdml::line_of(&doc, n);
                    cond.keys.push((key.to_string(), text_of(n).to_string(), line));
                }
            }
        }
        let ppath = member_path(path, &name);
        let text = member_text(&zip_member(&mut zip, &name, path)?);
        let mut points = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('*') {
                continue;
            }
            points.push(data_line(line, i + 1, &ppath)?);
        }
        let cpath = cond_name.as_deref().map_or(ppath.clone(), |c| member_path(path, c));
        let mut scan =
            finish(&points, &cond, &RASX_KEYS, PowderFormat::RigakuRasx, 1, &ppath, &cpath)?;
        scan.data.source = path.to_path_buf();
        scan.meta.fields.insert(0, ("member".to_string(), name.clone()));
        out.push(scan);
    }
    Ok(out)
}
