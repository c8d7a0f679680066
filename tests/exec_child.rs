//! Process supervisor mode end to end (issue "Process supervisor mode"): the real `kms` binary
//! runs a real child process (a small shell script) with secrets from `kms dev-server` on
//! 127.0.0.1 in its environment, restarts it when they change, stops it on signals, and exits
//! with its exit code.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{metric_value, metrics_text, wait_until, Agent, DevServer, Output, KMS};

/// Project `proj-1` (slug `proj`): `/` holds API_KEY and GREETING_NAME, `/bad` a key that is no
/// environment name; a `redis` dynamic secret.
fn seed() -> String {
    r#"identities:
  - client-id: test-client
    client-secret: test-secret
    identity-id: 00000000-0000-0000-0000-000000000001
projects:
  - id: proj-1
    slug: proj
    environments:
      dev:
        secrets:
          /:
            API_KEY: "sk-live-first"
            GREETING_NAME: "world"
          /bad:
            my-key: "x"
        dynamic-secrets:
          /:
            redis:
              default-ttl: 60
              max-ttl: 600
              credentials:
                DB_USERNAME: "user-$LEASE_ID"
                DB_PASSWORD: "$RANDOM"
"#
    .into()
}

/// The child: appends `pid API_KEY GREETING` to `starts` when it starts (and writes
/// `files-at-start` when `app.conf` is already there); on SIGTERM appends to
/// `terms`, waits `TERM_DELAY` seconds (0 by default), and exits 0. `IGNORE_TERM=1` ignores
/// SIGTERM; `EXIT_WITH=n` exits at once with `n`.
const CHILD: &str = r#"dir="$1"
if [ -s "$dir/app.conf" ]; then echo yes > "$dir/files-at-start"; fi
echo "$$ $API_KEY $GREETING" >> "$dir/starts"
if [ -n "$EXIT_WITH" ]; then exit "$EXIT_WITH"; fi
if [ "$IGNORE_TERM" = 1 ]; then
  trap '' TERM
  sleep 1000 &
  while :; do sleep 0.1; done
fi
trap 'echo "$$" >> "$dir/terms"; sleep "${TERM_DELAY:-0}"; exit 0' TERM
while :; do sleep 0.1; done
"#;

/// An agent config: credentials from the environment, the child above, `extra` under `exec:`.
fn config(dev: &DevServer, dir: &Path, interval: &str, extra: &str) -> String {
    std::fs::write(dir.join("child.sh"), CHILD).unwrap();
    format!(
        r#"kms:
  address: {url}
auth:
  type: universal-auth
listener:
  address: 127.0.0.1:0
exec:
  command: ["sh", "{dir}/child.sh", "{dir}"]
  polling-interval: {interval}
  stop-grace: 2s
  env:
    GREETING: 'hello {{{{ with getSecretByName "proj-1" "dev" "/" "GREETING_NAME" }}}}{{{{ .Value }}}}{{{{ end }}}}'
  env-from:
    - project: proj-1
      environment: dev
      path: /
{extra}"#,
        url = dev.url(),
        dir = dir.display(),
    )
}

const CREDENTIALS: [(&str, &str); 2] = [
    ("KMS_UNIVERSAL_AUTH_CLIENT_ID", "test-client"),
    ("KMS_UNIVERSAL_AUTH_CLIENT_SECRET", "test-secret"),
];

fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Agent {
    let mut all: Vec<(&str, &str)> = CREDENTIALS.to_vec();
    all.extend_from_slice(env);
    Agent::start_with(dir, config, &[], &all)
}

/// The lines of `starts`: one per start of the child.
fn starts(agent: &Agent) -> Vec<String> {
    agent.read("starts").lines().map(str::to_string).collect()
}

fn pid_of(start_line: &str) -> i32 {
    start_line.split(' ').next().unwrap().parse().unwrap()
}

/// The processes whose process group is `pgid` (from `/proc/PID/stat`), zombies excluded.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces): state, ppid, pgrp.
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
            out.push(pid);
        }
    }
    out
}

