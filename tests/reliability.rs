//! Reliability and secret hygiene under faults, end to end (issue "Reliability and security").
//! Each test prints the figure RELIABILITY.md reports (`figure: ...`).

mod support;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use support::*;

const SECRET_VALUE: &str = "S3CR3T-VALUE-7f1e";

fn seed() -> String {
    default_seed(300, 3600).replace(r#"value: "1""#, &format!(r#"value: "{SECRET_VALUE}""#))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(address: &str, dir: &std::path::Path, interval: &str) -> String {
    format!(
        "kms:\n  address: {address}\n  timeout: 2s\n  retry-strategy:\n    max-retries: 1\n    base-delay: 50ms\n    max-delay: 200ms\n{}sinks:\n  - type: file\n    config:\n      path: {{dir}}/token\ntemplates:\n  - destination-path: {{dir}}/out\n    template-content: '{{{{ range secret \"proj-1\" \"dev\" \"/\" }}}}{{{{ .Key }}}}={{{{ .Value }}}};{{{{ end }}}}'\n    config:\n      polling-interval: {interval}\n",
        universal_auth_block(dir)
    )
}

#[test]
fn a_server_down_at_start_then_restarted_without_state_is_survived() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(
        dir.path(),
        &config(&format!("http://{addr}"), dir.path(), "1s"),
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(agent.read("token").is_empty());
    let up = Instant::now();
    let dev = DevServer::start_on(&seed(), &addr);
    wait_until(
        "login after the server came up",
        Duration::from_secs(30),
        || !agent.read("out").is_empty(),
    );
    eprintln!(
        "figure: down at start 4s, recovered {:?} after the server came up",
        up.elapsed()
    );

    // The server restarts and forgets every token: the agent logs in again by itself.
    drop(dev);
    let dev = DevServer::start_on(&seed(), &addr);
    dev.set_secret("proj-1", "dev", "/", "A", "after-restart");
    let restarted = Instant::now();
    wait_until(
        "recovery after the restart",
        Duration::from_secs(30),
        || agent.read("out").contains("after-restart"),
    );
    eprintln!(
        "figure: server restart without state, recovered in {:?}",
        restarted.elapsed()
    );
    wait_until("a valid token in the sink", Duration::from_secs(10), || {
        dev.token_works(&agent.read("token"))
    });
}

#[test]
fn bursts_of_errors_rate_limits_hangs_resets_and_malformed_answers_keep_the_last_good_file() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(dir.path(), &config(&dev.url(), dir.path(), "500ms"));
    wait_until("first render", Duration::from_secs(10), || {
        !agent.read("out").is_empty()
    });
    let mut good = agent.read("out");
    let route = "GET /api/v4/secrets";
    for (what, rule) in [
        (
            "5xx burst",
            serde_json::json!({"route": route, "status": 503, "count": 20}),
        ),
        (
            "429 with Retry-After",
            serde_json::json!({"route": route, "status": 429, "count": 3, "retry_after": 1}),
        ),
        (
            "hang past the timeout",
            serde_json::json!({"route": route, "delay_ms": 3000, "count": 3}),
        ),
        (
            "connection resets",
            serde_json::json!({"route": route, "status": 0, "count": 20}),
        ),
        (
            "malformed JSON",
            serde_json::json!({"route": route, "status": 200, "body": "{not json", "count": 20}),
        ),
    ] {
        dev.faults(serde_json::json!([rule]));
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            agent.read("out"),
            good,
            "{what}: the last good file must stay"
        );
        dev.clear_faults();
        let value = format!("after-{}", what.replace(' ', "-"));
        dev.set_secret("proj-1", "dev", "/", "A", &value);
        let t = Instant::now();
        wait_until(
            &format!("recovery from {what}"),
            Duration::from_secs(30),
            || agent.read("out").contains(&value),
        );
        eprintln!(
            "figure: {what}: recovered {:?} after the fault cleared",
            t.elapsed()
        );
        good = agent.read("out");
    }
    assert!(!agent.logs().contains(SECRET_VALUE));
}

#[test]
fn a_lease_revoked_behind_the_agents_back_is_replaced() {
    let seed = default_seed(300, 3600).replace("default-ttl: 60", "default-ttl: 3");
    let dev = DevServer::start(&seed);
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "kms:\n  address: {}\n{}templates:\n  - destination-path: {{dir}}/creds\n    template-content: '{{{{ (dynamic_secret \"proj\" \"dev\" \"/\" \"redis\").DB_USERNAME }}}}'\n    config:\n      polling-interval: 1s\n",
        dev.url(),
        universal_auth_block(dir.path())
    );
    let agent = Agent::start(dir.path(), &cfg);
    wait_until("rendered", Duration::from_secs(10), || {
        agent.read("creds").starts_with("user-")
    });
    let first = agent.read("creds");
    let lease_id = first.trim_start_matches("user-").to_string();
    let resp = http()
        .delete(format!(
            "{}/api/v1/dynamic-secrets/leases/{lease_id}",
            dev.url()
        ))
        .bearer_auth(dev.login())
        .json(&serde_json::json!({"projectSlug": "proj", "environmentSlug": "dev", "path": "/"}))
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let t = Instant::now();
    wait_until("a replacement lease", Duration::from_secs(15), || {
        let now = agent.read("creds");
        now.starts_with("user-") && now != first
    });
    eprintln!(
        "figure: lease revoked behind the agent's back: replaced in {:?}",
        t.elapsed()
    );
}

