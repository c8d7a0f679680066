//! Validating `exec`: the child's argv, its environment templates and folders, and how it is
//! stopped and restarted. Template text and arguments are never echoed in errors.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::defaults;
use super::error::Errors;
use super::fields::{
    boolean, choice, duration, duration_or_zero, missing, non_empty, optional_path, present,
};
use super::model::*;
use super::raw::{RawEnvFolder, RawEnvVar, RawExec};
use super::reader::{Leaf, Site};
use crate::child::env::is_valid_env_name;
use crate::template::EngineKind;

/// The stop signals accepted, by their name without `SIG`.
const STOP_SIGNALS: &[(&str, Signal)] = &[
    ("HUP", Signal::SIGHUP),
    ("INT", Signal::SIGINT),
    ("QUIT", Signal::SIGQUIT),
    ("TERM", Signal::SIGTERM),
    ("USR1", Signal::SIGUSR1),
    ("USR2", Signal::SIGUSR2),
    ("KILL", Signal::SIGKILL),
    ("WINCH", Signal::SIGWINCH),
];

pub(crate) fn exec(raw: &RawExec, errs: &mut Errors) -> Option<ExecConfig> {
    let command = command(raw.command.as_ref(), errs);
    let env: Vec<Option<EnvTemplateConfig>> = raw.env.iter().map(|v| env_var(v, errs)).collect();
    let env_from: Vec<Option<EnvFolderConfig>> = raw
        .env_from
        .iter()
        .enumerate()
        .map(|(i, f)| env_folder(i, f, errs))
        .collect();
    let engine = match present(raw.engine.as_ref()) {
        Some(leaf) => choice(leaf, &["go", "handlebars"], errs).map(|e| match e {
            "handlebars" => EngineKind::Handlebars,
            _ => EngineKind::Go,
        }),
        None => Some(EngineKind::Go),
    };
    let polling_interval = duration(
        raw.polling_interval.as_ref(),
        defaults::TEMPLATE_POLLING_INTERVAL,
        false,
        errs,
    );
    let restart_on_change = match present(raw.restart_on_change.as_ref()) {
        Some(leaf) => choice(leaf, &["always", "never"], errs).map(|c| match c {
            "never" => RestartOnChange::Never,
            _ => RestartOnChange::Always,
        }),
        None => Some(defaults::EXEC_RESTART_ON_CHANGE),
    };
    let stop_signal = stop_signal(raw.stop_signal.as_ref(), errs);
    let stop_grace = stop_grace(raw.stop_grace.as_ref(), errs);
    let working_dir = optional_path(raw.working_dir.as_ref(), errs);
    let inherit_env = boolean(raw.inherit_env.as_ref(), defaults::EXEC_INHERIT_ENV, errs);
    Some(ExecConfig {
        command: command?,
        line: raw.site.at.line,
        env: env.into_iter().collect::<Option<_>>()?,
        env_from: env_from.into_iter().collect::<Option<_>>()?,
        engine: engine?,
        polling_interval: polling_interval?,
        restart_on_change: restart_on_change?,
        stop_signal: stop_signal?,
        stop_grace: stop_grace?,
        working_dir: working_dir?,
        inherit_env: inherit_env?,
    })
}

/// `exec.command`: absent is an empty argv (`kms run` supplies it); given, a non-empty list whose
/// first item (the program) is non-empty. Later items may be empty arguments.
fn command(raw: Option<&(Site, Vec<Leaf>)>, errs: &mut Errors) -> Option<Vec<String>> {
    let Some((site, items)) = raw else {
        return Some(Vec::new());
    };
    let Some(first) = items.first() else {
        errs.invalid(
            &site.path,
            site.at,
            "must not be an empty list: give at least the program to run",
        );
        return None;
    };
    if items.iter().any(|l| l.wrong_type) {
        return None; // already reported
    }
    if first.is_null() || first.text.trim().is_empty() {
        errs.invalid(&first.path, first.at, "the program must not be empty");
        return None;
    }
    Some(
        items
            .iter()
            .map(|l| {
                if l.is_null() {
                    String::new()
                } else {
                    l.text.clone()
                }
            })
            .collect(),
    )
}

