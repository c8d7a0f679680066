//! Stage one: the document read into raw structs that hold text and positions. Unknown keys,
//! duplicate keys and structural type errors (a list where a mapping belongs) are reported here;
//! the text is interpreted in `validate`.

use super::error::{ErrorKind, Errors, Location};
use super::node::Node;
use super::reader::{Leaf, MapReader, Site};

pub(crate) const ROOT_KEYS: &[&str] = &[
    "kms",
    "infisical",
    "auth",
    "sinks",
    "cache",
    "templates",
    "listener",
];
pub(crate) const KMS_KEYS: &[&str] = &[
    "address",
    "timeout",
    "tls",
    "api-version",
    "exit-after-auth",
    "revoke-credentials-on-shutdown",
    "shutdown-grace",
    "retry-strategy",
];
pub(crate) const TLS_KEYS: &[&str] = &["ca-cert"];
pub(crate) const RETRY_KEYS: &[&str] = &["max-retries", "base-delay", "max-delay"];
pub(crate) const AUTH_KEYS: &[&str] = &["type", "config"];
/// Every `auth.config` key of every method; which ones a method accepts is in [`auth_keys`].
pub(crate) const AUTH_CONFIG_KEYS: &[&str] = &[
    "client-id",
    "client-secret",
    "remove_client_secret_on_read",
    "identity-id",
    "service-account-token",
    "service-account-key",
];
pub(crate) const SINK_KEYS: &[&str] = &["type", "config"];
pub(crate) const SINK_CONFIG_KEYS: &[&str] = &["path", "permissions"];
pub(crate) const CACHE_KEYS: &[&str] = &["persistent"];
pub(crate) const PERSISTENT_KEYS: &[&str] = &[
    "type",
    "path",
    "service-account-token-path",
    "key-file",
    "gc-interval",
    "max-entries",
];
pub(crate) const TEMPLATE_KEYS: &[&str] = &[
    "source-path",
    "template-content",
    "base64-template-content",
    "destination-path",
    "engine",
    "config",
];
pub(crate) const TEMPLATE_CONFIG_KEYS: &[&str] = &["polling-interval", "permissions", "execute"];
pub(crate) const EXECUTE_KEYS: &[&str] = &["command", "timeout"];
pub(crate) const LISTENER_KEYS: &[&str] = &["address", "allow-non-loopback"];

/// The auth methods and the `auth.config` keys each accepts.
pub(crate) const AUTH_METHODS: &[(&str, &[&str])] = &[
    (
        "universal-auth",
        &["client-id", "client-secret", "remove_client_secret_on_read"],
    ),
    ("kubernetes", &["identity-id", "service-account-token"]),
    ("azure", &["identity-id"]),
    ("gcp-id-token", &["identity-id"]),
    ("gcp-iam", &["identity-id", "service-account-key"]),
    ("aws-iam", &["identity-id"]),
];

pub(crate) fn auth_keys(method: &str) -> Option<&'static [&'static str]> {
    AUTH_METHODS
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, keys)| *keys)
}

/// Every leaf field path of the schema (`[]` marks a list), for documentation checks.
pub fn field_paths() -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |prefix: &str, keys: &[&str], skip: &[&str]| {
        for k in keys.iter().filter(|k| !skip.contains(k)) {
            out.push(format!("{prefix}{k}"));
        }
    };
    add("kms.", KMS_KEYS, &["tls", "retry-strategy"]);
    add("kms.tls.", TLS_KEYS, &[]);
    add("kms.retry-strategy.", RETRY_KEYS, &[]);
    add("auth.", AUTH_KEYS, &["config"]);
    add("auth.config.", AUTH_CONFIG_KEYS, &[]);
    add("sinks[].", SINK_KEYS, &["config"]);
    add("sinks[].config.", SINK_CONFIG_KEYS, &[]);
    add("cache.persistent.", PERSISTENT_KEYS, &[]);
    add("templates[].", TEMPLATE_KEYS, &["config"]);
    add("templates[].config.", TEMPLATE_CONFIG_KEYS, &["execute"]);
    add("templates[].config.execute.", EXECUTE_KEYS, &[]);
    add("listener.", LISTENER_KEYS, &[]);
    out
}

