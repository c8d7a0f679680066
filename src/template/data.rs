//! The data template functions read: requests, the values that answer them, and snapshots.

use std::collections::HashMap;
use std::sync::Arc;

use super::secret::{Secret, SharedSecret};

/// A project named by id (`secret`, `getSecretByName`) or by slug (`listSecretsByProjectSlug`,
/// `dynamic_secret`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProjectRef {
    Id(String),
    Slug(String),
}

/// One distinct thing a template needs from the server. Identical requests from any number of
/// templates are fetched once per polling round.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataRequest {
    /// `secret` / `listSecrets` / `listSecretsByProjectSlug`: one folder (or a tree) of secrets.
    ListSecrets {
        project: ProjectRef,
        environment: String,
        path: String,
        recursive: bool,
        expand_references: bool,
    },
    /// `getSecretByName`: one secret.
    GetSecret {
        project_id: String,
        environment: String,
        path: String,
        name: String,
    },
    /// `dynamic_secret`: the credentials of a lease shared by every identical call.
    DynamicSecret {
        project_slug: String,
        environment: String,
        path: String,
        name: String,
        /// The lease TTL as written in the template (`"1m"`), if given.
        ttl: Option<String>,
    },
}

/// The answer to a [`DataRequest`].
#[derive(Clone, Debug, PartialEq)]
pub enum DataValue {
    /// Each secret shared: the engines hand them to templates without copying (an answer may
    /// hold a million).
    Secrets(Arc<Vec<Secret>>),
    Secret(SharedSecret),
    /// A lease's credentials (provider-specific keys; JSON numbers stay JSON numbers).
    Credentials(Arc<serde_json::Map<String, serde_json::Value>>),
}

/// Where template functions look their data up. `None`: not fetched yet (the call is recorded as
/// missing). `Some(Err(message))`: the fetch failed; the message is safe to log (no secret values)
/// and becomes the function's error.
pub trait DataSource: Sync {
    fn lookup(&self, request: &DataRequest) -> Option<Result<DataValue, String>>;
}

/// A plain map of fetched answers: the usual [`DataSource`].
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    entries: HashMap<DataRequest, Result<DataValue, String>>,
}

impl Snapshot {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, request: DataRequest, answer: Result<DataValue, String>) {
        self.entries.insert(request, answer);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl DataSource for Snapshot {
    fn lookup(&self, request: &DataRequest) -> Option<Result<DataValue, String>> {
        self.entries.get(request).cloned()
    }
}
