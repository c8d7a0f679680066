//! A heavy template (seconds of CPU, within the engine's limits) renders off the async workers:
//! the listener answers at once meanwhile (issue "Hardening"). Its own test binary, so that no
//! other test shares the machine while it measures.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[test]
fn healthz_answers_within_20ms_while_heavy_templates_render() {
    // One heavy template per core: rendered on the async workers, they would hold every one.
    let heavy = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = format!(
        "kms:\n  address: {}\n{}listener:\n  address: 127.0.0.1:0\ntemplates:\n",
        dev.url(),
        universal_auth_block(dir.path())
    );
    for i in 0..heavy {
        // 8 million steps, under the 10 million limit: about a second a render, more than the
        // polling interval, so the heavy templates render without pause.
        cfg.push_str(&format!(
            "  - destination-path: {{dir}}/heavy-{i}\n    template-content: '{{{{ range until 4000 }}}}{{{{ range until 2000 }}}}{{{{ end }}}}{{{{ end }}}}done {i}'\n    config:\n      polling-interval: 1s\n"
        ));
    }
    let agent = Agent::start(dir.path(), &cfg);
    let addr = agent.listener_addr();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(0..heavy).all(|i| agent.read(&format!("heavy-{i}")) == format!("done {i}")) {
        assert!(
            Instant::now() < deadline,
            "the heavy templates never rendered:\n{}",
            agent.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The heavy templates render again every second: /healthz answers meanwhile.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("http://{addr}/healthz");
    // Renders of every outcome so far, from /metrics.
    let renders = || -> u64 {
        metrics_text(&addr)
            .lines()
            .filter(|l| l.starts_with("kms_agent_renders_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    let renders_before = renders();
    // Asked every 10 ms on a fixed schedule, each latency counted from when the request was due
    // (so a stall counts for every request it held up, not once).
    let mut latencies = Vec::new();
    let start = Instant::now();
    for i in 0..500u32 {
        let due = start + Duration::from_millis(10) * i;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let status = client.get(&url).send().unwrap().status();
        latencies.push(due.elapsed());
        assert_eq!(status, 200);
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() - 1) * 99 / 100];
    let rendered = renders() - renders_before;
    eprintln!(
        "/healthz over {} requests: p99 {p99:?}, max {:?}; {rendered} renders meanwhile",
        latencies.len(),
        latencies.last().unwrap()
    );
    assert!(
        p99 < Duration::from_millis(20),
        "/healthz p99 {p99:?} over {} requests while {heavy} heavy templates render (max {:?})",
        latencies.len(),
        latencies.last().unwrap()
    );
    // The heavy templates did render while /healthz was asked (one is enough to show it: a
    // slower machine may not finish one per template in the window).
    assert!(rendered >= 1, "no render finished in the window");
}
