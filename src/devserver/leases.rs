//! Dynamic-secret leases: the lease records, expiry (an expired lease is deleted), and the
//! credential templating of `$RANDOM` / `$LEASE_ID`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
pub struct Lease {
    pub id: String,
    pub external_entity_id: String,
    pub expire_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub dynamic_secret_id: String,
    pub project_id: String,
    pub env: String,
    pub path: String,
    pub name: String,
    pub config: Value,
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Lease {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "version": 1, "externalEntityId": self.external_entity_id,
            "expireAt": iso(self.expire_at), "status": null, "statusDetails": null,
            "dynamicSecretId": self.dynamic_secret_id, "config": self.config,
            "createdAt": iso(self.created_at), "updatedAt": iso(self.updated_at),
        })
    }
}

#[derive(Default)]
pub struct Leases {
    map: HashMap<String, Lease>,
    pub created: u64,
    pub renewed: u64,
    pub revoked: u64,
}

impl Leases {
    /// Deletes leases whose `expireAt` has passed, as the real server's revocation job does.
    pub fn purge_expired(&mut self) {
        let now = Utc::now();
        self.map.retain(|_, l| l.expire_at > now);
    }

    pub fn insert(&mut self, lease: Lease) {
        self.created += 1;
        self.map.insert(lease.id.clone(), lease);
    }

    pub fn get(&mut self, id: &str) -> Option<&mut Lease> {
        self.purge_expired();
        self.map.get_mut(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<Lease> {
        self.purge_expired();
        let lease = self.map.remove(id)?;
        self.revoked += 1;
        Some(lease)
    }

    pub fn active(&mut self) -> usize {
        self.purge_expired();
        self.map.len()
    }
}

/// The lease's credentials: `$RANDOM` becomes 24 fresh random characters (per occurrence) and
/// `$LEASE_ID` the lease id, inside every string value (nested ones too).
pub fn render_credentials(template: &Map<String, Value>, lease_id: &str) -> Map<String, Value> {
    template
        .iter()
        .map(|(k, v)| (k.clone(), render_value(v, lease_id)))
        .collect()
}

fn render_value(v: &Value, lease_id: &str) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.replace("$LEASE_ID", lease_id);
            while let Some(pos) = out.find("$RANDOM") {
                let random = Alphanumeric.sample_string(&mut rand::rng(), 24);
                out.replace_range(pos..pos + "$RANDOM".len(), &random);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| render_value(i, lease_id)).collect()),
        Value::Object(map) => Value::Object(render_credentials(map, lease_id)),
        other => other.clone(),
    }
}

/// The provider-side id shown as `externalEntityId`: the rendered username when there is one.
pub fn external_entity_id(data: &Map<String, Value>, lease_id: &str) -> String {
    ["DB_USERNAME", "USERNAME", "username"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| lease_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templating_replaces_random_and_lease_id() {
        let t = json!({"DB_USERNAME": "v-$LEASE_ID", "P": "$RANDOM", "N": 5, "L": ["$RANDOM"]});
        let a = render_credentials(t.as_object().unwrap(), "L1");
        let b = render_credentials(t.as_object().unwrap(), "L2");
        assert_eq!(a["DB_USERNAME"], "v-L1");
        assert_eq!(a["P"].as_str().unwrap().len(), 24);
        assert_ne!(a["P"], b["P"]);
        assert_eq!(a["N"], 5);
        assert_eq!(a["L"][0].as_str().unwrap().len(), 24);
        assert_eq!(external_entity_id(&a, "L1"), "v-L1");
    }
}
