//! Loading valid configurations: defaults, typed values, environment overrides (through an
//! injected environment, never the process one), config sources and the summary.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use kms_agent::config::{
    self, defaults, ApiVersion, AuthConfig, CacheKeySource, ConfigOrigin, ConfigSource, Credential,
    EmptyEnv, EnvFolderConfig, MapEnv, RestartOnChange, TemplateSource,
};
use kms_agent::template::EngineKind;

const MINIMAL: &str =
    "auth:\n  type: universal-auth\n  config:\n    client-id: ./id\n    client-secret: ./secret\n";

fn env(pairs: &[(&str, &str)]) -> MapEnv {
    MapEnv::from_pairs(pairs)
}

#[test]
fn minimal_config_gets_every_default() {
    let cfg = config::parse_str(MINIMAL, &EmptyEnv).unwrap();
    assert_eq!(cfg.kms.address.as_str(), "https://app.kms.hanzo.ai/");
    assert_eq!(cfg.kms.timeout, defaults::KMS_TIMEOUT);
    assert_eq!(cfg.kms.timeout, Duration::from_secs(30));
    assert_eq!(cfg.kms.api_version, ApiVersion::Auto);
    assert!(!cfg.kms.exit_after_auth);
    assert!(!cfg.kms.revoke_credentials_on_shutdown);
    assert_eq!(cfg.kms.retry.max_retries, 3);
    assert_eq!(cfg.kms.retry.base_delay, Duration::from_millis(200));
    assert_eq!(cfg.kms.retry.max_delay, Duration::from_secs(5));
    assert!(cfg.sinks.is_empty() && cfg.templates.is_empty());
    assert!(cfg.cache.is_none() && cfg.listener.is_none());
    let AuthConfig::UniversalAuth(ua) = &cfg.auth else {
        panic!("not universal-auth")
    };
    assert_eq!(ua.client_id, Credential::File(PathBuf::from("./id")));
    assert_eq!(
        ua.client_secret,
        Credential::File(PathBuf::from("./secret"))
    );
    assert!(!ua.remove_client_secret_on_read);
    assert!(cfg.env_overrides.is_empty());
}

