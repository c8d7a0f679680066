//! Every bad configuration in `tests/fixtures/config/bad/` must fail with the errors its header
//! announces (field path, line, part of the message), and no error may contain the offending
//! value (`# secret:`), neither from the library nor from the `kms` binary.
//!
//! Header format, at the top of each fixture:
//! ```text
//! # <what is wrong>
//! # expect: <field path or (document)> @ <line> ~ <message fragment>
//! # secret: <text that must never appear in the output, or none>
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use kms_agent::config::{self, ConfigSource, EmptyEnv};

struct Expect {
    path: String,
    line: usize,
    fragment: String,
}

struct Fixture {
    file: PathBuf,
    expects: Vec<Expect>,
    secret: Option<String>,
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.into_iter().map(|f| parse_header(&f)).collect()
}

fn parse_header(file: &Path) -> Fixture {
    let text = std::fs::read_to_string(file).expect("read fixture");
    let mut expects = Vec::new();
    let mut secret = None;
    let mut saw_secret_line = false;
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let (path, rest) = rest.split_once(" @ ").expect("expect: PATH @ LINE ~ TEXT");
            let (line_no, fragment) = rest.split_once(" ~ ").expect("expect: PATH @ LINE ~ TEXT");
            expects.push(Expect {
                path: if path == "(document)" {
                    String::new()
                } else {
                    path.to_string()
                },
                line: line_no.parse().expect("line number"),
                fragment: fragment.to_string(),
            });
        } else if let Some(rest) = line.strip_prefix("# secret: ") {
            saw_secret_line = true;
            secret = (rest != "none").then(|| rest.to_string());
        }
    }
    assert!(
        !expects.is_empty(),
        "{}: no `# expect:` line",
        file.display()
    );
    assert!(saw_secret_line, "{}: no `# secret:` line", file.display());
    if let Some(s) = &secret {
        assert!(
            text.contains(s.as_str()),
            "{}: secret not in the body",
            file.display()
        );
    }
    Fixture {
        file: file.to_path_buf(),
        expects,
        secret,
    }
}

#[test]
fn there_are_at_least_twenty_bad_configs() {
    assert!(fixtures().len() >= 20);
}

#[test]
fn each_bad_config_reports_exactly_its_errors_with_path_and_line_and_never_the_value() {
    let mut failures = Vec::new();
    for fx in fixtures() {
        let name = fx.file.file_name().unwrap().to_string_lossy().to_string();
        let source = ConfigSource::File(fx.file.clone());
        let errors = match config::load(&source, &EmptyEnv) {
            Ok(_) => {
                failures.push(format!("{name}: loaded without error"));
                continue;
            }
            Err(e) => e,
        };
        let rendered = format!("{errors}\n{errors:?}");
        if errors.len() != fx.expects.len() {
            failures.push(format!(
                "{name}: expected {} error(s), got:\n{errors}",
                fx.expects.len()
            ));
        }
        for ex in &fx.expects {
            let found = errors.errors().iter().any(|e| {
                e.path == ex.path
                    && e.line() == Some(ex.line)
                    && e.to_string().contains(&ex.fragment)
            });
            if !found {
                failures.push(format!(
                    "{name}: no error `{}` at line {} containing `{}`; got:\n{errors}",
                    ex.path, ex.line, ex.fragment
                ));
            }
            // The rendered form starts with `line:column:` and names the path.
            let prefix = format!("{}:", ex.line);
            if !errors
                .errors()
                .iter()
                .any(|e| e.to_string().starts_with(&prefix))
            {
                failures.push(format!("{name}: no message starts with `{prefix}`"));
            }
        }
        if let Some(secret) = &fx.secret {
            if rendered.contains(secret.as_str()) {
                failures.push(format!(
                    "{name}: the output contains the value:\n{rendered}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn kms() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kms"));
    // Hermetic: no configuration or credential from the test runner's environment.
    for (name, _) in std::env::vars() {
        if name.starts_with("KMS_") || name.starts_with("INFISICAL_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn binary_prints_all_three_errors_and_exits_2() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/bad/three-errors.yaml");
    let out = kms()
        .args(["agent", "validate", "--config"])
        .arg(&file)
        .output()
        .expect("run kms");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 configuration error(s)"), "{stderr}");
    for (line, path) in [
        (7, "kms.timeout"),
        (17, "sinks[0].config.permissions"),
        (22, "templates[0].config.polling-interval"),
    ] {
        let want = format!("three-errors.yaml:{line}:");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&want) && l.contains(path)),
            "missing {path} at line {line} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("SECRET"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_exits_2_on_every_bad_config_without_printing_the_value() {
    for fx in fixtures() {
        for args in [
            &["agent", "validate", "--config"][..],
            &["agent", "--config"][..],
        ] {
            let out = kms().args(args).arg(&fx.file).output().expect("run kms");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(2), "{}: {all}", fx.file.display());
            if let Some(secret) = &fx.secret {
                assert!(
                    !all.contains(secret.as_str()),
                    "{}: {all}",
                    fx.file.display()
                );
            }
            for ex in &fx.expects {
                assert!(all.contains(&format!(":{}:", ex.line)), "{all}");
            }
        }
    }
}

#[test]
fn binary_reports_a_missing_file_with_exit_2() {
    let out = kms()
        .args(["agent", "validate", "--config", "/nonexistent/agent.yaml"])
        .output()
        .expect("run kms");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/agent.yaml"));
}
