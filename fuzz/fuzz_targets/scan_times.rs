#![no_main]
//! Fuzz target: scan-time table: `bragg_io::scantimes::parse_scan_times`, then `find` on a few names.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = decode_text(data);
    if let Ok(t) = bragg_io::scantimes::parse_scan_times(Path::new("fuzz.csv"), &text) {
        std::hint::black_box(t.find("1355639_summed_mythen3.xye"));
        std::hint::black_box(t.find("scan_0007.xye"));
        std::hint::black_box(format!("{t:?}"));
    }
});
