#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // measurement tool
//! Times `read_powder` of a file (for cold-cache parse-rate measurements, BENCHMARKS.md; see
//! also the `cold_rate` example):
//! `cargo run --release -p bragg-io --example read_time -- FILE [--repeat N] [--in-memory]`.
//!
//! With `--repeat N` the file is read N times and the minimum and median are printed; with
//! `--in-memory` the file is read into memory once and only `parse_xye` of its text is timed
//! (the parser alone, without the kernel's copy of the file).
fn main() {
    let mut path = None;
    let mut repeat = 1;
    let mut in_memory = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => repeat = args.next().expect("--repeat N").parse().expect("N"),
            "--in-memory" => in_memory = true,
            _ => path = Some(a),
        }
    }
    let path = path.expect("usage: read_time FILE [--repeat N] [--in-memory]");
    let path = std::path::Path::new(&path);
    let bytes = std::fs::metadata(path).unwrap().len() as f64;
    let text = in_memory.then(|| String::from_utf8(std::fs::read(path).unwrap()).unwrap());
    let mut times = Vec::new();
    let mut points = 0;
    for _ in 0..repeat {
        let t = std::time::Instant::now();
        points = match &text {
            Some(text) => bragg_io::xye::parse_xye(text, path).unwrap().len(),
            None => bragg_io::read_powder(path).unwrap().data.two_theta_deg.len(),
        };
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let (min, med) = (times[0], times[times.len() / 2]);
    println!(
        "{points} points, {:.1} MB in {:.1} ms: {:.0} MB/s{}",
        bytes / 1e6,
        1e3 * med,
        bytes / 1e6 / med,
        if repeat > 1 {
            format!(" (median of {repeat}; min {:.1} ms, {:.0} MB/s)", 1e3 * min, bytes / 1e6 / min)
        } else {
            String::new()
        }
    );
}
