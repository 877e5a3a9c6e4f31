#![no_main]
//! Fuzz target: Rigaku .rasx, structure-aware: input `CONDITIONS_XML \\0 PROFILE_TXT` (or just the profile) wrapped here in a stored zip as `Data0/MesurementConditions0.xml` + `Data0/Profile0.txt`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let (a, b) = split_nul(data);
    let zip = match b {
        Some(profile) => make_zip(&[
            ("root.xml", b"<Root/>"),
            ("Data0/MesurementConditions0.xml", a),
            ("Data0/Profile0.txt", profile),
        ]),
        None => make_zip(&[("root.xml", b"<Root/>"), ("Data0/Profile0.txt", a)]),
    };
    let path = Path::new("fuzz.rasx");
    if let Ok(scans) = bragg_io::rigaku::parse_rasx_scans(&zip, path) {
        scans.iter().for_each(check_scan);
        match bragg_io::rigaku::parse_rasx(&zip, path) {
            Ok(first) => check_scan(&first),
            Err(e) => assert!(
                scans.is_empty(),
                "parse_rasx_scans Ok with {} scans but parse_rasx failed: {e}",
                scans.len()
            ),
        }
    }
});
