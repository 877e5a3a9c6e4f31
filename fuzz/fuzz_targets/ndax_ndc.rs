#![no_main]
//! Fuzz target: Neware .ndax, structure-aware: the input is `data.ndc`, wrapped here in a stored zip with a `TestInfo.xml`, written to a scratch file, then `read_ndax`.
use bragg_io_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let zip = make_zip(&[
        ("TestInfo.xml", br#"<TestInfo StartTime="2025-07-02 18:00:00"/>"#),
        ("data.ndc", data),
    ]);
    if let Ok(log) =
        with_scratch_file("fuzz_ndc.ndax", &zip, |p| bragg_io::echem::neware::read_ndax(p))
    {
        check_echem(&log);
    }
});
