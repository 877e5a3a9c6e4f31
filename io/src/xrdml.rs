//! PANalytical `.xrdml` scans (XML, schema versions 1.x and 2.x), and the small XML helpers
//! shared with the other XML-based readers ([`crate::brml`], [`crate::rigaku`]).
//!
//! Layout (PANalytical XRDML schema `http://www.xrdml.com/XRDMeasurement/<version>`, as
//! written by Data Collector / Aeris and read by GSAS-II's `G2pwd_Panalytical`):
//!
//! ```text
//! xrdMeasurements
//!   sample/id, sample/name, comment/entry
//!   xrdMeasurement                       (one or more)
//!     usedWavelength [@intended]: kAlpha1, kAlpha2, kBeta (Å), ratioKAlpha2KAlpha1
//!     incidentBeamPath/xRayTube: tension, current, anodeMaterial
//!     scan [@scanAxis @mode]             (one or more)
//!       header: startTimeStamp, endTimeStamp
//!       dataPoints
//!         positions [@axis="2Theta"]: startPosition + endPosition, or listPositions,
//!                                     (commonPosition: a fixed axis, not a 2θ scan)
//!         commonCountingTime (s) or countingTimes (s per point)
//!         beamAttenuationFactors          (optional, one per point)
//!         counts [@unit="counts"]       (2.x) or intensities [@unit="counts" | "counts/s"] (1.x)
//! ```
//!
//! **Intensity convention.** Counts stay counts (they are *not* divided by the counting time):
//! intensity = counts·a and esd = √counts·a, where a is the beam attenuation factor of the
//! point (1 when absent), so that Poisson statistics give the weights. The counting time is
//! kept in [`PowderMetadata::fields`] as `counting time (s)`. Data stored as counts per second
//! (`unit="counts/s"`) stay counts per second with esd = √(I·t)/t for counting time t (no esd
//! and a note when the file gives no time). With equal start/end positions 2θᵢ = start +
//! i·(end − start)/(n − 1); a scan recorded with decreasing 2θ is reversed (with a note).
//!
//! Errors name the file, the line of the offending element and its element path
//! (`xrdMeasurements/xrdMeasurement[1]/scan[1]/dataPoints/counts`).

use crate::error::{Error, Result};
use crate::powder::{
    decode_text, read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength,
};
use crate::xye::PowderData;
use roxmltree::{Document, Node};
use std::path::Path;

/// Reads the first scan of an `.xrdml` file (a note says when there are more).
pub fn read_xrdml(path: &Path) -> Result<PowderScan> {
    parse_xrdml(&decode_text(&read_bytes(path)?), path)
}

/// Reads every scan of an `.xrdml` file, in file order (all measurements, all scans).
pub fn read_xrdml_scans(path: &Path) -> Result<Vec<PowderScan>> {
    parse_xrdml_scans(&decode_text(&read_bytes(path)?), path)
}

/// [`read_xrdml`] on text in memory; `path` names the file in messages.
pub fn parse_xrdml(text: &str, path: &Path) -> Result<PowderScan> {
    let scans = parse_xrdml_scans(text, path)?;
    first_with_note(scans, "scans", "read_xrdml_scans", path)
}

/// The first of `items` with a note when there are more (`kind`: "scans", "ranges"...).
pub(crate) fn first_with_note(
    mut items: Vec<PowderScan>,
    kind: &str,
    all_fn: &str,
    path: &Path,
) -> Result<PowderScan> {
    let n = items.len();
    if n == 0 {
        return Err(Error::Missing { path: path.to_path_buf(), line: 1, what: kind.to_string() });
    }
    let mut first = items.swap_remove(0);
    if n > 1 {
        first
            .meta
            .notes
            .push(format!("the file has {n} {kind}; this is the first (use {all_fn} for all)"));
    }
    Ok(first)
}

/// Whether `text` is an XRDML document: XML whose root element is `xrdMeasurements`
/// (judged from the first 4 kB).
pub(crate) fn looks_like_xrdml(text: &str) -> bool {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    if !head.starts_with('<') {
        return false;
    }
    let end = head.char_indices().nth(4096).map_or(head.len(), |(i, _)| i);
    head.get(..end).unwrap_or(head).contains("<xrdMeasurements")
}

// ---------------------------------------------------------------------------------------
// XML helpers shared by the XML-based readers.

/// Parses XML text; a syntax error names the line and column.
pub(crate) fn parse_xml<'a>(text: &'a str, path: &Path) -> Result<Document<'a>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    Document::parse_with_options(text, opts).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        line: e.pos().row as usize,
        message: format!("malformed XML: {e}"),
    })
}

