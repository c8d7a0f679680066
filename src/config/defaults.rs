//! Every default of the agent configuration, in one place, each with the environment variable
//! that overrides it where one exists. README "Configuration reference" lists the same values;
//! `tests/config_readme.rs` checks that they agree.

use std::num::NonZeroUsize;
use std::time::Duration;

use super::model::ApiVersion;

/// `--config`: the configuration file read when none is named.
pub const CONFIG_FILE: &str = "agent-config.yaml";
/// Env `KMS_AGENT_CONFIG_BASE64`: the whole document, base64-encoded; used instead of the file.
pub const CONFIG_BASE64_ENV: &str = "KMS_AGENT_CONFIG_BASE64";

/// `kms.address`: base URL of the KMS; API paths are under `<address>/api`.
pub const KMS_ADDRESS: &str = "https://app.kms.hanzo.ai";
/// `kms.timeout`: timeout of one API request.
pub const KMS_TIMEOUT: Duration = Duration::from_secs(30);
/// `kms.api-version`: detect the secrets API version from the server.
pub const API_VERSION: ApiVersion = ApiVersion::Auto;
/// `kms.exit-after-auth`.
pub const EXIT_AFTER_AUTH: bool = false;
/// `kms.revoke-credentials-on-shutdown`.
pub const REVOKE_CREDENTIALS_ON_SHUTDOWN: bool = false;
/// `kms.shutdown-grace`: how long a shutdown on SIGTERM may take as a whole (commands still
/// running are then terminated, then killed); inside Kubernetes' default 30 s with room to spare.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
/// The longest `kms.shutdown-grace` accepted.
pub const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(3600);
/// `kms.retry-strategy.max-retries`: retries of a failed request (0 = none).
pub const RETRY_MAX_RETRIES: u32 = 3;
/// `kms.retry-strategy.base-delay`: first retry delay, doubled each retry.
pub const RETRY_BASE_DELAY: Duration = Duration::from_millis(200);
/// `kms.retry-strategy.max-delay`: cap of one retry delay.
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(5);

/// `auth.config.remove_client_secret_on_read` (universal-auth).
pub const REMOVE_CLIENT_SECRET_ON_READ: bool = false;
/// `auth.config.service-account-token` (kubernetes); env `KMS_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH`.
/// Also `cache.persistent.service-account-token-path`.
pub const SERVICE_ACCOUNT_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// `sinks[].config.permissions` and `templates[].config.permissions`: mode of written files.
pub const FILE_PERMISSIONS: u32 = 0o600;

/// `cache.persistent.gc-interval`: how often stale cache entries are evicted.
pub const CACHE_GC_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// `cache.persistent.max-entries`: size limit of the cache; over it, the entries closest to
/// expiry are evicted first.
pub const CACHE_MAX_ENTRIES: NonZeroUsize = NonZeroUsize::new(1000).expect("non-zero");
/// How often the cache's key material is re-read to notice a rotated service-account token.
pub const CACHE_KEY_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// A cached entry expiring within this margin is stale: a cached lease is reused only with more
/// than 30 s left.
pub const CACHE_STALE_MARGIN: Duration = Duration::from_secs(30);

/// The largest configuration document read (a file or `KMS_AGENT_CONFIG_BASE64`, decoded): 16 MiB
/// is room for tens of thousands of templates with inline content.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024 * 1024;

/// The largest KMS answer the agent reads: a body over it (a 2 GiB or endless answer from a broken
/// server or proxy) is refused as undecodable once this much has arrived, so it can never use more
/// memory than this. Real answers are far smaller (10,000 secrets are about 5 MiB).
pub const MAX_RESPONSE_BODY: usize = 64 * 1024 * 1024;

/// `templates[].config.polling-interval`: how often secrets are checked for changes.
pub const TEMPLATE_POLLING_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// `templates[].config.execute.timeout`: time a reload command may run before its process group
/// is killed.
pub const EXECUTE_TIMEOUT: Duration = Duration::from_secs(30);

/// `listener.allow-non-loopback`: a listener must bind a loopback address unless this is set.
pub const LISTENER_ALLOW_NON_LOOPBACK: bool = false;

/// `exec.restart-on-change`: restart the child when a value of its environment changes.
pub const EXEC_RESTART_ON_CHANGE: super::model::RestartOnChange =
    super::model::RestartOnChange::Always;
/// `exec.stop-signal`: asks the child to stop.
pub const EXEC_STOP_SIGNAL: nix::sys::signal::Signal = nix::sys::signal::Signal::SIGTERM;
/// `exec.stop-grace`: time the child has after the stop signal before its process group is
/// killed.
pub const EXEC_STOP_GRACE: Duration = Duration::from_secs(10);
/// `exec.inherit-env`: the child gets the agent's environment (minus the agent's own variables).
pub const EXEC_INHERIT_ENV: bool = true;
/// `exec.env-from[].recursive`.
pub const EXEC_ENV_FROM_RECURSIVE: bool = false;
