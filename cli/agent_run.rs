//! Running the agent: build the client, templates and backends from a validated config, start
//! the actor runtime (or a dry run), and turn signals into shutdown and reload.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use kms_agent::backend::{KmsAuthenticator, KmsFetcher, KmsLeases};
use kms_agent::child::env::{ChildEnvTemplate, ENV_TEMPLATE_ID};
use kms_agent::child::process::ChildSpec;
use kms_agent::client::{
    custom_headers_from_env, plain_http_warning, ClientConfig, KmsClient, RetryPolicy,
};
use kms_agent::config::{self, Config, ConfigSource, ExecConfig, ProcessEnv};
use kms_agent::dry_run::{dry_run, DryRunTemplate};
use kms_agent::exec::{signal_running_commands, CommandSpec, DEFAULT_KILL_GRACE};
use kms_agent::restart_policy::RestartPolicy;
use kms_agent::signals::{signal_events, SignalEvent};
use kms_agent::telemetry::listener::TelemetryServer;
use kms_agent::telemetry::{Metrics, Readiness};
use kms_agent::template::load::{load_templates, LoadedTemplate};
use kms_agent_runtime::cache::{CacheArgs, KeySource};
use kms_agent_runtime::plan::SinkPlan;
use kms_agent_runtime::{
    run_agent, AgentHandle, AgentPlan, ChildPlan, TemplateOutput, TemplatePlan,
};
use nix::sys::signal::Signal;

/// Exit code when a second SIGTERM/SIGINT cuts a graceful shutdown short.
pub const EXIT_INTERRUPTED: u8 = 130;
/// Time allowed, beyond the longest command timeout, for a graceful shutdown (revocation...).
const SHUTDOWN_SLACK: Duration = Duration::from_secs(10);
/// API requests in flight at once.
const MAX_CONCURRENT_FETCHES: usize = 16;

/// How the agent was asked to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--dry-run`: render once to stdout, write and run nothing.
    pub dry: bool,
    /// `kms run ... -- command`: the child's argv, over `exec.command` (kept across reloads).
    pub command: Option<Vec<String>>,
    /// `--exit-after-auth`: over `kms.exit-after-auth`.
    pub exit_after_auth: bool,
    /// `--revoke-credentials-on-shutdown`: over `kms.revoke-credentials-on-shutdown`.
    pub revoke_credentials_on_shutdown: bool,
}

/// Runs the agent until it stops; returns its exit code.
pub fn run(config: Config, source: ConfigSource, options: RunOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(kms_agent::template::RENDER_STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run_async(config, source, options));
    // Commands' output readers may still be blocked on a pipe: do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(200));
    ExitCode::from(code)
}

fn client_config(config: &Config) -> Result<ClientConfig, String> {
    let kms = &config.kms;
    Ok(ClientConfig {
        address: kms.address.to_string(),
        timeout: kms.timeout,
        ca_cert_path: kms.ca_cert.clone(),
        api_version: match kms.api_version {
            config::ApiVersion::Auto => kms_agent::client::ApiVersion::Auto,
            config::ApiVersion::V3 => kms_agent::client::ApiVersion::V3,
            config::ApiVersion::V4 => kms_agent::client::ApiVersion::V4,
        },
        retry: RetryPolicy {
            max_retries: kms.retry.max_retries,
            base_delay: kms.retry.base_delay,
            max_delay: kms.retry.max_delay,
            ..RetryPolicy::default()
        },
        custom_headers: custom_headers_from_env()
            .map_err(|e| format!("KMS_CUSTOM_HEADERS: {e}"))?,
    })
}

fn template_plans(config: &Config, loaded: Vec<LoadedTemplate>) -> Vec<TemplatePlan> {
    config
        .templates
        .iter()
        .zip(loaded)
        .map(|(t, l)| TemplatePlan {
            id: l.id,
            template: l.compiled,
            output: TemplateOutput::File {
                destination: t.destination.clone(),
                mode: t.permissions,
            },
            polling_interval: t.polling_interval,
            command: t.execute.as_ref().map(|e| CommandSpec {
                command: e.command.clone(),
                timeout: e.timeout,
                kill_grace: DEFAULT_KILL_GRACE,
            }),
            fingerprint: l.fingerprint,
        })
        .collect()
}

/// What the command line says wins over the file: `kms run`'s command over `exec.command`, the
/// flags over their `kms.*` fields (at start and at every reload). `kms agent` needs a command in
/// the `exec` section; exit-after-auth cannot be combined with a child.
fn settle(config: &mut Config, options: &RunOptions) -> Result<(), String> {
    config.kms.exit_after_auth |= options.exit_after_auth;
    config.kms.revoke_credentials_on_shutdown |= options.revoke_credentials_on_shutdown;
    if let Some(argv) = &options.command {
        match &mut config.exec {
            Some(exec) => exec.command = argv.clone(),
            None => config.exec = Some(ExecConfig::for_command(argv.clone())),
        }
    }
    let Some(exec) = &config.exec else {
        return Ok(());
    };
    if exec.command.is_empty() {
        return Err(format!(
            "exec.command (line {}): missing: give the child's argv here, or run `kms run \
             --config FILE -- command args...`",
            exec.line
        ));
    }
    if config.kms.exit_after_auth {
        return Err(
            "kms.exit-after-auth: cannot be combined with exec (the agent runs as long as its child)"
                .into(),
        );
    }
    Ok(())
}

