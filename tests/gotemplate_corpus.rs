//! Runs every case of the Go-template golden corpus (`tests/fixtures/gotemplate/`) through
//! `GoEngine` and compares with Go's output byte for byte (or expects an error for an
//! `ERROR` golden).

#[path = "support/gotemplate_world.rs"]
mod world;

use std::path::Path;

#[test]
fn every_golden_case_renders_like_go() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gotemplate");
    let world =
        world::World::load(dir.join("world.json").to_str().unwrap()).expect("world.json loads");
    let mut cases: Vec<_> = std::fs::read_dir(dir.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tmpl"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 200,
        "corpus not found: {} cases",
        cases.len()
    );

    let mut failures = Vec::new();
    for tmpl in &cases {
        let name = tmpl.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read(tmpl).unwrap();
        let golden = std::fs::read(tmpl.with_extension("out")).unwrap();
        let got = world::render_file(&world, &name, &source);
        let ok = match (&got, golden.as_slice()) {
            (Err(_), b"ERROR\n") => true,
            (Ok(_), b"ERROR\n") => false,
            (Ok(out), want) => out.as_slice() == want,
            (Err(_), _) => false,
        };
        if !ok {
            let shown = match &got {
                Ok(out) => String::from_utf8_lossy(out)
                    .chars()
                    .take(120)
                    .collect::<String>(),
                Err(e) => format!("ERROR: {e}"),
            };
            println!("FAIL {name}: got {shown:?}");
            failures.push(name);
        }
    }
    println!(
        "{} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failing cases: {failures:?}");
}
