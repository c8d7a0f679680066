//! Operations, end to end: the health/metrics listener, SIGHUP reload, `--dry-run`, and the
//! deployment files (issue "Operations").

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;

fn base(dev: &DevServer, dir: &std::path::Path) -> String {
    format!(
        "kms:\n  address: {}\n{}sinks:\n  - type: file\n    config:\n      path: {{dir}}/token\n",
        dev.url(),
        universal_auth_block(dir)
    )
}

fn template(dest: &str, key: &str) -> String {
    format!(
        "  - destination-path: {{dir}}/{dest}\n    template-content: '{{{{ (getSecretByName \"proj-1\" \"dev\" \"/\" \"{key}\").Value }}}}'\n    config:\n      polling-interval: 1s\n"
    )
}

#[test]
fn health_readiness_and_metrics_follow_renders_and_failures() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}listener:\n  address: 127.0.0.1:0\ntemplates:\n{}",
        base(&dev, dir.path()),
        template("a", "A")
    );
    let agent = Agent::start(dir.path(), &cfg);
    let url = format!("http://{}", agent.listener_addr());
    let http = http();
    assert_eq!(
        http.get(format!("{url}/healthz")).send().unwrap().status(),
        200
    );
    wait_until("ready", Duration::from_secs(10), || {
        http.get(format!("{url}/readyz")).send().unwrap().status() == 200
    });
    assert_eq!(agent.read("a"), "1");
    let metrics = || {
        http.get(format!("{url}/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let text = metrics();
    assert!(
        text.contains("kms_agent_renders_total{template=\"templates[0]\",outcome=\"written\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("kms_agent_auth_total{outcome=\"login_ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("kms_agent_api_requests_total{route=\"POST /api/v1/auth/universal-auth/login\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("route=\"GET /api/v4/secrets/{secretName}\""),
        "{text}"
    );

    // Deleting the secret makes the template fail: the error count moves, the file stays.
    let token = dev.login();
    let resp = http
        .delete(format!("{}/api/v3/secrets/raw/A", dev.url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"workspaceId": "proj-1", "environment": "dev", "secretPath": "/", "type": "shared"}))
        .send()
        .unwrap();
    assert!(resp.status().is_success());
    wait_until(
        "a failed render in the metrics",
        Duration::from_secs(10),
        || {
            // The series exists from the start at 0; wait for a counted failure.
            metrics()
                .lines()
                .find_map(|l| {
                    l.strip_prefix(
                        "kms_agent_renders_total{template=\"templates[0]\",outcome=\"error\"} ",
                    )
                })
                .is_some_and(|n| n.trim() != "0")
        },
    );
    assert_eq!(agent.read("a"), "1", "the last good file stays");
}

#[test]
fn sighup_adds_templates_without_a_new_login_and_rejects_a_broken_config() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(
        dir.path(),
        &format!(
            "{}templates:\n{}",
            base(&dev, dir.path()),
            template("a", "A")
        ),
    );
    wait_until("first template", Duration::from_secs(10), || {
        agent.read("a") == "1"
    });

    let with_two = format!(
        "{}templates:\n{}{}",
        base(&dev, dir.path()),
        template("a", "A"),
        template("b", "A")
    )
    .replace("{dir}", &dir.path().display().to_string());
    std::fs::write(agent.path("agent.yaml"), with_two).unwrap();
    agent.signal(Signal::SIGHUP);
    wait_until("the added template", Duration::from_secs(10), || {
        agent.read("b") == "1"
    });
    assert_eq!(
        dev.stats()["tokens"]["issued"].as_u64(),
        Some(1),
        "a reload does not log in again"
    );

    std::fs::write(agent.path("agent.yaml"), "kms:\n  address: [not a url\n").unwrap();
    agent.signal(Signal::SIGHUP);
    wait_until("the rejection", Duration::from_secs(5), || {
        agent.logs().contains("reload rejected")
    });
    dev.set_secret("proj-1", "dev", "/", "A", "still-running");
    wait_until(
        "the old config keeps rendering",
        Duration::from_secs(10),
        || agent.read("a") == "still-running" && agent.read("b") == "still-running",
    );
}

#[test]
fn dry_run_prints_every_template_and_writes_nothing() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}templates:\n{}{}",
        base(&dev, dir.path()),
        template("a", "A"),
        template("b", "A")
    );
    let mut agent = Agent::start_with(dir.path(), &cfg, &["--dry-run"], &[]);
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("a dry run ends");
    assert!(status.success(), "{}", agent.logs());
    let out = agent.logs();
    assert!(
        out.contains("==> templates[0]") && out.contains("==> templates[1]"),
        "{out}"
    );
    assert!(
        !agent.path("a").exists() && !agent.path("b").exists() && !agent.path("token").exists()
    );
}

#[test]
fn deployment_files_parse_and_use_the_paths_their_configs_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let configmap = std::fs::read_to_string(root.join("kubernetes/configmap.yaml")).unwrap();
    let doc: serde_json::Value = yaml_serde::from_str(&configmap).unwrap();
    let deployment = std::fs::read_to_string(root.join("kubernetes/deployment.yaml")).unwrap();
    for key in ["agent-init.yaml", "agent.yaml"] {
        let text = doc["data"][key].as_str().unwrap();
        let cfg = kms_agent::config::parse_str(text, &kms_agent::config::EmptyEnv)
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(
            deployment.contains(&format!("/etc/kms-agent/{key}")),
            "{key} is not used by the deployment"
        );
        for t in &cfg.templates {
            assert!(
                t.destination.starts_with("/run/secrets/kms"),
                "{key}: destination outside the shared volume"
            );
        }
        assert!(cfg
            .sinks
            .iter()
            .all(|s| s.path.starts_with("/run/secrets/kms")));
        assert!(cfg
            .cache
            .as_ref()
            .is_some_and(|c| c.path.starts_with("/var/cache/kms-agent")));
    }
    for mount in ["/etc/kms-agent", "/run/secrets/kms", "/var/cache/kms-agent"] {
        assert!(deployment.contains(mount), "{mount} is not mounted");
    }
    // Every document of the deployment file is valid YAML.
    for part in deployment.split("\n---\n") {
        let _: serde_json::Value = yaml_serde::from_str(part).unwrap();
    }
    let unit = std::fs::read_to_string(root.join("systemd/kms-agent.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/kms agent --config /etc/kms-agent/agent.yaml"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    for section in ["[Unit]", "[Service]", "[Install]"] {
        assert!(unit.contains(section));
    }
}
