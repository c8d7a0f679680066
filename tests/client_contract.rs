//! Every recorded real-server exchange in tests/fixtures/contract/ goes through the client's own
//! decoding path (`decode_response` with the client's types): successes parse, errors become the
//! expected `ApiError` variant.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kms_agent::client::auth::{normalize_login_error, AccessToken, RevokeResponse};
use kms_agent::client::error::{decode_response, parse_retry_after, ApiError, RequestContext};
use kms_agent::client::leases::{CreatedLease, LeaseDetailsEnvelope, LeaseEnvelope};
use kms_agent::client::merge::template_secrets;
use kms_agent::client::secrets::{RawSecret, SecretEnvelope, SecretList};
use serde_json::Value;

struct Exchange {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    status: u16,
    retry_after: Option<String>,
    body: Vec<u8>,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contract")
}

fn load(name: &str) -> Exchange {
    let text = std::fs::read_to_string(fixtures_dir().join(name)).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let query = v["request"]["query"]
        .as_object()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Exchange {
        method: v["request"]["method"].as_str().unwrap().to_string(),
        path: v["request"]["path"].as_str().unwrap().to_string(),
        query,
        status: v["response"]["status"].as_u64().unwrap() as u16,
        retry_after: v["response"]["headers"]["retry-after"]
            .as_str()
            .map(String::from),
        body: serde_json::to_vec(&v["response"]["body"]).unwrap(),
    }
}

/// Which client call an exchange belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Endpoint {
    Login,
    Renew,
    Revoke,
    List,
    Get,
    LeaseCreate,
    LeaseRenew,
    LeaseRevoke,
    LeaseGet,
    /// Management routes the agent never calls (secret writes, dynamic-secret create) and paths
    /// that are not routes of the client; their error bodies are still classified.
    NotUsed,
}

fn endpoint(method: &str, path: &str) -> Endpoint {
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, p.as_slice()) {
        ("POST", ["api", "v1", "auth", _, "login"]) => Endpoint::Login,
        ("POST", ["api", "v1", "auth", "token", "renew"]) => Endpoint::Renew,
        ("POST", ["api", "v1", "auth", "token", "revoke"]) => Endpoint::Revoke,
        ("GET", ["api", "v3", "secrets", "raw"]) | ("GET", ["api", "v4", "secrets"]) => {
            Endpoint::List
        }
        ("GET", ["api", "v3", "secrets", "raw", _]) | ("GET", ["api", "v4", "secrets", _]) => {
            Endpoint::Get
        }
        ("POST", ["api", "v1", "dynamic-secrets", "leases"]) => Endpoint::LeaseCreate,
        ("POST", ["api", "v1", "dynamic-secrets", "leases", _, "renew"]) => Endpoint::LeaseRenew,
        ("DELETE", ["api", "v1", "dynamic-secrets", "leases", _]) => Endpoint::LeaseRevoke,
        ("GET", ["api", "v1", "dynamic-secrets", "leases", _]) => Endpoint::LeaseGet,
        _ => Endpoint::NotUsed,
    }
}

fn variant(e: &ApiError) -> &'static str {
    match e {
        ApiError::Transport { .. } => "Transport",
        ApiError::Timeout { .. } => "Timeout",
        ApiError::Unauthorized { .. } => "Unauthorized",
        ApiError::PermissionDenied { .. } => "PermissionDenied",
        ApiError::NotFound { .. } => "NotFound",
        ApiError::RouteNotFound { .. } => "RouteNotFound",
        ApiError::InvalidRequest { .. } => "InvalidRequest",
        ApiError::RateLimited { .. } => "RateLimited",
        ApiError::Server { .. } => "Server",
        ApiError::Decode { .. } => "Decode",
        ApiError::ApprovalPending { .. } => "ApprovalPending",
    }
}

