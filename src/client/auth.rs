//! Machine-identity logins, token renew and revoke (`docs/wire-contract.md` §1–§7): request bodies
//! and the token answer. Credentials and tokens are [`Sensitive`], so no `Debug` of these types
//! shows them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize, Serializer};

use super::error::ApiError;
use super::http::{Call, KmsClient};
use super::retry::Idempotency;
use crate::sensitive::Sensitive;
use reqwest::Method;

pub(crate) fn expose_str<S: Serializer>(
    value: &Sensitive<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.expose())
}

pub(crate) fn sensitive_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Sensitive<String>, D::Error> {
    String::deserialize(d).map(Sensitive::new)
}

/// `POST /api/v1/auth/universal-auth/login`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UniversalAuthLogin {
    pub client_id: String,
    #[serde(serialize_with = "expose_str")]
    pub client_secret: Sensitive<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_slug: Option<String>,
}

/// The body shared by the Kubernetes, Azure and GCP logins: an identity id and a JWT.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtLogin {
    pub identity_id: String,
    #[serde(serialize_with = "expose_str")]
    pub jwt: Sensitive<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_slug: Option<String>,
}

/// `POST /api/v1/auth/aws-auth/login`: a pre-signed STS `GetCallerIdentity` request, base64-encoded.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsIamLogin {
    pub identity_id: String,
    pub iam_http_request_method: String,
    /// Standard base64 (padded) of the signed form body.
    pub iam_request_body: String,
    /// Standard base64 of the JSON object of the signed request's headers (holds the signature
    /// and possibly a session token, hence sensitive).
    #[serde(serialize_with = "expose_str")]
    pub iam_request_headers: Sensitive<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_slug: Option<String>,
}

/// The STS body every AWS login signs.
pub const AWS_GET_CALLER_IDENTITY_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

impl AwsIamLogin {
    /// Encodes a signed `POST` to STS: `body` as signed, `headers` one value per name (must
    /// include `Authorization`, `X-Amz-Date`, `Host`, `Content-Type`, `Content-Length`).
    pub fn from_signed_request(
        identity_id: impl Into<String>,
        body: &[u8],
        headers: &BTreeMap<String, String>,
    ) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        let headers_json = serde_json::to_vec(headers).unwrap_or_default();
        Self {
            identity_id: identity_id.into(),
            iam_http_request_method: "POST".into(),
            iam_request_body: b64.encode(body),
            iam_request_headers: Sensitive::new(b64.encode(headers_json)),
            organization_slug: None,
        }
    }
}

/// Which login endpoint, with its body.
#[derive(Clone, Debug)]
pub enum LoginRequest {
    UniversalAuth(UniversalAuthLogin),
    Kubernetes(JwtLogin),
    Azure(JwtLogin),
    /// Both GCP variants (id-token and IAM) use the same endpoint and body.
    Gcp(JwtLogin),
    AwsIam(AwsIamLogin),
}

impl LoginRequest {
    /// The route path.
    pub fn path(&self) -> &'static str {
        match self {
            LoginRequest::UniversalAuth(_) => "/api/v1/auth/universal-auth/login",
            LoginRequest::Kubernetes(_) => "/api/v1/auth/kubernetes-auth/login",
            LoginRequest::Azure(_) => "/api/v1/auth/azure-auth/login",
            LoginRequest::Gcp(_) => "/api/v1/auth/gcp-auth/login",
            LoginRequest::AwsIam(_) => "/api/v1/auth/aws-auth/login",
        }
    }

    /// The JSON body (always an object).
    pub fn body(&self) -> serde_json::Value {
        let value = match self {
            LoginRequest::UniversalAuth(b) => serde_json::to_value(b),
            LoginRequest::Kubernetes(b) | LoginRequest::Azure(b) | LoginRequest::Gcp(b) => {
                serde_json::to_value(b)
            }
            LoginRequest::AwsIam(b) => serde_json::to_value(b),
        };
        value.unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// Login answers mean "credentials refused" whatever their status: older servers answer an
/// unknown client id with a handler 404 (D5), which is not a missing route and not a missing
/// resource the caller could fix by other means. Turns that 404 into [`ApiError::Unauthorized`];
/// every other error is returned unchanged.
pub fn normalize_login_error(error: ApiError) -> ApiError {
    match error {
        ApiError::NotFound { ctx } => ApiError::Unauthorized { ctx },
        other => other,
    }
}

/// `{accessToken}`: the body of renew and revoke.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody<'a> {
    #[serde(serialize_with = "expose_str")]
    pub access_token: &'a Sensitive<String>,
}

/// The answer to every login and to renew (§1, §2).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    /// The bearer token. After a renew, store it whether or not it changed (D15).
    #[serde(deserialize_with = "sensitive_string")]
    pub access_token: Sensitive<String>,
    /// Seconds this token lives from now; `0` (older servers) = never expires.
    #[serde(default)]
    pub expires_in: u64,
    /// Seconds of total lifetime from the first login, across renewals; `0` = unlimited.
    #[serde(default, rename = "accessTokenMaxTTL")]
    pub access_token_max_ttl: u64,
    #[serde(default = "bearer")]
    pub token_type: String,
}

