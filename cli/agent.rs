//! `kms agent` and `kms agent validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::EXIT_CONFIG_ERROR;
use kms_agent::config::{self, ConfigErrors, ConfigSource, Env, ProcessEnv};

#[derive(Debug, Args)]
#[command(after_help = "\
Exit codes: 0 = ok (validate: configuration valid; exit-after-auth: everything rendered), \
1 = the agent failed (login with exit-after-auth, a template, too many crashes), \
2 = configuration errors (all are printed, each with its field path and line), \
130 = a second SIGTERM/SIGINT cut the graceful shutdown short.

Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads templates and sinks from the config.")]
pub struct AgentArgs {
    /// Agent configuration file (YAML). When `KMS_AGENT_CONFIG_BASE64` is set, it holds the whole
    /// document (base64) and is used instead of the file.
    #[arg(long, short = 'c', default_value = config::defaults::CONFIG_FILE)]
    pub config: PathBuf,

    /// Log in, render every template once to stdout (under a header each), and exit: nothing is
    /// written and no command runs. Leases needed for the render are revoked right after.
    #[arg(long)]
    pub dry_run: bool,

    /// Set `kms.exit-after-auth` whatever the config says (the injector's init container).
    #[arg(long)]
    pub exit_after_auth: bool,

    /// Set `kms.revoke-credentials-on-shutdown` whatever the config says.
    #[arg(long)]
    pub revoke_credentials_on_shutdown: bool,

    #[command(subcommand)]
    pub action: Option<AgentAction>,
}

#[derive(Debug, Subcommand)]
pub enum AgentAction {
    /// Parse and validate the configuration, print a short summary, and exit (0 = valid, 2 =
    /// errors). Credential files are not read: the agent reads them at login.
    Validate {
        /// Agent configuration file (YAML); defaults to the `--config` given to `kms agent`.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
    },
}

pub fn run(args: AgentArgs) -> ExitCode {
    let env = ProcessEnv;
    match args.action {
        Some(AgentAction::Validate { config }) => validate(config.unwrap_or(args.config), &env),
        None => {
            let options = super::agent_run::RunOptions {
                dry: args.dry_run,
                command: None,
                exit_after_auth: args.exit_after_auth,
                revoke_credentials_on_shutdown: args.revoke_credentials_on_shutdown,
            };
            start(args.config, options, &env)
        }
    }
}

/// `kms agent validate`: summary on stdout and exit 0, or every error on stderr and exit 2.
fn validate(file: PathBuf, env: &dyn Env) -> ExitCode {
    let source = ConfigSource::select(&file, env);
    match config::load(&source, env) {
        Ok(cfg) => {
            if let Err(code) = check_templates(&cfg, &source).and(check_ca_bundle(&cfg)) {
                return code;
            }
            println!("configuration is valid");
            print!("{}", cfg.summary());
            if source == ConfigSource::EnvBase64 {
                println!("(the file {} was not read)", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(errors) => report(&source, &errors),
    }
}

/// Compiles every template whose source can be read here, so syntax errors are reported with
/// template, line and column. A source file that does not exist on this machine is only noted:
/// the agent reads it when it starts (validation often runs elsewhere).
fn check_templates(cfg: &config::Config, source: &ConfigSource) -> Result<(), ExitCode> {
    let mut errors = Vec::new();
    for t in &cfg.templates {
        if let config::TemplateSource::File(path) = &t.source {
            if !path.exists() {
                eprintln!(
                    "note: {}: source-path {} is not on this machine; it is read when the agent starts",
                    kms_agent::template::load::template_id(t.index),
                    path.display()
                );
                continue;
            }
        }
        if let Err(e) = kms_agent::template::load::load_template(t) {
            errors.push(e);
        }
    }
    if let Some(exec) = &cfg.exec {
        if let Err(e) = kms_agent::child::env::ChildEnvTemplate::compile(exec) {
            errors.extend(e);
        }
        if exec.command.is_empty() {
            eprintln!(
                "note: exec.command is not set: `kms run --config FILE -- command` runs this \
                 configuration, `kms agent` refuses it"
            );
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    eprintln!(
        "error: {} template error(s) in {}:",
        errors.len(),
        source.describe()
    );
    for e in errors {
        eprintln!("  {e}");
    }
    Err(ExitCode::from(EXIT_CONFIG_ERROR))
}

/// Reads `kms.tls.ca-cert` when it is on this machine, so a file that is not a PEM certificate is
/// reported now rather than when the agent starts.
fn check_ca_bundle(cfg: &config::Config) -> Result<(), ExitCode> {
    let Some(path) = &cfg.kms.ca_cert else {
        return Ok(());
    };
    if !path.exists() {
        eprintln!(
            "note: kms.tls.ca-cert {} is not on this machine; it is read when the agent starts",
            path.display()
        );
        return Ok(());
    }
    match kms_agent::client::tls::load_ca_bundle(path) {
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("error: kms.tls.ca-cert: {e}");
            Err(ExitCode::from(EXIT_CONFIG_ERROR))
        }
    }
}

/// `kms agent`: load and validate the config (templates included), then run.
fn start(file: PathBuf, options: super::agent_run::RunOptions, env: &dyn Env) -> ExitCode {
    let source = ConfigSource::select(&file, env);
    match config::load(&source, env) {
        Ok(cfg) => {
            for line in cfg.summary().lines() {
                tracing::info!("{line}");
            }
            super::agent_run::run(cfg, source, options)
        }
        Err(errors) => report(&source, &errors),
    }
}

/// Prints every error, prefixed with the source (`agent.yaml:12:7: templates[1]...`).
pub(crate) fn report(source: &ConfigSource, errors: &ConfigErrors) -> ExitCode {
    let name = source.describe();
    eprintln!("error: {} configuration error(s) in {name}:", errors.len());
    for e in errors.errors() {
        if e.location.is_some() {
            eprintln!("  {name}:{e}");
        } else {
            eprintln!("  {e}");
        }
    }
    ExitCode::from(EXIT_CONFIG_ERROR)
}
