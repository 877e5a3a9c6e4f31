#![no_main]
//! Fuzz target: GSAS raw powder data (STD/ESD/FXY/FXYE): `parse_gsas_banks` and `parse_gsas`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let path = Path::new("fuzz.gsas");
    if let Ok(scans) = bragg_io::gsas::parse_gsas_banks(&text, path) {
        scans.iter().for_each(check_scan);
        // The single-scan entry point (what read_powder uses) must agree: the first scan, or a
        // clean error when the list is empty.
        match bragg_io::gsas::parse_gsas(&text, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::gsas::parse_gsas_banks Ok with {} scans but bragg_io::gsas::parse_gsas failed: {e}", scans.len()),
        }
    }
});
