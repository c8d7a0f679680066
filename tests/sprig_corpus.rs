//! Runs every case of the Sprig golden corpus (`tests/fixtures/sprig/`, written by real Sprig
//! 3.2.3 under Go 1.23 with `TZ=UTC`) through `GoEngine`, byte for byte.

#[path = "support/gotemplate_world.rs"]
mod world;

#[path = "support/golden_corpus.rs"]
mod golden_corpus;

use std::path::Path;

#[test]
fn every_sprig_case_renders_like_sprig() {
    // The goldens were rendered in UTC; this is the only test in this binary, so setting the
    // zone here races with nothing.
    std::env::set_var("TZ", "UTC");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    golden_corpus::check_corpus(&root.join("sprig"), &root.join("gotemplate/world.json"), 1);
}
