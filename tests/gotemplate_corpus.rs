//! Runs every case of the Go-template golden corpus (`tests/fixtures/gotemplate/`) through
//! `GoEngine` and compares with Go's output byte for byte (or expects an error for an
//! `ERROR` golden).

#[path = "support/gotemplate_world.rs"]
mod world;

#[path = "support/golden_corpus.rs"]
mod golden_corpus;

use std::path::Path;

#[test]
fn every_golden_case_renders_like_go() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gotemplate");
    golden_corpus::check_corpus(&dir, &dir.join("world.json"), 200);
}
