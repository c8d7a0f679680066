//! Stage two: raw structs to a validated [`Config`]: text interpreted, defaults filled in,
//! environment overrides applied, cross-field rules checked. Every error is collected.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;

use super::defaults;
use super::env::Env;
use super::error::{ErrorKind, Errors};
use super::fields::{
    boolean, choice, duration, missing, non_empty, optional_path, permissions, present,
    required_path, unsigned,
};
use super::file_identity::{file_identity, FileIdentity};
use super::model::*;
use super::raw::{RawConfig, RawExecute, RawKms, RawPersistentCache, RawSink, RawTemplate};
use super::reader::{Leaf, Site};
use crate::template::EngineKind;

/// Validates `raw`; `None` when any error was pushed.
pub(crate) fn validate(
    raw: &RawConfig,
    env: &dyn Env,
    origin: ConfigOrigin,
    errs: &mut Errors,
) -> Option<Config> {
    let mut env_overrides = Vec::new();
    let kms = kms(raw.kms.as_ref(), errs);
    let auth = match &raw.auth {
        Some(a) => super::auth::auth(a, env, &mut env_overrides, errs),
        None => {
            missing(
                None,
                "auth",
                &raw.root,
                Some("every configuration needs an auth method"),
                errs,
            );
            None
        }
    };
    let sinks: Vec<Option<SinkConfig>> = raw.sinks.iter().map(|s| sink(s, errs)).collect();
    let cache = raw.cache.as_ref().map(|c| cache(c, errs));
    let templates: Vec<Option<TemplateConfig>> = raw
        .templates
        .iter()
        .enumerate()
        .map(|(i, t)| template(i, t, errs))
        .collect();
    let listener = raw.listener.as_ref().map(|l| listener(l, &raw.root, errs));
    let exec = raw.exec.as_ref().map(|e| super::exec::exec(e, errs));
    check_file_clashes(raw, errs);

    if !errs.0.is_empty() {
        return None;
    }
    Some(Config {
        origin,
        kms: kms?,
        auth: auth?,
        sinks: sinks.into_iter().collect::<Option<_>>()?,
        cache: optional(cache)?,
        templates: templates.into_iter().collect::<Option<_>>()?,
        listener: optional(listener)?,
        exec: optional(exec)?,
        env_overrides,
    })
}

/// An optional section's result: absent is fine (`Some(None)`), present but invalid is `None`.
fn optional<T>(section: Option<Option<T>>) -> Option<Option<T>> {
    match section {
        None => Some(None),
        Some(inner) => inner.map(Some),
    }
}

fn kms(raw: Option<&RawKms>, errs: &mut Errors) -> Option<KmsConfig> {
    let none = RawKms {
        address: None,
        timeout: None,
        ca_cert: None,
        api_version: None,
        exit_after_auth: None,
        revoke_credentials_on_shutdown: None,
        shutdown_grace: None,
        retry: None,
    };
    let raw = raw.unwrap_or(&none);
    let address = address(raw.address.as_ref(), errs);
    let timeout = duration(raw.timeout.as_ref(), defaults::KMS_TIMEOUT, false, errs);
    let ca_cert = optional_path(raw.ca_cert.as_ref(), errs);
    let api_version = match present(raw.api_version.as_ref()) {
        None => Some(defaults::API_VERSION),
        Some(leaf) => {
            let all = [ApiVersion::Auto, ApiVersion::V3, ApiVersion::V4];
            let names = all.map(ApiVersion::as_str);
            choice(leaf, &names, errs).and_then(|c| all.into_iter().find(|v| v.as_str() == c))
        }
    };
    let exit_after_auth = boolean(
        raw.exit_after_auth.as_ref(),
        defaults::EXIT_AFTER_AUTH,
        errs,
    );
    let revoke = boolean(
        raw.revoke_credentials_on_shutdown.as_ref(),
        defaults::REVOKE_CREDENTIALS_ON_SHUTDOWN,
        errs,
    );
    let shutdown_grace = shutdown_grace(raw.shutdown_grace.as_ref(), errs);
    let retry = retry(raw, errs);
    Some(KmsConfig {
        address: address?,
        timeout: timeout?,
        ca_cert: ca_cert?,
        api_version: api_version?,
        exit_after_auth: exit_after_auth?,
        revoke_credentials_on_shutdown: revoke?,
        shutdown_grace: shutdown_grace?,
        retry: retry?,
    })
}