#[test]
fn a_failing_write_is_retried_and_the_agent_lives_on() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dev.url(), dir.path(), "500ms").replace("{dir}/out", "{dir}/sub/out");
    let agent = Agent::start(dir.path(), &cfg);
    wait_until("first render", Duration::from_secs(10), || {
        !agent.read("sub/out").is_empty()
    });
    // Replace the destination's directory by a file: every write now fails (even for root).
    std::fs::remove_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub"), "not a directory").unwrap();
    dev.set_secret("proj-1", "dev", "/", "A", "while-broken");
    wait_until(
        "the write error in the log",
        Duration::from_secs(10),
        || agent.logs().contains("keeping the last good file"),
    );
    std::fs::remove_file(dir.path().join("sub")).unwrap();
    let t = Instant::now();
    wait_until("the write after the fix", Duration::from_secs(30), || {
        agent.read("sub/out").contains("while-broken")
    });
    eprintln!(
        "figure: destination unwritable, then fixed: written {:?} later",
        t.elapsed()
    );
}

#[test]
fn readers_never_see_a_torn_file_while_the_secret_changes_rapidly() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(dir.path(), &config(&dev.url(), dir.path(), "100ms"));
    wait_until("first render", Duration::from_secs(10), || {
        !agent.read("out").is_empty()
    });
    let path = agent.path("out");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut reads, mut distinct) = (0u64, std::collections::HashSet::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let content = std::fs::read_to_string(&path).unwrap();
                // Every version is exactly `A=<value>;` with the seed's value or 2000 equal
                // characters.
                let ok = content.starts_with("A=") && content.ends_with(';') && {
                    let value = &content[2..content.len() - 1];
                    value == SECRET_VALUE
                        || (value.len() == 2000 && value.bytes().all(|b| b == value.as_bytes()[0]))
                };
                assert!(ok, "torn or mixed content ({} bytes)", content.len());
                distinct.insert(content);
                reads += 1;
            }
            (reads, distinct.len())
        })
    };
    for i in 0..30 {
        let c = (b'a' + (i % 26) as u8) as char;
        dev.set_secret("proj-1", "dev", "/", "A", &c.to_string().repeat(2000));
        std::thread::sleep(Duration::from_millis(120));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, versions) = reader.join().unwrap();
    assert!(
        versions >= 5,
        "only {versions} versions seen; log:\n{}",
        agent.logs()
    );
    eprintln!("figure: torn writes: {reads} reads, {versions} versions, none partial or mixed");
}

#[test]
fn no_secret_token_or_credential_reaches_the_log_at_trace_level() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}  - destination-path: {{dir}}/broken\n    template-content: '{{{{ (getSecretByName \"proj-1\" \"dev\" \"/\" \"NOPE\").Value }}}}'\n  - destination-path: {{dir}}/creds\n    template-content: '{{{{ (dynamic_secret \"proj\" \"dev\" \"/\" \"redis\").DB_PASSWORD }}}}'\n",
        config(&dev.url(), dir.path(), "500ms")
    );
    let mut agent = Agent::start_with(dir.path(), &cfg, &["--log-level", "trace"], &[]);
    wait_until("renders", Duration::from_secs(10), || {
        !agent.read("out").is_empty() && !agent.read("creds").is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    agent.signal(nix::sys::signal::Signal::SIGTERM);
    agent.wait_exit(Duration::from_secs(10)).expect("exit");
    let logs = agent.logs();
    let token = agent.read("token");
    let password = agent.read("creds");
    let mut scanned = 0;
    for (what, needle) in [
        ("secret value", SECRET_VALUE),
        ("client secret", "test-secret"),
        ("access token", token.as_str()),
        ("lease password", password.as_str()),
    ] {
        assert!(!needle.is_empty(), "{what} missing");
        assert!(!logs.contains(needle), "the {what} appears in the log");
        scanned += 1;
    }
    assert!(
        logs.contains("render failed"),
        "the failing template was exercised"
    );
    eprintln!("figure: hygiene: {} log bytes at trace level scanned for {scanned} secret strings, none found", logs.len());
}

#[test]
fn written_files_are_private_and_a_symlinked_destination_is_replaced_not_followed() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("out")).unwrap();
    let agent = Agent::start(dir.path(), &config(&dev.url(), dir.path(), "1s"));
    wait_until("render", Duration::from_secs(10), || {
        agent.read("token").len() > 10 && agent.read("out").contains("A=")
    });
    for f in ["out", "token"] {
        let meta = std::fs::symlink_metadata(agent.path(f)).unwrap();
        assert!(meta.file_type().is_file(), "{f} is a regular file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
    }
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "untouched",
        "the link's target is never written"
    );
}
