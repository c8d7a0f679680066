//! The Go side of the engine-speed comparison: builds `benches/gotemplate` (Go's own
//! `text/template`, standard library only) with the local toolchain and runs it on the corpus.
//! Everything the Go tool writes (build cache, GOPATH) stays under `target/gobench/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::engine_speed::Timing;

/// What Go's `text/template` did with each non-error case: its timing, or why it was not timed
/// (an error or an output that differs from the golden).
pub struct GoRun {
    pub version: String,
    pub cases: BTreeMap<String, Result<Timing, String>>,
}

/// Why there is no Go column.
pub enum NoGo {
    /// No Go toolchain on this machine (CI machines have none).
    NotInstalled,
    /// Go is there but building or running the program failed.
    Failed(String),
}

fn go_command() -> String {
    std::env::var("GO").unwrap_or_else(|_| "go".into())
}

/// `target/` of this build: the bench executable lives in `target/<profile>/deps/`.
fn target_dir(manifest_dir: &Path) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|t| t.join("CACHEDIR.TAG").exists() || t.ends_with("target"))
        .unwrap_or_else(|| manifest_dir.join("target"))
}

/// Builds and runs the Go program: `n` renders and `n` parses of every non-error case, `rounds`
/// times (the fastest round counts).
pub fn run(manifest_dir: &Path, n: usize, rounds: usize) -> Result<GoRun, NoGo> {
    let go = go_command();
    let installed = Command::new(&go)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        return Err(NoGo::NotInstalled);
    }
    let work = target_dir(manifest_dir).join("gobench");
    let bin = work.join("gotemplate-bench");
    let built = Command::new(&go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(manifest_dir.join("benches/gotemplate"))
        .env("GOCACHE", work.join("cache"))
        .env("GOPATH", work.join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOENV", "off")
        .env("GOTELEMETRY", "off")
        .output()
        .map_err(|e| NoGo::Failed(format!("go build: {e}")))?;
    if !built.status.success() {
        return Err(NoGo::Failed(format!(
            "go build failed: {}",
            String::from_utf8_lossy(&built.stderr).trim()
        )));
    }
    let corpus = manifest_dir.join("tests/fixtures/gotemplate");
    let ran = Command::new(&bin)
        .arg("-world")
        .arg(corpus.join("world.json"))
        .arg("-cases")
        .arg(corpus.join("cases"))
        .arg("-n")
        .arg(n.to_string())
        .arg("-rounds")
        .arg(rounds.to_string())
        .output()
        .map_err(|e| NoGo::Failed(format!("{}: {e}", bin.display())))?;
    if !ran.status.success() {
        return Err(NoGo::Failed(format!(
            "gotemplate-bench failed: {}",
            String::from_utf8_lossy(&ran.stderr).trim()
        )));
    }
    parse_output(&String::from_utf8_lossy(&ran.stdout), n, rounds).map_err(NoGo::Failed)
}

/// Reads the program's JSON lines: a header, then one object per case.
fn parse_output(stdout: &str, n: usize, rounds: usize) -> Result<GoRun, String> {
    let mut lines = stdout
        .lines()
        .map(serde_json::from_str::<serde_json::Value>);
    let header = lines
        .next()
        .ok_or("gotemplate-bench printed nothing")?
        .map_err(|e| format!("gotemplate-bench header: {e}"))?;
    if header["n"].as_u64() != Some(n as u64) || header["rounds"].as_u64() != Some(rounds as u64) {
        return Err(format!(
            "gotemplate-bench ran n={} rounds={} (wanted {n}, {rounds})",
            header["n"], header["rounds"]
        ));
    }
    let mut cases = BTreeMap::new();
    for line in lines {
        let v = line.map_err(|e| format!("gotemplate-bench output: {e}"))?;
        let name = v["case"].as_str().ok_or("a result without a case name")?;
        let result = match v["status"].as_str() {
            Some("ok") => Ok(Timing {
                render_ns: v["render_ns"].as_f64().ok_or("ok without render_ns")?,
                parse_ns: v["parse_ns"].as_f64().ok_or("ok without parse_ns")?,
            }),
            status => Err(format!(
                "{}: {}",
                status.unwrap_or("?"),
                v["detail"].as_str().unwrap_or("")
            )),
        };
        cases.insert(name.to_string(), result);
    }
    Ok(GoRun {
        version: header["go_version"].as_str().unwrap_or("go").to_string(),
        cases,
    })
}
