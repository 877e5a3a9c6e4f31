#![no_main]
//! Fuzz target: Bruker .brml, structure-aware: the input is `Experiment0/RawData0.xml`, wrapped here in a stored zip, then `parse_brml_scans` / `parse_brml`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let zip = make_zip(&[
        ("experimentCollection.xml", b"<ExperimentCollection/>"),
        ("Experiment0/RawData0.xml", data),
    ]);
    let path = Path::new("fuzz.brml");
    if let Ok(scans) = bragg_io::brml::parse_brml_scans(&zip, path) {
        scans.iter().for_each(check_scan);
        match bragg_io::brml::parse_brml(&zip, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(
                scans.is_empty(),
                "parse_brml_scans Ok with {} scans but parse_brml failed: {e}",
                scans.len()
            ),
        }
    }
});
