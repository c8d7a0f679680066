//! What one cache entry holds: a dynamic-secret lease and the credentials it produced.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies a lease: `dynamic_secret` calls with the same key share one lease (docs/behaviour.md
/// §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeaseKey {
    pub project_slug: String,
    pub environment: String,
    pub path: String,
    pub name: String,
    /// The TTL asked for (e.g. `"1h"`), or the dynamic secret's default.
    pub ttl: Option<String>,
}

/// For log lines: `project/environment:path/name (ttl)`. None of it is secret.
impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}:{}/{} (ttl {})",
            self.project_slug,
            self.environment,
            self.path.trim_end_matches('/'),
            self.name,
            self.ttl.as_deref().unwrap_or("default")
        )
    }
}

/// A lease as the cache stores it. `Debug` lists the credential names, never their values.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedLease {
    pub key: LeaseKey,
    pub lease_id: String,
    pub expire_at_unix_ms: i64,
    /// When the lease can no longer be renewed (its max TTL), if the server said.
    pub max_expire_at_unix_ms: Option<i64>,
    pub created_at_unix_ms: i64,
    pub credentials: serde_json::Map<String, serde_json::Value>,
}

impl CachedLease {
    /// The instant after which the lease is certainly gone.
    pub fn effective_expiry_unix_ms(&self) -> i64 {
        self.max_expire_at_unix_ms
            .map_or(self.expire_at_unix_ms, |max| {
                max.min(self.expire_at_unix_ms)
            })
    }
}

impl fmt::Debug for CachedLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedLease")
            .field("key", &self.key)
            .field("lease_id", &self.lease_id)
            .field("expire_at_unix_ms", &self.expire_at_unix_ms)
            .field("max_expire_at_unix_ms", &self.max_expire_at_unix_ms)
            .field("created_at_unix_ms", &self.created_at_unix_ms)
            .field(
                "credentials",
                &self
                    .credentials
                    .keys()
                    .map(|k| (k, "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn lease(name: &str, expire_at: i64, password: &str) -> CachedLease {
        let mut credentials = serde_json::Map::new();
        credentials.insert("DB_USERNAME".into(), format!("user-{name}").into());
        credentials.insert("DB_PASSWORD".into(), password.into());
        CachedLease {
            key: LeaseKey {
                project_slug: "shop".into(),
                environment: "prod".into(),
                path: "/db".into(),
                name: name.into(),
                ttl: Some("1h".into()),
            },
            lease_id: format!("lease-{name}"),
            expire_at_unix_ms: expire_at,
            max_expire_at_unix_ms: Some(expire_at.saturating_add(3_600_000)),
            created_at_unix_ms: 1_000,
            credentials,
        }
    }

    #[test]
    fn debug_redacts_credential_values() {
        let l = lease("pg", 5_000, "Sup3r-Secret-Pw");
        let shown = format!("{l:?}");
        assert!(shown.contains("DB_PASSWORD"), "{shown}");
        assert!(!shown.contains("Sup3r-Secret-Pw"), "{shown}");
        assert!(!shown.contains("user-pg"), "{shown}");
    }

    #[test]
    fn effective_expiry_is_the_earlier_of_ttl_and_max_ttl() {
        let mut l = lease("pg", 5_000, "x");
        assert_eq!(l.effective_expiry_unix_ms(), 5_000);
        l.max_expire_at_unix_ms = Some(4_000);
        assert_eq!(l.effective_expiry_unix_ms(), 4_000);
        l.max_expire_at_unix_ms = None;
        assert_eq!(l.effective_expiry_unix_ms(), 5_000);
    }

    #[test]
    fn display_names_the_lease_without_secrets() {
        let l = lease("pg", 5_000, "Sup3r-Secret-Pw");
        assert_eq!(l.key.to_string(), "shop/prod:/db/pg (ttl 1h)");
    }
}
