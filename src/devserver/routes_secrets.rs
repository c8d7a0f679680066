//! Secret reads: list (v3 `GET /api/v3/secrets/raw`, v4 `GET /api/v4/secrets`) and get by name
//! (v3 `GET /api/v3/secrets/raw/{secretName}`, v4 `GET /api/v4/secrets/{secretName}`).

use axum::extract::{Path, Query as QueryExtract, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::api_error::{ApiError, ApiResult};
use super::expand::expand;
use super::request::{param, Query, QueryCheck};
use super::seed::normalize_path;
use super::state::{require_member, AppState, Inner};
use super::store::{Located, Project};

const MASK: &str = "<hidden-by-infisical>";

/// Which API version's parameter names and defaults apply.
#[derive(Clone, Copy, PartialEq)]
pub enum Version {
    V3,
    V4,
}

struct ReadParams {
    expand: bool,
    recursive: bool,
    imports: bool,
    view_value: bool,
    tag_filter: bool,
}

fn read_params(q: &Query, version: Version, check: &mut QueryCheck) -> ReadParams {
    let v4 = version == Version::V4;
    let expand = check.boolean(q, "expandSecretReferences", v4);
    let recursive = check.boolean(q, "recursive", false);
    let view_value = check.boolean(q, "viewSecretValue", true);
    let imports = if v4 {
        // Current v4 reads `includeImports`; older v4 builds read `include_imports`.
        let camel = check.maybe(q, "includeImports");
        let snake = check.maybe(q, "include_imports");
        camel.or(snake).unwrap_or(true)
    } else {
        check.boolean(q, "include_imports", false)
    };
    if v4 {
        check.boolean(q, "includePersonalOverrides", false);
    }
    ReadParams {
        expand,
        recursive,
        imports,
        view_value,
        // Seeds have no tags, so any non-empty tag filter matches nothing.
        tag_filter: param(q, "tagSlugs").is_some(),
    }
}

/// A secret object as the list and get routes return it (docs/wire-contract.md §8 table).
pub fn secret_json(
    project: &Project,
    loc: &Located,
    p: Option<(bool, bool)>,
    with_tags: bool,
) -> Value {
    let (expand_refs, view) = p.unwrap_or((false, true));
    let s = &loc.secret;
    let value = if !view {
        MASK.to_string()
    } else if expand_refs {
        expand(project, &loc.env, &loc.path, &s.key, &s.value)
    } else {
        s.value.clone()
    };
    let mut v = json!({
        "id": s.id, "_id": s.id, "workspace": project.id, "environment": loc.env,
        "version": s.version, "type": s.kind, "secretKey": s.key, "secretValue": value,
        "secretComment": s.comment, "secretPath": loc.path, "secretValueHidden": !view,
        "skipMultilineEncoding": false, "secretReminderNote": null, "secretReminderRepeatDays": null,
        "createdAt": s.created_at, "updatedAt": s.updated_at,
    });
    if with_tags {
        v["tags"] = json!([]);
    }
    v
}

/// An item of `imports[].secrets[]`: no path, timestamps, reminders or tags.
fn import_item_json(project: &Project, loc: &Located, expand_refs: bool, view: bool) -> Value {
    let s = &loc.secret;
    let value = if !view {
        MASK.to_string()
    } else if expand_refs {
        expand(project, &loc.env, &loc.path, &s.key, &s.value)
    } else {
        s.value.clone()
    };
    json!({
        "id": s.id, "_id": s.id, "workspace": project.id, "environment": loc.env,
        "version": s.version, "type": s.kind, "secretKey": s.key, "secretValue": value,
        "secretComment": s.comment, "secretValueHidden": !view, "skipMultilineEncoding": false,
    })
}

/// Resolves the project of a read: v3 by `workspaceId` or `workspaceSlug`, v4 by `projectId`.
fn project_of<'a>(inner: &'a Inner, q: &Query, version: Version) -> ApiResult<Option<&'a Project>> {
    let by_id = match version {
        Version::V3 => param(q, "workspaceId"),
        Version::V4 => param(q, "projectId"),
    };
    if let Some(id) = by_id {
        return inner.store.project_by_id(&id).map(Some).ok_or_else(|| {
            ApiError::not_found(format!(
                "Project with ID '{id}' not found during bot lookup. Are you sure you are using the correct project ID?"
            ))
        });
    }
    if version == Version::V3 {
        if let Some(slug) = param(q, "workspaceSlug") {
            return inner.store.project_by_slug(&slug).map(Some).ok_or_else(|| {
                ApiError::not_found(format!("Project with slug '{slug}' not found"))
            });
        }
    }
    Ok(None)
}