#[test]
fn the_child_gets_the_rendered_environment_and_none_of_the_agents_credentials() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let with_file = format!(
        "{}templates:\n  - template-content: 'key={{{{ with getSecretByName \"proj-1\" \"dev\" \"/\" \"API_KEY\" }}}}{{{{ .Value }}}}{{{{ end }}}}'\n    destination-path: {}/app.conf\n",
        config(&dev, dir.path(), "1m", ""),
        dir.path().display()
    );
    let mut agent = start(
        dir.path(),
        &with_file,
        &[("KMS_TEST_PRIVATE_MARKER", "agent-only")],
    );
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent).is_empty()
    });
    let line = starts(&agent)[0].clone();
    assert!(line.ends_with(" sk-live-first hello world"), "{line}");
    assert_eq!(
        agent.read("files-at-start").trim(),
        "yes",
        "started before its files"
    );
    let environ = std::fs::read(format!("/proc/{}/environ", pid_of(&line))).unwrap();
    let vars: Vec<String> = environ
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(vars.contains(&"API_KEY=sk-live-first".to_string()));
    assert!(vars.contains(&"GREETING_NAME=world".to_string()));
    assert!(vars.contains(&"GREETING=hello world".to_string()));
    assert!(vars.iter().any(|v| v.starts_with("PATH=")), "inherited");
    for private in [
        "KMS_UNIVERSAL_AUTH_CLIENT_ID",
        "KMS_UNIVERSAL_AUTH_CLIENT_SECRET",
        "KMS_TEST_PRIVATE_MARKER",
    ] {
        assert!(
            !vars.iter().any(|v| v.starts_with(private)),
            "{private} leaked: {vars:?}"
        );
    }

    // Observability: up, ready, and no value in the logs.
    let addr = agent.listener_addr();
    let metrics = metrics_text(&addr);
    assert_eq!(
        metric_value(&metrics, "kms_agent_child_up "),
        1.0,
        "{metrics}"
    );
    let ready = support::http()
        .get(format!("http://{addr}/readyz"))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200);
    agent.signal(Signal::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .expect("agent exits");
    assert_eq!(status.code(), Some(0), "{}", agent.logs());
    assert_eq!(
        agent.read("terms").trim(),
        pid_of(&line).to_string(),
        "SIGTERM reached the child"
    );
    let logs = agent.logs();
    assert!(
        !logs.contains("sk-live-first") && !logs.contains("hello world"),
        "{logs}"
    );
}

