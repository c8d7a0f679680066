//! A short human-readable summary of a validated configuration, for `kms agent validate` and the
//! start-up log. Shows where things are, never credential values.

use std::fmt::Write as _;

use super::duration::format_duration;
use super::model::*;
use super::permissions::format_permissions;
use crate::template::EngineKind;

impl Config {
    /// Multi-line summary: origin, server, auth method, sinks, templates, cache, listener.
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
        out
    }
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
