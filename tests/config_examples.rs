//! Every file in `config-examples/` must validate, through the library and through
//! `kms agent validate`; `templates.yaml` must hold the documentation templates verbatim.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kms_agent::config::{self, AuthConfig, ConfigSource, Credential, EmptyEnv, TemplateSource};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config-examples")
}

fn example(name: &str) -> config::Config {
    let source = ConfigSource::File(examples_dir().join(name));
    config::load(&source, &EmptyEnv).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn all_examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn there_is_one_example_per_auth_method() {
    for method in [
        "universal-auth",
        "kubernetes",
        "azure",
        "gcp-id-token",
        "gcp-iam",
        "aws-iam",
    ] {
        let cfg = example(&format!("{method}.yaml"));
        assert_eq!(cfg.auth.method_name(), method);
    }
}

#[test]
fn every_example_validates_in_the_library_and_the_binary() {
    let files = all_examples();
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        config::load(&ConfigSource::File(file.clone()), &EmptyEnv)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let out = kms()
            .args(["agent", "validate", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("configuration is valid"), "{stdout}");
    }
}

#[test]
fn templates_example_holds_the_documentation_templates_verbatim() {
    let cfg = example("templates.yaml");
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gotemplate/cases");
    let names = [
        "001-doc-a-secret-nonrecursive",
        "002-doc-b-secret-recursive",
        "003-doc-c-getsecretbyname",
        "004-doc-d-dynamic-secret",
        "005-doc-e-secret-no-modifier",
    ];
    assert_eq!(cfg.templates.len(), names.len());
    for (template, name) in cfg.templates.iter().zip(names) {
        let want = std::fs::read_to_string(cases.join(format!("{name}.tmpl"))).unwrap();
        assert_eq!(
            template.source,
            TemplateSource::Inline {
                content: want,
                from_base64: false
            },
            "{name}"
        );
    }
}

#[test]
fn demo_example_targets_the_dev_server() {
    let cfg = example("demo.yaml");
    assert_eq!(cfg.kms.address.as_str(), "http://127.0.0.1:8200/");
    let AuthConfig::UniversalAuth(ua) = &cfg.auth else {
        panic!("demo uses universal-auth")
    };
    assert_eq!(ua.client_id, Credential::File("./demo/client-id".into()));
    assert_eq!(
        ua.client_secret,
        Credential::File("./demo/client-secret".into())
    );
    assert_eq!(cfg.sinks.len(), 1);
    assert_eq!(cfg.templates.len(), 1);
    let t = &cfg.templates[0];
    assert_eq!(t.polling_interval, Duration::from_secs(2));
    let TemplateSource::Inline { content, .. } = &t.source else {
        panic!("inline demo template")
    };
    assert!(content.contains(r#"secret "6553ccb2b7da580d7f6e7260" "dev" "/""#));
    // ... which is the dev server's built-in demo project.
    assert_eq!(
        kms_agent::devserver::demo::DEMO_PROJECT_ID,
        "6553ccb2b7da580d7f6e7260"
    );
}

fn kms() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kms"));
    for (name, _) in std::env::vars() {
        if name.starts_with("KMS_") || name.starts_with("INFISICAL_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn agent_logs_the_summary_then_runs_and_exit_after_auth_fails_without_a_server() {
    // Nothing listens on port 1: with exit-after-auth the failed login ends the agent (exit 1).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("id"), "client").unwrap();
    std::fs::write(dir.path().join("secret"), "SECRET-SHOULD-NOT-APPEAR").unwrap();
    let cfg = format!(
        "kms:\n  address: http://127.0.0.1:1\n  exit-after-auth: true\n  retry-strategy:\n    max-retries: 0\nauth:\n  type: universal-auth\n  config:\n    client-id: {d}/id\n    client-secret: {d}/secret\n",
        d = dir.path().display()
    );
    let path = dir.path().join("agent.yaml");
    std::fs::write(&path, cfg).unwrap();
    let out = kms()
        .args(["agent", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth: universal-auth"),
        "summary logged: {stderr}"
    );
    assert!(stderr.contains("login failed"), "{stderr}");
    assert!(!stderr.contains("SECRET-SHOULD-NOT-APPEAR"));
}

#[test]
fn validate_also_takes_the_parent_config_flag() {
    let out = kms()
        .args(["agent", "--config"])
        .arg(examples_dir().join("azure.yaml"))
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("auth: azure"));
    // The sub-command's own --config wins.
    let out = kms()
        .args([
            "agent",
            "--config",
            "/nonexistent.yaml",
            "validate",
            "--config",
        ])
        .arg(examples_dir().join("aws-iam.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("auth: aws-iam"));
}
