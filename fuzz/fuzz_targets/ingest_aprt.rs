//! Fuzz target `ingest_aprt`: see `whyline_fuzz_harness::ingest_aprt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::ingest_aprt(data);
});
