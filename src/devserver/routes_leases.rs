//! Dynamic-secret lease routes (docs/wire-contract.md §11): create, renew, revoke and get.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query as QueryExtract, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};

use super::api_error::{ApiError, ApiResult};
use super::duration;
use super::leases::{external_entity_id, render_credentials, Lease};
use super::request::{parse_body, Fields, Query, QueryCheck};
use super::seed::normalize_path;
use super::state::{require_member, AppState, Inner};
use super::store::{DynamicSecret, Identity};

const TEN_YEARS_MS: f64 = 10.0 * 31_557_600_000.0;

/// A requested lease TTL: absent/empty = the dynamic secret's default.
enum Ttl {
    Default,
    Millis(f64),
    /// Not parseable by the duration grammar: the real server fails later with a 500.
    Garbage,
}

fn ttl_field(f: &mut Fields) -> Ttl {
    match f.optional("ttl").filter(|s| !s.is_empty()) {
        None => Ttl::Default,
        Some(text) => match duration::parse_ms(&text) {
            None => Ttl::Garbage,
            Some(ms) => {
                if ms < 60_000.0 {
                    f.custom("ttl", "TTL must be a greater than 1min");
                } else if ms > TEN_YEARS_MS {
                    f.custom("ttl", "TTL must be less than 10 years");
                }
                Ttl::Millis(ms)
            }
        },
    }
}

fn ttl_delta(ttl: &Ttl, ds: &DynamicSecret) -> ApiResult<TimeDelta> {
    match ttl {
        Ttl::Default => Ok(TimeDelta::from_std(ds.default_ttl.duration).unwrap_or(TimeDelta::MAX)),
        Ttl::Millis(ms) => Ok(TimeDelta::milliseconds(*ms as i64)),
        Ttl::Garbage => Err(ApiError::internal("InternalServerError")),
    }
}

/// Project (by slug), membership and folder checks shared by every lease route.
fn folder_checks(
    inner: &Inner,
    identity: &Identity,
    slug: &str,
    env: &str,
    path: &str,
) -> ApiResult<String> {
    let project = inner
        .store
        .project_by_slug(slug)
        .ok_or_else(|| ApiError::not_found(format!("Project with slug '{slug}' not found")))?;
    require_member(identity, &project.id)?;
    if project.folder(env, path).is_none() {
        return Err(ApiError::not_found(format!(
            "Folder with path '{path}' in environment with slug '{env}' not found"
        )));
    }
    Ok(project.id.clone())
}

fn dynamic_secret(
    inner: &Inner,
    project_id: &str,
    env: &str,
    path: &str,
    name: &str,
) -> Option<DynamicSecret> {
    inner
        .store
        .project_by_id(project_id)?
        .folder(env, path)?
        .dynamic
        .get(name)
        .cloned()
}

fn lease_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Dynamic secret lease with ID '{id}' not found"))
}

/// Finds a live lease that belongs to the named folder (404 otherwise; 500 for a non-UUID id).
fn find_lease(
    inner: &mut Inner,
    id: &str,
    project_id: &str,
    env: &str,
    path: &str,
) -> ApiResult<(Lease, DynamicSecret)> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(ApiError::internal("DynamicSecretLeaseFindById"));
    }
    let lease = inner
        .leases
        .get(id)
        .filter(|l| l.project_id == project_id && l.env == env && l.path == path)
        .cloned()
        .ok_or_else(|| lease_not_found(id))?;
    let ds = dynamic_secret(inner, project_id, env, path, &lease.name)
        .ok_or_else(|| lease_not_found(id))?;
    Ok((lease, ds))
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut inner = state.lock();
    let identity = inner.authenticate(&headers)?;
    let body = parse_body(&headers, &body)?;
    let mut f = Fields::of(&body)?;
    let name = f.nonempty("dynamicSecretName").to_lowercase();
    let slug = f.nonempty("projectSlug");
    let env = f.nonempty("environmentSlug");
    let path = normalize_path(&f.optional("path").unwrap_or_else(|| "/".into()));
    let ttl = ttl_field(&mut f);
    let config = f.raw("config").cloned().unwrap_or(Value::Null);
    f.finish()?;
    let project_id = folder_checks(&inner, &identity, &slug, &env, &path)?;
    let ds = dynamic_secret(&inner, &project_id, &env, &path, &name).ok_or_else(|| {
        ApiError::not_found(format!(
            "Dynamic secret with name '{name}' in folder with path '{path}' not found"
        ))
    })?;
    let delta = ttl_delta(&ttl, &ds)?;
    if let Some(max) = ds.max_duration() {
        if matches!(ttl, Ttl::Millis(_))
            && delta > TimeDelta::from_std(max).unwrap_or(TimeDelta::MAX)
        {
            return Err(ApiError::bad_request("TTL cannot be larger than max TTL"));
        }
    }
    let now = Utc::now();
    let id = uuid::Uuid::new_v4().to_string();
    let data = render_credentials(&ds.credentials, &id);
    let lease = Lease {
        id: id.clone(),
        external_entity_id: external_entity_id(&data, &id),
        expire_at: now + delta,
        created_at: now,
        updated_at: now,
        dynamic_secret_id: ds.id.clone(),
        project_id,
        env,
        path,
        name,
        config,
    };
    let body = json!({"lease": lease.to_json(), "dynamicSecret": ds.to_json(), "data": data});
    inner.leases.insert(lease);
    Ok(Json(body))
}