#[derive(Debug)]
pub(crate) struct RawConfig {
    pub root: Site,
    pub kms: Option<RawKms>,
    pub auth: Option<RawAuth>,
    pub sinks: Vec<RawSink>,
    pub cache: Option<RawPersistentCache>,
    pub templates: Vec<RawTemplate>,
    pub listener: Option<RawListener>,
}

#[derive(Debug)]
pub(crate) struct RawKms {
    pub address: Option<Leaf>,
    pub timeout: Option<Leaf>,
    pub ca_cert: Option<Leaf>,
    pub api_version: Option<Leaf>,
    pub exit_after_auth: Option<Leaf>,
    pub revoke_credentials_on_shutdown: Option<Leaf>,
    pub shutdown_grace: Option<Leaf>,
    pub retry: Option<RawRetry>,
}

#[derive(Debug)]
pub(crate) struct RawRetry {
    pub site: Site,
    pub max_retries: Option<Leaf>,
    pub base_delay: Option<Leaf>,
    pub max_delay: Option<Leaf>,
}

#[derive(Debug)]
pub(crate) struct RawAuth {
    pub site: Site,
    pub method: Option<Leaf>,
    /// `auth.config`, or the `auth` mapping's site when `config` is absent.
    pub config_site: Site,
    /// The `auth.config` fields present, by key.
    pub fields: Vec<(&'static str, Leaf)>,
}

impl RawAuth {
    pub fn field(&self, key: &str) -> Option<&Leaf> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, leaf)| leaf)
    }
}

#[derive(Debug)]
pub(crate) struct RawSink {
    pub site: Site,
    pub kind: Option<Leaf>,
    pub config_site: Site,
    pub path: Option<Leaf>,
    pub permissions: Option<Leaf>,
}

#[derive(Debug)]
pub(crate) struct RawPersistentCache {
    pub site: Site,
    pub kind: Option<Leaf>,
    pub path: Option<Leaf>,
    pub service_account_token_path: Option<Leaf>,
    pub key_file: Option<Leaf>,
    pub gc_interval: Option<Leaf>,
    pub max_entries: Option<Leaf>,
}

#[derive(Debug)]
pub(crate) struct RawTemplate {
    pub site: Site,
    pub source_path: Option<Leaf>,
    pub template_content: Option<Leaf>,
    pub base64_template_content: Option<Leaf>,
    pub destination_path: Option<Leaf>,
    pub engine: Option<Leaf>,
    pub polling_interval: Option<Leaf>,
    pub permissions: Option<Leaf>,
    pub execute: Option<RawExecute>,
}

#[derive(Debug)]
pub(crate) struct RawExecute {
    pub site: Site,
    pub command: Option<Leaf>,
    pub timeout: Option<Leaf>,
}

#[derive(Debug)]
pub(crate) struct RawListener {
    pub address: Option<Leaf>,
    pub allow_non_loopback: Option<Leaf>,
}

/// Reads the document root. `None` only when the root is not a mapping (reported).
pub(crate) fn read(root: &Node, errs: &mut Errors) -> Option<RawConfig> {
    // A block mapping's start mark has the column of its first value; the root starts a line.
    let at = Location {
        line: root.at.line,
        column: 1,
    };
    let doc = MapReader::new_at(root, String::new(), at, ROOT_KEYS, errs)?;
    if let (Some(_), Some((alias_at, _))) = (doc.get("kms"), doc.entry("infisical")) {
        errs.push(
            "infisical",
            alias_at,
            ErrorKind::Conflict(
                "`infisical` is an alias of `kms`: give one of them, not both".into(),
            ),
        );
    }
    let kms_key = if doc.has("kms") { "kms" } else { "infisical" };
    Some(RawConfig {
        root: doc.site.clone(),
        kms: doc.map(kms_key, KMS_KEYS, errs).map(|m| read_kms(&m, errs)),
        auth: doc
            .map("auth", AUTH_KEYS, errs)
            .map(|m| read_auth(&m, errs)),
        sinks: doc
            .list("sinks", errs)
            .into_iter()
            .filter_map(|(path, node)| {
                MapReader::new(node, path, SINK_KEYS, errs).map(|m| read_sink(&m, errs))
            })
            .collect(),
        cache: doc
            .map("cache", CACHE_KEYS, errs)
            .and_then(|c| c.map("persistent", PERSISTENT_KEYS, errs))
            .map(|m| read_persistent(&m, errs)),
        templates: doc
            .list("templates", errs)
            .into_iter()
            .filter_map(|(path, node)| {
                MapReader::new(node, path, TEMPLATE_KEYS, errs).map(|m| read_template(&m, errs))
            })
            .collect(),
        listener: doc
            .map("listener", LISTENER_KEYS, errs)
            .map(|m| RawListener {
                address: m.leaf("address", errs),
                allow_non_loopback: m.leaf("allow-non-loopback", errs),
            }),
    })
}

