//! The agent end to end: the real `kms` binary against `kms dev-server` on 127.0.0.1, real files,
//! real commands, real signals (issue "The agent runtime", done-when list).

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;

fn config(dev: &DevServer, dir: &std::path::Path, templates: &str) -> String {
    format!(
        "kms:\n  address: {}\n{}sinks:\n  - type: file\n    config:\n      path: {{dir}}/token\n{templates}",
        dev.url(),
        universal_auth_block(dir)
    )
}

const LIST_TEMPLATE: &str = r#"{{- range secret "proj-1" "dev" "/" }}{{ .Key }}={{ .Value }}
{{ end }}"#;

fn template_block(dest: &str, interval: &str, command: Option<&str>) -> String {
    let mut s = format!(
        "  - destination-path: {{dir}}/{dest}\n    template-content: |-\n      {}\n    config:\n      polling-interval: {interval}\n",
        LIST_TEMPLATE.replace('\n', "\n      ")
    );
    if let Some(cmd) = command {
        s.push_str(&format!(
            "      execute:\n        command: {cmd}\n        timeout: 5\n"
        ));
    }
    s
}

#[test]
fn token_reaches_the_sink_and_stays_valid_through_renewals_and_relogins() {
    let dev = DevServer::start(&default_seed(4, 12));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let agent = Agent::start(dir.path(), &config(&dev, dir.path(), ""));
    wait_until("the token in the sink", Duration::from_secs(10), || {
        !agent.read("token").is_empty()
    });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "token took {:?}",
        started.elapsed()
    );

    // For 30s the token in the sink must be accepted at every moment (TTL 4s, max TTL 12s).
    let end = Instant::now() + Duration::from_secs(30);
    let mut checks = 0;
    let mut tokens = std::collections::HashSet::new();
    while Instant::now() < end {
        let token = agent.read("token");
        assert!(!token.is_empty(), "the sink was empty");
        assert!(
            dev.token_works(&token),
            "the sink held a rejected token after {checks} checks:\n{}",
            agent.logs()
        );
        tokens.insert(token);
        checks += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    let stats = dev.stats();
    assert!(
        stats["tokens"]["renewed"].as_u64().unwrap() >= 2,
        "renewals: {stats}"
    );
    assert!(
        stats["tokens"]["issued"].as_u64().unwrap() >= 3,
        "re-logins: {stats}"
    );
    assert!(tokens.len() >= 3, "the sink should have seen new tokens");
}

