//! `make bench`: what users of a secrets agent care about, measured side by side in one run on
//! this machine, written to BENCHMARKS.md. No thresholds: figures only.
//!
//! 1. Request economy: N templates over 10 secret sources, all also using one shared dynamic
//!    secret: list requests per polling round and leases created (dev server `/dev/stats`).
//! 2. Footprint: resident memory (peak and steady) and CPU time of the agent process, while
//!    polling every 2s and idle on a 5m interval.
//! 3. Cold start: launch to every destination written.
//! 4. Propagation latency: secret update through the API to new file content, interval 1s.
//! 5. Engine speed: every non-error case of the two golden corpora (`text/template`, Sprig)
//!    rendered and parsed in-process, by the kms-agent engine and (when Go is installed) by Go's
//!    `text/template` (`benches/gotemplate`; with Sprig when its source is installed).
//!
//! Environment: `KMS_BENCH_SIZES` (default `10,100,1000,10000`), `KMS_BENCH_IDLE_TEMPLATES`
//! (default 10000), `KMS_BENCH_IDLE_SECS` (default 60), `KMS_BENCH_ENGINE_N` (default 500),
//! `KMS_BENCH_ENGINE_ROUNDS` (default 3), `KMS_BENCH_ENGINE_ONLY=1` (the engine section alone),
//! `GO` (default: the newest `/usr/lib/go-1.NN/bin/go`, else `go`), `SPRIG_GOPATH` (default
//! `/usr/share/gocode`).

#[path = "../../tests/support/mod.rs"]
mod support;
#[path = "../../tests/support/gotemplate_world.rs"]
mod world;

mod agent_runs;
mod engine_speed;
mod go_side;
mod openbao;
mod report;

use std::path::Path;
use std::time::Duration;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this target without it, and
    // then there is nothing to do (benchmarks are not tests).
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("agent_bench: run with `make bench` (cargo bench)");
        return;
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sizes: Vec<usize> = std::env::var("KMS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100, 1000, 10000]);
    let idle_templates = env_or("KMS_BENCH_IDLE_TEMPLATES", 10_000usize);
    let idle_secs = env_or("KMS_BENCH_IDLE_SECS", 60u64);
    let engine_n = env_or("KMS_BENCH_ENGINE_N", 500usize).max(1);
    let engine_rounds = env_or("KMS_BENCH_ENGINE_ROUNDS", 3usize).max(1);
    let engine_only = env_or("KMS_BENCH_ENGINE_ONLY", 0u8) == 1;
    // The goldens were rendered with TZ=UTC; `Local` reads it in both engines.
    std::env::set_var("TZ", "UTC");

    let load_at_start = report::load_average();
    // The engine first: it is CPU-bound and shortest, and runs before any agent process exists.
    eprintln!("bench: engine speed (n = {engine_n}, {engine_rounds} rounds)...");
    let go_build = go_side::build(manifest_dir);
    let engines: Vec<_> = [
        engine_speed::Corpus::gotemplate(manifest_dir),
        engine_speed::Corpus::sprig(manifest_dir),
    ]
    .iter()
    .map(|corpus| engine_speed::run(corpus, &go_build, engine_n, engine_rounds))
    .collect();
    if engine_only {
        let md = report::engine_markdown(&engines);
        let path = manifest_dir.join("target/ENGINE-BENCH.md");
        std::fs::write(&path, md).unwrap();
        eprintln!("bench: wrote {}", path.display());
        return;
    }
    let bao = openbao::install(manifest_dir);
    match &bao {
        Ok(path) => eprintln!("bench: the peer is {}", openbao::version(path)),
        Err(reason) => eprintln!("bench: the OpenBao agent is not measured: {reason}"),
    }
    let mut size_results = Vec::new();
    let mut peer_sizes = Vec::new();
    for &n in &sizes {
        eprintln!("bench: {n} templates...");
        size_results.push(agent_runs::measure_size(n));
        if let Ok(bao) = &bao {
            eprintln!("bench: {n} templates, OpenBao agent...");
            peer_sizes.push(openbao::measure_size(bao, n));
        }
    }
    eprintln!("bench: {idle_templates} templates idle for {idle_secs}s on a 5m interval...");
    let window = Duration::from_secs(idle_secs);
    let idle = agent_runs::idle(idle_templates, window);
    eprintln!("bench: propagation...");
    let latency = agent_runs::propagation(30);
    let peer = bao.map(|bao| {
        eprintln!("bench: OpenBao agent idle and propagation...");
        report::PeerRuns {
            version: openbao::version(&bao),
            sizes: peer_sizes,
            idle: openbao::idle(&bao, idle_templates, window),
            latency: openbao::propagation(&bao, 30),
        }
    });

    let load_at_end = report::load_average();
    let md = report::markdown(
        (&load_at_start, &load_at_end),
        &size_results,
        &idle,
        &latency,
        &peer,
        &engines,
    );
    let path = manifest_dir.join("BENCHMARKS.md");
    std::fs::write(&path, md).unwrap();
    eprintln!("bench: wrote {}", path.display());
}