fn env_var(raw: &RawEnvVar, errs: &mut Errors) -> Option<EnvTemplateConfig> {
    if !is_valid_env_name(&raw.name) {
        errs.invalid(
            &raw.name_site.path,
            raw.name_site.at,
            "not a valid environment variable name (letters, digits and _, not starting with a \
             digit)",
        );
        return None;
    }
    if raw.value.wrong_type {
        return None; // already reported
    }
    let template = if raw.value.is_null() {
        String::new()
    } else {
        raw.value.text.clone()
    };
    Some(EnvTemplateConfig {
        name: raw.name.clone(),
        template,
        line: raw.value.at.line,
    })
}

fn env_folder(index: usize, raw: &RawEnvFolder, errs: &mut Errors) -> Option<EnvFolderConfig> {
    let required = |leaf: Option<&Leaf>, key: &str, errs: &mut Errors| match present(leaf) {
        Some(l) => non_empty(l, errs).map(|t| t.trim().to_string()),
        None => {
            missing(leaf, key, &raw.site, None, errs);
            None
        }
    };
    let project = required(raw.project.as_ref(), "project", errs);
    let environment = required(raw.environment.as_ref(), "environment", errs);
    let path = match present(raw.path.as_ref()) {
        None => Some("/".to_string()),
        Some(l) if l.text.trim().starts_with('/') => Some(l.text.trim().to_string()),
        Some(l) => {
            errs.invalid(
                &l.path,
                l.at,
                "must be a folder path starting with /, e.g. / or /app/db",
            );
            None
        }
    };
    let recursive = boolean(
        raw.recursive.as_ref(),
        defaults::EXEC_ENV_FROM_RECURSIVE,
        errs,
    );
    Some(EnvFolderConfig {
        index,
        project: project?,
        environment: environment?,
        path: path?,
        recursive: recursive?,
    })
}

/// `exec.stop-signal`: a name from [`STOP_SIGNALS`], with or without `SIG`, in any case.
fn stop_signal(leaf: Option<&Leaf>, errs: &mut Errors) -> Option<Signal> {
    let Some(leaf) = present(leaf) else {
        return Some(defaults::EXEC_STOP_SIGNAL);
    };
    let upper = leaf.text.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    match STOP_SIGNALS.iter().find(|(n, _)| *n == name) {
        Some((_, signal)) => Some(*signal),
        None => {
            let names: Vec<&str> = STOP_SIGNALS.iter().map(|(n, _)| *n).collect();
            errs.invalid(
                &leaf.path,
                leaf.at,
                format!("must be one of: {} (with or without SIG)", names.join(", ")),
            );
            None
        }
    }
}

/// `exec.stop-grace`: a duration or bare seconds; zero (SIGKILL right after the stop signal) is
/// allowed, at most [`defaults::MAX_SHUTDOWN_GRACE`].
fn stop_grace(leaf: Option<&Leaf>, errs: &mut Errors) -> Option<Duration> {
    let grace = duration_or_zero(leaf, defaults::EXEC_STOP_GRACE, true, errs)?;
    if grace > defaults::MAX_SHUTDOWN_GRACE {
        if let Some(leaf) = present(leaf) {
            errs.invalid(&leaf.path, leaf.at, "must be at most 1h");
        }
        return None;
    }
    Some(grace)
}

#[cfg(test)]
mod tests {
    use crate::config::{parse_str, EmptyEnv};

    const AUTH: &str =
        "auth:\n  type: universal-auth\n  config:\n    client-id: ./id\n    client-secret: ./s\n";

    fn errors(exec: &str) -> Vec<(String, usize, String)> {
        let text = format!("{AUTH}{exec}");
        let errs = parse_str(&text, &EmptyEnv).expect_err("invalid");
        errs.errors()
            .iter()
            .map(|e| (e.path.clone(), e.line().unwrap(), e.to_string()))
            .collect()
    }

