#![no_main]
//! Fuzz target: CIF structure reader: `bragg_io::cif::parse_cif_phases` (lossy UTF-8 as `read_cif`), then the CIF writer on each phase.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(phases) = bragg_io::cif::parse_cif_phases(&text, Path::new("fuzz.cif")) {
        for p in &phases {
            std::hint::black_box(format!("{p:?}"));
            std::hint::black_box(bragg_io::cif::cif_string(&p.phase, Some(&p.su)));
        }
    }
});
