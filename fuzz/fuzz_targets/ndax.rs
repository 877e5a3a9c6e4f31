#![no_main]
//! Fuzz target: Neware .ndax (zip), raw archive bytes: `bragg_io::echem::neware::read_ndax` through a scratch file (no in-memory entry point).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(log) = with_scratch_file("fuzz.ndax", data, |p| bragg_io::echem::neware::read_ndax(p))
    {
        check_echem(&log);
    }
});
