//! `kms run`: run one program with secrets in its environment, restarted when they change. The
//! shortcut for the agent's `exec` section (docs/behaviour.md §8): with `--config`, the file's
//! auth and `exec` section, the program after `--` replacing `exec.command`; without, a config
//! built from the flags (one folder's secrets, universal-auth credentials from the
//! `KMS_UNIVERSAL_AUTH_CLIENT_ID`/`_SECRET` variables the agent accepts). Either way the same
//! validation and the same runtime as `kms agent`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::EXIT_CONFIG_ERROR;
use kms_agent::config::{self, ConfigSource, ProcessEnv};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  kms run --config agent.yaml -- ./server --port 8080
  KMS_UNIVERSAL_AUTH_CLIENT_ID=... KMS_UNIVERSAL_AUTH_CLIENT_SECRET=... \\
    kms run --address https://kms.example.com --project 6553ccb2b7da580d7f6e7260 --env prod -- ./server

Every secret of the folder becomes a variable named by its key; a key that is not a valid \
environment variable name (letters, digits and _, not starting with a digit) is an error naming \
it, and the program is not started until it is renamed or mapped in exec.env.

Exit codes: the program's own exit code (or 128 + the signal that killed it) when it ends by \
itself; 0 after SIGTERM/SIGINT once it has stopped; 2 = configuration errors; 126/127 = the \
program could not be started.")]
pub struct RunArgs {
    /// Agent configuration file (YAML): its auth, and its `exec` section for the environment.
    #[arg(long, short = 'c', conflicts_with_all = ["address", "project", "env", "path", "recursive"])]
    pub config: Option<PathBuf>,

    /// KMS address (without --config).
    #[arg(long)]
    pub address: Option<String>,

    /// Project id whose secrets the program gets (without --config).
    #[arg(long)]
    pub project: Option<String>,

    /// Environment slug (dev, staging, prod...).
    #[arg(long = "env")]
    pub env: Option<String>,

    /// Folder of the secrets.
    #[arg(long, default_value = "/")]
    pub path: String,

    /// Include the sub-folders' secrets too.
    #[arg(long)]
    pub recursive: bool,

    /// How often the secrets are checked for changes (without --config).
    #[arg(long, default_value = "5m")]
    pub polling_interval: String,

    /// Restart the program when a secret changes: always or never (without --config).
    #[arg(long, default_value = "always")]
    pub restart_on_change: String,

    /// Log in, print the names of the variables the program would get (never their values), and
    /// exit without running it.
    #[arg(long)]
    pub dry_run: bool,

    /// The program and its arguments.
    #[arg(last = true)]
    pub command: Vec<String>,
}

pub fn run(args: RunArgs) -> ExitCode {
    let env = ProcessEnv;
    let command = (!args.command.is_empty()).then(|| args.command.clone());
    let source = match &args.config {
        Some(file) => ConfigSource::select(file, &env),
        None => match flags_config(&args) {
            Ok(text) => ConfigSource::Text {
                name: "the kms run flags".into(),
                text,
            },
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_CONFIG_ERROR);
            }
        },
    };
    if command.is_none() && args.config.is_none() {
        eprintln!("error: give the program to run after `--`, e.g. kms run ... -- ./server");
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    match config::load(&source, &env) {
        Ok(cfg) => {
            for line in cfg.summary().lines() {
                tracing::info!("{line}");
            }
            let options = super::agent_run::RunOptions {
                dry: args.dry_run,
                command,
                ..Default::default()
            };
            super::agent_run::run(cfg, source, options)
        }
        Err(errors) => super::agent::report(&source, &errors),
    }
}

/// The configuration the flags describe, as a document: it then goes through the same parsing and
/// validation as a file (every value quoted, so none is read as YAML syntax).
fn flags_config(args: &RunArgs) -> Result<String, String> {
    let (Some(project), Some(environment)) = (&args.project, &args.env) else {
        return Err("give --config FILE, or --project ID and --env SLUG".into());
    };
    let mut text = String::new();
    if let Some(address) = &args.address {
        text.push_str(&format!("kms:\n  address: {}\n", quote(address)));
    }
    text.push_str("auth:\n  type: universal-auth\n");
    text.push_str(&format!(
        "exec:\n  polling-interval: {}\n  restart-on-change: {}\n  env-from:\n    - project: {}\n      environment: {}\n      path: {}\n      recursive: {}\n",
        quote(&args.polling_interval),
        quote(&args.restart_on_change),
        quote(project),
        quote(environment),
        quote(&args.path),
        args.recursive,
    ));
    Ok(text)
}

/// `s` as a YAML double-quoted scalar.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_quoted_so_none_is_yaml_syntax() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        let args = RunArgs {
            config: None,
            address: Some("http://127.0.0.1:1".into()),
            project: Some("p: [x]".into()),
            env: Some("dev".into()),
            path: "/".into(),
            recursive: true,
            polling_interval: "1s".into(),
            restart_on_change: "never".into(),
            dry_run: false,
            command: vec!["true".into()],
        };
        let text = flags_config(&args).unwrap();
        let env = kms_agent::config::MapEnv::from_pairs(&[
            ("KMS_UNIVERSAL_AUTH_CLIENT_ID", "id"),
            ("KMS_UNIVERSAL_AUTH_CLIENT_SECRET", "secret"),
        ]);
        let cfg = kms_agent::config::parse_str(&text, &env).unwrap();
        let exec = cfg.exec.unwrap();
        assert_eq!(exec.env_from[0].project, "p: [x]");
        assert!(exec.env_from[0].recursive);
        assert_eq!(
            exec.restart_on_change,
            kms_agent::config::RestartOnChange::Never
        );
    }
}
