//! The Go side of the engine-speed comparison: builds `benches/gotemplate` (Go's own
//! `text/template`) with the local toolchain and runs it on a corpus. With Sprig's source on the
//! machine (Debian's `golang-github-masterminds-sprig-dev`) the program is built in GOPATH mode
//! with `-tags sprig`, so it also renders the Sprig corpus; without it, it is the standard library
//! only. Everything the Go tool writes (build cache, module GOPATH) stays under `target/gobench/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::engine_speed::Timing;

/// The built program.
pub struct GoBuild {
    bin: PathBuf,
    /// Whether the build carries Sprig.
    pub sprig: bool,
}

/// What Go's `text/template` did with each non-error case of a corpus: its timing, or why it
/// was not timed (an error or an output that differs from the golden).
pub struct GoRun {
    pub version: String,
    pub cases: BTreeMap<String, Result<Timing, String>>,
}

/// Why there is no Go column.
#[derive(Clone)]
pub enum NoGo {
    /// No Go toolchain on this machine (CI machines have none).
    NotInstalled,
    /// Go is there but building or running the program failed, or it lacks what the corpus needs.
    Failed(String),
}

/// `$GO`, else the newest Debian toolchain (`/usr/lib/go-1.NN/bin/go`, as
/// `tests/fixtures/sprig/regen.sh` picks it), else `go` on the PATH.
fn go_command() -> PathBuf {
    if let Some(go) = std::env::var_os("GO") {
        return go.into();
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let minor = name.strip_prefix("go-1.")?.parse().ok()?;
            let go = e.path().join("bin/go");
            go.exists().then_some((minor, go))
        })
        .collect();
    debian.sort();
    debian.pop().map_or_else(|| "go".into(), |(_, go)| go)
}

/// Where Sprig's source is: `$SPRIG_GOPATH`, else Debian's `/usr/share/gocode`.
fn sprig_gopath() -> Option<PathBuf> {
    let gopath: PathBuf = std::env::var_os("SPRIG_GOPATH")
        .map(Into::into)
        .unwrap_or_else(|| "/usr/share/gocode".into());
    gopath
        .join("src/github.com/Masterminds/sprig")
        .is_dir()
        .then_some(gopath)
}

/// `target/` of this build: the bench executable lives in `target/<profile>/deps/`.
fn target_dir(manifest_dir: &Path) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .filter(|t| t.join("CACHEDIR.TAG").exists() || t.ends_with("target"))
        .unwrap_or_else(|| manifest_dir.join("target"))
}

/// Builds the program, with Sprig when its source is there.
pub fn build(manifest_dir: &Path) -> Result<GoBuild, NoGo> {
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
    let mut cmd = Command::new(&go);
    cmd.args(["build", "-o"])
        .arg(&bin)
        .current_dir(manifest_dir.join("benches/gotemplate"))
        .env("GOCACHE", work.join("cache"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOENV", "off")
        .env("GOTELEMETRY", "off");
    let sprig = sprig_gopath();
    match &sprig {
        // GOPATH mode finds Sprig and its dependencies as Debian installs them, with no proxy.
        Some(gopath) => cmd
            .args(["-tags", "sprig", "."])
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath),
        None => cmd.arg(".").env("GOPATH", work.join("gopath")),
    };
    let built = cmd
        .output()
        .map_err(|e| NoGo::Failed(format!("go build: {e}")))?;
    if !built.status.success() {
        return Err(NoGo::Failed(format!(
            "go build failed: {}",
            String::from_utf8_lossy(&built.stderr).trim()
        )));
    }
    Ok(GoBuild {
        bin,
        sprig: sprig.is_some(),
    })
}

/// Runs the program on one corpus: `n` renders and `n` parses of every non-error case, `rounds`
/// times (the fastest round counts), with Sprig's functions when `sprig`. Time zones render as
/// in the goldens (`TZ=UTC`).
pub fn run(
    build: &GoBuild,
    world: &Path,
    cases: &Path,
    sprig: bool,
    n: usize,
    rounds: usize,
) -> Result<GoRun, NoGo> {
    let ran = Command::new(&build.bin)
        .args(sprig.then_some("-sprig"))
        .arg("-world")
        .arg(world)
        .arg("-cases")
        .arg(cases)
        .arg("-n")
        .arg(n.to_string())
        .arg("-rounds")
        .arg(rounds.to_string())
        .env("TZ", "UTC")
        .output()
        .map_err(|e| NoGo::Failed(format!("{}: {e}", build.bin.display())))?;
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