/// `kms.shutdown-grace`: bounded, so that the shutdown deadline is always a real instant.
fn shutdown_grace(leaf: Option<&Leaf>, errs: &mut Errors) -> Option<Duration> {
    let grace = duration(leaf, defaults::SHUTDOWN_GRACE, true, errs)?;
    if grace > defaults::MAX_SHUTDOWN_GRACE {
        if let Some(l) = present(leaf) {
            errs.invalid(&l.path, l.at, "must be at most 1h");
        }
        return None;
    }
    Some(grace)
}

fn address(leaf: Option<&Leaf>, errs: &mut Errors) -> Option<reqwest::Url> {
    let Some(leaf) = present(leaf) else {
        return reqwest::Url::parse(defaults::KMS_ADDRESS).ok();
    };
    match reqwest::Url::parse(leaf.text.trim()) {
        Ok(url) if !url.username().is_empty() || url.password().is_some() => {
            // The address is logged; credentials belong in the auth section.
            errs.invalid(
                &leaf.path,
                leaf.at,
                "must not contain a user name or password",
            );
            None
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
        _ => {
            errs.invalid(
                &leaf.path,
                leaf.at,
                "must be an http:// or https:// URL, e.g. https://app.kms.hanzo.ai",
            );
            None
        }
    }
}

fn retry(raw: &RawKms, errs: &mut Errors) -> Option<RetryStrategy> {
    let Some(r) = &raw.retry else {
        return Some(RetryStrategy {
            max_retries: defaults::RETRY_MAX_RETRIES,
            base_delay: defaults::RETRY_BASE_DELAY,
            max_delay: defaults::RETRY_MAX_DELAY,
        });
    };
    let max_retries = unsigned(r.max_retries.as_ref(), defaults::RETRY_MAX_RETRIES, errs);
    let base_delay = duration(
        r.base_delay.as_ref(),
        defaults::RETRY_BASE_DELAY,
        false,
        errs,
    );
    let max_delay = duration(r.max_delay.as_ref(), defaults::RETRY_MAX_DELAY, false, errs);
    let (base_delay, max_delay) = (base_delay?, max_delay?);
    if max_delay < base_delay {
        let (path, at) = match (
            present(r.max_delay.as_ref()),
            present(r.base_delay.as_ref()),
        ) {
            (Some(l), _) | (None, Some(l)) => (l.path.clone(), l.at),
            (None, None) => (r.site.path.clone(), r.site.at),
        };
        errs.push(
            path,
            at,
            ErrorKind::Conflict("max-delay must not be shorter than base-delay".into()),
        );
        return None;
    }
    Some(RetryStrategy {
        max_retries: max_retries?,
        base_delay,
        max_delay,
    })
}

fn sink(raw: &RawSink, errs: &mut Errors) -> Option<SinkConfig> {
    let kind = match present(raw.kind.as_ref()) {
        Some(leaf) => choice(leaf, &["file"], errs),
        None => {
            missing(raw.kind.as_ref(), "type", &raw.site, Some("file"), errs);
            None
        }
    };
    let path = required_path(raw.path.as_ref(), "path", &raw.config_site, errs);
    let mode = permissions(raw.permissions.as_ref(), defaults::FILE_PERMISSIONS, errs);
    kind?;
    Some(SinkConfig {
        path: path?,
        permissions: mode?,
    })
}

fn cache(raw: &RawPersistentCache, errs: &mut Errors) -> Option<PersistentCacheConfig> {
    let kind = match present(raw.kind.as_ref()) {
        Some(leaf) => choice(leaf, &["kubernetes", "file"], errs),
        None => {
            missing(
                raw.kind.as_ref(),
                "type",
                &raw.site,
                Some("kubernetes or file"),
                errs,
            );
            None
        }
    };
    let path = required_path(raw.path.as_ref(), "path", &raw.site, errs);
    let gc_interval = duration(
        raw.gc_interval.as_ref(),
        defaults::CACHE_GC_INTERVAL,
        false,
        errs,
    );
    let max_entries = unsigned(
        raw.max_entries.as_ref(),
        defaults::CACHE_MAX_ENTRIES.get(),
        errs,
    )
    .and_then(|n| {
        let nz = std::num::NonZeroUsize::new(n);
        if nz.is_none() {
            if let Some(l) = raw.max_entries.as_ref() {
                errs.invalid(&l.path, l.at, "must be at least 1");
            }
        }
        nz
    });
    let only_for = |leaf: Option<&Leaf>, msg: &str, errs: &mut Errors| {
        if let Some(l) = present(leaf) {
            errs.push(&l.path, l.at, ErrorKind::Conflict(msg.into()));
        }
    };
    let key = match kind {
        Some("kubernetes") => {
            only_for(
                raw.key_file.as_ref(),
                "key-file is only for type file",
                errs,
            );
            optional_path(raw.service_account_token_path.as_ref(), errs).map(|p| {
                CacheKeySource::Kubernetes {
                    service_account_token_path: p
                        .unwrap_or_else(|| PathBuf::from(defaults::SERVICE_ACCOUNT_TOKEN_PATH)),
                }
            })
        }
        Some(_) => {
            only_for(
                raw.service_account_token_path.as_ref(),
                "service-account-token-path is only for type kubernetes",
                errs,
            );
            required_path(raw.key_file.as_ref(), "key-file", &raw.site, errs)
                .map(|key_file| CacheKeySource::File { key_file })
        }
        None => None,
    };
    Some(PersistentCacheConfig {
        path: path?,
        key: key?,
        gc_interval: gc_interval?,
        max_entries: max_entries?,
    })
}

fn template(index: usize, raw: &RawTemplate, errs: &mut Errors) -> Option<TemplateConfig> {
    let source = template_source(raw, errs);
    let destination = required_path(
        raw.destination_path.as_ref(),
        "destination-path",
        &raw.site,
        errs,
    );
    let engine = match present(raw.engine.as_ref()) {
        Some(leaf) => choice(leaf, &["go", "handlebars"], errs).map(|e| match e {
            "handlebars" => EngineKind::Handlebars,
            _ => EngineKind::Go,
        }),
        None => Some(engine_from_source(source.as_ref())),
    };
    let polling_interval = duration(
        raw.polling_interval.as_ref(),
        defaults::TEMPLATE_POLLING_INTERVAL,
        false,
        errs,
    );
    let mode = permissions(raw.permissions.as_ref(), defaults::FILE_PERMISSIONS, errs);
    let execute = raw.execute.as_ref().map(|e| execute(e, errs));
    Some(TemplateConfig {
        index,
        source: source?,
        destination: destination?,
        engine: engine?,
        polling_interval: polling_interval?,
        permissions: mode?,
        execute: optional(execute)?,
    })
}

/// `.hbs` and `.handlebars` sources use handlebars; everything else Go templates.
fn engine_from_source(source: Option<&TemplateSource>) -> EngineKind {
    match source {
        Some(TemplateSource::File(p))
            if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("hbs" | "handlebars")
            ) =>
        {
            EngineKind::Handlebars
        }
        _ => EngineKind::Go,
    }
}

