//! Runs a golden corpus (`cases/*.tmpl` beside `.out` goldens written by Go) through `GoEngine`:
//! byte-identical output, or an error where the golden is `ERROR`.

use std::path::Path;

use super::world;

/// Renders every case under `dir/cases` against `world_file`; panics listing the failures.
pub fn check_corpus(dir: &Path, world_file: &Path, min_cases: usize) {
    let world = world::World::load(world_file.to_str().unwrap()).expect("world.json loads");
    let mut cases: Vec<_> = std::fs::read_dir(dir.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tmpl"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= min_cases,
        "corpus not found: {} cases",
        cases.len()
    );

    let mut failures = Vec::new();
    for tmpl in &cases {
        let name = tmpl.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read(tmpl).unwrap();
        let golden = std::fs::read(tmpl.with_extension("out"))
            .unwrap_or_else(|_| panic!("{name} has no .out golden (run regen.sh)"));
        let got = world::render_file(&world, &name, &source);
        let ok = match (&got, golden.as_slice()) {
            (Err(_), b"ERROR\n") => true,
            (Ok(_), b"ERROR\n") => false,
            (Ok(out), want) => out.as_slice() == want,
            (Err(_), _) => false,
        };
        if !ok {
            // Show both from a little before the first byte where they part.
            let from = match &got {
                Ok(out) => out
                    .iter()
                    .zip(&golden)
                    .position(|(a, b)| a != b)
                    .unwrap_or(out.len().min(golden.len()))
                    .saturating_sub(40),
                Err(_) => 0,
            };
            let around = |b: &[u8]| {
                String::from_utf8_lossy(&b[from.min(b.len())..])
                    .chars()
                    .take(160)
                    .collect::<String>()
            };
            let shown = match &got {
                Ok(out) => around(out),
                Err(e) => format!("ERROR: {e}"),
            };
            let want = around(&golden);
            println!("FAIL {name}: got {shown:?}, want {want:?}");
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
