//! A pod's annotations read as the injector's settings (docs/injector.md, "Annotations"): its own
//! `kms.hanzo.ai/*` names, the Infisical injector's `org.infisical.com/*` as aliases. Every value
//! is checked here, so that a typo or a bad value refuses the pod with its name instead of
//! producing a pod without its secrets.

use serde_json::{Map, Value};

/// The injector's own annotations.
pub const PREFIX: &str = "kms.hanzo.ai/";
/// The Infisical agent injector's, accepted as aliases.
pub const INFISICAL_PREFIX: &str = "org.infisical.com/";

/// The marker set on an injected pod (`<prefix>agent-status: injected`).
pub const STATUS: &str = "agent-status";
pub const INJECTED: &str = "injected";

/// Default mount path of the shared volume, and the Infisical injector's (where the files of a pod
/// written for it are expected).
pub const DEFAULT_MOUNT_PATH: &str = "/kms/secrets";
pub const INFISICAL_MOUNT_PATH: &str = "/shared/infisical-secrets";

/// The injector's annotation names (after the prefix).
const KNOWN: &[&str] = &[
    "inject",
    "inject-mode",
    "agent-config-map",
    "secrets-mount-path",
    "containers",
    "agent-image",
    "agent-requests-cpu",
    "agent-requests-memory",
    "agent-limits-cpu",
    "agent-limits-memory",
    "agent-revoke-on-shutdown",
    STATUS,
];

/// Those the Infisical injector has too (with its prefix).
const NOT_ALIASED: &[&str] = &["secrets-mount-path", "containers"];

/// Infisical injector annotations this injector does not use: the pod is injected, with a
/// warning naming each.
const INFISICAL_UNUSED: &[&str] = &[
    "agent-cache-enabled",
    "agent-set-security-context",
    "agent-security-context-run-as-user",
    "agent-security-context-run-as-group",
    "agent-security-context-privileged",
    "agent-security-context-allow-privilege-escalation",
    "agent-client-max-retries",
    "agent-client-base-delay",
    "agent-client-max-delay",
    "agent-limits-ephemeral",
    "agent-requests-ephemeral",
];

/// Which agent containers a pod gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An init container renders once before the app starts.
    Init,
    /// A native sidecar keeps the files fresh.
    Sidecar,
    /// Both.
    SidecarInit,
}

impl Mode {
    pub fn has_init(self) -> bool {
        matches!(self, Mode::Init | Mode::SidecarInit)
    }

    pub fn has_sidecar(self) -> bool {
        matches!(self, Mode::Sidecar | Mode::SidecarInit)
    }
}

/// The agent's CPU and memory requests and limits (Kubernetes quantities, checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub requests_cpu: Option<String>,
    pub requests_memory: Option<String>,
    pub limits_cpu: Option<String>,
    pub limits_memory: Option<String>,
}

/// How to inject one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    pub config_map: String,
    pub mount_path: String,
    /// The app containers that get the shared volume; `None`: every one.
    pub containers: Option<Vec<String>>,
    pub image: String,
    pub resources: Resources,
    pub revoke_on_shutdown: bool,
}

/// What to do with a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not asked for, or done already: the reason, for the log.
    Skip(&'static str),
    /// Inject, and tell the user about these.
    Inject {
        settings: Settings,
        warnings: Vec<String>,
    },
    /// Refuse the pod: the message names the annotation.
    Refuse(String),
}

/// One setting's value: ours first, then the Infisical alias.
struct Lookup<'a> {
    annotations: &'a Map<String, Value>,
}

impl<'a> Lookup<'a> {
    /// The value and the full name it was given under.
    fn get(&self, name: &str, has_alias: bool) -> Option<(String, &'a str)> {
        let ours = self.annotations.get_key_value(&format!("{PREFIX}{name}"));
        let theirs = has_alias
            .then(|| {
                self.annotations
                    .get_key_value(&format!("{INFISICAL_PREFIX}{name}"))
            })
            .flatten();
        let (key, value) = ours.or(theirs)?;
        Some((value.as_str().unwrap_or_default().to_string(), key.as_str()))
    }
}