/// Decodes one exchange as the client would: `Ok(description)` or the typed error.
fn decode(ex: &Exchange) -> Result<String, ApiError> {
    let method: &'static str = match ex.method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        _ => "OTHER",
    };
    let ctx = RequestContext::new(method, ex.path.clone());
    let retry_after = ex.retry_after.as_deref().and_then(parse_retry_after);
    let (status, body) = (ex.status, ex.body.as_slice());
    let requested_path = ex
        .query
        .get("secretPath")
        .cloned()
        .unwrap_or_else(|| "/".into());
    match endpoint(&ex.method, &ex.path) {
        Endpoint::Login => decode_response::<AccessToken>(ctx, status, retry_after, body)
            .map_err(normalize_login_error)
            .map(|t| format!("token expiresIn={}", t.expires_in)),
        Endpoint::Renew => decode_response::<AccessToken>(ctx, status, retry_after, body)
            .map(|t| format!("token expiresIn={}", t.expires_in)),
        Endpoint::Revoke => {
            decode_response::<RevokeResponse>(ctx, status, retry_after, body).map(|r| r.message)
        }
        Endpoint::List => decode_response::<SecretList>(ctx, status, retry_after, body)
            .map(|l| format!("{} secrets, {} imports", l.secrets.0.len(), l.imports.len())),
        Endpoint::Get => {
            let envelope =
                decode_response::<SecretEnvelope>(ctx.clone(), status, retry_after, body)?;
            envelope
                .into_secret(&requested_path, ctx)
                .map(|s| s.secret_key)
        }
        Endpoint::LeaseCreate => decode_response::<CreatedLease>(ctx, status, retry_after, body)
            .map(|c| format!("lease {}", c.lease.id)),
        Endpoint::LeaseRenew | Endpoint::LeaseRevoke => {
            decode_response::<LeaseEnvelope>(ctx, status, retry_after, body)
                .map(|e| format!("lease {}", e.lease.id))
        }
        Endpoint::LeaseGet => {
            decode_response::<LeaseDetailsEnvelope>(ctx, status, retry_after, body)
                .map(|e| format!("lease {}", e.lease.lease.id))
        }
        Endpoint::NotUsed => {
            decode_response::<Value>(ctx, status, retry_after, body).map(|_| "unused".into())
        }
    }
}

