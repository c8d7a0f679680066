//! Runs of the real `kms agent` against `kms dev-server` on loopback: request economy,
//! footprint, cold start, idle CPU and propagation latency.

use std::time::{Duration, Instant};

use crate::support::*;

/// The default seed plus ten folders `/f0`..`/f9`; the `redis` lease lives `lease_ttl` seconds.
fn seed(lease_ttl: u64) -> String {
    let mut s = default_seed(3600, 0).replace(
        "default-ttl: 60\n              max-ttl: 600",
        &format!(
            "default-ttl: {lease_ttl}\n              max-ttl: {}",
            lease_ttl * 10
        ),
    );
    assert!(
        s.contains(&format!("default-ttl: {lease_ttl}\n")),
        "seed changed"
    );
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

/// `n` templates over the 10 folders, each also calling the one shared `dynamic_secret`.
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

pub fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks (USER_HZ, 100 per second on Linux).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

pub const TICKS_PER_SECOND: f64 = 100.0;

/// How long both agents rest after their last file is written before the idle window opens: the
/// end of a cold start (the last rounds' bookkeeping, blocking-pool threads winding down) is not
/// idling. Measured by hand at 10,000 templates: 0.10% of a core in the 20 s right after the last
/// write, 0.00% from 15 s later.
pub const IDLE_SETTLE: Duration = Duration::from_secs(15);

/// Every destination `t0..t{n-1}` written (temporary files of atomic writes start with a dot).
pub fn all_written(dir: &std::path::Path, n: usize) -> bool {
    std::fs::read_dir(dir.join("out"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
                == n
        })
        .unwrap_or(false)
}

/// Requests the agent made to the API (the dev server's own `/dev/` routes left out).
fn api_requests(dev: &DevServer) -> u64 {
    dev.stats()["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(route, _)| !route.contains("/dev/"))
                .map(|(_, count)| count.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// A started agent with every destination written.
struct Running {
    dev: DevServer,
    agent: Agent,
    _dir: tempfile::TempDir,
    cold_start: Duration,
}

fn start(n: usize, interval: &str, lease_ttl: u64) -> Running {
    let dev = DevServer::start(&seed(lease_ttl));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let agent = Agent::start_with(
        dir.path(),
        &config(&dev, dir.path(), n, interval),
        &["--log-level", "warn"],
        &[],
    );
    wait_until("every destination", Duration::from_secs(600), || {
        all_written(dir.path(), n)
    });
    Running {
        cold_start: started.elapsed(),
        dev,
        agent,
        _dir: dir,
    }
}

pub struct SizeResult {
    pub n: usize,
    pub cold_start: Duration,
    pub lists_per_round: f64,
    pub leases: u64,
    pub rss_steady_kib: u64,
    pub rss_peak_kib: u64,
    /// The private part of the steady RSS (heap, stacks); the rest is mostly the binary's own
    /// code and data pages, file-backed and shared.
    pub rss_anon_kib: u64,
    pub polling_cpu_pct: f64,
}

/// `n` templates polling every 2s: requests per round, memory, CPU while polling, cold start.
pub fn measure_size(n: usize) -> SizeResult {
    let run = start(n, "2s", 60);
    std::thread::sleep(Duration::from_secs(3));
    let before = run.dev.requests_matching("GET", "/secrets");
    std::thread::sleep(Duration::from_secs(6));
    let after = run.dev.requests_matching("GET", "/secrets");
    let pid = run.agent.child.id();
    let ticks_before = cpu_ticks(pid);
    let window = Duration::from_secs(5);
    std::thread::sleep(window);
    let ticks = cpu_ticks(pid) - ticks_before;
    SizeResult {
        n,
        cold_start: run.cold_start,
        lists_per_round: (after - before) as f64 / 3.0,
        leases: run.dev.stats()["leases"]["created"].as_u64().unwrap_or(0),
        rss_steady_kib: proc_status(pid, "VmRSS:"),
        rss_peak_kib: proc_status(pid, "VmHWM:"),
        rss_anon_kib: proc_status(pid, "RssAnon:"),
        polling_cpu_pct: ticks as f64 / TICKS_PER_SECOND / window.as_secs_f64() * 100.0,
    }
}

pub struct IdleResult {
    pub n: usize,
    pub cold_start: Duration,
    pub window: Duration,
    pub cpu_ticks: u64,
    pub cpu_pct: f64,
    pub api_requests: u64,
    pub rss_steady_kib: u64,
    pub rss_peak_kib: u64,
}

/// `n` templates on a 5m interval: once every destination is written, the agent's CPU time over
/// `window` of idling, and its memory at the end. The lease lives an hour, so nothing is due in
/// the window: this is the cost of waiting.
pub fn idle(n: usize, window: Duration) -> IdleResult {
    let run = start(n, "5m", 3600);
    let pid = run.agent.child.id();
    std::thread::sleep(IDLE_SETTLE);
    let requests_before = api_requests(&run.dev);
    let ticks_before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(window);
    let ticks = cpu_ticks(pid) - ticks_before;
    let elapsed = t.elapsed();
    IdleResult {
        n,
        cold_start: run.cold_start,
        window: elapsed,
        cpu_ticks: ticks,
        cpu_pct: ticks as f64 / TICKS_PER_SECOND / elapsed.as_secs_f64() * 100.0,
        api_requests: api_requests(&run.dev) - requests_before,
        rss_steady_kib: proc_status(pid, "VmRSS:"),
        rss_peak_kib: proc_status(pid, "VmHWM:"),
    }
}

/// Interval 1s: time from each of `samples` secret updates through the API until the
/// destination holds the new value, sorted.
pub fn propagation(samples: usize) -> Vec<Duration> {
    let dev = DevServer::start(&seed(60));
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
