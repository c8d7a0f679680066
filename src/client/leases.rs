//! Dynamic-secret leases (`docs/wire-contract.md` §11): create, renew, revoke, get.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::duration::{parse_ms_duration, DurationError};
use super::error::ApiError;
use super::http::{Call, KmsClient};
use super::retry::Idempotency;
use super::secrets::normalize_secret_path;
use crate::sensitive::Sensitive;
use crate::template::DataRequest;
use reqwest::{Method, Url};

/// Where a dynamic secret lives. Renew, revoke and get must name the lease's own location (D20).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseLocation {
    pub project_slug: String,
    pub environment_slug: String,
    pub path: String,
}

impl LeaseLocation {
    pub fn new(
        project_slug: impl Into<String>,
        environment_slug: impl Into<String>,
        path: &str,
    ) -> Self {
        Self {
            project_slug: project_slug.into(),
            environment_slug: environment_slug.into(),
            path: normalize_secret_path(path),
        }
    }

    pub(crate) fn query_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("projectSlug", self.project_slug.clone()),
            ("environmentSlug", self.environment_slug.clone()),
            ("path", self.path.clone()),
        ]
    }
}

/// `POST /api/v1/dynamic-secrets/leases`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLeaseRequest {
    pub dynamic_secret_name: String,
    #[serde(flatten)]
    pub location: LeaseLocation,
    /// Duration string (`"1h"`); `None` = the dynamic secret's `defaultTTL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Provider-specific options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

impl CreateLeaseRequest {
    /// The lease a template's `dynamic_secret` call needs; `None` for other requests.
    pub fn from_data_request(request: &DataRequest) -> Option<Self> {
        match request {
            DataRequest::DynamicSecret {
                project_slug,
                environment,
                path,
                name,
                ttl,
            } => Some(Self {
                dynamic_secret_name: name.clone(),
                location: LeaseLocation::new(project_slug.clone(), environment.clone(), path),
                ttl: ttl.clone().filter(|t| !t.trim().is_empty()),
                config: None,
            }),
            _ => None,
        }
    }
}

/// `POST /api/v1/dynamic-secrets/leases/{id}/renew`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewLeaseRequest {
    #[serde(flatten)]
    pub location: LeaseLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// `DELETE /api/v1/dynamic-secrets/leases/{id}` (with this JSON body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeLeaseRequest {
    #[serde(flatten)]
    pub location: LeaseLocation,
    pub is_forced: bool,
}

fn iso_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| serde::de::Error::custom("timestamp is not ISO-8601"))
}

/// A lease.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub id: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub external_entity_id: String,
    #[serde(deserialize_with = "iso_time")]
    pub expire_at: DateTime<Utc>,
    /// `None` normally; `"Failed to delete"` after a revoke the provider refused.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_details: Option<String>,
    #[serde(default)]
    pub dynamic_secret_id: String,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl Lease {
    /// A revoke answered 200 but the provider failed (§11.3); the server retries on its own.
    pub fn revocation_failed(&self) -> bool {
        self.status.is_some()
    }
}

/// The dynamic secret a lease belongs to.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DynamicSecretInfo {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default, rename = "type")]
    pub provider: String,
    #[serde(default, rename = "defaultTTL")]
    pub default_ttl: String,
    #[serde(default, rename = "maxTTL")]
    pub max_ttl: Option<String>,
    #[serde(default)]
    pub folder_id: Option<String>,
}

impl DynamicSecretInfo {
    pub fn default_ttl(&self) -> Result<Duration, DurationError> {
        parse_ms_duration(&self.default_ttl)
    }

    /// `None` when the dynamic secret has no max TTL.
    pub fn max_ttl(&self) -> Result<Option<Duration>, DurationError> {
        match self.max_ttl.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => parse_ms_duration(s).map(Some),
        }
    }
}

fn sensitive_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Sensitive<serde_json::Map<String, serde_json::Value>>, D::Error> {
    Ok(Sensitive::new(
        Option::<serde_json::Map<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default(),
    ))
}

