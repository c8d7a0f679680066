//! [`ClientConfig`]: everything needed to build a [`super::KmsClient`]. Plain data; the config
//! module fills it from `kms.*` and the environment.

use std::path::PathBuf;
use std::time::Duration;

use super::headers::CustomHeader;
use super::retry::RetryPolicy;
use super::secrets::ApiVersion;

/// `kms.address` default.
pub const DEFAULT_ADDRESS: &str = "https://app.kms.hanzo.ai";
/// Timeout of one HTTP request (connect + answer), per attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("kms-agent/", env!("CARGO_PKG_VERSION"));

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Base URL of the KMS, e.g. `https://kms.example.com` (API paths go under `<address>/api`;
    /// an address already ending in `/api` is accepted too).
    pub address: String,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// A PEM file of extra CA certificates to trust (beside the built-in roots).
    pub ca_cert_path: Option<PathBuf>,
    pub api_version: ApiVersion,
    pub retry: RetryPolicy,
    /// Extra headers on every request (see [`super::headers`]).
    pub custom_headers: Vec<CustomHeader>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            address: DEFAULT_ADDRESS.into(),
            timeout: DEFAULT_TIMEOUT,
            ca_cert_path: None,
            api_version: ApiVersion::Auto,
            retry: RetryPolicy::default(),
            custom_headers: Vec::new(),
        }
    }
}

impl ClientConfig {
    /// Defaults with another address.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            ..Self::default()
        }
    }
}

/// Why a client could not be built. Names the file or setting, never a header value.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("kms.address `{0}` is not an http(s) URL")]
    InvalidAddress(String),
    #[error("cannot read the CA bundle {path}: {source}")]
    ReadCaBundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA bundle {0} holds no valid PEM certificate")]
    InvalidCaBundle(PathBuf),
    #[error(
        "the CA bundle {path}: certificate {index} is not a valid X.509 certificate ({reason})"
    )]
    InvalidCaCertificate {
        path: PathBuf,
        /// 1-based position in the file.
        index: usize,
        reason: String,
    },
    #[error("custom header `{0}` cannot be used")]
    InvalidHeader(String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}
