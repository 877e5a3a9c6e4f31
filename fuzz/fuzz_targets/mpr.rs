#![no_main]
//! Fuzz target: BioLogic EC-Lab binary .mpr: `bragg_io::echem::biologic_mpr::parse_mpr`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = bragg_io::echem::biologic_mpr::parse_mpr(Path::new("fuzz.mpr"), data) {
        check_echem(&log);
    }
});