/// The expected error variant of every recorded error response.
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    ("dynamic-lease-create-env-not-found.json", "NotFound"),
    (
        "dynamic-lease-create-missing-name-validation.json",
        "InvalidRequest",
    ),
    ("dynamic-lease-create-no-auth.json", "Unauthorized"),
    (
        "dynamic-lease-create-no-project-access.json",
        "PermissionDenied",
    ),
    ("dynamic-lease-create-path-not-found.json", "NotFound"),
    ("dynamic-lease-create-project-not-found.json", "Server"),
    ("dynamic-lease-create-ttl-above-max.json", "InvalidRequest"),
    (
        "dynamic-lease-create-ttl-below-1m-validation.json",
        "InvalidRequest",
    ),
    ("dynamic-lease-create-ttl-garbage-validation.json", "Server"),
    (
        "dynamic-lease-create-unknown-dynamic-secret.json",
        "NotFound",
    ),
    ("dynamic-lease-get-after-expiry.json", "NotFound"),
    ("dynamic-lease-get-not-found.json", "NotFound"),
    ("dynamic-lease-renew-above-max-ttl.json", "InvalidRequest"),
    ("dynamic-lease-renew-after-expiry.json", "NotFound"),
    ("dynamic-lease-renew-after-revoke.json", "NotFound"),
    ("dynamic-lease-renew-no-auth.json", "Unauthorized"),
    ("dynamic-lease-renew-non-uuid-id.json", "Server"),
    ("dynamic-lease-renew-not-found.json", "NotFound"),
    ("dynamic-lease-renew-past-max-ttl.json", "InvalidRequest"),
    (
        "dynamic-lease-renew-redis-without-renew-statement-500.json",
        "Server",
    ),
    (
        "dynamic-lease-renew-redis-without-renew-statement-default-ttl-500.json",
        "Server",
    ),
    (
        "dynamic-lease-renew-ttl-below-1m-validation.json",
        "InvalidRequest",
    ),
    ("dynamic-lease-revoke-after-expiry.json", "NotFound"),
    ("dynamic-lease-revoke-already-revoked.json", "NotFound"),
    ("dynamic-lease-revoke-no-body.json", "InvalidRequest"),
    ("dynamic-lease-revoke-not-found.json", "NotFound"),
    (
        "dynamic-secret-create-localhost-rejected.json",
        "InvalidRequest",
    ),
    (
        "dynamic-secret-lease-create-plan-restricted.json",
        "InvalidRequest",
    ),
    ("secret-create-raw-duplicate.json", "InvalidRequest"),
    ("secret-delete-raw-not-found.json", "NotFound"),
    (
        "secret-get-from-import-without-include-imports.json",
        "NotFound",
    ),
    ("secret-get-no-auth.json", "Unauthorized"),
    ("secret-get-not-found.json", "NotFound"),
    ("secret-get-path-not-found.json", "NotFound"),
    ("secret-get-type-personal-not-found.json", "NotFound"),
    ("secret-update-raw-not-found.json", "NotFound"),
    (
        "secrets-list-after-failed-max-ttl-renew.json",
        "Unauthorized",
    ),
    ("secrets-list-bad-jwt-signature.json", "Unauthorized"),
    ("secrets-list-bad-token.json", "Unauthorized"),
    (
        "secrets-list-identity-without-project-access-403.json",
        "PermissionDenied",
    ),
    (
        "secrets-list-invalid-bool-validation.json",
        "InvalidRequest",
    ),
    ("secrets-list-jwt-expired-token.json", "Unauthorized"),
    ("secrets-list-missing-environment.json", "InvalidRequest"),
    ("secrets-list-missing-workspace.json", "InvalidRequest"),
    ("secrets-list-no-auth-header.json", "Unauthorized"),
    ("secrets-list-non-bearer-scheme.json", "Unauthorized"),
    ("secrets-list-project-not-found.json", "NotFound"),
    ("secrets-list-project-slug-not-found.json", "Server"),
    ("secrets-list-rate-limited-429.json", "RateLimited"),
    ("secrets-list-revoked-token.json", "Unauthorized"),
    ("secrets-list-ttl-expired-token.json", "Unauthorized"),
    (
        "secrets-v3-encrypted-route-shadowing.json",
        "InvalidRequest",
    ),
    ("secrets-v4-list-probe-404.json", "RouteNotFound"),
    ("token-renew-after-ttl-expired.json", "Unauthorized"),
    ("token-renew-garbage-token.json", "Unauthorized"),
    ("token-renew-jwt-expired.json", "Unauthorized"),
    (
        "token-renew-missing-access-token-validation.json",
        "InvalidRequest",
    ),
    ("token-renew-past-max-ttl.json", "Unauthorized"),
    ("token-renew-revoked.json", "Unauthorized"),
    ("token-renew-user-jwt.json", "InvalidRequest"),
    ("token-revoke-already-revoked.json", "Unauthorized"),
    ("token-revoke-garbage.json", "Unauthorized"),
    ("token-revoke-jwt-expired.json", "Unauthorized"),
    ("ua-login-empty-body-with-json-content-type.json", "Server"),
    ("ua-login-invalid-json.json", "Server"),
    (
        "ua-login-missing-client-secret-validation.json",
        "InvalidRequest",
    ),
    // D5: an old server's 404 for an unknown client id means "credentials refused".
    ("ua-login-unknown-client-id.json", "Unauthorized"),
    ("ua-login-wrong-secret.json", "Unauthorized"),
    ("unknown-route-404.json", "RouteNotFound"),
];

fn all_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_recorded_exchange_decodes_or_classifies() {
    let names = all_fixtures();
    assert!(
        names.len() >= 115,
        "expected the full recording set, found {}",
        names.len()
    );
    let expected: BTreeMap<&str, &str> = EXPECTED_ERRORS.iter().copied().collect();
    let mut successes = 0;
    for name in &names {
        let ex = load(name);
        let outcome = decode(&ex);
        match (ex.status, expected.get(name.as_str())) {
            (200..=299, None) => {
                let ok = outcome.unwrap_or_else(|e| panic!("{name}: success did not decode: {e}"));
                assert!(!ok.is_empty(), "{name}");
                successes += 1;
            }
            (status, Some(want)) => {
                let err = outcome.expect_err(name);
                assert_eq!(variant(&err), *want, "{name}: {err}");
                assert_eq!(err.status(), Some(status), "{name}");
                assert!(err.to_string().contains(&ex.path), "{name}: {err}");
            }
            (status, None) => {
                panic!("{name}: status {status} has no expectation in EXPECTED_ERRORS")
            }
        }
    }
    // Every listed expectation names a real file.
    for name in expected.keys() {
        assert!(names.iter().any(|n| n == name), "stale expectation {name}");
    }
    assert!(successes >= 45, "only {successes} successes decoded");
}

