#![no_main]
//! Fuzz target: generic cycler CSV with the default column mapping: `bragg_io::echem::generic::parse_generic_csv`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let m = bragg_io::echem::ColumnMapping::default();
    if let Ok(log) = bragg_io::echem::generic::parse_generic_csv(Path::new("fuzz.csv"), &text, &m) {
        check_echem(&log);
    }
});
