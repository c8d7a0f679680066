//! The in-memory data of the dev server: identities, projects, environments, folders, secrets,
//! imports and dynamic-secret definitions, built from a [`Seed`] and changed by the write routes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::seed::{normalize_path, Seed, SeedDuration};

/// Maximum depth of nested imports that are flattened into one import block (docs/wire-contract.md
/// §12.3).
const MAX_IMPORT_DEPTH: usize = 10;

#[derive(Debug, Clone)]
pub struct Identity {
    pub identity_id: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub ttl: u64,
    pub max_ttl: u64,
    /// `None` = member of every project.
    pub projects: Option<Vec<String>>,
}

impl Identity {
    pub fn is_member(&self, project_id: &str) -> bool {
        self.projects
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == project_id))
    }
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub id: String,
    pub key: String,
    pub value: String,
    pub comment: String,
    pub kind: String,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct DynamicSecret {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub default_ttl: SeedDuration,
    pub max_ttl: Option<SeedDuration>,
    pub credentials: Map<String, Value>,
    pub folder_id: String,
    pub created_at: String,
}

impl DynamicSecret {
    /// The `dynamicSecret` object of lease responses.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id, "name": self.name, "version": 1, "type": self.kind,
            "defaultTTL": self.default_ttl.text,
            "maxTTL": self.max_ttl.as_ref().map(|m| m.text.clone()),
            "folderId": self.folder_id, "status": null, "statusDetails": null,
            "createdAt": self.created_at, "updatedAt": self.created_at,
        })
    }

    pub fn max_duration(&self) -> Option<Duration> {
        self.max_ttl.as_ref().map(|m| m.duration)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Folder {
    pub id: String,
    pub secrets: Vec<Secret>,
    /// (environment slug, folder path), in import order.
    pub imports: Vec<(String, String)>,
    pub dynamic: BTreeMap<String, DynamicSecret>,
}

#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub folders: BTreeMap<String, Folder>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub slug: String,
    pub envs: BTreeMap<String, Environment>,
}

/// A secret as found by a listing or lookup, with where it lives.
#[derive(Debug, Clone)]
pub struct Located {
    pub env: String,
    pub path: String,
    pub secret: Secret,
}

/// One `imports[]` block: the source folder and its flattened secrets.
#[derive(Debug, Clone)]
pub struct ImportBlock {
    pub env: String,
    pub path: String,
    pub folder_id: String,
    pub secrets: Vec<Located>,
}

#[derive(Debug, Clone, Default)]
pub struct Store {
    pub identities: Vec<Identity>,
    pub projects: Vec<Project>,
}

pub fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn folder_mut<'a>(env: &'a mut Environment, path: &str) -> &'a mut Folder {
    // Creating a folder creates its ancestors, as folders do on the real server.
    let mut at = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        at.push('/');
        at.push_str(seg);
        env.folders.entry(at.clone()).or_insert_with(new_folder);
    }
    env.folders
        .entry(path.to_string())
        .or_insert_with(new_folder)
}

fn new_folder() -> Folder {
    Folder {
        id: uuid::Uuid::new_v4().to_string(),
        ..Folder::default()
    }
}