#[test]
fn error_classes_drive_the_right_reactions() {
    let err = |name: &str| decode(&load(name)).unwrap_err();
    // 401 ValidationFailure (late-2024) is a bad request, never a re-login.
    let e = err("ua-login-missing-client-secret-validation.json");
    assert!(!e.is_auth_failure() && !e.is_retryable());
    assert!(e.context().message.contains("clientSecret"), "{e}");
    // Token failures: both shapes mean "log in again".
    assert!(err("secrets-list-jwt-expired-token.json").is_auth_failure());
    assert!(err("token-renew-past-max-ttl.json").is_auth_failure());
    // The v4 probe on a late-2024 server is the fallback signal, not a missing secret.
    let probe = err("secrets-v4-list-probe-404.json");
    assert!(probe.is_route_not_found() && !probe.is_not_found());
    // 429 retries; a 500 naming the project lookup (D19) does not.
    assert!(err("secrets-list-rate-limited-429.json").is_retryable());
    assert!(!err("secrets-list-project-slug-not-found.json").is_retryable());
    assert!(!err("dynamic-lease-create-project-not-found.json").is_retryable());
    assert!(err("dynamic-lease-renew-redis-without-renew-statement-500.json").is_retryable());
    // No error message carries a token: the recorded bodies never do, and we never echo requests.
    for name in all_fixtures() {
        if let Err(e) = decode(&load(&name)) {
            assert!(!e.to_string().contains("Bearer"), "{name}: {e}");
        }
    }
}

#[test]
fn recorded_secret_shapes_map_to_the_documented_fields() {
    let ex = load("secrets-list-app-include-imports-true.json");
    let list: SecretList = serde_json::from_slice(&ex.body).unwrap();
    assert_eq!(list.imports.len(), 1);
    assert_eq!(list.imports[0].environment, "staging");
    // Import items carry no secretPath and (late-2024) an empty workspace.
    let raw: serde_json::Value = serde_json::from_slice(&ex.body).unwrap();
    assert!(raw["imports"][0]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.get("secretPath").is_none()));
    let merged = template_secrets(list, "/app", "proj-1");
    let keys: Vec<(&str, &str)> = merged.iter().map(|s| (s.key(), s.secret_path())).collect();
    let own_count = raw["secrets"].as_array().unwrap().len();
    for own in ["APP_NAME", "APP_PORT", "APP_REF_ROOT"] {
        let at = keys.iter().position(|k| *k == (own, "/app"));
        assert!(at.is_some_and(|i| i < own_count), "{own} in {keys:?}");
    }
    for imported in ["GREETING", "CROSS_ENV", "STAGING_ONLY"] {
        let at = keys.iter().position(|k| *k == (imported, "/"));
        assert!(at.is_some_and(|i| i >= own_count), "{imported} in {keys:?}");
    }
    let greeting = merged.iter().find(|s| s.key() == "GREETING").unwrap();
    assert_eq!(greeting.value(), "hello-staging");
    assert_eq!(
        greeting.workspace_id(),
        "proj-1",
        "the empty project is filled in"
    );

    // get-by-name on a late-2024 server: no secretPath, filled from the request.
    let ex = load("secret-get-nested-path.json");
    let envelope: SecretEnvelope = serde_json::from_slice(&ex.body).unwrap();
    let secret: RawSecret = envelope
        .into_secret(
            &ex.query["secretPath"],
            RequestContext::new("GET", ex.path.clone()),
        )
        .unwrap();
    assert_eq!(secret.secret_key, "DB_URL");
    assert_eq!(secret.secret_path.as_deref(), Some("/app/db"));
    assert!(!secret.secret_value_hidden);

    // Lease create: durations are strings in the ms grammar.
    let ex = load("dynamic-lease-create-default-ttl.json");
    let created: CreatedLease = serde_json::from_slice(&ex.body).unwrap();
    assert_eq!(created.dynamic_secret.default_ttl().unwrap().as_secs(), 60);
    assert_eq!(
        created
            .dynamic_secret
            .max_ttl()
            .unwrap()
            .map(|d| d.as_secs()),
        Some(300)
    );
    assert!(created.data.expose().contains_key("DB_USERNAME"));
    assert!(created.lease.expire_at > chrono::DateTime::UNIX_EPOCH);
}