/// 1-based line where `node` starts.
pub(crate) fn line_of(doc: &Document, node: Node) -> usize {
    doc.text_pos_at(node.range().start).row as usize
}

/// The element path of `node` from the root, with 1-based indices where a parent has several
/// children of the same name: `xrdMeasurements/xrdMeasurement[1]/scan[2]/dataPoints`.
pub(crate) fn element_path(node: Node) -> String {
    let mut parts: Vec<String> = Vec::new();
    for n in node.ancestors().filter(|n| n.is_element()) {
        let name = n.tag_name().name();
        let same: Vec<Node> = n
            .parent()
            .map(|p| {
                p.children().filter(|c| c.is_element() && c.tag_name().name() == name).collect()
            })
            .unwrap_or_default();
        if same.len() > 1 {
            let idx = same.iter().position(|c| *c == n).map_or(0, |i| i + 1);
            parts.push(format!("{name}[{idx}]"));
        } else {
            parts.push(name.to_string());
        }
    }
    parts.reverse();
    parts.join("/")
}

/// The first child element of `node` with local name `name`.
pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The child elements of `node` with local name `name`.
pub(crate) fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The first descendant element (or `node` itself) with local name `name`.
pub(crate) fn descendant<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.descendants().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The text content of an element, trimmed (empty when it has none).
pub(crate) fn text_of<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().map(str::trim).unwrap_or("")
}

/// An error about the element `node`: names its line and element path.
pub(crate) fn xml_err(doc: &Document, node: Node, path: &Path, message: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        line: line_of(doc, node),
        message: format!("<{}>: {message}", element_path(node)),
    }
}

/// The finite number held by element `node` (its text, or its `Value` attribute when it has
/// no text).
pub(crate) fn number_of(doc: &Document, node: Node, path: &Path) -> Result<f64> {
    let t = match text_of(node) {
        "" => node.attribute("Value").unwrap_or("").trim(),
        t => t,
    };
    t.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        line: line_of(doc, node),
        message: format!("<{}>: '{t}' is not a finite number", element_path(node)),
    })
}