fn template_source(raw: &RawTemplate, errs: &mut Errors) -> Option<TemplateSource> {
    // A null source counts as given (and then as empty), so `template-content:` with nothing
    // after it is reported as empty rather than missing.
    let given: Vec<&Leaf> = [
        raw.source_path.as_ref(),
        raw.template_content.as_ref(),
        raw.base64_template_content.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.iter().any(|l| l.wrong_type) {
        return None; // already reported
    }
    match given.as_slice() {
        [] => {
            missing(
                None,
                "source-path",
                &raw.site,
                Some("or template-content or base64-template-content"),
                errs,
            );
            None
        }
        [_, extra, ..] => {
            errs.push(
                &extra.path,
                extra.at,
                ErrorKind::Conflict(
                    "give exactly one of source-path, template-content, base64-template-content"
                        .into(),
                ),
            );
            None
        }
        [one] => {
            let text = if one.is_null() { "" } else { one.text.as_str() };
            if text.trim().is_empty() {
                errs.invalid(&one.path, one.at, "template source must not be empty");
                return None;
            }
            if raw.source_path.is_some() {
                Some(TemplateSource::File(PathBuf::from(text)))
            } else if raw.template_content.is_some() {
                Some(TemplateSource::Inline {
                    content: text.to_string(),
                    from_base64: false,
                })
            } else {
                decode_base64_template(one, text, errs)
            }
        }
    }
}

fn decode_base64_template(leaf: &Leaf, text: &str, errs: &mut Errors) -> Option<TemplateSource> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact) else {
        errs.invalid(&leaf.path, leaf.at, "not valid base64");
        return None;
    };
    match String::from_utf8(bytes) {
        Ok(content) if content.trim().is_empty() => {
            errs.invalid(&leaf.path, leaf.at, "template source must not be empty");
            None
        }
        Ok(content) => Some(TemplateSource::Inline {
            content,
            from_base64: true,
        }),
        Err(_) => {
            errs.invalid(&leaf.path, leaf.at, "decoded template is not UTF-8 text");
            None
        }
    }
}

