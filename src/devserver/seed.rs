//! The seed file (YAML or JSON): the dev server's initial identities, projects, secrets, imports
//! and dynamic secrets. The format is documented in docs/dev-server.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::duration;

/// A seed that failed to load. Messages name the file, the field and the problem, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("seed{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("seed{origin}: field `{field}`: {reason}")]
    Invalid {
        origin: String,
        field: String,
        reason: String,
    },
}

/// A loaded, validated seed.
#[derive(Debug, Clone)]
pub struct Seed {
    pub identities: Vec<SeedIdentity>,
    pub projects: Vec<SeedProject>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedIdentity {
    /// Display name (optional, only for logs and docs).
    #[serde(default)]
    pub name: Option<String>,
    /// Universal-auth client id; with `client-secret`.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Identity id used by the kubernetes/azure/gcp/aws logins. Generated when absent.
    #[serde(default)]
    pub identity_id: Option<String>,
    /// Seconds; 0 = non-expiring.
    #[serde(default = "default_ttl")]
    pub access_token_ttl: u64,
    /// Seconds; 0 = unbounded.
    #[serde(default = "default_max_ttl")]
    pub access_token_max_ttl: u64,
    /// Project ids this identity is a member of; absent = every project.
    #[serde(default)]
    pub projects: Option<Vec<String>>,
}

fn default_ttl() -> u64 {
    7200
}
fn default_max_ttl() -> u64 {
    2_592_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedProject {
    pub id: String,
    /// Defaults to the id.
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub environments: BTreeMap<String, SeedEnvironment>,
}

impl SeedProject {
    pub fn slug(&self) -> &str {
        self.slug.as_deref().unwrap_or(&self.id)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedEnvironment {
    /// Folder path → secrets.
    #[serde(default)]
    pub secrets: BTreeMap<String, SeedFolder>,
    /// Folder path → the folders it imports, in import order.
    #[serde(default)]
    pub imports: BTreeMap<String, Vec<SeedImport>>,
    /// Folder path → dynamic secret name → definition.
    #[serde(default)]
    pub dynamic_secrets: BTreeMap<String, BTreeMap<String, SeedDynamicSecret>>,
}

/// One folder's secrets: a list of full entries, or a plain `KEY: value` map.
#[derive(Debug, Clone, Default)]
pub struct SeedFolder(pub Vec<SeedSecret>);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedSecret {
    pub key: String,
    pub value: SeedText,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// `shared` (default) or `personal`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedImport {
    pub environment: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeedDynamicSecret {
    /// Seconds or a duration string; any length (seeds may use seconds for tests).
    pub default_ttl: SeedDuration,
    /// Absent = unbounded.
    #[serde(default)]
    pub max_ttl: Option<SeedDuration>,
    /// Provider type shown in `dynamicSecret.type` (default `redis`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Returned as the lease's `data`; `$RANDOM` and `$LEASE_ID` inside strings are replaced.
    pub credentials: serde_json::Map<String, serde_json::Value>,
}

/// A scalar taken as text: strings as they are, numbers and booleans in their usual spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedText(pub String);

/// A duration given as whole seconds or as an `ms` duration string; keeps the spelling for display.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedDuration {
    pub text: String,
    pub duration: Duration,
}

impl<'de> Deserialize<'de> for SeedText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeedText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeedText, E> {
                Ok(SeedText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SeedText, E> {
                Ok(SeedText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeedText, E> {
                Ok(SeedText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeedText, E> {
                Ok(SeedText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SeedText, E> {
                Ok(SeedText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SeedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeedDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("whole seconds or a duration string such as \"1m\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeedDuration, E> {
                Ok(SeedDuration {
                    text: duration::format_secs(v),
                    duration: Duration::from_secs(v),
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeedDuration, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("a duration cannot be negative"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeedDuration, E> {
                let duration = duration::parse(v).ok_or_else(|| {
                    E::custom(format!("`{v}` is not a duration such as \"90s\" or \"1h\""))
                })?;
                Ok(SeedDuration {
                    text: v.to_string(),
                    duration,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SeedFolder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SeedFolder;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of {key, value, id?, comment?, type?} or a map KEY: value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<SeedFolder, E> {
                Ok(SeedFolder::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SeedFolder, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<SeedSecret>()? {
                    out.push(s);
                }
                Ok(SeedFolder(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SeedFolder, A::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, SeedText>()? {
                    out.push(SeedSecret {
                        key,
                        value,
                        id: None,
                        comment: None,
                        kind: None,
                    });
                }
                Ok(SeedFolder(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    identities: Vec<SeedIdentity>,
    #[serde(default)]
    projects: Vec<SeedProject>,
}

/// Normalises a folder path as the server does: trimmed, leading `/`, no trailing `/`.
pub fn normalize_path(path: &str) -> String {
    let t = path.trim();
    let t = t.trim_end_matches('/');
    if t.is_empty() {
        "/".to_string()
    } else if t.starts_with('/') {
        t.to_string()
    } else {
        format!("/{t}")
    }
}

impl Seed {
    /// Loads a seed file; `.json` files are read as JSON, anything else as YAML.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Seed, SeedError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let origin = format!(" {}", path.display());
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Seed::parse_json(&text, &origin)
        } else {
            Seed::parse_yaml(&text, &origin)
        }
    }

    /// Parses a YAML seed (JSON documents are YAML too).
    pub fn from_yaml_str(text: &str) -> Result<Seed, SeedError> {
        Seed::parse_yaml(text, "")
    }

    /// Parses a JSON seed.
    pub fn from_json_str(text: &str) -> Result<Seed, SeedError> {
        Seed::parse_json(text, "")
    }

    /// The built-in demo seed (see [`super::demo`]).
    pub fn demo() -> Seed {
        Seed::from_yaml_str(super::demo::DEMO_SEED_YAML).expect("the built-in demo seed is valid")
    }

    fn parse_yaml(text: &str, origin: &str) -> Result<Seed, SeedError> {
        let file: SeedFile = yaml_serde::from_str(text).map_err(|e| SeedError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Seed::validated(file, origin)
    }

    fn parse_json(text: &str, origin: &str) -> Result<Seed, SeedError> {
        let file: SeedFile = serde_json::from_str(text).map_err(|e| SeedError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        Seed::validated(file, origin)
    }

    fn validated(file: SeedFile, origin: &str) -> Result<Seed, SeedError> {
        let invalid = |field: String, reason: &str| SeedError::Invalid {
            origin: origin.to_string(),
            field,
            reason: reason.to_string(),
        };
        let mut client_ids = BTreeSet::new();
        let mut identity_ids = BTreeSet::new();
        let mut identities = file.identities;
        for (i, ident) in identities.iter_mut().enumerate() {
            match (&ident.client_id, &ident.client_secret) {
                (Some(id), Some(_)) => {
                    if id.trim().is_empty() {
                        return Err(invalid(
                            format!("identities[{i}].client-id"),
                            "must not be empty",
                        ));
                    }
                    if !client_ids.insert(id.trim().to_string()) {
                        return Err(invalid(
                            format!("identities[{i}].client-id"),
                            "is used twice",
                        ));
                    }
                }
                (None, None) => {}
                (Some(_), None) => {
                    return Err(invalid(
                        format!("identities[{i}].client-secret"),
                        "is required with client-id",
                    ))
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        format!("identities[{i}].client-id"),
                        "is required with client-secret",
                    ))
                }
            }
            let id = ident
                .identity_id
                .get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
            if !identity_ids.insert(id.trim().to_string()) {
                return Err(invalid(
                    format!("identities[{i}].identity-id"),
                    "is used twice",
                ));
            }
        }

        let mut project_ids = BTreeSet::new();
        let mut slugs = BTreeSet::new();
        for (p, proj) in file.projects.iter().enumerate() {
            if proj.id.trim().is_empty() {
                return Err(invalid(format!("projects[{p}].id"), "must not be empty"));
            }
            if !project_ids.insert(proj.id.clone()) {
                return Err(invalid(format!("projects[{p}].id"), "is used twice"));
            }
            if !slugs.insert(proj.slug().to_string()) {
                return Err(invalid(format!("projects[{p}].slug"), "is used twice"));
            }
            for (env, e) in &proj.environments {
                let at = format!("projects[{p}].environments.{env}");
                for (path, folder) in &e.secrets {
                    let mut keys = BTreeSet::new();
                    for (k, s) in folder.0.iter().enumerate() {
                        let field = format!("{at}.secrets.{path}[{k}]");
                        if s.key.is_empty() {
                            return Err(invalid(format!("{field}.key"), "must not be empty"));
                        }
                        let kind = s.kind.as_deref().unwrap_or("shared");
                        if kind != "shared" && kind != "personal" {
                            return Err(invalid(
                                format!("{field}.type"),
                                "must be `shared` or `personal`",
                            ));
                        }
                        if !keys.insert((s.key.clone(), kind.to_string())) {
                            return Err(invalid(
                                format!("{field}.key"),
                                "appears twice in this folder",
                            ));
                        }
                    }
                    check_path(path, &format!("{at}.secrets"), &invalid)?;
                }
                for (path, list) in &e.imports {
                    check_path(path, &format!("{at}.imports"), &invalid)?;
                    for (k, imp) in list.iter().enumerate() {
                        let field = format!("{at}.imports.{path}[{k}]");
                        let Some(src_env) = proj.environments.get(&imp.environment) else {
                            return Err(invalid(
                                format!("{field}.environment"),
                                "names an environment this project does not have",
                            ));
                        };
                        let src = normalize_path(&imp.path);
                        if !env_has_folder(src_env, &src) {
                            return Err(invalid(
                                format!("{field}.path"),
                                "names a folder that does not exist",
                            ));
                        }
                    }
                }
                for (path, secrets) in &e.dynamic_secrets {
                    check_path(path, &format!("{at}.dynamic-secrets"), &invalid)?;
                    for (name, d) in secrets {
                        let field = format!("{at}.dynamic-secrets.{path}.{name}");
                        if name.to_lowercase() != *name || name.is_empty() {
                            return Err(invalid(
                                field,
                                "dynamic secret names must be non-empty and lower case",
                            ));
                        }
                        if let Some(max) = &d.max_ttl {
                            if max.duration < d.default_ttl.duration {
                                return Err(invalid(
                                    format!("{field}.max-ttl"),
                                    "is shorter than default-ttl",
                                ));
                            }
                        }
                    }
                }
            }
        }
        for (i, ident) in identities.iter().enumerate() {
            for (k, p) in ident.projects.iter().flatten().enumerate() {
                if !project_ids.contains(p) {
                    return Err(invalid(
                        format!("identities[{i}].projects[{k}]"),
                        "names a project id the seed does not define",
                    ));
                }
            }
        }
        Ok(Seed {
            identities,
            projects: file.projects,
        })
    }
}

fn check_path(
    path: &str,
    at: &str,
    invalid: &impl Fn(String, &str) -> SeedError,
) -> Result<(), SeedError> {
    if !path.starts_with('/') || path.contains("//") {
        return Err(invalid(
            format!("{at}.{path}"),
            "folder paths start with `/` and have no empty segments",
        ));
    }
    Ok(())
}

/// Whether a folder exists in a seeded environment: root, a listed folder, or an ancestor of one.
pub fn env_has_folder(env: &SeedEnvironment, path: &str) -> bool {
    let folders = env
        .secrets
        .keys()
        .chain(env.imports.keys())
        .chain(env.dynamic_secrets.keys())
        .map(|p| normalize_path(p));
    path == "/"
        || folders
            .into_iter()
            .any(|f| f == path || f.starts_with(&format!("{path}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_folder_forms_and_defaults() {
        let seed = Seed::from_yaml_str(
            "identities:\n  - {client-id: a, client-secret: b}\nprojects:\n  - id: p1\n    environments:\n      dev:\n        secrets:\n          /: [{key: K, value: v, id: s1, comment: c}]\n          /app: {PORT: 8080, ON: true}\n",
        )
        .unwrap();
        assert_eq!(seed.identities[0].access_token_ttl, 7200);
        assert!(seed.identities[0].identity_id.is_some());
        let env = &seed.projects[0].environments["dev"];
        assert_eq!(env.secrets["/app"].0.len(), 2);
        assert_eq!(env.secrets["/app"].0[0].value, SeedText("8080".into()));
        assert_eq!(seed.projects[0].slug(), "p1");
    }

    #[test]
    fn errors_name_the_field() {
        let e = Seed::from_yaml_str("projects:\n  - id: p\n    slugg: x\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("slugg"), "{e}");
        let e = Seed::from_yaml_str("identities:\n  - client-id: a\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("identities[0].client-secret"), "{e}");
        let e = Seed::from_yaml_str(
            "projects:\n  - id: p\n    environments:\n      dev:\n        imports:\n          /: [{environment: prod, path: /}]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("imports./[0].environment"), "{e}");
        let e = Seed::from_json_str(r#"{"projects":[{"id":"p","environments":{"dev":{"dynamic-secrets":{"/":{"r":{"default-ttl":"soon","credentials":{}}}}}}}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("soon"), "{e}");
    }

    #[test]
    fn paths_normalise() {
        assert_eq!(normalize_path(" /a/b/ "), "/a/b");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("a"), "/a");
    }

    #[test]
    fn demo_seed_loads() {
        let seed = Seed::demo();
        assert_eq!(seed.projects.len(), 1);
        assert!(seed.identities[0].client_id.is_some());
    }
}
