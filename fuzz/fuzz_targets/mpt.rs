#![no_main]
//! Fuzz target: BioLogic EC-Lab text .mpt: `bragg_io::echem::biologic_mpt::parse_mpt`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    if let Ok(log) = bragg_io::echem::biologic_mpt::parse_mpt(Path::new("fuzz.mpt"), &text) {
        check_echem(&log);
    }
});
