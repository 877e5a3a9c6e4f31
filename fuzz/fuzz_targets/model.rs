#![no_main]
//! Fuzz target: TOML model: `bragg_io::model::parse_model` then `ModelFile::build` (CIF paths resolve in a non-existent directory).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    let path = Path::new("/nonexistent-bragg-fuzz/model.toml");
    if let Ok(file) = bragg_io::model::parse_model(&text, path) {
        if let Ok(m) = file.build(path, &text) {
            std::hint::black_box(format!("{m:?}"));
        }
    }
});
