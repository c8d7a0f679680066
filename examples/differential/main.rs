//! The differential harness: random templates rendered by Go's own `text/template` with Sprig
//! (the golden corpus's reference renderer, `tests/fixtures/sprig/render.go`) and by the engine,
//! with every difference sorted into a class. `make differential` runs it (Go needed; see
//! `docs/differential.md` for the figures and what the classes mean).
//!
//! ```text
//! differential [--count N] [--seed S] [--go tests/fixtures/sprig/bin/render-sprig] [--keep DIR]
//! ```
//!
//! Two outcomes are equal when the bytes are the same or both sides fail (error texts are not
//! compared, as in the golden corpus). A differing template is traced to the first of its
//! segments that differs alone, and counted under that segment's class; one shortest example
//! per class is printed.

mod generate;
mod trace;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use rand::SeedableRng;

#[path = "../../tests/support/gotemplate_world.rs"]
mod world;

/// What one side made of a template.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Output(Vec<u8>),
    Error(String),
    Timeout,
}

impl Outcome {
    fn same_as(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::Output(a), Outcome::Output(b)) => a == b,
            (Outcome::Error(_), Outcome::Error(_)) => true,
            _ => false,
        }
    }

    fn shown(&self) -> String {
        let text = match self {
            Outcome::Output(o) => format!("{:?}", String::from_utf8_lossy(o)),
            Outcome::Error(e) => format!("error: {e}"),
            Outcome::Timeout => "timeout".into(),
        };
        text.chars().take(200).collect()
    }
}

/// The Go reference renderer in `--stream` mode.
struct GoRenderer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl GoRenderer {
    fn start(binary: &str, world: &str) -> Result<GoRenderer, String> {
        let mut child = Command::new(binary)
            .args(["--stream", world])
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {binary}: {e} (build it: tests/fixtures/sprig/regen.sh --build)"
                )
            })?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(GoRenderer {
            child,
            stdin,
            stdout,
        })
    }

    fn render(&mut self, source: &str) -> Result<Outcome, String> {
        let io = |e: std::io::Error| format!("Go renderer: {e}");
        write!(self.stdin, "{}\n{source}", source.len()).map_err(io)?;
        self.stdin.flush().map_err(io)?;
        let mut head = String::new();
        self.stdout.read_line(&mut head).map_err(io)?;
        let (status, len) = head
            .trim_end()
            .split_once(' ')
            .ok_or_else(|| format!("Go renderer answered {head:?}"))?;
        let len: usize = len.parse().map_err(|_| format!("bad length in {head:?}"))?;
        let mut body = vec![0; len];
        self.stdout.read_exact(&mut body).map_err(io)?;
        Ok(match status {
            "OK" => Outcome::Output(body),
            "ERR" => Outcome::Error(String::from_utf8_lossy(&body).into_owned()),
            _ => Outcome::Timeout,
        })
    }
}

impl Drop for GoRenderer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Go's answer; a Go renderer that died (a fatal error Go cannot recover, such as running out of
/// memory) is started again and the template counted with the timeouts.
fn go_render(go: &mut GoRenderer, binary: &str, world: &str, source: &str) -> Outcome {
    match go.render(source) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("differential: {e} on {source:?}; restarting it");
            *go = GoRenderer::start(binary, world).unwrap_or_else(|e| panic!("{e}"));
            Outcome::Timeout
        }
    }
}

fn engine(world: &world::World, source: &str) -> Outcome {
    match world::render_file(world, "t", source.as_bytes()) {
        Ok(out) => Outcome::Output(out),
        Err(e) => Outcome::Error(e),
    }
}

/// One class of difference: how many templates, and the shortest segment that shows it.
#[derive(Default)]
struct Class {
    count: u64,
    example: Option<(String, Outcome, Outcome)>,
}

struct Options {
    count: u64,
    seed: u64,
    go: String,
    keep: Option<String>,
}

fn options() -> Result<Options, String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut o = Options {
        count: 10_000,
        seed: 1,
        go: format!("{root}/tests/fixtures/sprig/bin/render-sprig"),
        keep: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--count" => o.count = value.parse().map_err(|_| "--count: a number")?,
            "--seed" => o.seed = value.parse().map_err(|_| "--seed: a number")?,
            "--go" => o.go = value,
            "--keep" => o.keep = Some(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(o)
}

/// The engine's own limits (deliberate: Go has none) show as an engine error where Go renders.
fn is_engine_limit(e: &Outcome) -> bool {
    matches!(e, Outcome::Error(m) if ["exceeds", "would exceed", "exceeded maximum", "MiB of values", "more than the"]
        .iter()
        .any(|k| m.contains(k)))
}

/// A difference the README names: the engine knows no time zone but UTC and Local (rendering
/// reads no tz database), and Go shows a Local time's location pointer, an address.
fn known_difference(go: &Outcome, ours: &Outcome) -> Option<&'static str> {
    let text = |o: &Outcome| match o {
        Outcome::Output(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    };
    if matches!(ours, Outcome::Error(e) if e.contains("is not supported: templates know only")) {
        return Some("deliberate: time zones other than UTC and Local");
    }
    let lower = text(go)?.to_ascii_lowercase();
    if text(ours).is_some() && lower.contains("location=0xc") || lower.contains("location=&{") {
        return Some("deliberate: Go prints a Local time's location as a memory address");
    }
    None
}

/// A named difference that a function over it hides (`len`, a hash): the first sub-expression
/// of `segment` whose difference is one [`known_difference`] names.
fn hidden_known_difference(
    go: &mut GoRenderer,
    binary: &str,
    world_file: &str,
    world: &world::World,
    segment: &str,
) -> Option<&'static str> {
    trace::sub_expressions(segment).iter().find_map(|sub| {
        let w = go_render(go, binary, world_file, sub);
        let g = engine(world, sub);
        (!w.same_as(&g)).then(|| known_difference(&w, &g)).flatten()
    })
}

