#![no_main]
//! Fuzz target: GSAS-II `.instprm`: `bragg_io::instprm::parse_instprm` (bank None/1/2 by input length).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let bank = match data.len() % 3 {
        0 => None,
        k => Some(k as u32),
    };
    if let Ok(p) = bragg_io::instprm::parse_instprm(&text, Path::new("fuzz.instprm"), bank) {
        for w in &p.wavelengths {
            assert!(
                w.angstrom > 0.0,
                "parse_instprm promises an error for a non-positive wavelength"
            );
        }
        std::hint::black_box(format!("{p:?}"));
    }
});
