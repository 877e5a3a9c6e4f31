#![no_main]
//! Fuzz target: Rigaku .rasx (zip), raw archive bytes: `parse_rasx_scans` and `parse_rasx`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.rasx");
    if let Ok(scans) = bragg_io::rigaku::parse_rasx_scans(data, path) {
        scans.iter().for_each(check_scan);
        match bragg_io::rigaku::parse_rasx(data, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::rigaku::parse_rasx_scans Ok with {} scans but bragg_io::rigaku::parse_rasx failed: {e}", scans.len()),
        }
    }
});