impl Store {
    pub fn from_seed(seed: &Seed) -> Store {
        let now = now_iso();
        let identities = seed
            .identities
            .iter()
            .map(|i| Identity {
                identity_id: i.identity_id.clone().unwrap_or_default().trim().to_string(),
                client_id: i.client_id.as_ref().map(|s| s.trim().to_string()),
                client_secret: i.client_secret.as_ref().map(|s| s.trim().to_string()),
                ttl: i.access_token_ttl,
                max_ttl: i.access_token_max_ttl,
                projects: i.projects.clone(),
            })
            .collect();
        let mut projects = Vec::new();
        for p in &seed.projects {
            let mut envs = BTreeMap::new();
            for (slug, e) in &p.environments {
                let mut env = Environment::default();
                folder_mut(&mut env, "/");
                for (path, folder) in &e.secrets {
                    let f = folder_mut(&mut env, &normalize_path(path));
                    for s in &folder.0 {
                        f.secrets.push(Secret {
                            id: s
                                .id
                                .clone()
                                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                            key: s.key.clone(),
                            value: s.value.0.clone(),
                            comment: s.comment.clone().unwrap_or_default(),
                            kind: s.kind.clone().unwrap_or_else(|| "shared".into()),
                            version: 1,
                            created_at: now.clone(),
                            updated_at: now.clone(),
                        });
                    }
                }
                for (path, list) in &e.imports {
                    let f = folder_mut(&mut env, &normalize_path(path));
                    f.imports = list
                        .iter()
                        .map(|i| (i.environment.clone(), normalize_path(&i.path)))
                        .collect();
                }
                for (path, defs) in &e.dynamic_secrets {
                    let f = folder_mut(&mut env, &normalize_path(path));
                    let folder_id = f.id.clone();
                    for (name, d) in defs {
                        f.dynamic.insert(
                            name.clone(),
                            DynamicSecret {
                                id: uuid::Uuid::new_v4().to_string(),
                                name: name.clone(),
                                kind: d.kind.clone().unwrap_or_else(|| "redis".into()),
                                default_ttl: d.default_ttl.clone(),
                                max_ttl: d.max_ttl.clone(),
                                credentials: d.credentials.clone(),
                                folder_id: folder_id.clone(),
                                created_at: now.clone(),
                            },
                        );
                    }
                }
                envs.insert(slug.clone(), env);
            }
            projects.push(Project {
                id: p.id.clone(),
                slug: p.slug().to_string(),
                envs,
            });
        }
        Store {
            identities,
            projects,
        }
    }

    pub fn project_by_id(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn project_by_slug(&self, slug: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.slug == slug)
    }

    pub fn project_mut(&mut self, id: &str) -> Option<&mut Project> {
        self.projects.iter_mut().find(|p| p.id == id)
    }

    pub fn identity(&self, identity_id: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|i| i.identity_id == identity_id)
    }
}

impl Project {
    pub fn folder(&self, env: &str, path: &str) -> Option<&Folder> {
        self.envs.get(env)?.folders.get(path)
    }

    pub fn folder_mut(&mut self, env: &str, path: &str) -> Option<&mut Folder> {
        self.envs.get_mut(env)?.folders.get_mut(path)
    }

    /// The secrets of a folder (and, when recursive, of every folder below it), sorted by
    /// secret path, then key. A folder `/dbx` is not below `/db`.
    pub fn list(&self, env: &str, path: &str, recursive: bool) -> Vec<Located> {
        let Some(e) = self.envs.get(env) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (fpath, folder) in &e.folders {
            if fpath == path || (recursive && is_below(fpath, path)) {
                let mut secrets: Vec<&Secret> = folder.secrets.iter().collect();
                secrets.sort_by(|a, b| a.key.cmp(&b.key).then(a.kind.cmp(&b.kind)));
                out.extend(secrets.into_iter().map(|s| Located {
                    env: env.to_string(),
                    path: fpath.clone(),
                    secret: s.clone(),
                }));
            }
        }
        out
    }

    /// Folders visited by a listing, in path order.
    pub fn listed_folders(
        &self,
        env: &str,
        path: &str,
        recursive: bool,
    ) -> Vec<(&String, &Folder)> {
        let Some(e) = self.envs.get(env) else {
            return Vec::new();
        };
        e.folders
            .iter()
            .filter(|(f, _)| *f == path || (recursive && is_below(f, path)))
            .collect()
    }

