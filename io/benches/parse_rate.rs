//! Parse rate of the text powder readers against the I/O floor (`wc -l` on the same bytes).
//!
//! Issue #4: "Reading a 50 MB xye or a 17-file FXYE series is I/O-bound: a benchmark shows
//! the parse rate (MB/s) against `wc -l` on the same file."
//!
//! * `xye_50MB`: a deterministic three-column xye (2θ with 6 decimals, intensity and esd as
//!   floats, 1.5 M lines, ≈ 50 MB) generated once in a temporary directory; `read_xye` and
//!   `read_powder` (content sniffing, then the same streamed parser) against `wc -l FILE`.
//! * `fxye_series_17`: the 17 GSAS FXYE scans of `../shared/data/seq-cucr2o4-11bm/OH_*.fxye`
//!   (11-BM, CuCr2O4); `read_gsas` of all 17 per iteration against one `wc -l` over the 17.
//!   Skipped with a note when that folder is absent.
//!
//! Both groups report `Throughput::Bytes`, so criterion prints MB/s (MiB/s). After the runs
//! the medians and the ratio parse time / `wc -l` time are printed from criterion's
//! `estimates.json` files. These are warm-cache numbers (the parser's rate); the cold-cache
//! comparison with the disk is `examples/cold_rate.rs` (needs root to drop the page cache).
//!
//! ```sh
//! cargo bench -p bragg-io --bench parse_rate -- --warm-up-time 1 --measurement-time 5
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code
#![allow(missing_docs)]

use criterion::{black_box, Criterion, Throughput};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Number of lines of the synthetic xye (≈ 33 bytes each).
const XYE_LINES: usize = 1_500_000;

/// Writes the synthetic xye: a smooth background with Lorentzian peaks and a deterministic
/// pseudo-random ripple (an integer hash, no RNG crate), esd = √I.
fn write_synthetic_xye(path: &Path) -> u64 {
    let mut text = String::with_capacity(XYE_LINES * 34);
    text.push_str("# bragg parse-rate benchmark: 2theta intensity esd\n");
    let peaks = [(18.7, 900.0), (36.3, 400.0), (43.9, 1500.0), (63.8, 700.0), (76.5, 300.0)];
    for i in 0..XYE_LINES {
        let tth = 5.0 + i as f64 * 1e-4;
        let mut y = 120.0 + 30.0 * (tth / 40.0).cos();
        for (c, a) in peaks {
            let d = (tth - c) / 0.03;
            y += a / (1.0 + d * d);
        }
        // splitmix-style integer hash of the index: deterministic noise in [-0.5, 0.5)
        let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        let noise = (h >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let y = y + 4.0 * noise * y.sqrt();
        writeln!(text, "{tth:.6} {y:.6} {:.6}", y.sqrt()).unwrap();
    }
    std::fs::write(path, &text).unwrap();
    text.len() as u64
}

/// Runs `wc -l` on `files`, output discarded (one process for all files).
fn wc_l(files: &[PathBuf]) {
    let status = Command::new("wc")
        .arg("-l")
        .args(files)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("wc -l");
    assert!(status.success(), "wc -l failed");
}

/// Reads every file once so the page cache holds them.
fn warm(files: &[PathBuf]) -> u64 {
    files.iter().map(|f| std::fs::read(f).unwrap().len() as u64).sum()
}

fn bench_xye(c: &mut Criterion, dir: &Path) {
    let path = dir.join("synthetic-50MB.xye");
    let bytes = write_synthetic_xye(&path);
    let files = vec![path.clone()];
    warm(&files);
    wc_l(&files);
    let n = bragg_io::read_xye(&path).unwrap().len();
    assert_eq!(n, XYE_LINES);
    assert_eq!(bragg_io::read_powder(&path).unwrap().data.len(), XYE_LINES);
    println!("xye_50MB: {} bytes, {n} points in {}", bytes, path.display());
    let mut g = c.benchmark_group("xye_50MB");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("read_xye", |b| b.iter(|| black_box(bragg_io::read_xye(&path).unwrap())));
    g.bench_function("read_powder", |b| {
        b.iter(|| black_box(bragg_io::read_powder(&path).unwrap()))
    });
    g.bench_function("wc_l", |b| b.iter(|| wc_l(&files)));
    g.finish();
}

fn fxye_series() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/seq-cucr2o4-11bm");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("OH_") && name.ends_with(".fxye")
        })
        .collect();
    files.sort();
    (!files.is_empty()).then_some(files)
}

fn bench_fxye(c: &mut Criterion) {
    let Some(files) = fxye_series() else {
        println!(
            "note: ../shared/data/seq-cucr2o4-11bm/OH_*.fxye not found; fxye_series_17 skipped"
        );
        return;
    };
    let bytes = warm(&files);
    wc_l(&files);
    let points: usize =
        files.iter().map(|f| bragg_io::gsas::read_gsas(f).unwrap().data.len()).sum();
    println!("fxye_series_{}: {} files, {bytes} bytes, {points} points", files.len(), files.len());
    let mut g = c.benchmark_group(format!("fxye_series_{}", files.len()));
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("read_gsas", |b| {
        b.iter(|| {
            for f in &files {
                black_box(bragg_io::gsas::read_gsas(f).unwrap());
            }
        })
    });
    g.bench_function("wc_l", |b| b.iter(|| wc_l(&files)));
    g.finish();
}

/// criterion's output directory: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
/// `<target>/criterion` from this executable's path (`<target>/release/deps/parse_rate-…`).
fn criterion_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(h));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(t).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// Median (ns) of one benchmark from its `new/estimates.json`.
fn median_ns(group: &str, id: &str) -> Option<f64> {
    let p = criterion_dir()?.join(group).join(id).join("new").join("estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn report(group: &str, parse_id: &str, bytes: u64) {
    let (Some(p), Some(w)) = (median_ns(group, parse_id), median_ns(group, "wc_l")) else {
        return;
    };
    let rate = |ns: f64| bytes as f64 / 1e6 / (ns / 1e9);
    println!(
        "{group}: {parse_id} median {:.2} ms ({:.0} MB/s), wc -l median {:.2} ms ({:.0} MB/s), \
         ratio parse / wc -l = {:.2}",
        p / 1e6,
        rate(p),
        w / 1e6,
        rate(w),
        p / w
    );
}

fn main() {
    // `PARSE_RATE_KEEP=FILE` also writes the synthetic xye to FILE (for `cold_rate`).
    if let Some(keep) = std::env::var_os("PARSE_RATE_KEEP") {
        let bytes = write_synthetic_xye(Path::new(&keep));
        println!("wrote {bytes} bytes to {}", Path::new(&keep).display());
    }
    let mut c = Criterion::default().configure_from_args();
    let dir = tempfile::tempdir().unwrap();
    bench_xye(&mut c, dir.path());
    bench_fxye(&mut c);
    c.final_summary();
    std::io::stdout().flush().unwrap();
    println!("\nmedians (criterion estimates; MB = 10^6 bytes):");
    let xye_bytes = std::fs::metadata(dir.path().join("synthetic-50MB.xye")).map_or(0, |m| m.len());
    report("xye_50MB", "read_xye", xye_bytes);
    report("xye_50MB", "read_powder", xye_bytes);
    if let Some(files) = fxye_series() {
        let bytes = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        report(&format!("fxye_series_{}", files.len()), "read_gsas", bytes);
    }
}