#[test]
fn full_config_is_typed() {
    let text = r#"
infisical:
  address: http://127.0.0.1:8200
  timeout: 10s
  tls:
    ca-cert: /etc/ca.pem
  api-version: v4
  exit-after-auth: true
  revoke-credentials-on-shutdown: true
  retry-strategy: { max-retries: 0, base-delay: 1s, max-delay: 1m }
auth:
  type: kubernetes
  config:
    identity-id: /etc/id
sinks:
  - type: file
    config: { path: /run/token, permissions: "640" }
cache:
  persistent: { type: file, path: /var/cache/kms, key-file: /etc/key, gc-interval: 1h, max-entries: 50 }
templates:
  - source-path: /etc/a.hbs
    destination-path: /run/a
  - source-path: /etc/b.tmpl
    destination-path: /run/b
    engine: handlebars
    config:
      polling-interval: 1h30m
      permissions: 0644
      execute: { command: "kill -HUP 1", timeout: 45 }
  - base64-template-content: e3sgLktleSB9fQ==
    destination-path: /run/c
    config:
      execute: { command: "true", timeout: 2m }
listener:
  address: "[::1]:9000"
"#;
    let cfg = config::parse_str(text, &EmptyEnv).unwrap();
    assert_eq!(cfg.kms.address.as_str(), "http://127.0.0.1:8200/");
    assert_eq!(cfg.kms.timeout, Duration::from_secs(10));
    assert_eq!(cfg.kms.ca_cert, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(cfg.kms.api_version, ApiVersion::V4);
    assert!(cfg.kms.exit_after_auth && cfg.kms.revoke_credentials_on_shutdown);
    assert_eq!(cfg.kms.retry.max_retries, 0);
    assert_eq!(cfg.kms.retry.max_delay, Duration::from_secs(60));
    let AuthConfig::Kubernetes(k) = &cfg.auth else {
        panic!("not kubernetes")
    };
    assert_eq!(k.identity_id, Credential::File("/etc/id".into()));
    assert_eq!(
        k.service_account_token,
        PathBuf::from(defaults::SERVICE_ACCOUNT_TOKEN_PATH)
    );
    assert_eq!(cfg.sinks[0].permissions, 0o640);
    let cache = cfg.cache.as_ref().unwrap();
    assert_eq!(
        cache.key,
        CacheKeySource::File {
            key_file: "/etc/key".into()
        }
    );
    assert_eq!(cache.gc_interval, Duration::from_secs(3600));
    assert_eq!(cache.max_entries, NonZeroUsize::new(50).unwrap());
    let [a, b, c] = &cfg.templates[..] else {
        panic!("three templates")
    };
    assert_eq!(a.engine, EngineKind::Handlebars, ".hbs source");
    assert_eq!(a.polling_interval, defaults::TEMPLATE_POLLING_INTERVAL);
    assert_eq!(a.permissions, 0o600);
    assert!(a.execute.is_none());
    assert_eq!(b.engine, EngineKind::Handlebars, "explicit engine");
    assert_eq!(b.index, 1);
    assert_eq!(b.polling_interval, Duration::from_secs(5400));
    assert_eq!(b.permissions, 0o644, "unquoted 0644 is octal");
    let exec = b.execute.as_ref().unwrap();
    assert_eq!(exec.command, "kill -HUP 1");
    assert_eq!(
        exec.timeout,
        Duration::from_secs(45),
        "bare integer = seconds"
    );
    assert_eq!(c.engine, EngineKind::Go);
    assert_eq!(
        c.source,
        TemplateSource::Inline {
            content: "{{ .Key }}".into(),
            from_base64: true
        }
    );
    assert_eq!(
        c.execute.as_ref().unwrap().timeout,
        Duration::from_secs(120)
    );
    assert_eq!(cfg.listener.unwrap().address, "[::1]:9000".parse().unwrap());
}

#[test]
fn kubernetes_cache_defaults_to_the_service_account_token_and_gc_every_10m() {
    let text = format!("{MINIMAL}cache:\n  persistent:\n    type: kubernetes\n    path: /c\n");
    let cache = config::parse_str(&text, &EmptyEnv).unwrap().cache.unwrap();
    assert_eq!(
        cache.key,
        CacheKeySource::Kubernetes {
            service_account_token_path: defaults::SERVICE_ACCOUNT_TOKEN_PATH.into()
        }
    );
    assert_eq!(cache.gc_interval, Duration::from_secs(600));
    assert_eq!(cache.max_entries, defaults::CACHE_MAX_ENTRIES);
}

#[test]
fn universal_auth_env_values_override_files_and_kms_names_win() {
    let e = env(&[
        ("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "old-id"),
        ("KMS_UNIVERSAL_AUTH_CLIENT_ID", "new-id"),
        ("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", "old-secret"),
        ("KMS_UNIVERSAL_CLIENT_SECRET", "older-spelling-secret"),
    ]);
    let cfg = config::parse_str(MINIMAL, &e).unwrap();
    let AuthConfig::UniversalAuth(ua) = &cfg.auth else {
        panic!()
    };
    assert_eq!(ua.client_id, Credential::Value("new-id".to_string().into()));
    assert_eq!(
        ua.client_secret,
        Credential::Value("older-spelling-secret".to_string().into())
    );
    assert_eq!(
        cfg.env_overrides,
        vec![
            "KMS_UNIVERSAL_AUTH_CLIENT_ID",
            "KMS_UNIVERSAL_CLIENT_SECRET"
        ]
    );
    // The summary names the variables, never their values.
    let summary = cfg.summary();
    assert!(summary.contains("KMS_UNIVERSAL_CLIENT_SECRET"), "{summary}");
    assert!(
        summary.contains("client-secret from the environment"),
        "{summary}"
    );
    assert!(!summary.contains("older-spelling-secret") && !summary.contains("new-id"));
    assert!(!format!("{cfg:?}").contains("older-spelling-secret"));

    let e = env(&[
        ("KMS_UNIVERSAL_AUTH_CLIENT_SECRET", "preferred"),
        ("KMS_UNIVERSAL_CLIENT_SECRET", "older"),
    ]);
    let AuthConfig::UniversalAuth(ua) = config::parse_str(MINIMAL, &e).unwrap().auth else {
        panic!()
    };
    assert_eq!(
        ua.client_secret,
        Credential::Value("preferred".to_string().into())
    );
    assert_eq!(ua.client_id, Credential::File("./id".into()));
}

#[test]
fn env_fills_in_credentials_missing_from_the_file() {
    let text = "auth:\n  type: universal-auth\n";
    assert!(config::parse_str(text, &EmptyEnv).is_err());
    let e = env(&[
        ("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "id"),
        ("INFISICAL_UNIVERSAL_CLIENT_SECRET", "s"),
    ]);
    let cfg = config::parse_str(text, &e).unwrap();
    assert_eq!(
        cfg.env_overrides,
        vec![
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID",
            "INFISICAL_UNIVERSAL_CLIENT_SECRET"
        ]
    );
}

#[test]
fn identity_and_path_overrides_for_the_other_methods() {
    let e = env(&[
        ("INFISICAL_MACHINE_IDENTITY_ID", "infisical-identity"),
        ("KMS_MACHINE_IDENTITY_ID", "kms-identity"),
        ("KMS_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH", "/var/token"),
        (
            "INFISICAL_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH",
            "/var/key.json",
        ),
    ]);
    let kms_identity = Credential::Value("kms-identity".to_string().into());
    for method in ["azure", "gcp-id-token", "aws-iam", "kubernetes", "gcp-iam"] {
        let text = format!("auth:\n  type: {method}\n");
        let cfg = config::parse_str(&text, &e).unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(cfg.auth.method_name(), method);
        match cfg.auth {
            AuthConfig::Azure(i) | AuthConfig::GcpIdToken(i) | AuthConfig::AwsIam(i) => {
                assert_eq!(i.identity_id, kms_identity)
            }
            AuthConfig::Kubernetes(k) => {
                assert_eq!(k.identity_id, kms_identity);
                assert_eq!(k.service_account_token, PathBuf::from("/var/token"));
            }
            AuthConfig::GcpIam(g) => {
                assert_eq!(g.identity_id, kms_identity);
                assert_eq!(g.service_account_key, PathBuf::from("/var/key.json"));
            }
            AuthConfig::UniversalAuth(_) => unreachable!(),
        }
    }
}

#[test]
fn gcp_iam_without_a_key_names_the_field_and_the_variable() {
    let text = "auth:\n  type: gcp-iam\n  config:\n    identity-id: /id\n";
    let errors = config::parse_str(text, &EmptyEnv).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors}");
    let e = &errors.errors()[0];
    assert_eq!(e.path, "auth.config.service-account-key");
    assert_eq!(e.line(), Some(3));
    assert!(e
        .to_string()
        .contains("KMS_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH"));
}

#[test]
fn config_source_prefers_the_base64_variable() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(MINIMAL);
    let e = env(&[("KMS_AGENT_CONFIG_BASE64", &encoded)]);
    let source = ConfigSource::select("/nonexistent.yaml", &e);
    assert_eq!(source, ConfigSource::EnvBase64);
    let cfg = config::load(&source, &e).unwrap();
    assert_eq!(
        cfg.origin,
        ConfigOrigin::EnvBase64("KMS_AGENT_CONFIG_BASE64")
    );
    assert!(cfg.summary().contains("KMS_AGENT_CONFIG_BASE64"));

    let source = ConfigSource::select("/nonexistent.yaml", &EmptyEnv);
    assert_eq!(source, ConfigSource::File("/nonexistent.yaml".into()));
    let errors = config::load(&source, &EmptyEnv).unwrap_err();
    assert!(errors.to_string().contains("/nonexistent.yaml"));

    let bad = env(&[("KMS_AGENT_CONFIG_BASE64", "not base64 SECRET!")]);
    let errors = config::load(&ConfigSource::EnvBase64, &bad).unwrap_err();
    assert!(errors.to_string().contains("not valid base64"));
    assert!(!errors.to_string().contains("SECRET"));
}

#[test]
fn binary_uses_the_base64_variable_and_says_so() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(MINIMAL);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(["agent", "validate", "--config", "/nonexistent.yaml"])
        .env("KMS_AGENT_CONFIG_BASE64", encoded)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("environment variable KMS_AGENT_CONFIG_BASE64"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/nonexistent.yaml was not read"),
        "{stdout}"
    );
    assert!(stdout.contains("files are read at login"), "{stdout}");
}