fn read_kms(m: &MapReader<'_>, errs: &mut Errors) -> RawKms {
    RawKms {
        address: m.leaf("address", errs),
        timeout: m.leaf("timeout", errs),
        ca_cert: m
            .map("tls", TLS_KEYS, errs)
            .and_then(|tls| tls.leaf("ca-cert", errs)),
        api_version: m.leaf("api-version", errs),
        exit_after_auth: m.leaf("exit-after-auth", errs),
        revoke_credentials_on_shutdown: m.leaf("revoke-credentials-on-shutdown", errs),
        shutdown_grace: m.leaf("shutdown-grace", errs),
        retry: m.map("retry-strategy", RETRY_KEYS, errs).map(|r| RawRetry {
            site: r.site.clone(),
            max_retries: r.leaf("max-retries", errs),
            base_delay: r.leaf("base-delay", errs),
            max_delay: r.leaf("max-delay", errs),
        }),
    }
}

fn read_auth(m: &MapReader<'_>, errs: &mut Errors) -> RawAuth {
    let method = m.leaf("type", errs);
    // The keys `auth.config` may hold depend on the method; with an unknown method, any key of
    // any method is let through (the method itself is the error).
    let allowed = method
        .as_ref()
        .and_then(|t| auth_keys(&t.text))
        .unwrap_or(AUTH_CONFIG_KEYS);
    let config = m.map("config", allowed, errs);
    let fields = config
        .as_ref()
        .map(|c| {
            AUTH_CONFIG_KEYS
                .iter()
                .filter_map(|k| c.leaf(k, errs).map(|leaf| (*k, leaf)))
                .collect()
        })
        .unwrap_or_default();
    let config_site = config.map(|c| c.site).unwrap_or_else(|| Site {
        path: m.path_of("config"),
        at: m.site.at,
    });
    RawAuth {
        site: m.site.clone(),
        method,
        config_site,
        fields,
    }
}

fn read_sink(m: &MapReader<'_>, errs: &mut Errors) -> RawSink {
    let config = m.map("config", SINK_CONFIG_KEYS, errs);
    RawSink {
        site: m.site.clone(),
        kind: m.leaf("type", errs),
        path: config.as_ref().and_then(|c| c.leaf("path", errs)),
        permissions: config.as_ref().and_then(|c| c.leaf("permissions", errs)),
        config_site: config.map(|c| c.site).unwrap_or_else(|| Site {
            path: m.path_of("config"),
            at: m.site.at,
        }),
    }
}

fn read_persistent(m: &MapReader<'_>, errs: &mut Errors) -> RawPersistentCache {
    RawPersistentCache {
        site: m.site.clone(),
        kind: m.leaf("type", errs),
        path: m.leaf("path", errs),
        service_account_token_path: m.leaf("service-account-token-path", errs),
        key_file: m.leaf("key-file", errs),
        gc_interval: m.leaf("gc-interval", errs),
        max_entries: m.leaf("max-entries", errs),
    }
}

fn read_template(m: &MapReader<'_>, errs: &mut Errors) -> RawTemplate {
    let config = m.map("config", TEMPLATE_CONFIG_KEYS, errs);
    let execute = config
        .as_ref()
        .and_then(|c| c.map("execute", EXECUTE_KEYS, errs))
        .map(|e| RawExecute {
            site: e.site.clone(),
            command: e.leaf("command", errs),
            timeout: e.leaf("timeout", errs),
        });
    RawTemplate {
        site: m.site.clone(),
        source_path: m.leaf("source-path", errs),
        template_content: m.leaf("template-content", errs),
        base64_template_content: m.leaf("base64-template-content", errs),
        destination_path: m.leaf("destination-path", errs),
        engine: m.leaf("engine", errs),
        polling_interval: config
            .as_ref()
            .and_then(|c| c.leaf("polling-interval", errs)),
        permissions: config.as_ref().and_then(|c| c.leaf("permissions", errs)),
        execute,
    }
}