fn bearer() -> String {
    "Bearer".into()
}

/// The answer to revoke: `{"message": "Successfully revoked access token"}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RevokeResponse {
    #[serde(default)]
    pub message: String,
}

// ---- the auth endpoints of [`KmsClient`] ---------------------------------------------

impl KmsClient {
    /// Logs in with any machine-identity method.
    pub async fn login(&self, login: &LoginRequest) -> Result<AccessToken, ApiError> {
        let segments: Vec<&str> = login
            .path()
            .trim_start_matches("/api/")
            .split('/')
            .collect();
        self.call(Call {
            method: Method::POST,
            url: self.url(&segments, &[]),
            token: None,
            body: Some(login.body()),
            idempotency: Idempotency::Repeatable,
        })
        .await
        .map_err(normalize_login_error)
    }

    /// Renews `token`. Store the returned token whether or not it changed (D15).
    pub async fn renew_token(&self, token: &Sensitive<String>) -> Result<AccessToken, ApiError> {
        self.call(Call {
            method: Method::POST,
            url: self.url(&["v1", "auth", "token", "renew"], &[]),
            token: None,
            body: Some(
                serde_json::to_value(TokenBody {
                    access_token: token,
                })
                .unwrap_or_default(),
            ),
            idempotency: Idempotency::Repeatable,
        })
        .await
    }

    /// Revokes `token`.
    pub async fn revoke_token(
        &self,
        token: &Sensitive<String>,
    ) -> Result<RevokeResponse, ApiError> {
        self.call(Call {
            method: Method::POST,
            url: self.url(&["v1", "auth", "token", "revoke"], &[]),
            token: None,
            body: Some(
                serde_json::to_value(TokenBody {
                    access_token: token,
                })
                .unwrap_or_default(),
            ),
            idempotency: Idempotency::Repeatable,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_bodies_carry_the_documented_fields() {
        let ua = LoginRequest::UniversalAuth(UniversalAuthLogin {
            client_id: "id".into(),
            client_secret: Sensitive::new("s3cret".into()),
            organization_slug: None,
        });
        assert_eq!(
            ua.body(),
            serde_json::json!({"clientId": "id", "clientSecret": "s3cret"})
        );
        assert_eq!(ua.path(), "/api/v1/auth/universal-auth/login");
        assert!(!format!("{ua:?}").contains("s3cret"));

        let k8s = JwtLogin {
            identity_id: "i".into(),
            jwt: Sensitive::new("j.w.t".into()),
            organization_slug: Some("sub".into()),
        };
        let body =
            serde_json::json!({"identityId": "i", "jwt": "j.w.t", "organizationSlug": "sub"});
        assert_eq!(LoginRequest::Kubernetes(k8s.clone()).body(), body);
        assert_eq!(
            LoginRequest::Azure(k8s.clone()).path(),
            "/api/v1/auth/azure-auth/login"
        );
        assert_eq!(
            LoginRequest::Gcp(k8s.clone()).path(),
            "/api/v1/auth/gcp-auth/login"
        );
        assert_eq!(
            LoginRequest::Kubernetes(k8s).path(),
            "/api/v1/auth/kubernetes-auth/login"
        );
    }

    #[test]
    fn aws_login_encodes_body_and_headers_in_standard_base64() {
        let mut headers = BTreeMap::new();
        headers.insert("Content-Length".to_string(), "43".to_string());
        headers.insert(
            "Host".to_string(),
            "sts.us-east-1.amazonaws.com".to_string(),
        );
        let login = AwsIamLogin::from_signed_request(
            "id",
            AWS_GET_CALLER_IDENTITY_BODY.as_bytes(),
            &headers,
        );
        assert_eq!(
            login.iam_request_body,
            "QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNQ=="
        );
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(login.iam_request_headers.expose())
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Content-Length": "43", "Host": "sts.us-east-1.amazonaws.com"})
        );
        let body = LoginRequest::AwsIam(login).body();
        assert_eq!(body["iamHttpRequestMethod"], "POST");
        assert_eq!(body["identityId"], "id");
        assert!(body.get("iamRequestUrl").is_none());
    }

    #[test]
    fn token_answers_decode_leniently() {
        let t: AccessToken = serde_json::from_str(
            r#"{"accessToken":"a.b.c","expiresIn":7200,"accessTokenMaxTTL":2592000,"tokenType":"Bearer","extra":1}"#,
        )
        .unwrap();
        assert_eq!(t.access_token.expose(), "a.b.c");
        assert_eq!((t.expires_in, t.access_token_max_ttl), (7200, 2_592_000));
        let t: AccessToken = serde_json::from_str(r#"{"accessToken":"x","expiresIn":0}"#).unwrap();
        assert_eq!(
            (t.expires_in, t.access_token_max_ttl, t.token_type.as_str()),
            (0, 0, "Bearer")
        );
        assert!(!format!("{t:?}").contains("\"x\""));
    }

    #[test]
    fn renew_body_is_the_token() {
        let token = Sensitive::new("tok".to_string());
        let body = serde_json::to_value(TokenBody {
            access_token: &token,
        })
        .unwrap();
        assert_eq!(body, serde_json::json!({"accessToken": "tok"}));
    }
}