/// Reads the pod's `annotations` (its `metadata.annotations`, maybe absent). `default_image` is
/// the injector's `--agent-image`; `containers` the names of the pod's app containers.
pub fn decide(
    annotations: Option<&Map<String, Value>>,
    default_image: &str,
    containers: &[&str],
) -> Decision {
    let empty = Map::new();
    let annotations = annotations.unwrap_or(&empty);
    let mut warnings = Vec::new();
    for (key, value) in annotations {
        if let Some(name) = key.strip_prefix(PREFIX) {
            if !KNOWN.contains(&name) {
                return Decision::Refuse(format!(
                    "unknown annotation {key}{}: the pod would not get what it asks for; the \
                     annotations are listed in docs/injector.md",
                    crate::config::suggest(name, KNOWN)
                        .map(|s| format!(" (did you mean {PREFIX}{s}?)"))
                        .unwrap_or_default()
                ));
            }
        } else if let Some(name) = key.strip_prefix(INFISICAL_PREFIX) {
            if INFISICAL_UNUSED.contains(&name) {
                warnings.push(format!("{key} is not used by the kms injector; ignored"));
            } else if !KNOWN.contains(&name) || NOT_ALIASED.contains(&name) {
                warnings.push(format!("{key} is unknown; ignored"));
            }
        }
        if !value.is_string() && (key.starts_with(PREFIX) || key.starts_with(INFISICAL_PREFIX)) {
            return Decision::Refuse(format!("annotation {key} must be a string"));
        }
    }
    let look = Lookup { annotations };
    let status = look.get(STATUS, true);
    if status.as_ref().is_some_and(|(v, _)| v == INJECTED) {
        return Decision::Skip("already injected");
    }
    let inject = match look.get("inject", true) {
        None => return Decision::Skip("no inject annotation"),
        Some((v, key)) => match v.as_str() {
            "true" => key,
            "false" => return Decision::Skip("inject is false"),
            _ => {
                return Decision::Refuse(format!("annotation {key} must be \"true\" or \"false\""))
            }
        },
    };
    match settings(&look, inject, default_image, containers) {
        Ok(settings) => Decision::Inject { settings, warnings },
        Err(message) => Decision::Refuse(message),
    }
}

fn settings(
    look: &Lookup<'_>,
    inject_key: &str,
    default_image: &str,
    containers: &[&str],
) -> Result<Settings, String> {
    let mode = match look.get("inject-mode", true) {
        None => Mode::Init,
        Some((v, key)) => match v.as_str() {
            "init" => Mode::Init,
            "sidecar" => Mode::Sidecar,
            "sidecar-init" => Mode::SidecarInit,
            _ => {
                return Err(format!(
                    "annotation {key} must be init, sidecar or sidecar-init"
                ))
            }
        },
    };
    let config_map = match look.get("agent-config-map", true) {
        None => {
            return Err(format!(
                "annotation {PREFIX}agent-config-map is missing: name the ConfigMap that holds \
                 the agent configuration (key config.yaml)"
            ))
        }
        Some((v, key)) if !is_dns_subdomain(&v) => {
            return Err(format!(
                "annotation {key} must be a ConfigMap name (lower-case letters, digits, - and .)"
            ))
        }
        Some((v, _)) => v,
    };
    let default_mount = if inject_key.starts_with(INFISICAL_PREFIX) {
        INFISICAL_MOUNT_PATH
    } else {
        DEFAULT_MOUNT_PATH
    };
    let mount_path = match look.get("secrets-mount-path", false) {
        None => default_mount.to_string(),
        Some((v, key)) if !is_mount_path(&v) => {
            return Err(format!(
                "annotation {key} must be an absolute path other than /, without .. or :"
            ))
        }
        Some((v, _)) => v,
    };
    let selected = match look.get("containers", false) {
        None => None,
        Some((v, key)) => {
            let names: Vec<String> = v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                return Err(format!("annotation {key} names no container"));
            }
            if let Some(unknown) = names.iter().find(|n| !containers.contains(&n.as_str())) {
                return Err(format!(
                    "annotation {key} names the container {unknown}, which the pod does not have"
                ));
            }
            Some(names)
        }
    };
    let image = match look.get("agent-image", true) {
        None => default_image.to_string(),
        Some((v, key)) if v.is_empty() || v.chars().any(char::is_whitespace) => {
            return Err(format!("annotation {key} must be an image reference"))
        }
        Some((v, _)) => v,
    };
    let quantity = |name: &str, default: Option<&str>| -> Result<Option<String>, String> {
        match look.get(name, true) {
            None => Ok(default.map(str::to_string)),
            Some((v, key)) if !is_quantity(&v) => Err(format!(
                "annotation {key} must be a Kubernetes quantity such as 100m, 64Mi or 1"
            )),
            Some((v, _)) => Ok(Some(v)),
        }
    };
    let resources = Resources {
        requests_cpu: quantity("agent-requests-cpu", Some("10m"))?,
        requests_memory: quantity("agent-requests-memory", Some("16Mi"))?,
        limits_cpu: quantity("agent-limits-cpu", None)?,
        limits_memory: quantity("agent-limits-memory", Some("64Mi"))?,
    };
    let revoke_on_shutdown = match look.get("agent-revoke-on-shutdown", true) {
        None => false,
        Some((v, key)) => match v.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(format!("annotation {key} must be \"true\" or \"false\"")),
        },
    };
    Ok(Settings {
        mode,
        config_map,
        mount_path,
        containers: selected,
        image,
        resources,
        revoke_on_shutdown,
    })
}

