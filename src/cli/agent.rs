//! `kms agent` and `kms agent validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Agent configuration file (YAML). `KMS_AGENT_CONFIG_BASE64` may hold the whole document
    /// instead.
    #[arg(long, short = 'c', default_value = "agent-config.yaml")]
    pub config: PathBuf,

    #[command(subcommand)]
    pub action: Option<AgentAction>,
}

#[derive(Debug, Subcommand)]
pub enum AgentAction {
    /// Parse and validate the configuration, print a short summary, and exit (0 = valid, 2 =
    /// errors).
    Validate {
        /// Agent configuration file (YAML).
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
    },
}

pub fn run(_args: AgentArgs) -> ExitCode {
    eprintln!("kms agent: not implemented yet");
    ExitCode::from(1)
}
