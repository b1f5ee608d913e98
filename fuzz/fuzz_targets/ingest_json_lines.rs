//! Fuzz target `ingest_json_lines`: see `whyline_fuzz_harness::ingest_json_lines`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::ingest_json_lines(data);
});