/// The `exec` child's plan and the template that renders its environment.
fn child_plan(exec: &ExecConfig) -> Result<(TemplatePlan, ChildPlan), Vec<String>> {
    use std::hash::{Hash, Hasher};
    let template = ChildEnvTemplate::compile(exec)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{exec:?}").hash(&mut h);
    let fingerprint = h.finish();
    let env = TemplatePlan {
        id: ENV_TEMPLATE_ID.to_string(),
        template: Arc::new(template),
        output: TemplateOutput::ChildEnv,
        polling_interval: exec.polling_interval,
        command: None,
        fingerprint,
    };
    let child = ChildPlan {
        spec: ChildSpec {
            argv: exec.command.clone(),
            working_dir: exec.working_dir.clone(),
            inherit_env: exec.inherit_env,
            stop_signal: exec.stop_signal,
            stop_grace: exec.stop_grace,
            restart_on_change: exec.restart_on_change,
        },
        fingerprint,
    };
    Ok((env, child))
}

/// Every template plan (the files', then the child's environment) and the child's plan.
fn plans(
    config: &Config,
    loaded: Vec<LoadedTemplate>,
) -> Result<(Vec<TemplatePlan>, Option<ChildPlan>), Vec<String>> {
    let mut templates = template_plans(config, loaded);
    let child = match &config.exec {
        Some(exec) => {
            let (env, child) = child_plan(exec)?;
            templates.push(env);
            Some(child)
        }
        None => None,
    };
    Ok((templates, child))
}

fn cache_args(c: &config::PersistentCacheConfig) -> CacheArgs {
    let key_source = match &c.key {
        config::CacheKeySource::Kubernetes {
            service_account_token_path,
        } => KeySource::KubernetesToken(service_account_token_path.clone()),
        config::CacheKeySource::File { key_file } => KeySource::KeyFile(key_file.clone()),
    };
    CacheArgs {
        gc_interval: c.gc_interval,
        max_entries: c.max_entries.get(),
        ..CacheArgs::new(c.path.clone(), key_source)
    }
}

fn sink_plans(config: &Config) -> Vec<SinkPlan> {
    config
        .sinks
        .iter()
        .map(|s| SinkPlan {
            path: s.path.clone(),
            mode: s.permissions,
        })
        .collect()
}

