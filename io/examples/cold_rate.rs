#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // measurement tool
//! Cold-cache parse rate against the I/O floor (issue #4: "reading a 50 MB xye or a 17-file
//! FXYE series is I/O-bound").
//!
//! ```sh
//! cargo build --release -p bragg-io --example cold_rate
//! sudo target/release/examples/cold_rate [--rounds 7] [--reader powder|xye|gsas] [--series] FILE...
//! ```
//!
//! Each round (rounds interleave the contenders, so drifts of a shared machine hit all of
//! them alike) drops the page cache (`sync; echo 3 > /proc/sys/vm/drop_caches`, needs root)
//! before each of:
//!
//! * `parse`: the reader (`bragg_io::read_powder` by default) on every FILE, in this process
//!   (with `--series` the files are shared out over all cores, as `bragg align` reads a series);
//! * `count`: the files read in 1 MiB chunks and their `\n` counted, in this process (the
//!   I/O floor of a reader);
//! * `wc -l FILE...` and `cat FILE... > /dev/null`, one process each.
//!
//! Loading code from disk is not counted: after each drop, `wc` and `cat` are first run on
//! `/dev/null`, and the reader on a copy of the first FILE (another inode, so the measured
//! file stays out of the cache), untimed.
//!
//! Printed: the median of each (ms, MB/s with MB = 10^6 bytes) and the ratios parse / wc -l,
//! parse / cat and parse / count. "I/O-bound" here means a cold parse within ~1.2× of the
//! cold `wc -l` / `cat` of the same bytes: the disk, not the parser, sets the time.
//! `--warm` skips the drops (everything from the page cache).
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Drops clean page-cache pages, dentries and inodes (Linux, root).
fn drop_caches() {
    Command::new("sync").status().expect("sync");
    std::fs::write("/proc/sys/vm/drop_caches", "3\n")
        .expect("cannot write /proc/sys/vm/drop_caches (run as root)");
}

/// Runs `prog` on `/dev/null` so that its binary and libraries are in the page cache.
fn preload(prog: &str) {
    Command::new(prog).arg("/dev/null").stdout(Stdio::null()).status().expect(prog);
}

/// Seconds taken by `prog args... > /dev/null`.
fn time_command(prog: &str, args: &[&str], files: &[PathBuf]) -> f64 {
    let t = Instant::now();
    let status =
        Command::new(prog).args(args).args(files).stdout(Stdio::null()).status().expect(prog);
    assert!(status.success(), "{prog} failed");
    t.elapsed().as_secs_f64()
}

/// Reads `files` in 1 MiB chunks and counts the line feeds (the I/O floor of a reader).
fn count_lines(files: &[PathBuf]) -> usize {
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0;
    for f in files {
        let mut file = std::fs::File::open(f).unwrap();
        loop {
            let k = file.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            n += memchr::memchr_iter(b'\n', &buf[..k]).count();
        }
    }
    n
}

/// Reads every file with the chosen reader; the total number of points. With `series`, the
/// files are shared out over all cores (as `bragg align` and `bragg sequential --mode
/// independent` read a series), else read one after the other.
fn parse(reader: &str, files: &[PathBuf], series: bool) -> usize {
    let one = |f: &PathBuf| match reader {
        "powder" => bragg_io::read_powder(f).unwrap().data.len(),
        "xye" => bragg_io::read_xye(f).unwrap().len(),
        "gsas" => bragg_io::gsas::read_gsas(f).unwrap().data.len(),
        other => panic!("unknown reader {other} (powder, xye or gsas)"),
    };
    if !series {
        return files.iter().map(one).sum();
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|k| s.spawn(move || files.iter().skip(k).step_by(n).map(one).sum::<usize>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn main() {
    let mut rounds = 7;
    let mut reader = "powder".to_string();
    let mut series = false;
    let mut warm = false;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().expect("--rounds N").parse().expect("N"),
            "--reader" => reader = args.next().expect("--reader NAME"),
            "--series" => series = true,
            "--warm" => warm = true,
            _ => files.push(PathBuf::from(a)),
        }
    }
    assert!(!files.is_empty(), "usage: cold_rate [--rounds N] [--reader R] [--warm] FILE...");
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    let points = parse(&reader, &files, series);
    println!(
        "{} file(s), {:.1} MB, {points} points, reader {reader}, {rounds} rounds, {} cache",
        files.len(),
        bytes as f64 / 1e6,
        if warm { "warm" } else { "cold" }
    );
    // A copy of the first file to run the reader on after each drop (loads its code).
    let dir = tempfile::tempdir().unwrap();
    let name = files[0].file_name().unwrap();
    let copy = vec![dir.path().join(name)];
    std::fs::copy(&files[0], &copy[0]).unwrap();
    let prepare = |prog: Option<&str>| {
        if !warm {
            drop_caches();
        }
        match prog {
            Some(p) => preload(p),
            None => {
                std::hint::black_box(parse(&reader, &copy, series));
                std::hint::black_box(count_lines(&copy));
            }
        }
    };
    let names = ["parse", "count", "wc -l", "cat"];
    let mut t: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        prepare(None);
        let s = Instant::now();
        std::hint::black_box(parse(&reader, &files, series));
        t[0].push(s.elapsed().as_secs_f64());
        prepare(None);
        let s = Instant::now();
        std::hint::black_box(count_lines(&files));
        t[1].push(s.elapsed().as_secs_f64());
        prepare(Some("wc"));
        t[2].push(time_command("wc", &["-l"], &files));
        prepare(Some("cat"));
        t[3].push(time_command("cat", &[], &files));
    }
    let med: Vec<f64> = t.iter_mut().map(|v| median(v)).collect();
    for (name, m) in names.iter().zip(&med) {
        println!("  {name:<6} median {:8.2} ms  {:6.0} MB/s", 1e3 * m, bytes as f64 / 1e6 / m);
    }
    println!(
        "  ratio parse / wc -l = {:.2}, parse / cat = {:.2}, parse / count = {:.2}",
        med[0] / med[2],
        med[0] / med[3],
        med[0] / med[1]
    );
}