pub async fn renew(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut inner = state.lock();
    let identity = inner.authenticate(&headers)?;
    let body = parse_body(&headers, &body)?;
    let mut f = Fields::of(&body)?;
    let slug = f.nonempty("projectSlug");
    let env = f.nonempty("environmentSlug");
    let path = normalize_path(&f.optional("path").unwrap_or_else(|| "/".into()));
    let ttl = ttl_field(&mut f);
    f.finish()?;
    let project_id = folder_checks(&inner, &identity, &slug, &env, &path)?;
    let (lease, ds) = find_lease(&mut inner, &id, &project_id, &env, &path)?;
    let delta = ttl_delta(&ttl, &ds)?;
    // The new expiry is the OLD expireAt + ttl, never past createdAt + maxTTL (equal is fine).
    let new_expiry = lease.expire_at + delta;
    if let Some(max) = ds.max_duration() {
        if new_expiry > lease.created_at + TimeDelta::from_std(max).unwrap_or(TimeDelta::MAX) {
            return Err(ApiError::bad_request(
                "The requested renewal would exceed the maximum allowed lease duration. Please choose a shorter TTL",
            ));
        }
    }
    let stored = inner.leases.get(&id).ok_or_else(|| lease_not_found(&id))?;
    stored.expire_at = new_expiry;
    stored.updated_at = Utc::now();
    let out = stored.to_json();
    inner.leases.renewed += 1;
    Ok(Json(json!({ "lease": out })))
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mut inner = state.lock();
    let identity = inner.authenticate(&headers)?;
    let body = parse_body(&headers, &body)?;
    let mut f = Fields::of(&body)?;
    let slug = f.nonempty("projectSlug");
    let env = f.nonempty("environmentSlug");
    let path = normalize_path(&f.optional("path").unwrap_or_else(|| "/".into()));
    f.boolean("isForced");
    f.finish()?;
    let project_id = folder_checks(&inner, &identity, &slug, &env, &path)?;
    find_lease(&mut inner, &id, &project_id, &env, &path)?;
    let lease = inner
        .leases
        .remove(&id)
        .ok_or_else(|| lease_not_found(&id))?;
    Ok(Json(json!({ "lease": lease.to_json() })))
}

pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    QueryExtract(q): QueryExtract<Query>,
) -> ApiResult<Json<Value>> {
    let mut inner = state.lock();
    let identity = inner.authenticate(&headers)?;
    let mut check = QueryCheck::default();
    let slug = check.required(&q, "projectSlug");
    let env = check.required(&q, "environmentSlug");
    check.finish()?;
    let q: HashMap<String, String> = q;
    let path = normalize_path(q.get("path").map(String::as_str).unwrap_or("/"));
    let project_id = folder_checks(&inner, &identity, &slug, &env, &path)?;
    let (lease, ds) = find_lease(&mut inner, &id, &project_id, &env, &path)?;
    let mut out = lease.to_json();
    out["dynamicSecret"] = ds.to_json();
    Ok(Json(json!({ "lease": out })))
}
