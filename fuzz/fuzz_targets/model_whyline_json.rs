//! Fuzz target `model_whyline_json`: see `whyline_fuzz_harness::model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::model(data);
});
