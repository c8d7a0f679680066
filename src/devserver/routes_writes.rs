//! Secret writes through the v3 raw routes: `POST`/`PATCH`/`DELETE /api/v3/secrets/raw/{secretName}`.
//! Tests use them to change secrets while an agent runs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::api_error::{ApiError, ApiResult};
use super::request::{parse_body, Fields};
use super::routes_secrets::secret_json;
use super::seed::normalize_path;
use super::state::{require_member, AppState, Inner};
use super::store::{now_iso, Located, Secret};

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Create,
    Update,
    Delete,
}

struct Target {
    project_id: String,
    env: String,
    path: String,
    kind: String,
    value: Option<String>,
    comment: Option<String>,
    new_name: Option<String>,
}

fn target(inner: &mut Inner, headers: &HeaderMap, body: &Bytes, op: Op) -> ApiResult<Target> {
    let identity = inner.authenticate(headers)?;
    let body = parse_body(headers, body)?;
    let mut f = Fields::of(&body)?;
    let by_id = f.optional("workspaceId").filter(|s| !s.is_empty());
    let by_slug = f.optional("workspaceSlug").filter(|s| !s.is_empty());
    let env = f.string("environment");
    let path = normalize_path(&f.optional("secretPath").unwrap_or_else(|| "/".into()));
    let kind = f.optional("type").unwrap_or_else(|| "shared".into());
    if kind != "shared" && kind != "personal" {
        f.custom("type", "Invalid enum value. Expected 'shared' | 'personal'");
    }
    let value = match op {
        Op::Create => Some(f.string("secretValue")),
        Op::Update => f.optional("secretValue"),
        Op::Delete => None,
    };
    let comment = f.optional("secretComment");
    let new_name = f.optional("newSecretName").filter(|s| !s.is_empty());
    if by_id.is_none() && by_slug.is_none() {
        f.custom("workspaceId", "Either workspaceId or workspaceSlug is required");
    }
    f.finish()?;
    let project = match (&by_id, &by_slug) {
        (Some(id), _) => inner.store.project_by_id(id).ok_or_else(|| {
            ApiError::not_found(format!("Project with ID '{id}' not found"))
        })?,
        (None, Some(slug)) => inner
            .store
            .project_by_slug(slug)
            .ok_or_else(|| ApiError::not_found(format!("Project with slug '{slug}' not found")))?,
        (None, None) => return Err(ApiError::bad_request("Missing project id or environment")),
    };
    require_member(&identity, &project.id)?;
    if project.folder(&env, &path).is_none() {
        return Err(ApiError::not_found(format!(
            "Folder with path '{path}' in environment with slug '{env}' not found"
        )));
    }
    Ok(Target {
        project_id: project.id.clone(),
        env,
        path,
        kind,
        value,
        comment,
        new_name,
    })
}

fn answer(inner: &Inner, t: &Target, secret: Secret) -> Json<Value> {
    let project = inner
        .store
        .project_by_id(&t.project_id)
        .expect("the target project was just resolved");
    let loc = Located {
        env: t.env.clone(),
        path: t.path.clone(),
        secret,
    };
    Json(json!({ "secret": secret_json(project, &loc, None, true) }))
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let name = name.trim().to_string();
    let mut inner = state.lock();
    let t = target(&mut inner, &headers, &body, Op::Create)?;
    let folder = folder_of(&mut inner, &t)?;
    if folder.secrets.iter().any(|s| s.key == name && s.kind == t.kind) {
        return Err(ApiError::bad_request("Secret already exist"));
    }
    let now = now_iso();
    let secret = Secret {
        id: uuid::Uuid::new_v4().to_string(),
        key: name,
        value: t.value.clone().unwrap_or_default(),
        comment: t.comment.clone().unwrap_or_default(),
        kind: t.kind.clone(),
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    };
    folder.secrets.push(secret.clone());
    Ok(answer(&inner, &t, secret))
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let name = name.trim().to_string();
    let mut inner = state.lock();
    let t = target(&mut inner, &headers, &body, Op::Update)?;
    let folder = folder_of(&mut inner, &t)?;
    if let Some(new_name) = &t.new_name {
        if *new_name != name && folder.secrets.iter().any(|s| s.key == *new_name && s.kind == t.kind) {
            return Err(ApiError::bad_request("Secret with the new name already exist"));
        }
    }
    let Some(secret) = folder
        .secrets
        .iter_mut()
        .find(|s| s.key == name && s.kind == t.kind)
    else {
        return Err(ApiError::not_found(format!("Secret with name {name} not found")));
    };
    if let Some(v) = &t.value {
        secret.value = v.clone();
    }
    if let Some(c) = &t.comment {
        secret.comment = c.clone();
    }
    if let Some(n) = &t.new_name {
        secret.key = n.clone();
    }
    secret.version += 1;
    secret.updated_at = now_iso();
    let secret = secret.clone();
    Ok(answer(&inner, &t, secret))
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let name = name.trim().to_string();
    let mut inner = state.lock();
    let t = target(&mut inner, &headers, &body, Op::Delete)?;
    let folder = folder_of(&mut inner, &t)?;
    let Some(pos) = folder
        .secrets
        .iter()
        .position(|s| s.key == name && s.kind == t.kind)
    else {
        return Err(ApiError::new(
            404,
            "DeleteSecret",
            format!("Secret with name '{name}' not found"),
        ));
    };
    let secret = folder.secrets.remove(pos);
    Ok(answer(&inner, &t, secret))
}

fn folder_of<'a>(inner: &'a mut Inner, t: &Target) -> ApiResult<&'a mut super::store::Folder> {
    inner
        .store
        .project_mut(&t.project_id)
        .and_then(|p| p.folder_mut(&t.env, &t.path))
        .ok_or_else(|| ApiError::not_found("Folder not found"))
}
