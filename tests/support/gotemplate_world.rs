//! The golden corpus's fake backend (`tests/fixtures/gotemplate/world.json`) as a
//! [`DataSource`], answering exactly as the reference renderer `render.go` does. Shared by the
//! corpus test and the `gotemplate_render` example.

use std::collections::BTreeMap;
use std::sync::Arc;

use kms_agent::template::{
    DataRequest, DataSource, DataValue, ProjectRef, Secret, SecretFields, SharedSecret,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldSecret {
    key: String,
    value: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    comment: String,
}

type Folders = BTreeMap<String, Vec<WorldSecret>>;
type Credentials = serde_json::Map<String, serde_json::Value>;
/// env → folder → name → credentials.
type DynamicEnvs = BTreeMap<String, BTreeMap<String, BTreeMap<String, Credentials>>>;

/// projectID → env → folder → secrets; projectSlug → env → folder → name → credentials.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    #[serde(default)]
    secrets: BTreeMap<String, BTreeMap<String, Folders>>,
    #[serde(default, rename = "dynamicSecrets")]
    dynamic_secrets: BTreeMap<String, DynamicEnvs>,
}

impl World {
    pub fn load(path: &str) -> Result<World, String> {
        let raw = std::fs::read(path).map_err(|e| format!("world file {path}: {e}"))?;
        serde_json::from_slice(&raw).map_err(|e| format!("world file {path}: {e}"))
    }

    fn folders(&self, project: &str, env: &str) -> Result<&Folders, String> {
        let envs = self
            .secrets
            .get(project)
            .ok_or_else(|| format!("project {project:?} not found"))?;
        envs.get(env)
            .ok_or_else(|| format!("environment {env:?} not found in project {project:?}"))
    }

    fn to_secret(project: &str, folder: &str, s: &WorldSecret) -> Secret {
        Secret::new(SecretFields {
            key: s.key.clone(),
            value: s.value.clone(),
            workspace_id: project.to_string(),
            secret_path: folder.to_string(),
            r#type: if s.kind.is_empty() {
                "shared".into()
            } else {
                s.kind.clone()
            },
            id: s.id.clone(),
            comment: s.comment.clone(),
            tags: Vec::new(),
        })
        .unwrap()
    }

    fn answer(&self, request: &DataRequest) -> Result<DataValue, String> {
        match request {
            DataRequest::ListSecrets {
                project,
                environment,
                path,
                recursive,
                ..
            } => {
                let project = match project {
                    ProjectRef::Id(p) | ProjectRef::Slug(p) => p,
                };
                let folders = self.folders(project, environment)?;
                if !folders.contains_key(path) {
                    return Err(format!(
                        "folder {path:?} not found in {project}/{environment}"
                    ));
                }
                let mut out = Vec::new();
                for (folder, list) in folders {
                    let mut include = folder == path;
                    if *recursive && !include {
                        include = if path == "/" {
                            folder.starts_with('/')
                        } else {
                            folder.starts_with(&format!("{path}/"))
                        };
                    }
                    if include {
                        out.extend(list.iter().map(|s| Self::to_secret(project, folder, s)));
                    }
                }
                Ok(DataValue::Secrets(Arc::new(out)))
            }
            DataRequest::GetSecret {
                project_id,
                environment,
                path,
                name,
            } => {
                let folders = self.folders(project_id, environment)?;
                let list = folders.get(path).ok_or_else(|| {
                    format!("folder {path:?} not found in {project_id}/{environment}")
                })?;
                list.iter()
                    .find(|s| &s.key == name)
                    .map(|s| {
                        DataValue::Secret(SharedSecret::single(Self::to_secret(
                            project_id, path, s,
                        )))
                    })
                    .ok_or_else(|| {
                        format!("secret {name:?} not found in {project_id}/{environment}{path}")
                    })
            }
            DataRequest::DynamicSecret {
                project_slug,
                environment,
                path,
                name,
                ..
            } => self
                .dynamic_secrets
                .get(project_slug)
                .and_then(|e| e.get(environment))
                .and_then(|f| f.get(path))
                .and_then(|n| n.get(name))
                .map(|c| DataValue::Credentials(Arc::new(c.clone())))
                .ok_or_else(|| {
                    format!(
                        "dynamic secret {name:?} not found in {project_slug}/{environment}{path}"
                    )
                }),
        }
    }
}

impl DataSource for World {
    fn lookup(&self, request: &DataRequest) -> Option<Result<DataValue, String>> {
        Some(self.answer(request))
    }
}

/// Renders one template file against the world as `render.go` does: `Ok(output)` or
/// `Err(message)`.
#[allow(dead_code)]
pub fn render_file(world: &World, name: &str, source: &[u8]) -> Result<Vec<u8>, String> {
    use kms_agent::template::go::GoEngine;
    use kms_agent::template::{RenderOutcome, TemplateEngine};
    let compiled = GoEngine.compile(name, source).map_err(|e| e.message)?;
    match compiled.render(world).map_err(|e| e.message)? {
        RenderOutcome::Done(out) => Ok(out),
        RenderOutcome::NeedData(reqs) => {
            Err(format!("the world left {} requests unanswered", reqs.len()))
        }
    }
}
