//! Engine speed: a golden corpus's non-error cases (the `text/template` corpus, then the Sprig
//! corpus) rendered and parsed in-process by the kms-agent Go-template engine and, when a Go
//! toolchain is present, by Go's own `text/template` (`benches/gotemplate`, with Sprig when its
//! source is there), on the same cases with the same method:
//!
//! - each case is first rendered once and compared with its golden; a case either side gets
//!   wrong is reported and timed on neither side;
//! - render: parse once, then time `n` renders (a fresh output buffer each);
//! - parse: time `n` parses of the source;
//! - each `rounds` times, keeping the fastest round (the least disturbed by other work);
//! - a case whose single call takes longer than 20 ms / `n` gets as many calls a round as fit in
//!   20 ms (at least one), on both sides.
//!
//! Template functions answer from memoised data on both sides (the agent's `Snapshot`; a map
//! keyed by the call's arguments in Go), so the figures measure the engines, not the fake backend.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kms_agent::template::go::GoEngine;
use kms_agent::template::{CompiledTemplate, DataSource, RenderOutcome, Snapshot, TemplateEngine};

use crate::go_side::{self, GoBuild, NoGo};
use crate::world::World;

/// Mean cost of one render and one parse of a case, in nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub render_ns: f64,
    pub parse_ns: f64,
}

/// One case timed on both sides (`go` is `None` when there is no Go column).
pub struct Compared {
    pub name: String,
    pub kms: Timing,
    pub go: Option<Timing>,
}

/// A golden corpus: `cases/*.tmpl` beside Go's `.out`, rendered against a world.
pub struct Corpus {
    /// The corpus's folder as the report names it, relative to the repository.
    pub folder: &'static str,
    pub world: PathBuf,
    pub cases: PathBuf,
    /// Whether Go needs Sprig to render it.
    pub needs_sprig: bool,
    /// What a reader of the figures should know about this corpus.
    pub about: &'static str,
}

impl Corpus {
    /// Go's own `text/template` corpus.
    pub fn gotemplate(manifest_dir: &Path) -> Self {
        let dir = manifest_dir.join("tests/fixtures/gotemplate");
        Corpus {
            folder: "tests/fixtures/gotemplate/",
            world: dir.join("world.json"),
            cases: dir.join("cases"),
            needs_sprig: false,
            about: "Both sides render with the agent functions alone (Go's templates do not get Sprig's functions, which it would copy into every parsed template).",
        }
    }

    /// The Sprig corpus, rendered against the same world.
    pub fn sprig(manifest_dir: &Path) -> Self {
        Corpus {
            folder: "tests/fixtures/sprig/",
            world: manifest_dir.join("tests/fixtures/gotemplate/world.json"),
            cases: manifest_dir.join("tests/fixtures/sprig/cases"),
            needs_sprig: true,
            about: "Both sides render with Sprig. A few cases spend nearly all their time in a crypto library (RSA and ECDSA key generation, certificates, scrypt), on both sides: they weigh most in the mean, while the per-case ratios show the engine.",
        }
    }
}

pub struct EngineReport {
    /// The corpus's folder, relative to the repository.
    pub folder: &'static str,
    pub about: &'static str,
    pub n: usize,
    pub rounds: usize,
    /// Non-error cases in the corpus.
    pub non_error_cases: usize,
    /// The cases timed (on both sides when Go ran).
    pub timed: Vec<Compared>,
    /// Cases timed on neither side: name, which side failed and why.
    pub left_out: Vec<(String, String)>,
    /// `Ok(Go version)`, or why there is no Go column.
    pub go: Result<String, NoGo>,
}

struct Case {
    name: String,
    source: Vec<u8>,
    compiled: Box<dyn CompiledTemplate>,
}

/// Renders, answering every data request from `world` into `snapshot` first (as the agent's
/// runtime does: render, fetch what was missing, render again).
fn render_filling(
    t: &dyn CompiledTemplate,
    snapshot: &mut Snapshot,
    world: &World,
) -> Result<Vec<u8>, String> {
    for _ in 0..100 {
        match t.render(snapshot).map_err(|e| e.message)? {
            RenderOutcome::Done(out) => return Ok(out),
            RenderOutcome::NeedData(requests) => {
                for r in requests {
                    let answer = world
                        .lookup(&r)
                        .unwrap_or_else(|| Err("the world has no answer".into()));
                    snapshot.insert(r, answer);
                }
            }
        }
    }
    Err("data requests never settled".into())
}

/// The time one round of a slow case may take (Sprig's key generators take milliseconds a
/// call): such a case gets as many calls as fit in it, at least one. The same rule as
/// `benches/gotemplate`'s `roundBudget`.
const ROUND_BUDGET: Duration = Duration::from_millis(20);

