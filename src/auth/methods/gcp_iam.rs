//! GCP IAM auth (docs/wire-contract.md §6): with a service-account key, get an OAuth2 access token
//! (JWT-bearer grant), then have the IAM Credentials API sign `{sub, aud, exp}`; the KMS checks
//! Google's signature on that JWT.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::gcp_key::ServiceAccountKey;
use super::http::{json_string, send_for_json};
use super::{identity_id, Env, HttpClients, JwtLogin, LoginRequest, MethodError};
use crate::sensitive::Sensitive;

/// Google's OAuth2 token endpoint, used when the key file has no `token_uri`.
pub const DEFAULT_GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The IAM Service Account Credentials API.
pub const DEFAULT_GCP_IAM_CREDENTIALS_ENDPOINT: &str = "https://iamcredentials.googleapis.com";

const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Lifetime of the JWT Google signs for the KMS; it is used at once.
const SIGNED_JWT_LIFETIME_SECS: u64 = 600;

/// Where the IAM method sends its two requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpIamEndpoints {
    /// Replaces the key file's `token_uri` when set.
    pub token_uri: Option<String>,
    /// Base URL of the IAM Credentials API (no path).
    pub iam_credentials: String,
}

impl Default for GcpIamEndpoints {
    fn default() -> Self {
        Self {
            token_uri: None,
            iam_credentials: DEFAULT_GCP_IAM_CREDENTIALS_ENDPOINT.to_string(),
        }
    }
}

impl GcpIamEndpoints {
    /// `KMS_GCP_OAUTH_TOKEN_URI` and `KMS_GCP_IAM_CREDENTIALS_ENDPOINT`, else the defaults.
    pub fn from_env(env: &dyn Env) -> Self {
        Self {
            token_uri: env.var("KMS_GCP_OAUTH_TOKEN_URI"),
            iam_credentials: env
                .var("KMS_GCP_IAM_CREDENTIALS_ENDPOINT")
                .map(|e| e.trim_end_matches('/').to_string())
                .unwrap_or_else(|| DEFAULT_GCP_IAM_CREDENTIALS_ENDPOINT.to_string()),
        }
    }
}

/// Reads the key at `key_path` (afresh on every call), obtains a Google-signed JWT for the
/// identity and builds the login request. `now` stamps the assertion and the JWT's expiry.
pub async fn gcp_iam_login(
    http: &HttpClients,
    identity: &str,
    key_path: &Path,
    endpoints: &GcpIamEndpoints,
    now: SystemTime,
) -> Result<LoginRequest, MethodError> {
    let identity_id = identity_id(identity)?;
    let key = ServiceAccountKey::load(key_path).await?;
    let now_unix = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let access_token = oauth_access_token(http, &key, endpoints, now_unix).await?;

    let url = format!(
        "{}/v1/projects/-/serviceAccounts/{}:signJwt",
        endpoints.iam_credentials.trim_end_matches('/'),
        path_segment(&key.client_email)
    );
    let payload = json!({
        "sub": key.client_email,
        "aud": identity_id,
        "exp": now_unix + SIGNED_JWT_LIFETIME_SECS,
    })
    .to_string();
    let request = http
        .internet
        .post(&url)
        .bearer_auth(access_token.expose())
        .json(&json!({ "payload": payload }));
    const SERVICE: &str = "GCP IAM Credentials signJwt";
    let answer = send_for_json(SERVICE, &url, request).await?;
    let jwt = json_string(&answer, "signedJwt", SERVICE, &url)?;
    Ok(LoginRequest::Gcp(JwtLogin {
        identity_id,
        jwt: Sensitive::new(jwt),
        organization_slug: None,
    }))
}

/// `text` as one URL path segment: unreserved characters and `@` stay, the rest is
/// percent-encoded, so an odd `client_email` cannot change the route.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Exchanges a JWT assertion signed with the key for an OAuth2 access token.
async fn oauth_access_token(
    http: &HttpClients,
    key: &ServiceAccountKey,
    endpoints: &GcpIamEndpoints,
    now_unix: u64,
) -> Result<Sensitive<String>, MethodError> {
    let token_uri = endpoints
        .token_uri
        .as_deref()
        .or(key.token_uri.as_deref())
        .unwrap_or(DEFAULT_GOOGLE_TOKEN_URI);
    let assertion = key.token_assertion(token_uri, CLOUD_PLATFORM_SCOPE, now_unix)?;
    let request = http.internet.post(token_uri).form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion.as_str()),
    ]);
    const SERVICE: &str = "Google OAuth2 token endpoint";
    let answer = send_for_json(SERVICE, token_uri, request).await?;
    Ok(Sensitive::new(json_string(
        &answer,
        "access_token",
        SERVICE,
        token_uri,
    )?))
}

#[cfg(test)]
mod tests {
    use super::super::MapEnv;
    use super::*;

    #[test]
    fn service_account_emails_stay_one_path_segment() {
        assert_eq!(
            path_segment("agent@demo.iam.gserviceaccount.com"),
            "agent@demo.iam.gserviceaccount.com"
        );
        assert_eq!(path_segment("a/b?c"), "a%2Fb%3Fc");
    }

    #[test]
    fn endpoints_come_from_env_or_defaults() {
        assert_eq!(
            GcpIamEndpoints::from_env(&MapEnv::default()),
            GcpIamEndpoints::default()
        );
        let env = MapEnv::new([
            ("KMS_GCP_OAUTH_TOKEN_URI", "http://127.0.0.1:1/token"),
            ("KMS_GCP_IAM_CREDENTIALS_ENDPOINT", "http://127.0.0.1:2/"),
        ]);
        assert_eq!(
            GcpIamEndpoints::from_env(&env),
            GcpIamEndpoints {
                token_uri: Some("http://127.0.0.1:1/token".into()),
                iam_credentials: "http://127.0.0.1:2".into(),
            }
        );
    }
}
