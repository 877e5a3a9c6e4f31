#![no_main]
//! Fuzz target: Bruker RAW v1/v2/v3/v4 (binary): `parse_bruker_raw_ranges` and `parse_bruker_raw`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.raw");
    if let Ok(scans) = bragg_io::bruker::parse_bruker_raw_ranges(data, path) {
        scans.iter().for_each(check_scan);
        match bragg_io::bruker::parse_bruker_raw(data, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::bruker::parse_bruker_raw_ranges Ok with {} scans but bragg_io::bruker::parse_bruker_raw failed: {e}", scans.len()),
        }
    }
});