    /// The import blocks of the listed folders: each import in order of its position inside its
    /// own folder (then folder path), with nested imports flattened (own keys win, later imports
    /// win over earlier ones).
    pub fn import_blocks(&self, env: &str, path: &str, recursive: bool) -> Vec<ImportBlock> {
        let mut entries: Vec<(usize, &String, &(String, String))> = Vec::new();
        for (fpath, folder) in self.listed_folders(env, path, recursive) {
            for (pos, imp) in folder.imports.iter().enumerate() {
                entries.push((pos, fpath, imp));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        entries
            .into_iter()
            .filter_map(|(_, _, (ienv, ipath))| {
                let folder = self.folder(ienv, ipath)?;
                Some(ImportBlock {
                    env: ienv.clone(),
                    path: ipath.clone(),
                    folder_id: folder.id.clone(),
                    secrets: self.flattened(ienv, ipath, 0),
                })
            })
            .collect()
    }

    /// A folder's own secrets plus, recursively, those of its imports (last import first, a key
    /// only added when not yet present), sorted by key.
    fn flattened(&self, env: &str, path: &str, depth: usize) -> Vec<Located> {
        let mut out = self.list(env, path, false);
        if depth < MAX_IMPORT_DEPTH {
            if let Some(folder) = self.folder(env, path) {
                for (ienv, ipath) in folder.imports.iter().rev() {
                    for s in self.flattened(ienv, ipath, depth + 1) {
                        if !out.iter().any(|o| o.secret.key == s.secret.key) {
                            out.push(s);
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| a.secret.key.cmp(&b.secret.key));
        out
    }

    /// A secret by key and type in a folder, or (when `imports`) in its imports, last import first.
    pub fn find(
        &self,
        env: &str,
        path: &str,
        key: &str,
        kind: &str,
        imports: bool,
    ) -> Option<Located> {
        let folder = self.folder(env, path)?;
        if let Some(s) = folder
            .secrets
            .iter()
            .find(|s| s.key == key && s.kind == kind)
        {
            return Some(Located {
                env: env.to_string(),
                path: path.to_string(),
                secret: s.clone(),
            });
        }
        if !imports {
            return None;
        }
        for (ienv, ipath) in folder.imports.iter().rev() {
            if let Some(found) = self
                .flattened(ienv, ipath, 0)
                .into_iter()
                .find(|l| l.secret.key == key && l.secret.kind == kind)
            {
                return Some(found);
            }
        }
        None
    }
}

/// Whether `folder` is strictly below `parent` (segment-wise, so `/dbx` is not below `/db`).
pub fn is_below(folder: &str, parent: &str) -> bool {
    if parent == "/" {
        return folder != "/";
    }
    folder
        .strip_prefix(parent)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::from_seed(
            &Seed::from_yaml_str(
                r#"
projects:
  - id: p
    environments:
      dev:
        secrets:
          /: {B: b, A: a}
          /db: {X: x}
          /dbx: {Y: y}
          /db/deep: {Z: z}
          /src: {S: s, A: from-src}
          /src2: {S: s2, T: t2}
        imports:
          /: [{environment: dev, path: /src}, {environment: dev, path: /src2}]
"#,
            )
            .unwrap(),
        )
    }

    #[test]
    fn recursive_listing_is_segment_wise_and_sorted() {
        let s = store();
        let p = s.project_by_id("p").unwrap();
        let keys: Vec<_> = p
            .list("dev", "/db", true)
            .into_iter()
            .map(|l| l.secret.key)
            .collect();
        assert_eq!(keys, ["X", "Z"]);
        let keys: Vec<_> = p
            .list("dev", "/", false)
            .into_iter()
            .map(|l| l.secret.key)
            .collect();
        assert_eq!(keys, ["A", "B"]);
        assert!(p.folder("dev", "/db/deep").is_some());
    }

    #[test]
    fn later_import_wins_on_lookup() {
        let s = store();
        let p = s.project_by_id("p").unwrap();
        let found = p.find("dev", "/", "S", "shared", true).unwrap();
        assert_eq!(
            (found.path.as_str(), found.secret.value.as_str()),
            ("/src2", "s2")
        );
        assert!(p.find("dev", "/", "S", "shared", false).is_none());
        assert_eq!(
            p.find("dev", "/", "A", "shared", true)
                .unwrap()
                .secret
                .value,
            "a"
        );
        let blocks = p.import_blocks("dev", "/", false);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].path, "/src");
    }
}
