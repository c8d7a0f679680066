//! Stage two: the validated configuration, with real types. Built only by [`super::load`] and
//! [`super::parse_str`]; every field is already checked, defaults are filled in.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::sensitive::Sensitive;
use crate::template::EngineKind;

/// The whole agent configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the document came from (for logs and the summary).
    pub origin: ConfigOrigin,
    pub kms: KmsConfig,
    pub auth: AuthConfig,
    pub sinks: Vec<SinkConfig>,
    /// `cache.persistent`, when set.
    pub cache: Option<PersistentCacheConfig>,
    pub templates: Vec<TemplateConfig>,
    pub listener: Option<ListenerConfig>,
    /// Names of the environment variables that overrode or filled in a field (never their
    /// values), in the order applied.
    pub env_overrides: Vec<&'static str>,
}

/// Where the configuration document was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    File(PathBuf),
    /// The environment variable (`KMS_AGENT_CONFIG_BASE64`) held the base64-encoded document.
    EnvBase64(&'static str),
    /// Text handed in directly (tests, embedding).
    Text(String),
}

/// The `kms:` (or `infisical:`) section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsConfig {
    /// Base URL, `http` or `https`. API paths go under `<address>/api`.
    pub address: reqwest::Url,
    /// Timeout of one API request.
    pub timeout: Duration,
    /// Extra CA certificate (PEM file) to trust, read when the client is built.
    pub ca_cert: Option<PathBuf>,
    pub api_version: ApiVersion,
    pub exit_after_auth: bool,
    pub revoke_credentials_on_shutdown: bool,
    /// How long a shutdown may take as a whole; commands still running are then killed.
    pub shutdown_grace: Duration,
    pub retry: RetryStrategy,
}

/// Which secrets API the agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// Detect from the server.
    Auto,
    V3,
    V4,
}

impl ApiVersion {
    /// The name as written in `kms.api-version`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::Auto => "auto",
            ApiVersion::V3 => "v3",
            ApiVersion::V4 => "v4",
        }
    }
}

/// `kms.retry-strategy`. Guaranteed: `base_delay <= max_delay`, both non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryStrategy {
    /// Retries after the first attempt (0 = none).
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

/// A credential: a file whose contents are the credential (read at login time by the runtime,
/// not at load), or a value given through the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    File(PathBuf),
    Value(Sensitive<String>),
}

/// `auth`: the login method and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    UniversalAuth(UniversalAuthConfig),
    Kubernetes(KubernetesAuthConfig),
    Azure(IdentityAuthConfig),
    GcpIdToken(IdentityAuthConfig),
    GcpIam(GcpIamAuthConfig),
    AwsIam(IdentityAuthConfig),
}

impl AuthConfig {
    /// The method's name as written in `auth.type`.
    pub fn method_name(&self) -> &'static str {
        match self {
            AuthConfig::UniversalAuth(_) => "universal-auth",
            AuthConfig::Kubernetes(_) => "kubernetes",
            AuthConfig::Azure(_) => "azure",
            AuthConfig::GcpIdToken(_) => "gcp-id-token",
            AuthConfig::GcpIam(_) => "gcp-iam",
            AuthConfig::AwsIam(_) => "aws-iam",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniversalAuthConfig {
    pub client_id: Credential,
    pub client_secret: Credential,
    /// Delete the client-secret file after reading it (the secret stays in memory for later
    /// logins). Has no effect when the secret came from the environment.
    pub remove_client_secret_on_read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesAuthConfig {
    pub identity_id: Credential,
    /// Service-account token file, re-read at every login (projected tokens rotate).
    pub service_account_token: PathBuf,
}

/// Methods that need only the machine identity id (azure, gcp-id-token, aws-iam).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAuthConfig {
    pub identity_id: Credential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpIamAuthConfig {
    pub identity_id: Credential,
    /// GCP service-account key JSON file.
    pub service_account_key: PathBuf,
}

/// `sinks[]` (type `file`, the only type): a file that receives the access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    pub path: PathBuf,
    /// Mode bits (at most `0o777`).
    pub permissions: u32,
}

/// `cache.persistent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentCacheConfig {
    /// Directory of the cache.
    pub path: PathBuf,
    pub key: CacheKeySource,
    pub gc_interval: Duration,
    /// Size limit in entries; over it, the entries closest to expiry are evicted.
    pub max_entries: NonZeroUsize,
}

/// Where the cache encryption key is derived from (`cache.persistent.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheKeySource {
    /// `kubernetes`: the service-account token's bytes.
    Kubernetes { service_account_token_path: PathBuf },
    /// `file`: a key file's bytes.
    File { key_file: PathBuf },
}

/// `templates[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateConfig {
    /// Position in `templates` (names the template in logs: `templates[2]`).
    pub index: usize,
    pub source: TemplateSource,
    pub destination: PathBuf,
    pub engine: EngineKind,
    pub polling_interval: Duration,
    /// Mode bits of the destination (at most `0o777`).
    pub permissions: u32,
    pub execute: Option<ExecuteConfig>,
}

/// A template's text: a file (read by the runtime) or inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    File(PathBuf),
    /// `template-content`, or `base64-template-content` already decoded (`from_base64`).
    Inline {
        content: String,
        from_base64: bool,
    },
}

/// `templates[].config.execute`: the reload command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteConfig {
    /// Run with `sh -c` (never empty).
    pub command: String,
    pub timeout: Duration,
}

/// `listener`: address of the `/healthz`, `/readyz` and `/metrics` endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Loopback unless `allow-non-loopback: true`.
    pub address: SocketAddr,
}
