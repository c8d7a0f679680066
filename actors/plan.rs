//! What the runtime is asked to run: built from the validated config by the CLI.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kms_agent::auth::Authenticator;
use kms_agent::cache::KeySource;
use kms_agent::child::process::ChildSpec;
use kms_agent::exec::CommandSpec;
use kms_agent::fetch::SecretFetcher;
use kms_agent::leases::LeaseApi;
use kms_agent::restart_policy::RestartPolicy;
use kms_agent::telemetry::{Metrics, Readiness};
use kms_agent::template::CompiledTemplate;

/// One token sink.
#[derive(Debug, Clone)]
pub struct SinkPlan {
    pub path: PathBuf,
    pub mode: u32,
}

/// Where a template's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOutput {
    /// A file, replaced atomically with these mode bits.
    File { destination: PathBuf, mode: u32 },
    /// The `exec` child's environment (the output is an environment block).
    ChildEnv,
}

impl std::fmt::Display for TemplateOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateOutput::File { destination, .. } => write!(f, "{}", destination.display()),
            TemplateOutput::ChildEnv => f.write_str("(the exec child's environment)"),
        }
    }
}

/// One template to keep rendered.
#[derive(Debug, Clone)]
pub struct TemplatePlan {
    /// A short id for logs (`template[0]` or the source file name).
    pub id: String,
    pub template: Arc<dyn CompiledTemplate>,
    pub output: TemplateOutput,
    pub polling_interval: Duration,
    pub command: Option<CommandSpec>,
    /// Identifies the template's whole definition (source, destination, settings): on reload, a
    /// template with the same fingerprint keeps running untouched.
    pub fingerprint: u64,
}

/// The `exec` child: what to run. Its environment is rendered by the template whose output is
/// [`TemplateOutput::ChildEnv`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildPlan {
    pub spec: ChildSpec,
    /// Identifies the whole `exec` section: a reload that changes it replaces the child.
    pub fingerprint: u64,
}

/// Everything the supervisor needs.
#[derive(Clone)]
pub struct AgentPlan {
    pub authenticator: Arc<dyn Authenticator>,
    pub fetcher: Arc<dyn SecretFetcher>,
    /// Dynamic-secret lease calls (the LeaseManagerActor).
    pub leases: Arc<dyn LeaseApi>,
    pub sinks: Vec<SinkPlan>,
    /// The templates at start: the supervisor moves them into its slots, where reloads change them.
    pub templates: Vec<TemplatePlan>,
    /// The `exec` child, if configured.
    pub child: Option<ChildPlan>,
    pub exit_after_auth: bool,
    /// The encrypted persistent lease cache (`cache.persistent`), if configured.
    pub cache: Option<CacheArgs>,
    /// On shutdown, revoke every lease and then the token, and empty the sinks.
    pub revoke_on_shutdown: bool,
    pub restart_policy: RestartPolicy,
    /// How long a graceful shutdown may take before the agent exits anyway (running commands get
    /// up to their own timeout within it).
    pub shutdown_timeout: Duration,
    /// At most this many API requests in flight at once.
    pub max_concurrent_fetches: usize,
    /// Shared with the operator listener.
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

/// The encrypted persistent lease cache: where, under which key, and its timers.
#[derive(Debug, Clone)]
pub struct CacheArgs {
    pub dir: PathBuf,
    pub key_source: KeySource,
    pub gc_interval: Duration,
    pub key_check_interval: Duration,
    pub stale_margin: Duration,
    pub max_entries: usize,
}

impl CacheArgs {
    /// The defaults (the config's for the GC interval and the size limit, `kms_agent::config::defaults`)
    /// for everything but the directory and the key source.
    pub fn new(dir: impl Into<PathBuf>, key_source: KeySource) -> Self {
        Self {
            dir: dir.into(),
            key_source,
            gc_interval: kms_agent::config::defaults::CACHE_GC_INTERVAL,
            key_check_interval: kms_agent::config::defaults::CACHE_KEY_CHECK_INTERVAL,
            stale_margin: kms_agent::config::defaults::CACHE_STALE_MARGIN,
            max_entries: kms_agent::config::defaults::CACHE_MAX_ENTRIES.get(),
        }
    }
}