#[test]
fn a_changed_secret_restarts_the_child_within_an_interval_and_never_means_never() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let agent = start(dir.path(), &config(&dev, dir.path(), "1s", ""), &[]);
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent).is_empty()
    });
    let first = pid_of(&starts(&agent)[0]);
    let changed = Instant::now();
    dev.set_secret("proj-1", "dev", "/", "API_KEY", "sk-live-second");
    wait_until("the restart", Duration::from_secs(10), || {
        starts(&agent).len() >= 2
    });
    let took = changed.elapsed();
    assert!(
        took <= Duration::from_secs(2),
        "restarted {took:?} after the change (interval 1s + 1s)"
    );
    let second = starts(&agent)[1].clone();
    assert!(second.ends_with(" sk-live-second hello world"), "{second}");
    assert_eq!(
        agent.read("terms").trim(),
        first.to_string(),
        "the old child got SIGTERM"
    );
    assert!(
        group_members(first).is_empty(),
        "nothing of the old child's group is left"
    );
    let metrics = metrics_text(&agent.listener_addr());
    assert_eq!(
        metric_value(
            &metrics,
            "kms_agent_child_restarts_total{reason=\"secret-changed\"}"
        ),
        1.0,
        "{metrics}"
    );

    // restart-on-change: never.
    let dir2 = tempfile::tempdir().unwrap();
    let agent2 = start(
        dir2.path(),
        &config(&dev, dir2.path(), "1s", "  restart-on-change: never\n"),
        &[],
    );
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent2).is_empty()
    });
    dev.set_secret("proj-1", "dev", "/", "API_KEY", "sk-live-third");
    wait_until("the new value rendered", Duration::from_secs(10), || {
        agent2.logs().contains("restart-on-change is never")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(starts(&agent2).len(), 1, "{}", agent2.logs());
}

#[test]
fn a_burst_of_changes_makes_at_most_two_restarts_with_the_last_value() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let agent = start(dir.path(), &config(&dev, dir.path(), "2s", ""), &[]);
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent).is_empty()
    });
    let burst = Instant::now();
    for i in 1..=10 {
        dev.set_secret("proj-1", "dev", "/", "API_KEY", &format!("burst-{i}"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(burst.elapsed() < Duration::from_secs(3));
    wait_until("the last value", Duration::from_secs(15), || {
        starts(&agent)
            .last()
            .is_some_and(|l| l.contains(" burst-10 "))
    });
    // Two more rounds: nothing else arrives.
    std::thread::sleep(Duration::from_secs(4));
    let restarts = starts(&agent).len() - 1;
    assert!(
        (1..=2).contains(&restarts),
        "{restarts} restarts: {:?}",
        starts(&agent)
    );
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_with_its_group_after_the_grace() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start(
        dir.path(),
        &config(&dev, dir.path(), "1m", "  stop-grace: 1s\n").replace("  stop-grace: 2s\n", ""),
        &[("IGNORE_TERM", "1")],
    );
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent).is_empty()
    });
    let child = pid_of(&starts(&agent)[0]);
    wait_until("its background sleep", Duration::from_secs(5), || {
        group_members(child).len() >= 2
    });
    let sent = Instant::now();
    agent.signal(Signal::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .expect("agent exits");
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "{}", agent.logs());
    assert!(
        took >= Duration::from_secs(1),
        "the grace was not given: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    wait_until("the group to be gone", Duration::from_secs(2), || {
        group_members(child).is_empty()
    });
    assert!(
        agent.logs().contains("did not stop in time"),
        "{}",
        agent.logs()
    );
}

#[test]
fn the_childs_exit_code_is_the_agents() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let mut agent = start(
        dir.path(),
        &config(&dev, dir.path(), "1m", ""),
        &[("EXIT_WITH", "3")],
    );
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("agent exits");
    assert_eq!(status.code(), Some(3), "{}", agent.logs());
    assert_eq!(starts(&agent).len(), 1, "not restarted");
}

#[test]
fn on_sigterm_leases_are_revoked_only_after_the_child_has_stopped() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &dev,
        dir.path(),
        "1m",
        "  stop-grace: 5s\n",
    )
    .replace("  stop-grace: 2s\n", "")
    .replace(
        "  env:\n",
        "  env:\n    DB_USER: '{{ with dynamic_secret \"proj\" \"dev\" \"/\" \"redis\" }}{{ .DB_USERNAME }}{{ end }}'\n",
    )
    .replace(
        "kms:\n",
        "kms:\n  revoke-credentials-on-shutdown: true\n",
    );
    let mut agent = start(dir.path(), &cfg, &[("TERM_DELAY", "1.5")]);
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent).is_empty()
    });
    let leases = |dev: &DevServer| dev.stats()["leases"]["active"].as_u64().unwrap();
    assert_eq!(leases(&dev), 1);
    agent.signal(Signal::SIGTERM);
    wait_until("the child got SIGTERM", Duration::from_secs(5), || {
        !agent.read("terms").is_empty()
    });
    // The child is still winding down: its credentials must still work.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(leases(&dev), 1, "revoked while the child still ran");
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .expect("agent exits");
    assert_eq!(status.code(), Some(0), "{}", agent.logs());
    assert_eq!(leases(&dev), 0, "{}", dev.stats());
}

