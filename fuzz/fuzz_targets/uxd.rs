#![no_main]
//! Fuzz target: Bruker UXD text: `parse_uxd_ranges` and `parse_uxd`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let path = Path::new("fuzz.uxd");
    if let Ok(scans) = bragg_io::bruker::parse_uxd_ranges(&text, path) {
        scans.iter().for_each(check_scan);
        // The single-scan entry point (what read_powder uses) must agree: the first scan, or a
        // clean error when the list is empty.
        match bragg_io::bruker::parse_uxd(&text, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::bruker::parse_uxd_ranges Ok with {} scans but bragg_io::bruker::parse_uxd failed: {e}", scans.len()),
        }
    }
});
