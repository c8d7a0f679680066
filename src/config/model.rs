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
    /// `exec`: the one child process the agent runs with secrets in its environment.
    pub exec: Option<ExecConfig>,
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

/// `exec`: a child process the agent starts with secrets in its environment, and restarts when
/// they change (docs/behaviour.md §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    /// The argv (no shell unless the user writes `sh -c`). Empty only when the section gives
    /// none: `kms run ... -- command` supplies it; `kms agent` refuses an empty one.
    pub command: Vec<String>,
    /// Line of the `exec` key, for errors about the section as a whole.
    pub line: usize,
    /// `exec.env`: NAME → template text, in the order written. Names are valid environment
    /// names ([`crate::child::env::is_valid_env_name`]).
    pub env: Vec<EnvTemplateConfig>,
    /// `exec.env-from`: folders whose every secret becomes a variable named by its key.
    pub env_from: Vec<EnvFolderConfig>,
    /// Engine of the `env` templates.
    pub engine: EngineKind,
    pub polling_interval: Duration,
    pub restart_on_change: RestartOnChange,
    /// Signal that asks the child to stop (restart, shutdown).
    pub stop_signal: nix::sys::signal::Signal,
    /// Time between the stop signal and SIGKILL to the child's process group.
    pub stop_grace: Duration,
    pub working_dir: Option<PathBuf>,
    /// The child gets the agent's environment (minus the agent's own `KMS_*`/`INFISICAL_*`
    /// variables) under the rendered one.
    pub inherit_env: bool,
}

impl ExecConfig {
    /// A section with only a command and every default (`kms run --config FILE -- cmd` when the
    /// file has no `exec` section: the child gets the inherited environment and the files).
    pub fn for_command(command: Vec<String>) -> ExecConfig {
        use super::defaults;
        ExecConfig {
            command,
            line: 0,
            env: Vec::new(),
            env_from: Vec::new(),
            engine: EngineKind::Go,
            polling_interval: defaults::TEMPLATE_POLLING_INTERVAL,
            restart_on_change: defaults::EXEC_RESTART_ON_CHANGE,
            stop_signal: defaults::EXEC_STOP_SIGNAL,
            stop_grace: defaults::EXEC_STOP_GRACE,
            working_dir: None,
            inherit_env: defaults::EXEC_INHERIT_ENV,
        }
    }
}

/// `exec.env.NAME`: one variable rendered from a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvTemplateConfig {
    pub name: String,
    pub template: String,
    /// Line of the value, so template errors point at it.
    pub line: usize,
}

/// `exec.env-from[i]`: every secret of a folder as a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFolderConfig {
    /// Position in `env-from` (names it in errors: `exec.env-from[0]`).
    pub index: usize,
    pub project: String,
    pub environment: String,
    pub path: String,
    pub recursive: bool,
}

/// `exec.restart-on-change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartOnChange {
    /// Restart the child with the new environment when any value changes.
    Always,
    /// Keep the child running; the new values reach the next start only.
    Never,
}

/// `listener`: address of the `/healthz`, `/readyz` and `/metrics` endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Loopback unless `allow-non-loopback: true`.
    pub address: SocketAddr,
}
