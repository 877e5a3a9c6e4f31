#![no_main]
//! Fuzz target: `bragg_io::xye::parse_xye` (2/3-column text: .xy/.xye/.dat/.csv), on text decoded as `read_xye` does (lossy UTF-8).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = bragg_io::xye::parse_xye(&text, Path::new("fuzz.xye")) {
        assert!(!d.is_empty(), "parse_xye promises an error for no data");
        check_data(&d);
    }
});
