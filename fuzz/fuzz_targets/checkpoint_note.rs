//! Fuzz target `checkpoint_note`: see `whyline_fuzz_harness::checkpoint_note`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = whyline_fuzz_harness::checkpoint_note(data);
});
