//! Arbitrary bytes as a Go template, parsed and rendered against an empty snapshot.
#![no_main]
use kms_agent::template::go::GoEngine;
use kms_agent::template::{Snapshot, TemplateEngine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = GoEngine.compile("fuzz", data) {
        let _ = t.render(&Snapshot::new());
        let _ = t.literal_requests();
    }
});
