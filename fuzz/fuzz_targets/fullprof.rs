#![no_main]
//! Fuzz target: FullProf free-format .dat: `bragg_io::fullprof::parse_fullprof`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    if let Ok(s) = bragg_io::fullprof::parse_fullprof(&text, Path::new("fuzz.dat")) {
        check_scan(&s);
    }
});