    #[test]
    fn every_exec_error_is_reported_at_once_with_path_and_line() {
        // Lines 1-5 are the auth section.
        let got = errors(
            r#"exec:
  command: "/app/server --port SECRETARG"
  env:
    API-KEY: '{{ SECRETTEMPLATE }}'
    OK_NAME: '{{ SECRETTEMPLATE }}'
    9LIVES: x
  env-from:
    - environment: dev
      path: SECRETFOLDER
    - project: p
      environment: dev
      recursive: maybe
  restart-on-change: sometimes
  stop-signal: SIGSECRET
  stop-grace: 2h
  stop_grace: 1s
  inherit_env: true
"#,
        );
        let want: &[(&str, usize, &str)] = &[
            (
                "exec.command",
                7,
                "wrong type: expected a list of arguments, e.g. [\"/app/server\", \"--port\", \
                 \"8080\"] (for a shell, write [\"sh\", \"-c\", \"...\"])",
            ),
            (
                "exec.env.API-KEY",
                9,
                "not a valid environment variable name (letters, digits and _, not starting \
                 with a digit)",
            ),
            (
                "exec.env.9LIVES",
                11,
                "not a valid environment variable name",
            ),
            ("exec.env-from[0].project", 13, "required field is missing"),
            (
                "exec.env-from[0].path",
                14,
                "must be a folder path starting with /",
            ),
            (
                "exec.env-from[1].recursive",
                17,
                "wrong type: expected a boolean",
            ),
            (
                "exec.restart-on-change",
                18,
                "must be one of: always, never",
            ),
            (
                "exec.stop-signal",
                19,
                "must be one of: HUP, INT, QUIT, TERM, USR1, USR2, KILL, WINCH (with or without \
                 SIG)",
            ),
            ("exec.stop-grace", 20, "must be at most 1h"),
            (
                "exec.stop_grace",
                21,
                "unknown key (did you mean `stop-grace`?)",
            ),
            (
                "exec.inherit_env",
                22,
                "unknown key (did you mean `inherit-env`?)",
            ),
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for ((path, line, msg), (wpath, wline, wmsg)) in got.iter().zip(want) {
            assert_eq!((path.as_str(), *line), (*wpath, *wline), "{msg}");
            assert!(msg.contains(wmsg), "{msg} should contain {wmsg}");
            assert!(!msg.contains("SECRET"), "{msg}");
        }
    }

    #[test]
    fn empty_command_list_and_empty_program_are_errors() {
        let got = errors("exec:\n  command: []\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0.as_str(), got[0].1), ("exec.command", 7));
        assert!(got[0].2.contains("must not be an empty list"), "{got:?}");

        let got = errors("exec:\n  command:\n    - \"  \"\n    - --flag\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0.as_str(), got[0].1), ("exec.command[0]", 8));
        assert!(
            got[0].2.contains("the program must not be empty"),
            "{got:?}"
        );

        let got = errors("exec:\n  command: [/bin/x, [a], {b: c}]\n  env:\n    A: [1]\n");
        let paths: Vec<_> = got.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
        assert_eq!(
            paths,
            vec![
                ("exec.command[1]", 7),
                ("exec.command[2]", 7),
                ("exec.env.A", 9)
            ],
            "{got:?}"
        );
    }

    #[test]
    fn env_keys_are_checked_for_duplicates_and_type() {
        let got = errors("exec:\n  env:\n    A: x\n    A: y\n    [k]: z\n");
        let paths: Vec<_> = got.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
        assert_eq!(paths, vec![("exec.env.A", 9), ("exec.env", 10)], "{got:?}");
        assert!(got[0].2.contains("key given twice"));
        assert!(got[1].2.contains("text keys"));
        let got = errors("exec:\n  env: [A]\n");
        assert_eq!((got[0].0.as_str(), got[0].1), ("exec.env", 7));
    }

    #[test]
    fn stop_signals_take_any_case_with_or_without_sig_and_zero_grace() {
        use nix::sys::signal::Signal;
        for (text, want) in [
            ("HUP", Signal::SIGHUP),
            ("sigint", Signal::SIGINT),
            ("SigQuit", Signal::SIGQUIT),
            ("usr1", Signal::SIGUSR1),
            ("SIGUSR2", Signal::SIGUSR2),
            ("kill", Signal::SIGKILL),
            ("WINCH", Signal::SIGWINCH),
        ] {
            let doc = format!("{AUTH}exec:\n  stop-signal: {text}\n  stop-grace: 0s\n");
            let exec = parse_str(&doc, &EmptyEnv).unwrap().exec.unwrap();
            assert_eq!(exec.stop_signal, want, "{text}");
            assert!(exec.stop_grace.is_zero());
        }
        let doc = format!("{AUTH}exec:\n  stop-grace: 1h\n");
        let exec = parse_str(&doc, &EmptyEnv).unwrap().exec.unwrap();
        assert_eq!(exec.stop_grace.as_secs(), 3600);
        let got = errors("exec:\n  stop-signal: STOP\n  stop-grace: -1s\n");
        let paths: Vec<_> = got.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
        assert_eq!(
            paths,
            vec![("exec.stop-signal", 7), ("exec.stop-grace", 8)],
            "{got:?}"
        );
    }
}
