//! The `kms` binary: argument parsing and dispatch. Each sub-command lives in its own file. It
//! joins the library (`src/`, crate `kms_agent`) and the runtime (`actors/`, crate
//! `kms_agent_runtime`): the one place that knows both.

mod agent;
mod agent_run;
mod dev_server;
mod injector;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use kms_agent::logging::{self, LogFormat};

/// Exit code for configuration errors (bad config file, bad flags).
pub const EXIT_CONFIG_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "kms",
    version,
    about = "Hanzo KMS command line: the secrets agent and an embedded development server",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    /// Log level: error, warn, info, debug or trace (or a tracing filter such as `kms_agent=debug`).
    #[arg(long, global = true, env = "KMS_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log format.
    #[arg(long, global = true, env = "KMS_LOG_FORMAT", value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the secrets agent: log in, keep the token fresh in the sinks, render templates.
    Agent(agent::AgentArgs),
    /// Run a program with secrets in its environment, restarted when they change.
    Run(run::RunArgs),
    /// The Kubernetes agent injector: a mutating admission webhook that adds the agent to
    /// annotated pods.
    Injector(injector::InjectorArgs),
    /// Run a small in-memory KMS server for demos and tests (like `vault server -dev`).
    DevServer(dev_server::DevServerArgs),
}

/// Parses the command line, sets up logging and runs the chosen sub-command.
fn main() -> ExitCode {
    kms_agent::init_process::become_init_if_pid1();
    kms_agent::malloc_arenas::limit();
    let cli = Cli::parse();
    let format = match cli.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    };
    if let Err(e) = logging::init(&cli.log_level, format) {
        eprintln!("error: --log-level: {e}");
        return ExitCode::from(EXIT_CONFIG_ERROR);
    }
    kms_agent::process_hardening::install_panic_hook();
    if let Err(e) = kms_agent::process_hardening::protect_process_memory() {
        tracing::warn!("{e}; other processes of this user may be able to read the agent's memory");
    }
    match cli.command {
        Command::Agent(args) => agent::run(args),
        Command::DevServer(args) => dev_server::run(args),
        Command::Run(args) => run::run(args),
        Command::Injector(args) => injector::run(args),
    }
}
