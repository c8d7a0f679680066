//! `kms injector`: the Kubernetes agent injector, a mutating admission webhook over HTTPS
//! (docs/injector.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::EXIT_CONFIG_ERROR;
use kms_agent::injector::server::{start, InjectorOptions};

#[derive(Debug, Args)]
pub struct InjectorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,

    /// The webhook's PEM certificate chain (server certificate first); read again when it changes.
    #[arg(long, value_name = "PEM")]
    pub tls_cert: PathBuf,

    /// The PEM private key of --tls-cert; read again when it changes.
    #[arg(long, value_name = "PEM")]
    pub tls_key: PathBuf,

    /// The agent image injected when a pod's annotations name none.
    #[arg(long, default_value = "ghcr.io/hanzoai/kms-agent:latest")]
    pub agent_image: String,
}

pub fn run(args: InjectorArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let options = InjectorOptions {
            listen: args.listen,
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            agent_image: args.agent_image,
        };
        let server = match start(options).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_CONFIG_ERROR);
            }
        };
        // The ready line tests and scripts wait for, with the real port.
        println!("injector listening on https://{}", server.addr());
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            eprintln!("error: cannot install signal handlers");
            return ExitCode::from(1);
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("injector stopping");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