/// The lowest mean time per call of `f` over `rounds` rounds of `n` calls (fewer for a slow `f`,
/// see [`ROUND_BUDGET`]).
fn fastest(n: usize, rounds: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed();
    let n = if once * n as u32 > ROUND_BUDGET {
        (ROUND_BUDGET.as_nanos() / once.as_nanos().max(1)).max(1) as usize
    } else {
        n
    };
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn run(
    corpus: &Corpus,
    go_build: &Result<GoBuild, NoGo>,
    n: usize,
    rounds: usize,
) -> EngineReport {
    let world = World::load(corpus.world.to_str().unwrap()).unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(&corpus.cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tmpl"))
        .filter(|p| std::fs::read(p.with_extension("out")).unwrap() != b"ERROR\n")
        .collect();
    paths.sort();

    // Check every case on our side first; this also fills the snapshot.
    let mut snapshot = Snapshot::new();
    let mut cases = Vec::new();
    let mut left_out = Vec::new();
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read(p).unwrap();
        let golden = std::fs::read(p.with_extension("out")).unwrap();
        let checked = GoEngine
            .compile(&name, &source)
            .map_err(|e| e.message)
            .and_then(|c| {
                let out = render_filling(c.as_ref(), &mut snapshot, &world)?;
                if out == golden {
                    Ok(c)
                } else {
                    Err("output differs from the golden".into())
                }
            });
        match checked {
            Ok(compiled) => cases.push(Case {
                name,
                source,
                compiled,
            }),
            Err(why) => left_out.push((name, format!("kms-agent: {why}"))),
        }
    }

    let go = match go_build {
        Ok(build) if corpus.needs_sprig && !build.sprig => Err(NoGo::Failed(
            "it was built without Sprig: Sprig's source (Debian's golang-github-masterminds-sprig-dev) is not on this machine".into(),
        )),
        Ok(build) => go_side::run(
            build,
            &corpus.world,
            &corpus.cases,
            corpus.needs_sprig,
            n,
            rounds,
        ),
        Err(no) => Err(no.clone()),
    };
    if let Ok(run) = &go {
        cases.retain(|c| match run.cases.get(&c.name) {
            Some(Ok(_)) => true,
            Some(Err(why)) => {
                left_out.push((c.name.clone(), format!("{}: {why}", run.version)));
                false
            }
            None => {
                left_out.push((c.name.clone(), format!("{}: not run", run.version)));
                false
            }
        });
    }

    let mut timed = Vec::new();
    for c in &cases {
        let render_ns = fastest(n, rounds, || {
            std::hint::black_box(c.compiled.render(&snapshot).unwrap());
        });
        let parse_ns = fastest(n, rounds, || {
            std::hint::black_box(GoEngine.compile(&c.name, &c.source).unwrap());
        });
        let go_timing = go
            .as_ref()
            .ok()
            .and_then(|run| run.cases.get(&c.name))
            .and_then(|r| r.as_ref().ok().copied());
        timed.push(Compared {
            name: c.name.clone(),
            kms: Timing {
                render_ns,
                parse_ns,
            },
            go: go_timing,
        });
    }
    left_out.sort();
    EngineReport {
        folder: corpus.folder,
        about: corpus.about,
        n,
        rounds,
        non_error_cases: paths.len(),
        timed,
        left_out,
        go: go.map(|run| run.version),
    }
}

/// Mean over cases of a per-case figure.
pub fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// How the per-case ratios kms-agent ÷ Go spread.
pub struct RatioSpread {
    pub geometric_mean: f64,
    pub median: f64,
    /// The lowest ratio and its case.
    pub best: (f64, String),
    /// The highest ratio and its case.
    pub worst: (f64, String),
}

/// Per-case ratios kms-agent ÷ Go of one figure; `None` without a Go column.
pub fn ratio_spread(timed: &[Compared], figure: impl Fn(&Timing) -> f64) -> Option<RatioSpread> {
    let mut ratios: Vec<(f64, String)> = timed
        .iter()
        .filter_map(|c| Some((figure(&c.kms) / figure(c.go.as_ref()?), c.name.clone())))
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mid = ratios.len() / 2;
    let median = if ratios.len() % 2 == 1 {
        ratios[mid].0
    } else {
        (ratios[mid - 1].0 + ratios[mid].0) / 2.0
    };
    let log_mean = ratios.iter().map(|r| r.0.ln()).sum::<f64>() / ratios.len() as f64;
    Some(RatioSpread {
        geometric_mean: log_mean.exp(),
        median,
        best: ratios.first().cloned().unwrap(),
        worst: ratios.last().cloned().unwrap(),
    })
}
