//! Arbitrary bytes as a Handlebars template, parsed and rendered against an empty snapshot.
#![no_main]
use kms_agent::template::handlebars::HandlebarsEngine;
use kms_agent::template::{Snapshot, TemplateEngine};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = HandlebarsEngine.compile("fuzz", data) {
        let _ = t.render(&Snapshot::new());
    }
});
