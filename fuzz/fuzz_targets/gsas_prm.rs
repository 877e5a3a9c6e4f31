#![no_main]
//! Fuzz target: GSAS instrument parameter file: `bragg_io::gsas::prm::parse_gsas_prm`, then its accessors.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    if let Ok(prm) = bragg_io::gsas::prm::parse_gsas_prm(&text, Path::new("fuzz.prm")) {
        std::hint::black_box(prm.is_neutron());
        for bank in &prm.banks {
            std::hint::black_box(bank.wavelengths());
            std::hint::black_box(bank.to_instprm(prm.htype.as_deref()));
            for prof in &bank.profiles {
                std::hint::black_box(prof.names());
                for name in prof.names() {
                    std::hint::black_box(prof.get(name));
                }
            }
        }
        std::hint::black_box(format!("{prm:?}"));
    }
});