/// A Kubernetes object name (RFC 1123 subdomain).
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

fn is_mount_path(s: &str) -> bool {
    s.starts_with('/')
        && s != "/"
        && s.len() <= 1024
        && !s.contains(':')
        && !s.split('/').any(|part| part == "..")
}

/// A Kubernetes resource quantity: a decimal number and an optional suffix.
fn is_quantity(s: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let digits_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits_end);
    !number.is_empty()
        && number.bytes().filter(|&b| b == b'.').count() <= 1
        && number.bytes().any(|b| b.is_ascii_digit())
        && SUFFIXES.contains(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decide_on(annotations: Value) -> Decision {
        decide(annotations.as_object(), "kms:1", &["app", "worker"])
    }

    #[test]
    fn defaults_and_aliases() {
        let Decision::Inject { settings, warnings } = decide_on(json!({
            "kms.hanzo.ai/inject": "true",
            "kms.hanzo.ai/agent-config-map": "agent-config",
        })) else {
            panic!()
        };
        assert_eq!(settings.mode, Mode::Init);
        assert_eq!(settings.mount_path, DEFAULT_MOUNT_PATH);
        assert_eq!(settings.image, "kms:1");
        assert_eq!(settings.resources.limits_memory.as_deref(), Some("64Mi"));
        assert!(warnings.is_empty());

        let Decision::Inject { settings, warnings } = decide_on(json!({
            "org.infisical.com/inject": "true",
            "org.infisical.com/inject-mode": "sidecar-init",
            "org.infisical.com/agent-config-map": "agent-config",
            "org.infisical.com/agent-cache-enabled": "true",
            "kms.hanzo.ai/agent-image": "mine:2",
        })) else {
            panic!()
        };
        assert_eq!(settings.mode, Mode::SidecarInit);
        assert_eq!(settings.mount_path, INFISICAL_MOUNT_PATH);
        assert_eq!(settings.image, "mine:2");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("org.infisical.com/agent-cache-enabled"));
    }

    #[test]
    fn skips_and_refusals_name_the_annotation() {
        assert_eq!(decide_on(json!({})), Decision::Skip("no inject annotation"));
        assert_eq!(
            decide_on(
                json!({"kms.hanzo.ai/inject": "true", "kms.hanzo.ai/agent-status": "injected"})
            ),
            Decision::Skip("already injected")
        );
        let refused = |a: Value, needle: &str| match decide_on(a) {
            Decision::Refuse(m) => assert!(m.contains(needle), "{m}"),
            other => panic!("{other:?}"),
        };
        refused(
            json!({"kms.hanzo.ai/injet": "true"}),
            "unknown annotation kms.hanzo.ai/injet (did you mean kms.hanzo.ai/inject?)",
        );
        refused(
            json!({"kms.hanzo.ai/inject": "yes"}),
            "kms.hanzo.ai/inject must be",
        );
        refused(
            json!({"kms.hanzo.ai/inject": "true"}),
            "agent-config-map is missing",
        );
        let base = |k: &str, v: &str| {
            let mut m =
                json!({"kms.hanzo.ai/inject": "true", "kms.hanzo.ai/agent-config-map": "c"});
            m[k] = json!(v);
            m
        };
        refused(
            base("kms.hanzo.ai/inject-mode", "sidecars"),
            "inject-mode must be",
        );
        refused(
            base("kms.hanzo.ai/agent-limits-memory", "lots"),
            "agent-limits-memory must be",
        );
        refused(
            base("kms.hanzo.ai/containers", "app,nope"),
            "the container nope",
        );
        refused(
            base("kms.hanzo.ai/secrets-mount-path", "/a/../etc"),
            "secrets-mount-path",
        );
        refused(
            base("kms.hanzo.ai/agent-config-map", "Bad_Name"),
            "ConfigMap name",
        );
    }

    #[test]
    fn quantities() {
        for ok in ["10m", "1", "0.5", "64Mi", "1Gi", "2k"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "m", "1.2.3", "64MB", "-1", "1 Mi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
