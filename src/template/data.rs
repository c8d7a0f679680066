//! The data template functions read: requests, the values that answer them, and snapshots.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

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

impl DataValue {
    /// Whether both are the very same shared answer, not merely equal ones: a pointer
    /// comparison, so a renderer can tell in constant time that its data did not change (the
    /// fetcher hands out the previous answer again when a new one equals it, see
    /// [`crate::answer_reuse`]).
    pub fn is_same(&self, other: &DataValue) -> bool {
        match (self, other) {
            (DataValue::Secrets(a), DataValue::Secrets(b)) => Arc::ptr_eq(a, b),
            (DataValue::Secret(a), DataValue::Secret(b)) => {
                let ((la, ia), (lb, ib)) = (a.parts(), b.parts());
                Arc::ptr_eq(la, lb) && ia == ib
            }
            (DataValue::Credentials(a), DataValue::Credentials(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// A handle on this answer that does not keep its data alive.
    pub fn downgrade(&self) -> WeakDataValue {
        WeakDataValue(match self {
            DataValue::Secrets(l) => WeakInner::Secrets(Arc::downgrade(l)),
            DataValue::Secret(s) => {
                let (list, index) = s.parts();
                WeakInner::Secret(Arc::downgrade(list), index)
            }
            DataValue::Credentials(c) => WeakInner::Credentials(Arc::downgrade(c)),
        })
    }
}

/// A [`DataValue`] remembered without keeping it alive ([`DataValue::downgrade`]).
#[derive(Clone, Debug)]
pub struct WeakDataValue(WeakInner);

#[derive(Clone, Debug)]
enum WeakInner {
    Secrets(Weak<Vec<Secret>>),
    Secret(Weak<Vec<Secret>>, u32),
    Credentials(Weak<serde_json::Map<String, serde_json::Value>>),
}

impl WeakDataValue {
    /// The answer, if anyone still holds it.
    pub fn upgrade(&self) -> Option<DataValue> {
        match &self.0 {
            WeakInner::Secrets(l) => l.upgrade().map(DataValue::Secrets),
            WeakInner::Secret(l, index) => {
                SharedSecret::in_list(&l.upgrade()?, *index as usize).map(DataValue::Secret)
            }
            WeakInner::Credentials(c) => c.upgrade().map(DataValue::Credentials),
        }
    }
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

    /// The answer to `request`, if fetched.
    pub fn get(&self, request: &DataRequest) -> Option<&Result<DataValue, String>> {
        self.entries.get(request)
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
