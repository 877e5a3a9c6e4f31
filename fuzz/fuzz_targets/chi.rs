#![no_main]
//! Fuzz target: Fit2D .chi / pyFAI text: `bragg_io::chi::parse_chi` (wavelength None / 1.5406 / 0.2 Å by input length).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let wl = match data.len() % 3 {
        0 => None,
        1 => Some(1.5406),
        _ => Some(0.2),
    };
    if let Ok(s) = bragg_io::chi::parse_chi(&text, Path::new("fuzz.chi"), wl) {
        check_scan(&s);
    }
});
