//! `kms dev-server`: the embedded in-memory KMS.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::EXIT_CONFIG_ERROR;
use kms_agent::devserver::demo::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PROJECT_ID, DEMO_PROJECT_SLUG,
};
use kms_agent::devserver::{DevServer, DevServerTls, Seed};

#[derive(Debug, Args)]
pub struct DevServerArgs {
    /// Address to listen on (port 0 picks a free port; the ready line prints the real one).
    #[arg(long, default_value = "127.0.0.1:8200")]
    pub listen: SocketAddr,

    /// Seed file (YAML or JSON). Without it a built-in demo seed is loaded.
    #[arg(long)]
    pub seed: Option<PathBuf>,

    /// Serve HTTPS with this PEM certificate chain (server certificate first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub fn run(args: DevServerArgs) -> ExitCode {
    let seed = match &args.seed {
        Some(path) => match Seed::from_file(path) {
            Ok(seed) => seed,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_CONFIG_ERROR);
            }
        },
        None => Seed::demo(),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match DevServerTls::from_pem_files(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_CONFIG_ERROR);
            }
        },
        // clap makes each flag require the other.
        _ => None,
    };
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
    runtime.block_on(serve(seed, tls, args))
}

async fn serve(seed: Seed, tls: Option<DevServerTls>, args: DevServerArgs) -> ExitCode {
    // Install the handlers before announcing readiness, so a signal right after the ready line
    // is never lost.
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let handle = match DevServer::start_with(seed, args.listen, tls).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // Kept alive until exit; removed on drop.
    let mut demo_dir = None;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "dev-server listening on {}", handle.url());
    if args.seed.is_none() {
        match write_demo_credentials() {
            Ok((dir, id_path, secret_path)) => {
                let _ = writeln!(
                    out,
                    "demo universal-auth client id: {DEMO_CLIENT_ID} (file: {})",
                    id_path.display()
                );
                let _ = writeln!(
                    out,
                    "demo universal-auth client secret: {DEMO_CLIENT_SECRET} (file: {})",
                    secret_path.display()
                );
                demo_dir = Some(dir);
            }
            Err(e) => {
                let _ = writeln!(out, "demo universal-auth client id: {DEMO_CLIENT_ID}");
                let _ = writeln!(
                    out,
                    "demo universal-auth client secret: {DEMO_CLIENT_SECRET}"
                );
                eprintln!("warning: cannot write the demo credential files: {e}");
            }
        }
        let _ = writeln!(
            out,
            "demo project: id {DEMO_PROJECT_ID}, slug {DEMO_PROJECT_SLUG}, environments dev and prod, dynamic secret `redis` in dev:/"
        );
    }
    let _ = out.flush();
    drop(out);
    tokio::select! {
        _ = sigint.recv() => tracing::info!("SIGINT: stopping"),
        _ = sigterm.recv() => tracing::info!("SIGTERM: stopping"),
    }
    handle.shutdown().await;
    drop(demo_dir);
    ExitCode::SUCCESS
}

/// Writes the demo client id and secret to files (mode 0600) in a fresh temporary folder.
fn write_demo_credentials() -> std::io::Result<(tempfile::TempDir, PathBuf, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("kms-dev-server-")
        .tempdir()?;
    let id_path = dir.path().join("client-id");
    let secret_path = dir.path().join("client-secret");
    for (path, value) in [
        (&id_path, DEMO_CLIENT_ID),
        (&secret_path, DEMO_CLIENT_SECRET),
    ] {
        std::fs::write(path, value)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok((dir, id_path, secret_path))
}