/// The whitespace-separated finite numbers in element `node`.
pub(crate) fn numbers_of(doc: &Document, node: Node, path: &Path) -> Result<Vec<f64>> {
    let text = node.text().unwrap_or("");
    let mut out = Vec::with_capacity(text.len() / 5);
    for (k, t) in text.split_ascii_whitespace().enumerate() {
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() => out.push(x),
            _ => {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: line_of(doc, node),
                    message: format!(
                        "<{}>: value {} '{t}' is not a finite number",
                        element_path(node),
                        k + 1
                    ),
                })
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------

/// The wavelengths under `usedWavelength`: Kα1 (weight 1), Kα2 (weight
/// `ratioKAlpha2KAlpha1`); Kβ is recorded as a field only.
fn wavelengths(doc: &Document, used: Node, path: &Path, meta: &mut PowderMetadata) -> Result<()> {
    if let Some(intended) = used.attribute("intended") {
        meta.fields.push(("intended wavelength".to_string(), intended.to_string()));
    }
    let ka1 = child(used, "kAlpha1").map(|n| number_of(doc, n, path)).transpose()?;
    let ka2 = child(used, "kAlpha2").map(|n| number_of(doc, n, path)).transpose()?;
    let ratio = child(used, "ratioKAlpha2KAlpha1").map(|n| number_of(doc, n, path)).transpose()?;
    if let Some(kb) = child(used, "kBeta").map(|n| number_of(doc, n, path)).transpose()? {
        meta.fields.push(("kBeta (Å)".to_string(), kb.to_string()));
    }
    if let Some(l1) = ka1.filter(|w| *w > 0.0) {
        meta.wavelengths.push(Wavelength { angstrom: l1, relative_intensity: Some(1.0) });
        if let Some(l2) = ka2.filter(|w| *w > 0.0) {
            meta.wavelengths
                .push(Wavelength { angstrom: l2, relative_intensity: ratio.filter(|r| *r >= 0.0) });
        }
    }
    Ok(())
}

/// [`read_xrdml_scans`] on text in memory.
///
/// Errors: [`Error::Parse`] for malformed XML or a non-number; [`Error::Missing`] for a file
/// without `xrdMeasurement`/`scan`, a scan without 2θ positions or without counts;
/// [`Error::Data`] for a point count that disagrees between positions, counts, counting times
/// or attenuation factors, non-finite or negative counts, or a scan that is not a 2θ scan.
pub fn parse_xrdml_scans(text: &str, path: &Path) -> Result<Vec<PowderScan>> {
    let doc = parse_xml(text, path)?;
    let root = doc.root_element();
    if root.tag_name().name() != "xrdMeasurements" {
        return Err(xml_err(
            &doc,
            root,
            path,
            "the root element is not <xrdMeasurements>: not a PANalytical XRDML file".to_string(),
        ));
    }
    let mut common = PowderMetadata::new(PowderFormat::Xrdml);
    if let Some(ns) = root.tag_name().namespace() {
        common.fields.push(("schema".to_string(), ns.to_string()));
    }
    let mut comment = Vec::new();
    if let Some(sample) = child(root, "sample") {
        for key in ["id", "name"] {
            if let Some(v) = child(sample, key).map(text_of).filter(|v| !v.is_empty()) {
                common.fields.push((format!("sample {key}"), v.to_string()));
                comment.push(v.to_string());
            }
        }
    }
    if let Some(c) = child(root, "comment") {
        for e in children(c, "entry") {
            let v = text_of(e);
            if !v.is_empty() {
                comment.push(v.to_string());
            }
        }
    }
    if !comment.is_empty() {
        common.comment = Some(comment.join(" | "));
    }
    let mut out = Vec::new();
    let measurements: Vec<Node> = children(root, "xrdMeasurement").collect();
    if measurements.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: line_of(&doc, root),
            what: "<xrdMeasurement> in the XRDML file".to_string(),
        });
    }
    for m in measurements {
        let mut mmeta = common.clone();
        if let Some(t) = m.attribute("measurementType") {
            mmeta.fields.push(("measurement type".to_string(), t.to_string()));
        }
        if let Some(used) = child(m, "usedWavelength") {
            wavelengths(&doc, used, path, &mut mmeta)?;
        }
        if let Some(tube) = descendant(m, "xRayTube") {
            for (key, label) in [
                ("anodeMaterial", "anode"),
                ("tension", "tension (kV)"),
                ("current", "current (mA)"),
            ] {
                if let Some(v) = child(tube, key).map(text_of).filter(|v| !v.is_empty()) {
                    mmeta.fields.push((label.to_string(), v.to_string()));
                }
            }
        }
        let scans: Vec<Node> = children(m, "scan").collect();
        if scans.is_empty() {
            return Err(Error::Missing {
                path: path.to_path_buf(),
                line: line_of(&doc, m),
                what: format!("<scan> in <{}>", element_path(m)),
            });
        }
        for s in scans {
            out.push(scan(&doc, s, path, mmeta.clone())?);
        }
    }
    Ok(out)
}

