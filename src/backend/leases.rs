//! Dynamic-secret leases with the KMS client.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use super::describe;
use crate::client::{
    parse_ms_duration, ApiError, CreateLeaseRequest, DynamicSecretInfo, KmsClient, Lease,
    LeaseLocation, RenewLeaseRequest, RevokeLeaseRequest,
};
use crate::leases::{LeaseApi, LeaseFailure, LeaseGrant, LeaseInfo, LeaseSpec};
use crate::sensitive::Sensitive;
use crate::server_numbers;

pub struct KmsLeases {
    client: Arc<KmsClient>,
}

impl KmsLeases {
    pub fn new(client: Arc<KmsClient>) -> Self {
        Self { client }
    }
}

fn location(spec: &LeaseSpec) -> LeaseLocation {
    LeaseLocation::new(
        spec.project_slug.clone(),
        spec.environment.clone(),
        &spec.path,
    )
}

fn failure(error: ApiError, renewing: bool) -> LeaseFailure {
    let status = error.status();
    let message = describe(&error);
    // Older servers answer "not found" as 400 (docs/wire-contract.md D6).
    let not_found = error.is_not_found()
        || (status == Some(400) && message.to_lowercase().contains("not found"));
    // A renewal past max TTL is a 400; a provider that cannot renew gives 500 (D22).
    let cannot_extend = renewing && !not_found && matches!(status, Some(400) | Some(500));
    LeaseFailure {
        token_rejected: error.is_auth_failure(),
        not_found,
        cannot_extend,
        message,
    }
}

/// How long `lease` lives, measured on the server's own clock (`expireAt - createdAt`), so that
/// any skew between the server's clock and the agent's does not matter; without `createdAt`, from
/// the agent's clock (the best that can be done). Clamped like every server number.
fn server_lifetime(lease: &Lease, now: SystemTime) -> Duration {
    let created = lease
        .created_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    let lifetime = match created {
        Some(c) => (lease.expire_at - c.with_timezone(&chrono::Utc))
            .to_std()
            .unwrap_or_default(),
        None => SystemTime::from(lease.expire_at)
            .duration_since(now)
            .unwrap_or_default(),
    };
    server_numbers::clamp(lifetime)
}

/// Describes `lease` on the agent's clock: it expires its server lifetime after the agent received
/// it. Its dynamic secret (when the answer carried it) gives the max TTL and the default TTL a
/// renewal adds when the template asked for none.
fn lease_info(
    lease: &Lease,
    dynamic_secret: Option<&DynamicSecretInfo>,
    spec: &LeaseSpec,
) -> LeaseInfo {
    let now = SystemTime::now();
    let requested = spec.ttl.as_deref().and_then(|t| parse_ms_duration(t).ok());
    LeaseInfo {
        lease_id: lease.id.clone(),
        created_at: now,
        expire_at: now + server_lifetime(lease, now),
        max_expire_at: dynamic_secret
            .and_then(|d| d.max_ttl().ok().flatten())
            .map(|m| now + server_numbers::clamp(m)),
        renew_ttl: server_numbers::clamp(
            requested
                .or_else(|| dynamic_secret.and_then(|d| d.default_ttl().ok()))
                .unwrap_or(Duration::ZERO),
        ),
    }
}

impl LeaseApi for KmsLeases {
    fn create<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
    ) -> BoxFuture<'a, Result<LeaseGrant, LeaseFailure>> {
        Box::pin(async move {
            let request = CreateLeaseRequest {
                dynamic_secret_name: spec.name.clone(),
                location: location(spec),
                ttl: spec.ttl.clone(),
                config: None,
            };
            let created = self
                .client
                .create_lease(token, &request)
                .await
                .map_err(|e| failure(e, false))?;
            Ok(LeaseGrant {
                info: lease_info(&created.lease, Some(&created.dynamic_secret), spec),
                credentials: created.data,
            })
        })
    }

    fn renew<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
        lease: &'a LeaseInfo,
    ) -> BoxFuture<'a, Result<LeaseInfo, LeaseFailure>> {
        Box::pin(async move {
            let request = RenewLeaseRequest {
                location: location(spec),
                ttl: spec.ttl.clone(),
            };
            let renewed = self
                .client
                .renew_lease(token, &lease.lease_id, &request)
                .await
                .map_err(|e| failure(e, true))?;
            // The renewed lease's lifetime since its creation, on the server's clock, counted from
            // when the agent received it at creation.
            let expire_at = if renewed.created_at.is_some() {
                lease.created_at + server_lifetime(&renewed, lease.created_at)
            } else {
                SystemTime::now() + server_lifetime(&renewed, SystemTime::now())
            };
            Ok(LeaseInfo {
                expire_at,
                ..lease.clone()
            })
        })
    }

    fn revoke<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
        lease_id: &'a str,
    ) -> BoxFuture<'a, Result<(), LeaseFailure>> {
        Box::pin(async move {
            let request = RevokeLeaseRequest {
                location: location(spec),
                is_forced: false,
            };
            let lease = self
                .client
                .revoke_lease(token, lease_id, &request)
                .await
                .map_err(|e| failure(e, false))?;
            if lease.revocation_failed() {
                tracing::warn!(dynamic_secret = %spec.name, lease_id, "the server could not revoke the lease on the provider side; it retries by itself");
            }
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        spec: &'a LeaseSpec,
        lease_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<LeaseInfo>, LeaseFailure>> {
        Box::pin(async move {
            match self
                .client
                .get_lease(token, lease_id, &location(spec))
                .await
            {
                Ok(details) => Ok(Some(lease_info(
                    &details.lease,
                    details.dynamic_secret.as_ref(),
                    spec,
                ))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(failure(e, false)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(created: Option<&str>, expire: &str) -> Lease {
        serde_json::from_value(serde_json::json!({
            "id": "l", "expireAt": expire, "createdAt": created,
        }))
        .unwrap()
    }

    #[test]
    fn a_lease_lives_its_server_lifetime_whatever_the_clock_skew() {
        let now = SystemTime::now();
        // The server's clock is two minutes behind: expireAt is already past on ours.
        let server_now = chrono::Utc::now() - chrono::TimeDelta::seconds(120);
        let created = server_now.to_rfc3339();
        let expire = (server_now + chrono::TimeDelta::seconds(60)).to_rfc3339();
        assert_eq!(
            server_lifetime(&lease(Some(&created), &expire), now),
            Duration::from_secs(60)
        );
        // Without createdAt the agent's own clock is all there is.
        assert_eq!(server_lifetime(&lease(None, &expire), now), Duration::ZERO);
        // An expiry before creation is a lease that is already over, not a panic.
        assert_eq!(
            server_lifetime(&lease(Some(&expire), &created), now),
            Duration::ZERO
        );
        // Year 9999 is clamped like every server number.
        assert_eq!(
            server_lifetime(&lease(Some(&created), "9999-01-01T00:00:00Z"), now),
            server_numbers::MAX_SERVER_DURATION
        );
    }
}
