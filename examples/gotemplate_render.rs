//! Renders one Go template against a golden-corpus world file, like the corpus's reference
//! renderer: `gotemplate_render WORLD.json CASE.tmpl` prints the output, or `ERROR: msg` and
//! exits 1. Used with `tests/fixtures/gotemplate/run-against.sh`.

use std::io::Write;

#[path = "../tests/support/gotemplate_world.rs"]
mod world;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: gotemplate_render WORLD.json TEMPLATE.tmpl");
        std::process::exit(2);
    }
    let result = world::World::load(&args[1]).and_then(|w| {
        let source = std::fs::read(&args[2]).map_err(|e| format!("{}: {e}", args[2]))?;
        let name = std::path::Path::new(&args[2])
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        world::render_file(&w, &name, &source)
    });
    let mut stdout = std::io::stdout();
    match result {
        Ok(out) => {
            let _ = stdout.write_all(&out);
        }
        Err(msg) => {
            let _ = writeln!(stdout, "ERROR: {msg}");
            std::process::exit(1);
        }
    }
}
