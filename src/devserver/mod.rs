//! `kms dev-server`: a small in-memory KMS with the real server's wire contract (the exchanges in
//! `tests/fixtures/contract/`), documented in docs/dev-server.md.
//!
//! In-process use (tests):
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kms_agent::devserver::{DevServer, Seed};
//! let server = DevServer::start(Seed::demo(), "127.0.0.1:0".parse()?).await?;
//! let base = server.url(); // http://127.0.0.1:PORT
//! # let _ = base;
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! HTTPS: `DevServer::start_tls(seed, addr, DevServerTls::from_pem_files(cert, key)?)`, and
//! `url()` is then `https://...`.

mod api_error;
pub mod demo;
pub mod duration;
mod expand;
mod faults;
mod leases;
mod request;
mod routes_admin;
mod routes_auth;
mod routes_leases;
mod routes_secrets;
mod routes_writes;
pub mod seed;
mod server;
mod state;
mod store;
mod tls;
mod tokens;

pub use faults::FaultRule;
pub use seed::{Seed, SeedError};
pub use server::{DevServer, DevServerError, DevServerHandle};
pub use tls::{DevServerTls, TlsSetupError};

/// Every API route key as counted in `GET /dev/stats` `requests` and matched by fault rules.
/// Unknown routes are counted as `"<METHOD> <unmatched>"`; `/dev/*` admin calls are not counted.
pub const API_ROUTES: &[&str] = &[
    "POST /api/v1/auth/universal-auth/login",
    "POST /api/v1/auth/kubernetes-auth/login",
    "POST /api/v1/auth/azure-auth/login",
    "POST /api/v1/auth/gcp-auth/login",
    "POST /api/v1/auth/aws-auth/login",
    "POST /api/v1/auth/token/renew",
    "POST /api/v1/auth/token/revoke",
    "GET /api/v3/secrets/raw",
    "GET /api/v3/secrets/raw/{secretName}",
    "POST /api/v3/secrets/raw/{secretName}",
    "PATCH /api/v3/secrets/raw/{secretName}",
    "DELETE /api/v3/secrets/raw/{secretName}",
    "GET /api/v4/secrets",
    "GET /api/v4/secrets/{secretName}",
    "POST /api/v1/dynamic-secrets/leases",
    "GET /api/v1/dynamic-secrets/leases/{leaseId}",
    "DELETE /api/v1/dynamic-secrets/leases/{leaseId}",
    "POST /api/v1/dynamic-secrets/leases/{leaseId}/renew",
];
