#![no_main]
//! Fuzz target: Powder CIF: `parse_pdcif_scans` and `parse_pdcif`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let path = Path::new("fuzz.cif");
    if let Ok(scans) = bragg_io::pdcif::parse_pdcif_scans(&text, path) {
        scans.iter().for_each(check_scan);
        // The single-scan entry point (what read_powder uses) must agree: the first scan, or a
        // clean error when the list is empty.
        match bragg_io::pdcif::parse_pdcif(&text, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::pdcif::parse_pdcif_scans Ok with {} scans but bragg_io::pdcif::parse_pdcif failed: {e}", scans.len()),
        }
    }
});
