//! `make bench`: what users of a secrets agent care about, measured side by side in one run on
//! this machine, written to BENCHMARKS.md. No thresholds: figures only.
//!
//! 1. Request economy: N templates over 10 secret sources, all also using one shared dynamic
//!    secret: list requests per polling round and leases created (dev server `/dev/stats`).
//! 2. Footprint: resident memory (peak and steady) and CPU time of the agent process.
//! 3. Cold start: launch to every destination written.
//! 4. Propagation latency: secret update through the API to new file content, interval 1s.
//! 5. Engine speed: every non-error golden corpus case rendered in-process, ns per render.

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "../tests/support/gotemplate_world.rs"]
mod world;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use support::*;

fn seed() -> String {
    let mut s = default_seed(3600, 0);
    // Ten folders of secrets: /f0 .. /f9.
    let mut folders = String::new();
    for f in 0..10 {
        folders.push_str(&format!(
            "          /f{f}:\n            KEY_{f}: value-{f}\n"
        ));
    }
    s = s.replace(
        "          /other:\n",
        &format!("{folders}          /other:\n"),
    );
    s
}

fn config(dev: &DevServer, dir: &std::path::Path, n: usize, interval: &str) -> String {
    let mut s = format!(
        "kms:\n  address: {}\n{}templates:\n",
        dev.url(),
        universal_auth_block(dir)
    );
    for i in 0..n {
        s.push_str(&format!(
            "  - destination-path: {{dir}}/out/t{i}\n    template-content: '{{{{ range secret \"proj-1\" \"dev\" \"/f{}\" }}}}{{{{ .Key }}}}={{{{ .Value }}}}{{{{ end }}}} {{{{ (dynamic_secret \"proj\" \"dev\" \"/\" \"redis\").DB_USERNAME }}}}'\n    config:\n      polling-interval: {interval}\n",
            i % 10
        ));
    }
    s
}

fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
}

struct SizeResult {
    n: usize,
    cold_start: Duration,
    lists_per_round: f64,
    leases: u64,
    rss_steady_kib: u64,
    rss_peak_kib: u64,
    idle_cpu_pct: f64,
}

fn measure_size(n: usize) -> SizeResult {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let agent = Agent::start_with(
        dir.path(),
        &config(&dev, dir.path(), n, "2s"),
        &["--log-level", "warn"],
        &[],
    );
    let all_written = || {
        std::fs::read_dir(dir.path().join("out"))
            .map(|d| d.count() == n)
            .unwrap_or(false)
    };
    wait_until("every destination", Duration::from_secs(600), all_written);
    let cold_start = started.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let before = dev.requests_matching("GET", "/secrets");
    std::thread::sleep(Duration::from_secs(6));
    let after = dev.requests_matching("GET", "/secrets");
    let pid = agent.child.id();
    let ticks_before = cpu_ticks(pid);
    let idle = Duration::from_secs(5);
    std::thread::sleep(idle);
    let ticks = cpu_ticks(pid) - ticks_before;
    let tick_hz = 100.0; // USER_HZ on Linux
    SizeResult {
        n,
        cold_start,
        lists_per_round: (after - before) as f64 / 3.0,
        leases: dev.stats()["leases"]["created"].as_u64().unwrap_or(0),
        rss_steady_kib: proc_status(pid, "VmRSS:"),
        rss_peak_kib: proc_status(pid, "VmHWM:"),
        idle_cpu_pct: ticks as f64 / tick_hz / idle.as_secs_f64() * 100.0,
    }
}

fn propagation(samples: usize) -> Vec<Duration> {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "kms:\n  address: {}\n{}templates:\n  - destination-path: {{dir}}/out\n    template-content: '{{{{ range secret \"proj-1\" \"dev\" \"/\" }}}}{{{{ .Value }}}}{{{{ end }}}}'\n    config:\n      polling-interval: 1s\n",
        dev.url(),
        universal_auth_block(dir.path())
    );
    let agent = Agent::start_with(dir.path(), &cfg, &["--log-level", "warn"], &[]);
    wait_until("first render", Duration::from_secs(20), || {
        !agent.read("out").is_empty()
    });
    let mut out = Vec::new();
    for i in 0..samples {
        // Spread updates over the polling interval.
        std::thread::sleep(Duration::from_millis(137 * (i as u64 % 7) + 50));
        let value = format!("v{i}");
        let t = Instant::now();
        dev.set_secret("proj-1", "dev", "/", "A", &value);
        while agent.read("out") != value {
            std::thread::sleep(Duration::from_millis(2));
            assert!(t.elapsed() < Duration::from_secs(10), "update lost");
        }
        out.push(t.elapsed());
    }
    out.sort();
    out
}