async fn run_async(mut config: Config, source: ConfigSource, options: RunOptions) -> u8 {
    if let Err(e) = settle(&mut config, &options) {
        tracing::error!("{e}");
        return super::EXIT_CONFIG_ERROR;
    }
    let metrics = Arc::new(Metrics::new());
    let client =
        match client_config(&config).and_then(|c| KmsClient::new(&c).map_err(|e| e.to_string())) {
            Ok(c) => Arc::new(c.with_observer(metrics.clone())),
            Err(e) => {
                tracing::error!(error = %e, "cannot set up the KMS client");
                return super::EXIT_CONFIG_ERROR;
            }
        };
    if let Some(warning) = plain_http_warning(&config.kms.address) {
        tracing::warn!("{warning}");
    }
    let loaded = match load_templates(&config.templates) {
        Ok(l) => l,
        Err(errors) => {
            for e in errors {
                tracing::error!("{e}");
            }
            return super::EXIT_CONFIG_ERROR;
        }
    };
    let authenticator = match KmsAuthenticator::new(client.clone(), config.auth.clone()) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            tracing::error!(error = %e, "cannot set up the auth method");
            return 1;
        }
    };
    let fetcher = Arc::new(KmsFetcher::new(client.clone()));
    let leases = Arc::new(KmsLeases::new(client.clone()));
    let child_env = match config.exec.as_ref().map(child_plan).transpose() {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                tracing::error!("{e}");
            }
            return super::EXIT_CONFIG_ERROR;
        }
    };

    if options.dry {
        let mut previews: Vec<DryRunTemplate<'_>> = config
            .templates
            .iter()
            .zip(&loaded)
            .map(|(t, l)| DryRunTemplate {
                id: &l.id,
                destination: t.destination.to_str().unwrap_or("(non-UTF-8 path)"),
                template: &*l.compiled,
                names_only: false,
            })
            .collect();
        if let Some((env, _)) = &child_env {
            previews.push(DryRunTemplate {
                id: &env.id,
                destination: "",
                template: &*env.template,
                names_only: true,
            });
        }
        let mut stdout = std::io::stdout();
        return match dry_run(&*authenticator, &*fetcher, &*leases, &previews, &mut stdout).await {
            Ok(0) => 0,
            Ok(_) => 1,
            Err(e) => {
                tracing::error!(error = %e, "dry run failed");
                1
            }
        };
    }

    // A killed agent may have left a temporary file (holding a secret) beside a destination or sink.
    for path in config
        .templates
        .iter()
        .map(|t| t.destination.as_path())
        .chain(config.sinks.iter().map(|s| s.path.as_path()))
    {
        let removed = kms_agent::fsutil::remove_leftover_temps(path);
        if removed > 0 {
            tracing::info!(path = %path.display(), removed, "removed temporary files left by an interrupted write");
        }
    }
    let readiness = Arc::new(Readiness::new(
        loaded
            .iter()
            .map(|l| l.id.clone())
            .chain(child_env.as_ref().map(|(env, _)| env.id.clone())),
    ));
    let _listener = match &config.listener {
        Some(l) => {
            match TelemetryServer::start(l.address, metrics.clone(), readiness.clone()).await {
                Ok(server) => {
                    tracing::info!(address = %server.addr(), "serving /healthz, /readyz and /metrics");
                    Some(server)
                }
                Err(e) => {
                    tracing::error!(address = %l.address, error = %e, "cannot listen for health and metrics");
                    return 1;
                }
            }
        }
        None => None,
    };
    let longest_command = config
        .templates
        .iter()
        .filter_map(|t| t.execute.as_ref().map(|e| e.timeout))
        .max()
        .unwrap_or_default();
    let plan = AgentPlan {
        authenticator,
        fetcher,
        leases,
        sinks: sink_plans(&config),
        templates: {
            let mut templates = template_plans(&config, loaded);
            templates.extend(child_env.as_ref().map(|(env, _)| env.clone()));
            templates
        },
        child: child_env.map(|(_, child)| child),
        exit_after_auth: config.kms.exit_after_auth,
        revoke_on_shutdown: config.kms.revoke_credentials_on_shutdown,
        cache: config.cache.as_ref().map(cache_args),
        restart_policy: RestartPolicy::default(),
        // A signal's shutdown is bounded by the grace; an exit-after-auth run lets its commands
        // finish within their own timeouts.
        shutdown_timeout: if config.kms.exit_after_auth {
            config
                .kms
                .shutdown_grace
                .max(longest_command + DEFAULT_KILL_GRACE + SHUTDOWN_SLACK)
        } else {
            config.kms.shutdown_grace
        },
        max_concurrent_fetches: MAX_CONCURRENT_FETCHES,
        metrics,
        readiness,
    };
    let mut signals = match signal_events() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot install signal handlers");
            return 1;
        }
    };
    let agent = match run_agent(plan).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the agent");
            return 1;
        }
    };
    tracing::info!(
        method = config.auth.method_name(),
        templates = config.templates.len(),
        sinks = config.sinks.len(),
        "agent started"
    );
    let handle = agent.handle.clone();
    let wait = agent.wait();
    tokio::pin!(wait);
    let mut stopping = false;
    loop {
        tokio::select! {
            exit = &mut wait => return exit.code,
            Some(event) = signals.next() => match event {
                SignalEvent::Shutdown if stopping => {
                    let killed = signal_running_commands(Signal::SIGKILL);
                    tracing::warn!(commands_killed = killed, "second signal: exiting at once");
                    return EXIT_INTERRUPTED;
                }
                SignalEvent::Shutdown => {
                    stopping = true;
                    handle.shutdown();
                }
                SignalEvent::Reload => reload(&config, &source, &options, &handle),
            },
        }
    }
}

/// SIGHUP: read the config again; apply its templates and sinks, or keep the running config
/// when the new one is invalid.
fn reload(running: &Config, source: &ConfigSource, options: &RunOptions, handle: &AgentHandle) {
    tracing::info!(source = %source.describe(), "SIGHUP: reloading the configuration");
    let mut new = match config::load(source, &ProcessEnv) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors.errors() {
                tracing::error!("reload rejected: {e}");
            }
            tracing::warn!("keeping the running configuration");
            return;
        }
    };
    if let Err(e) = settle(&mut new, options) {
        tracing::error!("reload rejected: {e}");
        tracing::warn!("keeping the running configuration");
        return;
    }
    let planned = load_templates(&new.templates).and_then(|loaded| plans(&new, loaded));
    let (templates, child) = match planned {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                tracing::error!("reload rejected: {e}");
            }
            tracing::warn!("keeping the running configuration");
            return;
        }
    };
    if new.kms != running.kms
        || new.auth != running.auth
        || new.cache != running.cache
        || new.listener != running.listener
    {
        tracing::warn!("changes to kms, auth, cache or listener take effect at the next restart; templates and sinks are reloaded now");
    }
    handle.reload(templates, sink_plans(&new), child);
}
