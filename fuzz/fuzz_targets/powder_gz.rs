#![no_main]
//! Fuzz target: the gzip path of `parse_powder` (input = compressed bytes, name `fuzz.xye.gz`).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = bragg_io::powder::parse_powder(data, Path::new("fuzz.xye.gz")) {
        check_scan(&s);
    }
});