fn kind(go: &Outcome, ours: &Outcome) -> &'static str {
    match (go, ours) {
        (Outcome::Output(_), Outcome::Output(_)) => "output differs",
        (Outcome::Error(_), _) => "Go fails, the engine renders",
        (_, e) if is_engine_limit(e) => "engine limit (deliberate)",
        _ => "the engine fails, Go renders",
    }
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("differential: {e}");
            std::process::exit(2);
        }
    };
    // The reference renders in UTC; the engine reads TZ the same way.
    std::env::set_var("TZ", "UTC");
    let world_file = format!(
        "{}/tests/fixtures/gotemplate/world.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let world = world::World::load(&world_file).expect("world.json loads");
    let mut go = match GoRenderer::start(&o.go, &world_file) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("differential: {e}");
            std::process::exit(2);
        }
    };
    let mut generator = generate::Generator::new(rand::rngs::StdRng::seed_from_u64(o.seed));
    let (mut go_ok, mut go_err, mut timeouts, mut equal) = (0u64, 0u64, 0u64, 0u64);
    let mut classes: BTreeMap<String, Class> = BTreeMap::new();
    let started = std::time::Instant::now();
    for n in 0..o.count {
        let segments = generator.template();
        let source: String = segments.iter().map(|s| s.text.as_str()).collect();
        let want = go_render(&mut go, &o.go, &world_file, &source);
        match want {
            Outcome::Output(_) => go_ok += 1,
            Outcome::Error(_) => go_err += 1,
            Outcome::Timeout => {
                timeouts += 1;
                continue;
            }
        }
        let got = engine(&world, &source);
        if want.same_as(&got) {
            equal += 1;
            continue;
        }
        // Trace it to the first segment that differs alone.
        let mut found = None;
        for s in &segments {
            let w = go_render(&mut go, &o.go, &world_file, &s.text);
            let g = engine(&world, &s.text);
            if w != Outcome::Timeout && !w.same_as(&g) {
                let class = match known_difference(&w, &g) {
                    Some(known) => known.to_string(),
                    None => {
                        match hidden_known_difference(&mut go, &o.go, &world_file, &world, &s.text)
                        {
                            Some(known) => format!("{known}, inside a larger expression"),
                            None => format!("{}: {}", kind(&w, &g), s.class),
                        }
                    }
                };
                found = Some((class, s.text.clone(), w, g));
                break;
            }
        }
        let (class, text, w, g) = found.unwrap_or_else(|| {
            (
                format!("{}: only in combination", kind(&want, &got)),
                source.clone(),
                want.clone(),
                got.clone(),
            )
        });
        if let Some(dir) = &o.keep {
            let _ = std::fs::create_dir_all(dir);
            let _ = std::fs::write(format!("{dir}/{n}.tmpl"), &source);
        }
        let c = classes.entry(class).or_default();
        c.count += 1;
        if c.example
            .as_ref()
            .is_none_or(|(t, _, _)| text.len() < t.len())
        {
            c.example = Some((text, w, g));
        }
    }
    let compared = o.count - timeouts;
    let differing = compared - equal;
    let named: u64 = classes
        .iter()
        .filter(|(name, _)| name.starts_with("deliberate:") || name.starts_with("engine limit"))
        .map(|(_, c)| c.count)
        .sum();
    println!(
        "{} templates (seed {}) in {:.0} s: Go rendered {go_ok}, failed {go_err}, timed out or crashed {timeouts}",
        o.count,
        o.seed,
        started.elapsed().as_secs_f64()
    );
    println!(
        "equal {equal} ({:.2}%), differing {differing}: {named} in the README's deliberate differences, {} not\n",
        100.0 * equal as f64 / compared.max(1) as f64,
        differing - named
    );
    let mut sorted: Vec<_> = classes.into_iter().collect();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.1.count));
    for (name, c) in sorted {
        println!("{:>6}  {name}", c.count);
        if let Some((text, w, g)) = c.example {
            println!("        template: {text:?}");
            println!("        Go:       {}", w.shown());
            println!("        engine:   {}", g.shown());
        }
    }
    if differing > named {
        std::process::exit(1);
    }
}
