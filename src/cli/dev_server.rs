//! `kms dev-server`: the embedded in-memory KMS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct DevServerArgs {
    /// Address to listen on (port 0 picks a free port; the ready line prints the real one).
    #[arg(long, default_value = "127.0.0.1:8200")]
    pub listen: SocketAddr,

    /// Seed file (YAML or JSON). Without it a built-in demo seed is loaded.
    #[arg(long)]
    pub seed: Option<PathBuf>,
}

pub fn run(_args: DevServerArgs) -> ExitCode {
    eprintln!("kms dev-server: not implemented yet");
    ExitCode::from(1)
}
