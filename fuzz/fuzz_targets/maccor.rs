#![no_main]
//! Fuzz target: Maccor text export: `bragg_io::echem::maccor::parse_maccor`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    if let Ok(log) = bragg_io::echem::maccor::parse_maccor(Path::new("fuzz.txt"), &text) {
        check_echem(&log);
    }
});