fn engine_speed() -> (usize, f64, f64) {
    use kms_agent::template::go::GoEngine;
    use kms_agent::template::TemplateEngine;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gotemplate");
    let w = world::World::load(dir.join("world.json").to_str().unwrap()).unwrap();
    let mut compiled = Vec::new();
    for e in std::fs::read_dir(dir.join("cases")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "tmpl")
            && std::fs::read(p.with_extension("out")).unwrap() != b"ERROR\n"
        {
            let src = std::fs::read(&p).unwrap();
            if let Ok(t) = GoEngine.compile("bench", &src) {
                if t.render(&w).is_ok() {
                    compiled.push(t);
                }
            }
        }
    }
    let rounds = 200;
    let t = Instant::now();
    for _ in 0..rounds {
        for c in &compiled {
            std::hint::black_box(c.render(&w).unwrap());
        }
    }
    let render_ns = t.elapsed().as_nanos() as f64 / (rounds * compiled.len()) as f64;
    // Parse cost, for reference.
    let sources: Vec<Vec<u8>> = std::fs::read_dir(dir.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tmpl"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let t = Instant::now();
    for _ in 0..20 {
        for s in &sources {
            let _ = std::hint::black_box(GoEngine.compile("bench", s));
        }
    }
    let parse_ns = t.elapsed().as_nanos() as f64 / (20 * sources.len()) as f64;
    (compiled.len(), render_ns, parse_ns)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = proc_status_mem();
    format!("{cores} cores ({cpu}), {mem} MiB memory, Linux; release build (`cargo bench`)")
}

fn proc_status_mem() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this target without it, and
    // then there is nothing to do (benchmarks are not tests).
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("agent_bench: run with `make bench` (cargo bench)");
        return;
    }
    let sizes: Vec<usize> = std::env::var("KMS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 100, 1000, 10000]);
    let mut md = String::from("# Benchmarks\n\nWritten by `make bench` (`benches/agent_bench.rs`); every figure below comes from one run.\n\n");
    let _ = writeln!(md, "Machine: {}.\n", machine());

    md.push_str("## Request economy, footprint and cold start\n\nN templates over 10 distinct secret folders, every template also calling one shared `dynamic_secret`, polling every 2s, against `kms dev-server` on loopback. List requests per round are counted by the dev server over 3 rounds (goal: 10; the Infisical agent makes one request per call per template per round, i.e. N). Memory is the agent's resident set (`VmRSS` steady, `VmHWM` peak); CPU is the agent's CPU time over 5s of steady polling divided by 5s. The agent logs at `warn`.\n\n| templates | list requests per round | leases created | cold start (all files written) | RSS steady | RSS peak | CPU while polling |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for n in sizes {
        eprintln!("bench: {n} templates...");
        let r = measure_size(n);
        let _ = writeln!(
            md,
            "| {} | {:.1} | {} | {:.0} ms | {:.1} MiB | {:.1} MiB | {:.1}% of a core |",
            r.n,
            r.lists_per_round,
            r.leases,
            r.cold_start.as_secs_f64() * 1000.0,
            r.rss_steady_kib as f64 / 1024.0,
            r.rss_peak_kib as f64 / 1024.0,
            r.idle_cpu_pct
        );
    }

    eprintln!("bench: propagation...");
    let lat = propagation(30);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    let _ = writeln!(
        md,
        "\n## Propagation latency\n\nPolling interval 1s; 30 updates through the API at spread-out moments; time until the destination holds the new value (goal: p99 at most the interval plus 50ms).\n\n| p50 | p99 | max |\n| --- | --- | --- |\n| {:.0} ms | {:.0} ms | {:.0} ms |",
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        lat.last().unwrap().as_secs_f64() * 1000.0
    );

    eprintln!("bench: engine...");
    let (cases, render_ns, parse_ns) = engine_speed();
    let go = if std::process::Command::new("go")
        .arg("version")
        .output()
        .is_ok()
    {
        "Go is installed, but the side-by-side Go program is not written yet."
    } else {
        "Go is not installed on this machine (Debian's `golang-go` would add it): the Go column is skipped."
    };
    let _ = writeln!(
        md,
        "\n## Engine speed\n\nEvery non-error case of the golden corpus ({cases} cases) rendered in-process 200 times against the corpus world.\n\n| engine | ns per render (mean) | ns per parse (mean) |\n| --- | --- | --- |\n| kms-agent Go-template engine | {render_ns:.0} | {parse_ns:.0} |\n\n{go}"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    std::fs::write(&path, md).unwrap();
    eprintln!("bench: wrote {}", path.display());
}
