#![no_main]
//! Fuzz target: Rigaku .ras text: `parse_ras_scans` and `parse_ras`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let path = Path::new("fuzz.ras");
    if let Ok(scans) = bragg_io::rigaku::parse_ras_scans(&text, path) {
        scans.iter().for_each(check_scan);
        // The single-scan entry point (what read_powder uses) must agree: the first scan, or a
        // clean error when the list is empty.
        match bragg_io::rigaku::parse_ras(&text, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(scans.is_empty(), "bragg_io::rigaku::parse_ras_scans Ok with {} scans but bragg_io::rigaku::parse_ras failed: {e}", scans.len()),
        }
    }
});