fn execute(raw: &RawExecute, errs: &mut Errors) -> Option<ExecuteConfig> {
    let command = match present(raw.command.as_ref()) {
        Some(leaf) => non_empty(leaf, errs).map(str::to_string),
        None => {
            missing(raw.command.as_ref(), "command", &raw.site, None, errs);
            None
        }
    };
    let timeout = duration(raw.timeout.as_ref(), defaults::EXECUTE_TIMEOUT, true, errs);
    Some(ExecuteConfig {
        command: command?,
        timeout: timeout?,
    })
}

fn listener(
    raw: &super::raw::RawListener,
    root: &Site,
    errs: &mut Errors,
) -> Option<ListenerConfig> {
    let allow = boolean(
        raw.allow_non_loopback.as_ref(),
        defaults::LISTENER_ALLOW_NON_LOOPBACK,
        errs,
    );
    let Some(leaf) = present(raw.address.as_ref()) else {
        let site = Site {
            path: "listener".into(),
            at: root.at,
        };
        missing(raw.address.as_ref(), "address", &site, None, errs);
        return None;
    };
    let Ok(address) = leaf.text.trim().parse::<SocketAddr>() else {
        errs.invalid(
            &leaf.path,
            leaf.at,
            "must be an IP address and port, e.g. 127.0.0.1:8080",
        );
        return None;
    };
    if !address.ip().is_loopback() && allow == Some(false) {
        errs.invalid(
            &leaf.path,
            leaf.at,
            "must be a loopback address unless listener.allow-non-loopback is true",
        );
        return None;
    }
    allow?;
    Some(ListenerConfig { address })
}

/// Two templates writing one file, or a template overwriting a sink, would fight forever; every
/// spelling of one file counts ([`file_identity`]).
fn check_file_clashes(raw: &RawConfig, errs: &mut Errors) {
    // A map, not a list: with 10,000 templates a pairwise scan took most of start-up.
    let mut seen: HashMap<FileIdentity, &str> = HashMap::new();
    // Relative paths are opened from the agent's working directory.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let files = raw
        .sinks
        .iter()
        .filter_map(|s| present(s.path.as_ref()))
        .chain(
            raw.templates
                .iter()
                .filter_map(|t| present(t.destination_path.as_ref())),
        );
    for leaf in files {
        if leaf.text.trim().is_empty() {
            continue;
        }
        let key = file_identity(Path::new(&leaf.text), &cwd);
        match seen.get(&key) {
            Some(first) => errs.push(
                &leaf.path,
                leaf.at,
                ErrorKind::Conflict(format!("same file as {first}")),
            ),
            None => {
                seen.insert(key, &leaf.path);
            }
        }
    }
}