/// The answer to create: the lease, its dynamic secret and the credentials.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreatedLease {
    pub lease: Lease,
    pub dynamic_secret: DynamicSecretInfo,
    /// Provider-specific credentials (`DB_USERNAME`, `DB_PASSWORD`, ...).
    #[serde(default, deserialize_with = "sensitive_map")]
    pub data: Sensitive<serde_json::Map<String, serde_json::Value>>,
}

/// `{"lease": …}`: the answer to renew and revoke.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct LeaseEnvelope {
    pub lease: Lease,
}

/// A lease with its dynamic secret nested (`GET`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeaseDetails {
    #[serde(flatten)]
    pub lease: Lease,
    #[serde(default)]
    pub dynamic_secret: Option<DynamicSecretInfo>,
}

/// `{"lease": LeaseDetails}`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct LeaseDetailsEnvelope {
    pub lease: LeaseDetails,
}

/// Lease ids are UUIDs; a non-UUID gets a 500 from the server (§11.2), so refuse it before sending.
pub fn is_valid_lease_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

// ---- the dynamic-secret lease endpoints of [`KmsClient`] -----------------------------

impl KmsClient {
    fn lease_url(
        &self,
        lease_id: &str,
        suffix: Option<&str>,
        query: &[(&'static str, String)],
    ) -> Url {
        let mut segments = vec!["v1", "dynamic-secrets", "leases", lease_id];
        segments.extend(suffix);
        self.url(&segments, query)
    }

    fn check_lease_id(&self, method: &'static str, lease_id: &str) -> Result<(), ApiError> {
        if is_valid_lease_id(lease_id) {
            Ok(())
        } else {
            let url = self.url(&["v1", "dynamic-secrets", "leases"], &[]);
            Err(self.invalid(method, &url, "lease id is not a UUID"))
        }
    }

    /// Creates a lease. Repeated only when the server provably did not process the request
    /// (see [`super::retry`]).
    pub async fn create_lease(
        &self,
        token: &Sensitive<String>,
        request: &CreateLeaseRequest,
    ) -> Result<CreatedLease, ApiError> {
        self.call(Call {
            method: Method::POST,
            url: self.url(&["v1", "dynamic-secrets", "leases"], &[]),
            token: Some(token),
            body: Some(serde_json::to_value(request).unwrap_or_default()),
            idempotency: Idempotency::OnlyIfNotProcessed,
        })
        .await
    }

    /// Renews a lease: the new `expireAt` is the old one plus the ttl (§11.2).
    pub async fn renew_lease(
        &self,
        token: &Sensitive<String>,
        lease_id: &str,
        request: &RenewLeaseRequest,
    ) -> Result<Lease, ApiError> {
        self.check_lease_id("POST", lease_id)?;
        let envelope: LeaseEnvelope = self
            .call(Call {
                method: Method::POST,
                url: self.lease_url(lease_id, Some("renew"), &[]),
                token: Some(token),
                body: Some(serde_json::to_value(request).unwrap_or_default()),
                idempotency: Idempotency::Repeatable,
            })
            .await?;
        Ok(envelope.lease)
    }

    /// Revokes a lease (DELETE with a JSON body). Check [`Lease::revocation_failed`] on success.
    pub async fn revoke_lease(
        &self,
        token: &Sensitive<String>,
        lease_id: &str,
        request: &RevokeLeaseRequest,
    ) -> Result<Lease, ApiError> {
        self.check_lease_id("DELETE", lease_id)?;
        let envelope: LeaseEnvelope = self
            .call(Call {
                method: Method::DELETE,
                url: self.lease_url(lease_id, None, &[]),
                token: Some(token),
                body: Some(serde_json::to_value(request).unwrap_or_default()),
                idempotency: Idempotency::Repeatable,
            })
            .await?;
        Ok(envelope.lease)
    }

    /// Reads a lease (to check that a cached one still exists).
    pub async fn get_lease(
        &self,
        token: &Sensitive<String>,
        lease_id: &str,
        location: &LeaseLocation,
    ) -> Result<LeaseDetails, ApiError> {
        self.check_lease_id("GET", lease_id)?;
        let envelope: LeaseDetailsEnvelope = self
            .call(Call {
                method: Method::GET,
                url: self.lease_url(lease_id, None, &location.query_pairs()),
                token: Some(token),
                body: None,
                idempotency: Idempotency::Repeatable,
            })
            .await?;
        Ok(envelope.lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> LeaseLocation {
        LeaseLocation::new("demo", "dev", "/app/")
    }

    #[test]
    fn request_bodies() {
        let create = CreateLeaseRequest {
            dynamic_secret_name: "redis".into(),
            location: loc(),
            ttl: None,
            config: None,
        };
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            serde_json::json!({"dynamicSecretName":"redis","projectSlug":"demo","environmentSlug":"dev","path":"/app"})
        );
        let renew = RenewLeaseRequest {
            location: loc(),
            ttl: Some("2m".into()),
        };
        assert_eq!(serde_json::to_value(&renew).unwrap()["ttl"], "2m");
        let revoke = RevokeLeaseRequest {
            location: loc(),
            is_forced: false,
        };
        assert_eq!(serde_json::to_value(&revoke).unwrap()["isForced"], false);
    }

    #[test]
    fn created_lease_decodes_and_hides_credentials() {
        let body = r#"{"lease":{"id":"c0ffee00-1111-4222-8333-444455556666","version":1,"externalEntityId":"u",
            "expireAt":"2025-05-06T08:00:00.000Z","status":null,"statusDetails":null,"dynamicSecretId":"d",
            "createdAt":"2025-05-06T07:00:00.000Z","updatedAt":"2025-05-06T07:00:00.000Z"},
            "dynamicSecret":{"id":"d","name":"pg","version":1,"type":"sql-database","defaultTTL":"1h","maxTTL":null,
            "folderId":"f","status":null,"statusDetails":null,"createdAt":"x","updatedAt":"y"},
            "data":{"DB_USERNAME":"u","DB_PASSWORD":"pw-secret","PORT":5432}}"#;
        let c: CreatedLease = serde_json::from_str(body).unwrap();
        assert_eq!(c.lease.expire_at.to_rfc3339(), "2025-05-06T08:00:00+00:00");
        assert_eq!(
            c.dynamic_secret.default_ttl(),
            Ok(Duration::from_secs(3600))
        );
        assert_eq!(c.dynamic_secret.max_ttl(), Ok(None));
        assert_eq!(c.data.expose()["PORT"], 5432);
        assert!(!format!("{c:?}").contains("pw-secret"));
        assert!(!c.lease.revocation_failed());
    }

    #[test]
    fn lease_details_flatten_the_dynamic_secret() {
        let body = r#"{"lease":{"id":"a","expireAt":"2026-11-28T09:54:22.174Z","status":"Failed to delete",
            "dynamicSecret":{"id":"d","name":"redis-dyn","defaultTTL":"1m","maxTTL":"5m"}}}"#;
        let d: LeaseDetailsEnvelope = serde_json::from_str(body).unwrap();
        assert!(d.lease.lease.revocation_failed());
        let ds = d.lease.dynamic_secret.unwrap();
        assert_eq!(ds.max_ttl(), Ok(Some(Duration::from_secs(300))));
    }

    #[test]
    fn bad_timestamps_are_decode_errors() {
        let r: Result<LeaseEnvelope, _> =
            serde_json::from_str(r#"{"lease":{"id":"a","expireAt":"tomorrow"}}"#);
        assert!(r.is_err());
    }

    #[test]
    fn dynamic_secret_requests_convert() {
        let r = DataRequest::DynamicSecret {
            project_slug: "demo".into(),
            environment: "dev".into(),
            path: "/app/".into(),
            name: "redis".into(),
            ttl: Some("".into()),
        };
        let c = CreateLeaseRequest::from_data_request(&r).unwrap();
        assert_eq!(c.location, loc());
        assert_eq!(c.ttl, None);
        assert_eq!(c.dynamic_secret_name, "redis");
    }

    #[test]
    fn lease_ids_must_be_uuids() {
        assert!(is_valid_lease_id("41ac32d8-56f3-4d3e-af03-eb5d5eafc174"));
        assert!(!is_valid_lease_id("not-a-uuid"));
        assert!(!is_valid_lease_id("../../x"));
    }
}