#[test]
fn empty_document_reports_missing_auth() {
    let errors = config::parse_str("", &EmptyEnv).unwrap_err();
    assert_eq!(errors.errors()[0].path, "auth");
    assert_eq!(errors.errors()[0].line(), Some(1));
}

#[test]
fn summary_lists_templates_with_source_destination_engine_interval_and_command() {
    let text = format!(
        "{MINIMAL}sinks:\n  - type: file\n    config: {{path: /run/t}}\ntemplates:\n  - source-path: /etc/x.tmpl\n    destination-path: /run/x\n    config:\n      polling-interval: 2s\n      execute: {{command: reload-x}}\n"
    );
    let s = config::parse_str(&text, &EmptyEnv).unwrap().summary();
    assert!(s.contains("auth: universal-auth"), "{s}");
    assert!(s.contains("file /run/t (mode 0600)"), "{s}");
    assert!(
        s.contains("[0] /etc/x.tmpl -> /run/x (engine go, every 2s, mode 0600)"),
        "{s}"
    );
    assert!(s.contains("command: reload-x (timeout 30s)"), "{s}");
}

#[test]
fn hostile_documents_fail_cleanly() {
    // Deep nesting and alias bombs must give errors, not a crash or a memory blow-up.
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    assert!(config::parse_str(&deep, &EmptyEnv).is_err());
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    let errors = config::parse_str(&bomb, &EmptyEnv).unwrap_err();
    assert!(errors.to_string().contains("alias"), "{errors}");
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "[a-z:\\-\\[\\]{}&*!|>'\" \n\t#0-9]{0,200}") {
        let _ = config::parse_str(&text, &EmptyEnv);
    }
}