pub async fn list_v3(
    state: State<AppState>,
    headers: HeaderMap,
    q: QueryExtract<Query>,
) -> ApiResult<Json<Value>> {
    list(state, headers, q, Version::V3)
}

pub async fn list_v4(
    state: State<AppState>,
    headers: HeaderMap,
    q: QueryExtract<Query>,
) -> ApiResult<Json<Value>> {
    list(state, headers, q, Version::V4)
}

fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtract(q): QueryExtract<Query>,
    version: Version,
) -> ApiResult<Json<Value>> {
    let mut inner = state.lock();
    let identity = inner.authenticate(&headers)?;
    let mut check = QueryCheck::default();
    let p = read_params(&q, version, &mut check);
    check.finish()?;
    let project = project_of(&inner, &q, version)?;
    let env = param(&q, "environment");
    let (Some(project), Some(env)) = (project, env) else {
        return Err(ApiError::bad_request("Missing project id or environment"));
    };
    require_member(&identity, &project.id)?;
    let path = normalize_path(q.get("secretPath").map(String::as_str).unwrap_or("/"));
    if project.folder(&env, &path).is_none() {
        return Err(ApiError::new(
            404,
            "SecretPathNotFound",
            format!("Folder with path '{path}' in environment '{env}' was not found. Please ensure the environment slug and secret path is correct."),
        ));
    }
    let secrets: Vec<Value> = if p.tag_filter {
        Vec::new()
    } else {
        project
            .list(&env, &path, p.recursive)
            .iter()
            .map(|l| secret_json(project, l, Some((p.expand, p.view_value)), true))
            .collect()
    };
    let mut body = json!({ "secrets": secrets });
    if p.imports {
        let blocks: Vec<Value> = project
            .import_blocks(&env, &path, p.recursive)
            .iter()
            .map(|b| {
                let items: Vec<Value> = b
                    .secrets
                    .iter()
                    .map(|l| import_item_json(project, l, p.expand, p.view_value))
                    .collect();
                json!({"secretPath": b.path, "environment": b.env, "folderId": b.folder_id, "secrets": items})
            })
            .collect();
        body["imports"] = Value::Array(blocks);
    }
    Ok(Json(body))
}

pub async fn get_v3(
    state: State<AppState>,
    headers: HeaderMap,
    name: Path<String>,
    q: QueryExtract<Query>,
) -> ApiResult<Json<Value>> {
    get(state, headers, name, q, Version::V3)
}

pub async fn get_v4(
    state: State<AppState>,
    headers: HeaderMap,
    name: Path<String>,
    q: QueryExtract<Query>,
) -> ApiResult<Json<Value>> {
    get(state, headers, name, q, Version::V4)
}

fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    QueryExtract(q): QueryExtract<Query>,
    version: Version,
) -> ApiResult<Json<Value>> {
    let name = name.trim().to_string();
    let mut inner = state.lock();
    let identity = inner.authenticate(&headers)?;
    let mut check = QueryCheck::default();
    let p = read_params(&q, version, &mut check);
    let kind = q.get("type").cloned().unwrap_or_else(|| "shared".into());
    if kind != "shared" && kind != "personal" {
        check.custom("type", "Invalid enum value. Expected 'shared' | 'personal'");
    }
    if version == Version::V4 && param(&q, "projectId").is_none() {
        check.required(&q, "projectId");
    }
    let wanted_version = match q.get("version") {
        None => None,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                check.custom("version", "Expected number, received nan");
                None
            }
        },
    };
    check.finish()?;
    let project = project_of(&inner, &q, version)?;
    let Some(env) = param(&q, "environment") else {
        return Err(ApiError::bad_request("Missing environment"));
    };
    let Some(project) = project else {
        return Err(ApiError::bad_request(
            "You must provide workspaceSlug or workspaceId",
        ));
    };
    require_member(&identity, &project.id)?;
    let path = normalize_path(q.get("secretPath").map(String::as_str).unwrap_or("/"));
    if project.folder(&env, &path).is_none() {
        return Err(ApiError::new(
            404,
            "GetSecretByName",
            format!("Folder with path '{path}' in environment with slug '{env}' not found"),
        ));
    }
    let found = project
        .find(&env, &path, &name, &kind, p.imports)
        .filter(|l| wanted_version.is_none_or(|v| v == l.secret.version));
    let Some(loc) = found else {
        return Err(ApiError::not_found(format!(
            "Secret with name '{name}' not found"
        )));
    };
    let own = loc.env == env && loc.path == path;
    Ok(Json(json!({
        "secret": secret_json(project, &loc, Some((p.expand, p.view_value)), own)
    })))
}
