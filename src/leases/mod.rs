//! Dynamic-secret leases: the server calls the LeaseManagerActor needs, and when to renew or
//! replace a lease (docs/behaviour.md §4), as plain code.

pub mod schedule;

use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use crate::sensitive::Sensitive;
use crate::template::DataRequest;

/// What identifies one shared lease: identical `dynamic_secret` calls (same project, environment,
/// path, name and TTL) across all templates share one. The same key names the lease in the cache.
pub use crate::cache::LeaseKey as LeaseSpec;

impl LeaseSpec {
    /// The lease a `dynamic_secret` call needs; `None` for other requests.
    pub fn from_request(request: &DataRequest) -> Option<Self> {
        match request {
            DataRequest::DynamicSecret {
                project_slug,
                environment,
                path,
                name,
                ttl,
            } => Some(Self {
                project_slug: project_slug.clone(),
                environment: environment.clone(),
                path: path.clone(),
                name: name.clone(),
                ttl: ttl.clone(),
            }),
            _ => None,
        }
    }
}

/// A lease as the server described it.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseInfo {
    pub lease_id: String,
    pub created_at: SystemTime,
    pub expire_at: SystemTime,
    /// `createdAt + maxTTL` when the dynamic secret has a max TTL.
    pub max_expire_at: Option<SystemTime>,
    /// The TTL a renewal adds (the requested TTL, else the default TTL).
    pub renew_ttl: Duration,
}

/// A new lease with its credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseGrant {
    pub info: LeaseInfo,
    pub credentials: Sensitive<serde_json::Map<String, serde_json::Value>>,
}

/// Why a lease call failed; the message is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LeaseFailure {
    pub message: String,
    /// The lease does not exist (any more): 404, or a 400 "not found" of older servers.
    pub not_found: bool,
    /// The lease cannot be extended (past max TTL, or the provider cannot renew: a 500 on renew).
    pub cannot_extend: bool,
    /// The access token was rejected.
    pub token_rejected: bool,
}

impl LeaseFailure {
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            not_found: false,
            cannot_extend: false,
            token_rejected: false,
        }
    }
}

/// The lease endpoints, as the LeaseManagerActor uses them.
pub trait LeaseApi: Send + Sync + 'static {
    fn create<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
    ) -> BoxFuture<'a, Result<LeaseGrant, LeaseFailure>>;
    /// Extends the lease by its TTL; returns the new description.
    fn renew<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
        lease: &'a LeaseInfo,
    ) -> BoxFuture<'a, Result<LeaseInfo, LeaseFailure>>;
    fn revoke<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
        lease_id: &'a str,
    ) -> BoxFuture<'a, Result<(), LeaseFailure>>;
    /// Looks a lease up (to check a cached one); `Ok(None)` when it no longer exists.
    fn get<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
        lease_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<LeaseInfo>, LeaseFailure>>;
}