#[test]
fn summary_never_shows_credential_paths() {
    // A secret pasted where its file path belongs must not reach the summary (or the log).
    let text = "auth:\n  type: universal-auth\n  config:\n    client-id: PASTED-ID\n    client-secret: PASTED-SECRET\n";
    let s = config::parse_str(text, &EmptyEnv).unwrap().summary();
    assert!(!s.contains("PASTED"), "{s}");
    assert!(s.contains("client-secret from a file"), "{s}");
}

#[test]
fn full_exec_section_is_typed() {
    let text = format!(
        r#"{MINIMAL}exec:
  command: ["/app/server", "--port", "8080"]
  env:
    API_KEY: '{{{{ with getSecretByName "proj-id" "dev" "/" "API_KEY" }}}}{{{{ .Value }}}}{{{{ end }}}}'
    DB_URL: 'postgres://{{{{ .Host }}}}'
    EMPTY:
  env-from:
    - project: 6553ccb2b7da580d7f6e7260
      environment: dev
    - project: other
      environment: prod
      path: /app/db
      recursive: true
  engine: handlebars
  polling-interval: 1m
  restart-on-change: never
  stop-signal: sigint
  stop-grace: 0s
  working-dir: /app
  inherit-env: false
"#
    );
    let cfg = config::parse_str(&text, &EmptyEnv).unwrap();
    let exec = cfg.exec.as_ref().unwrap();
    assert_eq!(exec.command, ["/app/server", "--port", "8080"]);
    assert_eq!(exec.line, 6);
    let env: Vec<_> = exec.env.iter().map(|e| (e.name.as_str(), e.line)).collect();
    assert_eq!(env, [("API_KEY", 9), ("DB_URL", 10), ("EMPTY", 11)]);
    assert_eq!(
        exec.env[0].template,
        r#"{{ with getSecretByName "proj-id" "dev" "/" "API_KEY" }}{{ .Value }}{{ end }}"#
    );
    assert_eq!(
        exec.env[2].template, "",
        "a null value is an empty template"
    );
    assert_eq!(
        exec.env_from,
        [
            EnvFolderConfig {
                index: 0,
                project: "6553ccb2b7da580d7f6e7260".into(),
                environment: "dev".into(),
                path: "/".into(),
                recursive: false,
            },
            EnvFolderConfig {
                index: 1,
                project: "other".into(),
                environment: "prod".into(),
                path: "/app/db".into(),
                recursive: true,
            },
        ]
    );
    assert_eq!(exec.engine, EngineKind::Handlebars);
    assert_eq!(exec.polling_interval, Duration::from_secs(60));
    assert_eq!(exec.restart_on_change, RestartOnChange::Never);
    assert_eq!(exec.stop_signal, nix::sys::signal::Signal::SIGINT);
    assert_eq!(exec.stop_grace, Duration::ZERO, "zero grace is allowed");
    assert_eq!(exec.working_dir, Some(PathBuf::from("/app")));
    assert!(!exec.inherit_env);

    let s = cfg.summary();
    assert!(
        s.contains(
            "exec: /app/server (+2 args), 3 env templates, 2 folders, restart on change: never, \
             stop: SIGINT then SIGKILL after 0s, in /app, agent environment not inherited"
        ),
        "{s}"
    );
    assert!(!s.contains("8080") && !s.contains("getSecretByName"), "{s}");
}

