//! Fuzz target `aprt`: see `whyline_fuzz_harness::aprt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::aprt(data);
});
