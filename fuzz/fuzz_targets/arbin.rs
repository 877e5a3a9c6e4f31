#![no_main]
//! Fuzz target: Arbin CSV: `bragg_io::echem::arbin::parse_arbin_csv`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    if let Ok(log) = bragg_io::echem::arbin::parse_arbin_csv(Path::new("fuzz.csv"), &text) {
        check_echem(&log);
    }
});
