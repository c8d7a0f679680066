//! The shared server state behind one mutex (held only briefly, never across an await), and the
//! authentication step every authenticated route starts with.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{header, HeaderMap};
use serde_json::Value;

use super::api_error::{ApiError, ApiResult};
use super::faults::FaultRule;
use super::leases::Leases;
use super::seed::Seed;
use super::store::{Identity, Store};
use super::tokens::Tokens;

pub struct Inner {
    pub store: Store,
    pub tokens: Tokens,
    pub leases: Leases,
    /// Request counters keyed `"<METHOD> <route pattern>"`.
    pub requests: BTreeMap<String, u64>,
    pub faults: Vec<FaultRule>,
    /// Login request bodies, in arrival order (`GET /dev/logins`).
    pub logins: Vec<Value>,
}

#[derive(Clone)]
pub struct AppState(Arc<Mutex<Inner>>);

impl AppState {
    pub fn new(seed: &Seed) -> AppState {
        AppState(Arc::new(Mutex::new(Inner {
            store: Store::from_seed(seed),
            tokens: Tokens::default(),
            leases: Leases::default(),
            requests: BTreeMap::new(),
            faults: Vec::new(),
            logins: Vec::new(),
        })))
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a handler panicked mid-update; the data is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Validates the `Authorization: Bearer …` header of an authenticated route.
    pub fn authenticate(&mut self, headers: &HeaderMap) -> ApiResult<Identity> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized("Token missing"));
        };
        let value = value.to_str().map_err(|_| ApiError::token_malformed())?;
        // The server drops the first 7 characters ("Bearer ") and treats the rest as the token.
        let Some(token) = value.strip_prefix("Bearer ") else {
            return Err(ApiError::token_malformed());
        };
        let record = self.tokens.check(token)?;
        self.store
            .identity(&record.identity_id)
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("No identity access token found"))
    }
}

/// 403 unless the identity is a member of the project.
pub fn require_member(identity: &Identity, project_id: &str) -> ApiResult<()> {
    if identity.is_member(project_id) {
        Ok(())
    } else {
        Err(ApiError::not_member(project_id))
    }
}
