#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // measurement tool
//! Times one `read_powder` of a file (for cold-cache parse-rate measurements, BENCHMARKS.md):
//! `cargo run --release -p bragg-io --example read_time -- FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: read_time FILE");
    let bytes = std::fs::metadata(&path).unwrap().len() as f64;
    let t = std::time::Instant::now();
    let scan = bragg_io::read_powder(std::path::Path::new(&path)).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} points, {:.1} MB in {:.1} ms: {:.0} MB/s",
        scan.data.two_theta_deg.len(),
        bytes / 1e6,
        1e3 * s,
        bytes / 1e6 / s
    );
}
