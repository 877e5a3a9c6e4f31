//! Shared helpers of the `bragg-io` fuzz targets: decoding bytes the way the `read_*`
//! functions do, checking the promises the parsers document, and wrapping fuzz input into
//! the zip containers some formats need.

use bragg_io::echem::EchemLog;
use bragg_io::{PowderData, PowderScan};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

/// Bytes to text as `bragg_io`'s `read_*` functions do (`decode_text` / `read_text`): UTF-8
/// where valid, otherwise every byte as Latin-1.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Checks what [`PowderData`] promises: 2θ finite and strictly increasing, one intensity
/// (finite: NaN / infinity must be an error, issue #4 and `parse_xye`) and, when present, one
/// esd ≥ 0 per point.
pub fn check_data(d: &PowderData) {
    let n = d.two_theta_deg.len();
    assert_eq!(d.intensity.len(), n, "intensity length != 2θ length");
    for (i, t) in d.two_theta_deg.iter().enumerate() {
        assert!(t.is_finite(), "2θ[{i}] = {t} is not finite");
    }
    for (i, w) in d.two_theta_deg.windows(2).enumerate() {
        assert!(w[1] > w[0], "2θ not strictly increasing at {}: {} then {}", i + 1, w[0], w[1]);
    }
    for (i, y) in d.intensity.iter().enumerate() {
        assert!(y.is_finite(), "intensity[{i}] = {y} is not finite");
    }
    if let Some(e) = &d.esd {
        assert_eq!(e.len(), n, "esd length != 2θ length");
        for (i, s) in e.iter().enumerate() {
            assert!(s.is_finite() && *s >= 0.0, "esd[{i}] = {s} is not finite and >= 0");
        }
    }
}

/// [`check_data`] plus a look at the metadata.
pub fn check_scan(s: &PowderScan) {
    check_data(&s.data);
    std::hint::black_box(format!("{:?}", s.meta));
}

/// Checks what [`EchemLog`] promises (module docs of `bragg_io::echem`): at least one record,
/// time finite and non-decreasing, voltage, current and charge finite, cycle 1-based.
pub fn check_echem(log: &EchemLog) {
    assert!(!log.points.is_empty(), "Ok log without records");
    let mut prev = f64::NEG_INFINITY;
    for (i, p) in log.points.iter().enumerate() {
        assert!(p.time_s.is_finite(), "time[{i}] = {} not finite", p.time_s);
        assert!(p.time_s >= prev, "time goes backwards at record {i}");
        prev = p.time_s;
        assert!(p.voltage_v.is_finite(), "voltage[{i}] not finite");
        assert!(p.current_ma.is_finite(), "current[{i}] not finite");
        assert!(p.charge_mah.is_finite(), "charge[{i}] not finite");
        assert!(p.cycle >= 1, "cycle[{i}] = {} is not 1-based", p.cycle);
    }
    std::hint::black_box(log.start);
}

/// A stored (uncompressed) zip archive holding `members` (name, bytes).
pub fn make_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    for (name, bytes) in members {
        // Writing to memory cannot fail except for a duplicate name, which callers avoid.
        if w.start_file(*name, opts).is_ok() {
            let _ = w.write_all(bytes);
        }
    }
    match w.finish() {
        Ok(c) => c.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// Splits fuzz input at its first NUL byte: (before, Some(after)) or (all, None).
pub fn split_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// A per-process scratch directory `bragg-fuzz-*` (in /dev/shm when it exists) for parsers
/// that only read from a path. Statics are never dropped, so the directory outlives the
/// process; [`with_scratch_file`] removes its file after each run, leaving it empty.
pub fn scratch_dir() -> &'static Path {
    use std::sync::OnceLock;
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        match tempfile::Builder::new().prefix("bragg-fuzz-").tempdir_in(base) {
            Ok(d) => d.keep(),
            Err(e) => panic!("fuzz harness: cannot create a scratch directory: {e}"),
        }
    })
}

/// Writes `bytes` to `<scratch>/<name>`, calls `f` with its path, then removes the file.
pub fn with_scratch_file<T>(name: &str, bytes: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    let p = scratch_dir().join(name);
    if let Err(e) = std::fs::write(&p, bytes) {
        panic!("fuzz harness: cannot write {}: {e}", p.display());
    }
    let out = f(&p);
    let _ = std::fs::remove_file(&p);
    out
}
