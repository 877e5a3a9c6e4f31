#![no_main]
//! Fuzz target: Neware .ndax (zip), raw archive bytes: `bragg_io::echem::neware::read_ndax` through a scratch file (no in-memory entry point).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = scratch_file("fuzz.ndax", data);
    if let Ok(log) = bragg_io::echem::neware::read_ndax(&p) {
        check_echem(&log);
    }
});
