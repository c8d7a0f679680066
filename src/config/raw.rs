//! Stage one: the document read into raw structs that hold text and positions. Unknown keys,
//! duplicate keys and structural type errors (a list where a mapping belongs) are reported here;
//! the text is interpreted in `validate`.

use super::error::{ErrorKind, Errors, Location};
use super::node::{Node, NodeKind};
use super::reader::{child_path, Leaf, MapReader, Site};

pub(crate) const ROOT_KEYS: &[&str] = &[
    "kms",
    "infisical",
    "auth",
    "sinks",
    "cache",
    "templates",
    "listener",
    "exec",
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
pub(crate) const EXEC_KEYS: &[&str] = &[
    "command",
    "env",
    "env-from",
    "engine",
    "polling-interval",
    "restart-on-change",
    "stop-signal",
    "stop-grace",
    "working-dir",
    "inherit-env",
];
pub(crate) const ENV_FROM_KEYS: &[&str] = &["project", "environment", "path", "recursive"];

/// The wrong-type message of a plain string (or a mapping) where `exec.command` belongs.
const COMMAND_EXPECTED: &str = "a list of arguments, e.g. [\"/app/server\", \"--port\", \"8080\"] \
     (for a shell, write [\"sh\", \"-c\", \"...\"])";

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
    // `exec.env` is one leaf: its keys are the user's variable names.
    add("exec.", EXEC_KEYS, &["env-from"]);
    add("exec.env-from[].", ENV_FROM_KEYS, &[]);
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
    pub exec: Option<RawExec>,
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

#[derive(Debug)]
pub(crate) struct RawExec {
    /// The `exec` key's site.
    pub site: Site,
    /// `exec.command`: its site and items; `None` when absent, null or not a list (reported).
    pub command: Option<(Site, Vec<Leaf>)>,
    /// `exec.env`, in the order written, duplicates dropped (reported).
    pub env: Vec<RawEnvVar>,
    pub env_from: Vec<RawEnvFolder>,
    pub engine: Option<Leaf>,
    pub polling_interval: Option<Leaf>,
    pub restart_on_change: Option<Leaf>,
    pub stop_signal: Option<Leaf>,
    pub stop_grace: Option<Leaf>,
    pub working_dir: Option<Leaf>,
    pub inherit_env: Option<Leaf>,
}

/// `exec.env.NAME`: the name as written (checked in `validate`) and the template text.
#[derive(Debug)]
pub(crate) struct RawEnvVar {
    pub name: String,
    /// The key's site: `exec.env.NAME` at the name.
    pub name_site: Site,
    /// The template; a null value is an empty template.
    pub value: Leaf,
}

#[derive(Debug)]
pub(crate) struct RawEnvFolder {
    pub site: Site,
    pub project: Option<Leaf>,
    pub environment: Option<Leaf>,
    pub path: Option<Leaf>,
    pub recursive: Option<Leaf>,
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
        exec: doc
            .map("exec", EXEC_KEYS, errs)
            .map(|m| read_exec(&m, errs)),
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

fn read_exec(m: &MapReader<'_>, errs: &mut Errors) -> RawExec {
    RawExec {
        site: m.site.clone(),
        command: m.scalar_list("command", COMMAND_EXPECTED, errs),
        env: read_env(m, errs),
        env_from: m
            .list("env-from", errs)
            .into_iter()
            .filter_map(|(path, node)| {
                MapReader::new(node, path, ENV_FROM_KEYS, errs).map(|f| RawEnvFolder {
                    site: f.site.clone(),
                    project: f.leaf("project", errs),
                    environment: f.leaf("environment", errs),
                    path: f.leaf("path", errs),
                    recursive: f.leaf("recursive", errs),
                })
            })
            .collect(),
        engine: m.leaf("engine", errs),
        polling_interval: m.leaf("polling-interval", errs),
        restart_on_change: m.leaf("restart-on-change", errs),
        stop_signal: m.leaf("stop-signal", errs),
        stop_grace: m.leaf("stop-grace", errs),
        working_dir: m.leaf("working-dir", errs),
        inherit_env: m.leaf("inherit-env", errs),
    }
}

/// `exec.env`: a mapping whose keys are the user's variable names, so not a [`MapReader`] (which
/// needs a fixed key set). Non-text and duplicate keys, and values that are lists or mappings,
/// are reported here; the names themselves are checked in `validate`.
fn read_env(m: &MapReader<'_>, errs: &mut Errors) -> Vec<RawEnvVar> {
    let Some((key_at, node)) = m.entry("env") else {
        return Vec::new();
    };
    let path = m.path_of("env");
    let pairs = match &node.kind {
        NodeKind::Map(pairs) => pairs,
        _ if node.is_null() => return Vec::new(),
        _ => {
            errs.push(
                &path,
                key_at,
                ErrorKind::WrongType {
                    expected: "a mapping of variable names to templates",
                },
            );
            return Vec::new();
        }
    };
    let mut out: Vec<RawEnvVar> = Vec::new();
    for (key, value) in pairs {
        let NodeKind::Scalar { text: name, .. } = &key.kind else {
            errs.push(
                &path,
                key.at,
                ErrorKind::WrongType {
                    expected: "text keys",
                },
            );
            continue;
        };
        let name_site = Site {
            path: child_path(&path, name),
            at: key.at,
        };
        if out.iter().any(|v| v.name == *name) {
            errs.push(name_site.path, key.at, ErrorKind::DuplicateKey);
            continue;
        }
        let value = match &value.kind {
            NodeKind::Scalar { text, plain } => Leaf {
                text: text.clone(),
                plain: *plain,
                path: name_site.path.clone(),
                // A null value is positioned at the next token, maybe lines later.
                at: if value.is_null() { key.at } else { value.at },
                wrong_type: false,
            },
            _ => {
                errs.push(
                    &name_site.path,
                    key.at,
                    ErrorKind::WrongType {
                        expected: "a template (text), not a list or mapping",
                    },
                );
                Leaf {
                    text: String::new(),
                    plain: false,
                    path: name_site.path.clone(),
                    at: key.at,
                    wrong_type: true,
                }
            }
        };
        out.push(RawEnvVar {
            name: name.clone(),
            name_site,
            value,
        });
    }
    out
}
