#![no_main]
//! Fuzz target: the content-sniffing dispatcher `parse_powder_with_wavelength` (extension and wavelength chosen from the input length).
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    const EXT: [&str; 13] = [
        "xye", "dat", "csv", "gsas", "fxye", "raw", "uxd", "xrdml", "ras", "chi", "cif", "txt",
        "brml",
    ];
    let name = format!("fuzz.{}", EXT[data.len() % EXT.len()]);
    let wl = if (data.len() / EXT.len()).is_multiple_of(2) { None } else { Some(1.5406) };
    if let Ok(s) = bragg_io::powder::parse_powder_with_wavelength(data, Path::new(&name), wl) {
        check_scan(&s);
    }
});