#[test]
fn sighup_with_a_changed_exec_section_restarts_the_child() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let agent = start(dir.path(), &config(&dev, dir.path(), "1m", ""), &[]);
    wait_until("the child started", Duration::from_secs(15), || {
        !starts(&agent).is_empty()
    });
    let cfg = config(&dev, dir.path(), "1m", "").replace("hello ", "hi ");
    std::fs::write(dir.path().join("agent.yaml"), cfg).unwrap();
    agent.signal(Signal::SIGHUP);
    wait_until("the restart", Duration::from_secs(10), || {
        starts(&agent).len() >= 2
    });
    assert!(
        starts(&agent)[1].ends_with(" sk-live-first hi world"),
        "{:?}",
        starts(&agent)
    );
    let metrics = metrics_text(&agent.listener_addr());
    assert_eq!(
        metric_value(
            &metrics,
            "kms_agent_child_restarts_total{reason=\"config-reloaded\"}"
        ),
        1.0,
        "{metrics}"
    );
}

/// `kms run` with flags, its stdout captured.
fn kms_run(dev: &DevServer, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(KMS);
    cmd.args(["--log-level", "info", "run", "--address", &dev.url()])
        .args(args)
        .envs(CREDENTIALS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (out, err) = (Output::default(), Output::default());
    out.collect(child.stdout.take().unwrap());
    err.collect(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(100));
    (status, out.text(), err.text())
}

#[test]
fn kms_run_prints_the_secret_and_exits_with_the_programs_code() {
    let dev = DevServer::start(&seed());
    let (code, out, err) = kms_run(
        &dev,
        &[
            "--project",
            "proj-1",
            "--env",
            "dev",
            "--",
            "sh",
            "-c",
            "echo \"key=$API_KEY\"",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "key=sk-live-first\n");
    assert!(!err.contains("sk-live-first"), "{err}");

    let (code, _, err) = kms_run(
        &dev,
        &[
            "--project",
            "proj-1",
            "--env",
            "dev",
            "--",
            "sh",
            "-c",
            "exit 7",
        ],
    );
    assert_eq!(code, Some(7), "{err}");

    // Dry run: the names, never the values.
    let (code, out, err) = kms_run(
        &dev,
        &[
            "--project",
            "proj-1",
            "--env",
            "dev",
            "--dry-run",
            "--",
            "true",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("API_KEY\nGREETING_NAME\n"), "{out}");
    assert!(
        !out.contains("sk-live-first") && !out.contains("world"),
        "{out}"
    );
}

#[test]
fn kms_run_refuses_a_key_that_is_no_environment_name_and_does_not_start() {
    let dev = DevServer::start(&seed());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let mut cmd = Command::new(KMS);
    cmd.args([
        "run",
        "--address",
        &dev.url(),
        "--project",
        "proj-1",
        "--env",
        "dev",
        "--path",
        "/bad",
        "--",
    ])
    .args(["sh", "-c", &format!("touch {}", marker.display())])
    .envs(CREDENTIALS)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let err = Output::default();
    err.collect(child.stderr.take().unwrap());
    wait_until("the error naming the key", Duration::from_secs(15), || {
        err.text().contains(
            "the secret key \"my-key\" (folder /bad) is not a valid environment variable name",
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let _ = child.wait();
    assert!(!marker.exists(), "the program must not start");
}

#[test]
fn validate_reports_env_template_errors_and_kms_agent_needs_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agent.yaml");
    let base = "kms:\n  address: http://127.0.0.1:1\nauth:\n  type: universal-auth\n";
    std::fs::write(
        &file,
        format!("{base}exec:\n  command: [\"true\"]\n  env:\n    A: '{{{{ if }}}}'\n"),
    )
    .unwrap();
    let out = Command::new(KMS)
        .args(["agent", "validate", "--config"])
        .arg(&file)
        .envs(CREDENTIALS)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("exec.env.A (config line 8)"), "{stderr}");

    std::fs::write(&file, format!("{base}exec:\n  env-from: []\n")).unwrap();
    let out = Command::new(KMS)
        .args(["agent", "--config"])
        .arg(&file)
        .envs(CREDENTIALS)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("exec.command (line 5): missing"),
        "{stderr}"
    );
}