#[test]
fn exec_with_only_a_command_gets_every_default() {
    let text = format!("{MINIMAL}exec:\n  command: [/app/server]\n");
    let cfg = config::parse_str(&text, &EmptyEnv).unwrap();
    let exec = cfg.exec.as_ref().unwrap();
    assert_eq!(exec.command, ["/app/server"]);
    assert!(exec.env.is_empty() && exec.env_from.is_empty());
    assert_eq!(exec.engine, EngineKind::Go);
    assert_eq!(exec.polling_interval, defaults::TEMPLATE_POLLING_INTERVAL);
    assert_eq!(exec.restart_on_change, defaults::EXEC_RESTART_ON_CHANGE);
    assert_eq!(exec.stop_signal, defaults::EXEC_STOP_SIGNAL);
    assert_eq!(exec.stop_grace, defaults::EXEC_STOP_GRACE);
    assert_eq!(exec.working_dir, None);
    assert_eq!(exec.inherit_env, defaults::EXEC_INHERIT_ENV);
    let s = cfg.summary();
    assert!(
        s.contains(
            "exec: /app/server, 0 env templates, 0 folders, restart on change: always, \
             stop: SIGTERM then SIGKILL after 10s\n"
        ),
        "{s}"
    );
    assert!(config::parse_str(MINIMAL, &EmptyEnv)
        .unwrap()
        .exec
        .is_none());
}

#[test]
fn exec_without_a_command_leaves_it_to_kms_run() {
    let text = format!(
        "{MINIMAL}exec:\n  env:\n    A: x\n  env-from:\n    - {{project: p, environment: dev}}\n"
    );
    let cfg = config::parse_str(&text, &EmptyEnv).unwrap();
    assert!(cfg.exec.as_ref().unwrap().command.is_empty());
    let s = cfg.summary();
    assert!(
        s.contains("exec: (command from `kms run`), 1 env template, 1 folder,"),
        "{s}"
    );
}
