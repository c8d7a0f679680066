//! Arbitrary text as an agent configuration: errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kms_agent::config::parse_str(text, &kms_agent::config::EmptyEnv);
    }
});
