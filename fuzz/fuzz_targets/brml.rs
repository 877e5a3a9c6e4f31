#![no_main]
//! Fuzz target: Bruker .brml (zip of XML), raw archive bytes: `parse_brml_scans` and `parse_brml`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.brml");
    if let Ok(scans) = bragg_io::brml::parse_brml_scans(data, path) {
        scans.iter().for_each(check_scan);
        match bragg_io::brml::parse_brml(data, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::brml::parse_brml_scans Ok with {} scans but bragg_io::brml::parse_brml failed: {e}", scans.len()),
        }
    }
});