#[test]
fn a_changed_secret_is_rendered_within_an_interval_and_the_command_runs_once_per_change() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let templates = format!(
        "templates:\n{}",
        template_block("out.env", "1s", Some("echo run >> {dir}/runs"))
    );
    let agent = Agent::start(dir.path(), &config(&dev, dir.path(), &templates));
    wait_until("first render", Duration::from_secs(10), || {
        agent.read("out.env") == "A=1\n"
    });
    wait_until("first command run", Duration::from_secs(5), || {
        agent.read("runs").lines().count() == 1
    });

    // Rounds with no change rewrite nothing and run nothing.
    let mtime = std::fs::metadata(agent.path("out.env"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        std::fs::metadata(agent.path("out.env"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    assert_eq!(agent.read("runs").lines().count(), 1);

    for (i, value) in ["2", "3"].iter().enumerate() {
        let changed = Instant::now();
        dev.set_secret("proj-1", "dev", "/", "A", value);
        wait_until("the change", Duration::from_secs(3), || {
            agent.read("out.env") == format!("A={value}\n")
        });
        assert!(
            changed.elapsed() <= Duration::from_secs(2),
            "propagation took {:?}",
            changed.elapsed()
        );
        wait_until("the command", Duration::from_secs(5), || {
            agent.read("runs").lines().count() == i + 2
        });
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        agent.read("runs").lines().count(),
        3,
        "exactly one run per change"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(agent.path("out.env"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn twenty_templates_over_two_sources_cost_two_list_requests_per_round() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let mut templates = String::from("templates:\n");
    for i in 0..20 {
        let path = if i % 2 == 0 { "/" } else { "/other" };
        templates.push_str(&format!(
            "  - destination-path: {{dir}}/out{i}\n    template-content: '{{{{ range secret \"proj-1\" \"dev\" \"{path}\" }}}}{{{{ .Key }}}}{{{{ end }}}}'\n    config:\n      polling-interval: 2s\n"
        ));
    }
    let agent = Agent::start(dir.path(), &config(&dev, dir.path(), &templates));
    wait_until("all files", Duration::from_secs(10), || {
        (0..20).all(|i| !agent.read(&format!("out{i}")).is_empty())
    });
    assert_eq!(agent.read("out0"), "A");
    assert_eq!(agent.read("out1"), "B");
    let before = dev.requests_matching("GET", "/secrets");
    std::thread::sleep(Duration::from_secs(6));
    let after = dev.requests_matching("GET", "/secrets");
    let rounds = 3.0;
    let per_round = (after - before) as f64 / rounds;
    assert!(
        (1.5..=2.7).contains(&per_round),
        "{} list requests in ~3 rounds: {}",
        after - before,
        dev.stats()
    );
}

#[test]
fn a_command_timeout_leaves_no_process_behind() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    // A sleep duration nobody else uses marks our processes in /proc.
    let marker = format!("600.{}", std::process::id());
    let templates = format!(
        "templates:\n  - destination-path: {{dir}}/out\n    template-content: x\n    config:\n      execute:\n        command: sleep {marker} & sleep {marker}\n        timeout: 1\n"
    );
    let agent = Agent::start(dir.path(), &config(&dev, dir.path(), &templates));
    wait_until("the render", Duration::from_secs(10), || {
        agent.read("out") == "x"
    });
    let running = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.unwrap().path().join("cmdline")).ok())
            .filter(|c| String::from_utf8_lossy(c).contains(&marker))
            .count()
    };
    wait_until("the command to start", Duration::from_secs(5), || {
        running() > 0
    });
    wait_until(
        "the timeout to kill every process",
        Duration::from_secs(10),
        || running() == 0,
    );
    assert!(agent.logs().contains("timed out"), "{}", agent.logs());
}

#[test]
fn sigterm_exits_zero_quickly() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let templates = format!("templates:\n{}", template_block("out.env", "1s", None));
    let mut agent = Agent::start(dir.path(), &config(&dev, dir.path(), &templates));
    wait_until("first render", Duration::from_secs(10), || {
        agent.read("out.env") == "A=1\n"
    });
    let sent = Instant::now();
    agent.signal(Signal::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(5))
        .expect("exit within 5s");
    assert!(status.success(), "{status:?}\n{}", agent.logs());
    assert!(sent.elapsed() < Duration::from_secs(5));
}

#[test]
fn exit_after_auth_renders_runs_commands_and_exits_zero_or_one_on_template_error() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let templates = format!(
        "templates:\n{}",
        template_block("out.env", "5m", Some("sleep 0.3; echo done > {dir}/ran"))
    );
    let cfg = config(&dev, dir.path(), &templates).replacen(
        "kms:\n",
        "kms:\n  exit-after-auth: true\n",
        1,
    );
    let mut agent = Agent::start(dir.path(), &cfg);
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("exit-after-auth must exit");
    assert!(status.success(), "{status:?}\n{}", agent.logs());
    assert_eq!(agent.read("out.env"), "A=1\n");
    assert_eq!(agent.read("ran"), "done\n");
    assert!(!agent.read("token").is_empty());

    // A template error (a missing secret) makes it exit 1.
    let dir2 = tempfile::tempdir().unwrap();
    let bad = "templates:\n  - destination-path: {dir}/bad\n    template-content: '{{ (getSecretByName \"proj-1\" \"dev\" \"/\" \"NOPE\").Value }}'\n";
    let cfg =
        config(&dev, dir2.path(), bad).replacen("kms:\n", "kms:\n  exit-after-auth: true\n", 1);
    let mut agent = Agent::start(dir2.path(), &cfg);
    let status = agent.wait_exit(Duration::from_secs(15)).expect("must exit");
    assert_eq!(status.code(), Some(1), "{}", agent.logs());
    assert!(!agent.path("bad").exists());

    // With no templates it exits once the token is written.
    let dir3 = tempfile::tempdir().unwrap();
    let cfg =
        config(&dev, dir3.path(), "").replacen("kms:\n", "kms:\n  exit-after-auth: true\n", 1);
    let mut agent = Agent::start(dir3.path(), &cfg);
    let status = agent.wait_exit(Duration::from_secs(15)).expect("must exit");
    assert!(status.success(), "{}", agent.logs());
    assert!(!agent.read("token").is_empty());
}

