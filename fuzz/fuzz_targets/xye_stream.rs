#![no_main]
//! Differential target: the streamed and parallel 2/3-column paths (`read_xye` /
//! `read_powder` on large files) must give exactly what `parse_xye` gives on the whole text —
//! the same points bit for bit, or the same error message. The first three bytes choose the
//! head length, the chunk size and the number of worker threads, so that lines, errors and
//! 2θ checks straddle every kind of boundary.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let [h, c, w, text @ ..] = data else { return };
    let head = usize::from(*h) % 97 + 1;
    let chunk = usize::from(*c) % 61 + 1;
    let workers = usize::from(*w) % 3 + 1;
    let path = Path::new("fuzz.xye");
    let whole = bragg_io::xye::parse_xye(&String::from_utf8_lossy(text), path);
    let streamed = bragg_io::xye::stream_xye_bytes(text, head, chunk, workers, path);
    match (&whole, &streamed) {
        (Ok(a), Ok(b)) => {
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
            assert_eq!(bits(&a.two_theta_deg), bits(&b.two_theta_deg), "2θ differ");
            assert_eq!(bits(&a.intensity), bits(&b.intensity), "intensities differ");
            assert_eq!(
                a.esd.as_deref().map(bits),
                b.esd.as_deref().map(bits),
                "esds differ"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "errors differ"),
        _ => panic!(
            "parse_xye {:?} but streamed (head {head}, chunk {chunk}, {workers} workers) {:?}",
            whole.as_ref().map(|d| d.len()),
            streamed.as_ref().map(|d| d.len())
        ),
    }
});