/// One `<scan>`.
fn scan(doc: &Document, s: Node, path: &Path, mut meta: PowderMetadata) -> Result<PowderScan> {
    let missing = |node: Node, what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: line_of(doc, node),
        what: format!("{what} in <{}>", element_path(node)),
    };
    for attr in ["scanAxis", "mode", "status"] {
        if let Some(v) = s.attribute(attr) {
            meta.fields.push((format!("scan {attr}"), v.to_string()));
        }
    }
    if let Some(h) = child(s, "header") {
        if let Some(t) = child(h, "startTimeStamp").map(text_of).filter(|t| !t.is_empty()) {
            meta.timestamp = Some(t.to_string());
        }
        if let Some(t) = child(h, "endTimeStamp").map(text_of).filter(|t| !t.is_empty()) {
            meta.fields.push(("end time".to_string(), t.to_string()));
        }
    }
    let dp = child(s, "dataPoints").ok_or_else(|| missing(s, "<dataPoints>"))?;
    // Counts first: their number fixes the point count.
    let (ynode, per_second) = match (child(dp, "counts"), child(dp, "intensities")) {
        (Some(c), _) => (c, c.attribute("unit").is_some_and(is_per_second)),
        (None, Some(i)) => (i, i.attribute("unit").is_some_and(is_per_second)),
        (None, None) => return Err(missing(dp, "<counts> or <intensities>")),
    };
    let y = numbers_of(doc, ynode, path)?;
    let n = y.len();
    if n == 0 {
        return Err(xml_err(doc, ynode, path, "no data points".to_string()));
    }
    let pos = children(dp, "positions")
        .find(|p| p.attribute("axis").is_some_and(|a| a.eq_ignore_ascii_case("2Theta")))
        .ok_or_else(|| {
            let axis = s.attribute("scanAxis").unwrap_or("?");
            Error::Data {
                path: path.to_path_buf(),
                line: line_of(doc, dp),
                message: format!(
                    "<{}>: no <positions axis=\"2Theta\">; scan axis '{axis}' is not a 2θ scan",
                    element_path(dp)
                ),
            }
        })?;
    let mut tth: Vec<f64> = if let Some(list) = child(pos, "listPositions") {
        let v = numbers_of(doc, list, path)?;
        if v.len() != n {
            return Err(xml_err(
                doc,
                list,
                path,
                format!("{} positions but {n} intensities", v.len()),
            ));
        }
        v
    } else {
        let start = child(pos, "startPosition").ok_or_else(|| {
            if child(pos, "commonPosition").is_some() {
                xml_err(doc, pos, path, "2θ is fixed (<commonPosition>): not a 2θ scan".to_string())
            } else {
                missing(pos, "<startPosition>/<endPosition> or <listPositions>")
            }
        })?;
        let end = child(pos, "endPosition").ok_or_else(|| missing(pos, "<endPosition>"))?;
        let a = number_of(doc, start, path)?;
        let b = number_of(doc, end, path)?;
        if n == 1 {
            vec![a]
        } else {
            if a == b {
                return Err(xml_err(
                    doc,
                    pos,
                    path,
                    format!("start and end 2θ are equal ({a}) for {n} points"),
                ));
            }
            let step = (b - a) / (n - 1) as f64;
            (0..n).map(|i| a + i as f64 * step).collect()
        }
    };
    // Counting time(s).
    let times: Option<Vec<f64>> = if let Some(t) = child(dp, "commonCountingTime") {
        let v = number_of(doc, t, path)?;
        meta.fields.push(("counting time (s)".to_string(), v.to_string()));
        Some(vec![v; n])
    } else if let Some(t) = child(dp, "countingTimes") {
        let v = numbers_of(doc, t, path)?;
        if v.len() != n {
            return Err(xml_err(
                doc,
                t,
                path,
                format!("{} counting times for {n} points", v.len()),
            ));
        }
        meta.fields.push(("counting time (s)".to_string(), "per point".to_string()));
        Some(v)
    } else {
        None
    };
    let att: Option<Vec<f64>> = match child(dp, "beamAttenuationFactors") {
        Some(a) => {
            let v = numbers_of(doc, a, path)?;
            if v.len() != n {
                return Err(xml_err(
                    doc,
                    a,
                    path,
                    format!("{} attenuation factors for {n} points", v.len()),
                ));
            }
            if let Some(k) = v.iter().position(|x| *x <= 0.0) {
                return Err(xml_err(
                    doc,
                    a,
                    path,
                    format!("attenuation factor {} of point {} must be positive", v[k], k + 1),
                ));
            }
            Some(v)
        }
        None => None,
    };
    let mut intensity = Vec::with_capacity(n);
    let mut esd = Vec::with_capacity(n);
    let mut have_esd = true;
    for (i, &v) in y.iter().enumerate() {
        if v < 0.0 {
            return Err(xml_err(
                doc,
                ynode,
                path,
                format!("negative intensity {v} at point {}", i + 1),
            ));
        }
        let a = att.as_ref().map_or(1.0, |a| a[i]);
        if per_second {
            intensity.push(v * a);
            match times.as_ref().map(|t| t[i]).filter(|t| *t > 0.0) {
                Some(t) => esd.push((v * t).sqrt() / t * a),
                None => have_esd = false,
            }
        } else {
            intensity.push(v * a);
            esd.push(v.sqrt() * a);
        }
    }
    meta.fields.push((
        "intensity unit".to_string(),
        if per_second { "counts/s" } else { "counts" }.to_string(),
    ));
    if per_second && !have_esd {
        meta.notes.push("counts per second without a counting time: no esd".to_string());
    }
    if n > 1 && tth[1] < tth[0] {
        tth.reverse();
        intensity.reverse();
        esd.reverse();
        meta.notes.push("2θ decreases in the file; the points were reversed".to_string());
    }
    if let Some(k) = (1..n).find(|&k| tth[k] <= tth[k - 1]) {
        return Err(xml_err(
            doc,
            pos,
            path,
            format!("2θ = {} does not increase (previous point {})", tth[k], tth[k - 1]),
        ));
    }
    Ok(PowderScan {
        data: PowderData {
            two_theta_deg: tth,
            intensity,
            esd: have_esd.then_some(esd),
            source: path.to_path_buf(),
        },
        meta,
    })
}

/// Whether an intensity unit means counts per second.
fn is_per_second(unit: &str) -> bool {
    let u = unit.to_ascii_lowercase().replace(' ', "");
    u == "cps" || u.ends_with("/s") || u.ends_with("/sec") || u.contains("persecond")
}