#[test]
fn server_faults_are_survived_and_files_keep_their_last_good_content() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let templates = format!("templates:\n{}", template_block("out.env", "1s", None));
    let agent = Agent::start(dir.path(), &config(&dev, dir.path(), &templates));
    wait_until("first render", Duration::from_secs(10), || {
        agent.read("out.env") == "A=1\n"
    });

    // 5xx on every route for a while, then dropped connections.
    dev.faults(serde_json::json!([{"route": "*", "status": 503, "count": 1000}]));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(agent.read("out.env"), "A=1\n");
    dev.faults(serde_json::json!([{"route": "*", "status": 0, "count": 1000}]));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(agent.read("out.env"), "A=1\n");
    dev.clear_faults();

    // Every token invalid at once: the agent logs in again and keeps rendering.
    dev.expire_tokens();
    dev.set_secret("proj-1", "dev", "/", "A", "after-faults");
    wait_until("recovery", Duration::from_secs(20), || {
        agent.read("out.env") == "A=after-faults\n"
    });
    wait_until("a fresh token", Duration::from_secs(10), || {
        dev.token_works(&agent.read("token"))
    });
}

/// Polls `cond` until it holds, or panics after `timeout` with the agent's log.
fn wait_logged(agent: &Agent, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            agent.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_crashing_renderer_is_restarted_and_never_stops_the_agent() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let templates = format!(
        "templates:\n{}{}",
        template_block("crashy", "1s", None),
        template_block("steady", "1s", None)
    );
    // The first template's id is `templates[0]`: its actor crashes on its first 2 renders.
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start_with(
        dir.path(),
        &config(&dev, dir.path(), &templates),
        &[],
        &[("KMS_TEST_CRASH_TEMPLATE", "templates[0]:2")],
    );
    wait_logged(
        &agent,
        "both files despite the crashes",
        Duration::from_secs(15),
        || agent.read("crashy") == "A=1\n" && agent.read("steady") == "A=1\n",
    );
    assert!(agent.logs().contains("restarting"), "{}", agent.logs());
    drop(agent);

    // Crashing every time, far past the restart budget (5 in 60 s): the template is restarted
    // at the longest backoff for as long as it takes, and the others carry on.
    let dir2 = tempfile::tempdir().unwrap();
    let mut agent = Agent::start_with(
        dir2.path(),
        &config(&dev, dir2.path(), &templates),
        &[],
        &[("KMS_TEST_CRASH_TEMPLATE", "templates[0]:1000")],
    );
    wait_logged(
        &agent,
        "the budget used up",
        Duration::from_secs(60),
        || agent.logs().contains("it fails only its template"),
    );
    dev.set_secret("proj-1", "dev", "/", "A", "2");
    wait_logged(
        &agent,
        "the steady template to follow",
        Duration::from_secs(15),
        || agent.read("steady") == "A=2\n",
    );
    assert!(
        agent.child.try_wait().unwrap().is_none(),
        "{}",
        agent.logs()
    );
    agent.signal(Signal::SIGTERM);
    let status = agent.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status:?}\n{}", agent.logs());
}

#[cfg(feature = "test-hooks")]
#[test]
fn an_engine_panic_is_that_template_render_error_and_the_others_stay_fresh() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let templates = format!(
        "templates:\n{}{}",
        template_block("bad", "1s", None),
        template_block("good", "1s", None)
    );
    let cfg = format!(
        "{}listener:\n  address: 127.0.0.1:0\n{templates}",
        config(&dev, dir.path(), "")
    );
    let mut agent = Agent::start_with(
        dir.path(),
        &cfg,
        &[],
        &[("KMS_TEST_PANIC_TEMPLATE", "templates[0]:1000000")],
    );
    wait_logged(&agent, "the good file", Duration::from_secs(15), || {
        agent.read("good") == "A=1\n"
    });
    let token = std::fs::read_to_string(agent.path("token")).unwrap();
    assert!(!token.is_empty());
    // Well past the old budget of 5 crashes in 60 s (the bad template fails every retry).
    for value in ["2", "3", "4"] {
        dev.set_secret("proj-1", "dev", "/", "A", value);
        let want = format!("A={value}\n");
        wait_logged(
            &agent,
            "the good template to follow",
            Duration::from_secs(15),
            || agent.read("good") == want,
        );
    }
    assert!(!agent.path("bad").exists(), "the bad template wrote a file");
    let logs = agent.logs();
    assert!(
        logs.contains("the template engine failed unexpectedly"),
        "{logs}"
    );
    assert!(
        !logs.contains("panics on purpose"),
        "a panic message reached the log:\n{logs}"
    );
    let metrics = metrics_text(&agent.listener_addr());
    let errors = metric_value(
        &metrics,
        "kms_agent_renders_total{template=\"templates[0]\",outcome=\"error\"}",
    );
    assert!(errors >= 3.0, "{metrics}");
    agent.signal(Signal::SIGTERM);
    let status = agent.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status:?}\n{logs}");
}

