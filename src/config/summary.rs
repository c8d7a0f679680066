//! A short human-readable summary of a validated configuration, for `kms agent validate` and the
//! start-up log. Shows where things are, never credential values.

use std::fmt::Write as _;

use super::duration::format_duration;
use super::model::*;
use super::permissions::format_permissions;
use crate::template::EngineKind;

impl Config {
    /// Multi-line summary: origin, server, auth method, sinks, templates, cache, listener, exec.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let origin = match &self.origin {
            ConfigOrigin::File(p) => format!("file {}", p.display()),
            ConfigOrigin::EnvBase64(var) => format!("environment variable {var} (base64)"),
            ConfigOrigin::Text(name) => name.clone(),
        };
        let _ = writeln!(out, "configuration: {origin}");
        let k = &self.kms;
        let _ = writeln!(
            out,
            "kms: {} (api {}, timeout {}, {} retries from {} up to {}{}{})",
            k.address,
            k.api_version.as_str(),
            format_duration(k.timeout),
            k.retry.max_retries,
            format_duration(k.retry.base_delay),
            format_duration(k.retry.max_delay),
            if k.exit_after_auth {
                ", exit after auth"
            } else {
                ""
            },
            if k.revoke_credentials_on_shutdown {
                ", revoke on shutdown"
            } else {
                ""
            },
        );
        let _ = writeln!(
            out,
            "auth: {} ({}; files are read at login)",
            self.auth.method_name(),
            auth_details(&self.auth).join(", ")
        );
        if !self.env_overrides.is_empty() {
            let _ = writeln!(
                out,
                "environment overrides: {}",
                self.env_overrides.join(", ")
            );
        }
        let _ = writeln!(out, "sinks: {}", self.sinks.len());
        for s in &self.sinks {
            let _ = writeln!(
                out,
                "  - file {} (mode {})",
                s.path.display(),
                format_permissions(s.permissions)
            );
        }
        let _ = writeln!(out, "templates: {}", self.templates.len());
        for t in &self.templates {
            let source = match &t.source {
                TemplateSource::File(p) => p.display().to_string(),
                TemplateSource::Inline {
                    content,
                    from_base64: false,
                } => format!("inline ({} bytes)", content.len()),
                TemplateSource::Inline { content, .. } => {
                    format!("inline base64 ({} bytes decoded)", content.len())
                }
            };
            let engine = match t.engine {
                EngineKind::Go => "go",
                EngineKind::Handlebars => "handlebars",
            };
            let _ = writeln!(
                out,
                "  - [{}] {} -> {} (engine {}, every {}, mode {})",
                t.index,
                source,
                t.destination.display(),
                engine,
                format_duration(t.polling_interval),
                format_permissions(t.permissions)
            );
            if let Some(e) = &t.execute {
                let _ = writeln!(
                    out,
                    "      command: {} (timeout {})",
                    e.command,
                    format_duration(e.timeout)
                );
            }
        }
        if let Some(c) = &self.cache {
            let key = match &c.key {
                CacheKeySource::Kubernetes {
                    service_account_token_path,
                } => format!(
                    "kubernetes, key from {}",
                    service_account_token_path.display()
                ),
                CacheKeySource::File { key_file } => {
                    format!("file, key from {}", key_file.display())
                }
            };
            let _ = writeln!(
                out,
                "cache: {} ({key}, gc every {}, at most {} entries)",
                c.path.display(),
                format_duration(c.gc_interval),
                c.max_entries
            );
        }
        if let Some(l) = &self.listener {
            let _ = writeln!(out, "listener: {}", l.address);
        }
        if let Some(e) = &self.exec {
            let _ = writeln!(out, "exec: {}", exec_summary(e));
        }
        out
    }
}

/// The program and the number of its arguments, never the arguments or the template text.
fn exec_summary(e: &ExecConfig) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let command = match e.command.split_first() {
        None => "(command from `kms run`)".to_string(),
        Some((program, [])) => program.clone(),
        Some((program, args)) => format!("{program} (+{})", plural(args.len(), "arg", "args")),
    };
    let restart = match e.restart_on_change {
        RestartOnChange::Always => "always",
        RestartOnChange::Never => "never",
    };
    let stop = if e.stop_signal == nix::sys::signal::Signal::SIGKILL {
        "SIGKILL".to_string()
    } else {
        format!(
            "{} then SIGKILL after {}",
            e.stop_signal.as_str(),
            format_duration(e.stop_grace)
        )
    };
    let mut line = format!(
        "{command}, {}, {}, restart on change: {restart}, stop: {stop}",
        plural(e.env.len(), "env template", "env templates"),
        plural(e.env_from.len(), "folder", "folders"),
    );
    if let Some(dir) = &e.working_dir {
        let _ = write!(line, ", in {}", dir.display());
    }
    if !e.inherit_env {
        line.push_str(", agent environment not inherited");
    }
    line
}

/// Credential file paths are not shown: a credential pasted where its path belongs would
/// otherwise end up in the start-up log.
fn credential(name: &str, c: &Credential) -> String {
    match c {
        Credential::File(_) => format!("{name} from a file"),
        Credential::Value(_) => format!("{name} from the environment"),
    }
}

fn auth_details(auth: &AuthConfig) -> Vec<String> {
    match auth {
        AuthConfig::UniversalAuth(u) => {
            let mut v = vec![
                credential("client-id", &u.client_id),
                credential("client-secret", &u.client_secret),
            ];
            if u.remove_client_secret_on_read {
                v.push("client-secret file removed after reading".into());
            }
            v
        }
        AuthConfig::Kubernetes(k) => vec![
            credential("identity-id", &k.identity_id),
            format!(
                "service-account token from file {}",
                k.service_account_token.display()
            ),
        ],
        AuthConfig::GcpIam(g) => vec![
            credential("identity-id", &g.identity_id),
            format!(
                "service-account key from file {}",
                g.service_account_key.display()
            ),
        ],
        AuthConfig::Azure(i) | AuthConfig::GcpIdToken(i) | AuthConfig::AwsIam(i) => {
            vec![credential("identity-id", &i.identity_id)]
        }
    }
}