/// The issue "Templates" case: beside a good template, one whose printf once panicked the engine
/// (`%.*e` with a precision of a million: Go prints the long number) and one that fails on
/// every render. For 60 s the good file follows its secret and the token sink stays valid; the
/// failing template's error is logged and counted; SIGTERM exits 0.
#[test]
fn hostile_templates_beside_a_good_one_for_sixty_seconds() {
    let dev = DevServer::start(&default_seed(10, 3600));
    let dir = tempfile::tempdir().unwrap();
    let templates = format!(
        "templates:\n{}  - destination-path: {{dir}}/long.txt\n    template-content: '{{{{ printf \"%.*e\" 1000000 1.5 }}}}'\n    config:\n      polling-interval: 1s\n  - destination-path: {{dir}}/failing.txt\n    template-content: '{{{{ fail \"this template always fails\" }}}}'\n    config:\n      polling-interval: 1s\n",
        template_block("good.env", "1s", None)
    );
    let cfg = format!(
        "{}listener:\n  address: 127.0.0.1:0\n{templates}",
        config(&dev, dir.path(), "")
    );
    let mut agent = Agent::start(dir.path(), &cfg);
    wait_logged(&agent, "the good file", Duration::from_secs(15), || {
        agent.read("good.env") == "A=1\n"
    });
    wait_logged(&agent, "the long number", Duration::from_secs(15), || {
        agent.read("long.txt").len() == 1_000_006
    });
    let long = agent.read("long.txt");
    assert!(
        long.starts_with("1.5000") && long.ends_with("e+00"),
        "{}",
        &long[..20]
    );
    let start = std::time::Instant::now();
    let mut value = 1;
    while start.elapsed() < Duration::from_secs(60) {
        value += 1;
        dev.set_secret("proj-1", "dev", "/", "A", &value.to_string());
        let want = format!("A={value}\n");
        wait_logged(
            &agent,
            "the good file to follow",
            Duration::from_secs(10),
            || agent.read("good.env") == want,
        );
        // The token lives 10 s: the sink holds a token the server accepts throughout.
        let token = agent.read("token");
        assert!(dev.token_works(token.trim()), "a stale token in the sink");
        std::thread::sleep(Duration::from_secs(5));
    }
    let logs = agent.logs();
    assert!(logs.contains("this template always fails"), "{logs}");
    let metrics = metrics_text(&agent.listener_addr());
    let failing_errors = metric_value(
        &metrics,
        "kms_agent_renders_total{template=\"templates[2]\",outcome=\"error\"}",
    );
    assert!(failing_errors >= 1.0, "{metrics}");
    assert!(!agent.path("failing.txt").exists());
    agent.signal(Signal::SIGTERM);
    let status = agent.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status:?}\n{}", agent.logs());
}

#[test]
fn rounds_whose_data_did_not_change_skip_the_render_but_not_an_edited_file_or_a_clock() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let clock = "  - destination-path: {dir}/clock\n    template-content: '{{ now | date \"15:04:05.000000\" }}'\n    config:\n      polling-interval: 1s\n";
    let cfg = config(
        &dev,
        dir.path(),
        &format!(
            "templates:\n{}{clock}",
            template_block("out.env", "1s", None)
        ),
    );
    let agent = Agent::start_with(dir.path(), &cfg, &["--log-level", "debug"], &[]);
    wait_until("first render", Duration::from_secs(10), || {
        agent.read("out.env") == "A=1\n" && !agent.read("clock").is_empty()
    });

    // Unchanged data: rounds end without rendering the list template...
    let skipped = |logs: &str, dest: &str| {
        logs.lines()
            .filter(|l| l.contains("data unchanged; not rendered") && l.contains(dest))
            .count()
    };
    let mut clock_values = std::collections::BTreeSet::new();
    let end = Instant::now() + Duration::from_millis(3500);
    while Instant::now() < end {
        clock_values.insert(agent.read("clock"));
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = agent.logs();
    assert!(
        skipped(&logs, "out.env") >= 2,
        "rounds with unchanged data rendered again:\n{logs}"
    );
    // ...but a template that reads the clock renders every round.
    assert_eq!(
        skipped(&logs, "/clock"),
        0,
        "the clock template was skipped"
    );
    assert!(
        clock_values.len() >= 3,
        "the clock template was not rendered every round: {clock_values:?}"
    );

    // A destination edited by someone else is rendered and restored in the next round.
    std::fs::write(agent.path("out.env"), "A=tampered\n").unwrap();
    wait_until("the edited file restored", Duration::from_secs(3), || {
        agent.read("out.env") == "A=1\n"
    });
    // A changed secret is rendered in the next round.
    dev.set_secret("proj-1", "dev", "/", "A", "2");
    wait_until("the change", Duration::from_secs(3), || {
        agent.read("out.env") == "A=2\n"
    });
}
