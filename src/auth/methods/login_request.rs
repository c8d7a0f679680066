//! [`LoginRequest`]: the body of one machine-identity login, per method (kms-api.md §4-§7).

use serde_json::{json, Value};

use crate::sensitive::Sensitive;

/// A ready-to-send login: [`LoginRequest::route`] is where, [`LoginRequest::body`] is what.
/// Credentials are held as [`Sensitive`], so `Debug` never shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRequest {
    /// A pod's service-account JWT (§4).
    Kubernetes {
        identity_id: String,
        jwt: Sensitive<String>,
    },
    /// An Azure AD access token from the instance metadata service (§5).
    Azure {
        identity_id: String,
        jwt: Sensitive<String>,
    },
    /// A Google-signed JWT, from the GCE metadata server or the IAM `signJwt` API (§6).
    Gcp {
        identity_id: String,
        jwt: Sensitive<String>,
    },
    /// A SigV4-signed STS `GetCallerIdentity` request for the server to replay (§7).
    Aws {
        identity_id: String,
        iam_http_request_method: String,
        /// Standard base64 of the signed form body.
        iam_request_body: String,
        /// Standard base64 of the JSON object of signed headers (holds the signature and any
        /// session token).
        iam_request_headers: Sensitive<String>,
    },
}

impl LoginRequest {
    /// The login route, under the KMS base URL.
    pub fn route(&self) -> &'static str {
        match self {
            LoginRequest::Kubernetes { .. } => "/api/v1/auth/kubernetes-auth/login",
            LoginRequest::Azure { .. } => "/api/v1/auth/azure-auth/login",
            LoginRequest::Gcp { .. } => "/api/v1/auth/gcp-auth/login",
            LoginRequest::Aws { .. } => "/api/v1/auth/aws-auth/login",
        }
    }

    /// The identity this login is for.
    pub fn identity_id(&self) -> &str {
        match self {
            LoginRequest::Kubernetes { identity_id, .. }
            | LoginRequest::Azure { identity_id, .. }
            | LoginRequest::Gcp { identity_id, .. }
            | LoginRequest::Aws { identity_id, .. } => identity_id,
        }
    }

    /// The JSON body with the field names of kms-api.md. It contains the credential: never log it.
    pub fn body(&self) -> Value {
        match self {
            LoginRequest::Kubernetes { identity_id, jwt }
            | LoginRequest::Azure { identity_id, jwt }
            | LoginRequest::Gcp { identity_id, jwt } => {
                json!({ "identityId": identity_id, "jwt": jwt.expose() })
            }
            LoginRequest::Aws {
                identity_id,
                iam_http_request_method,
                iam_request_body,
                iam_request_headers,
            } => json!({
                "identityId": identity_id,
                "iamHttpRequestMethod": iam_http_request_method,
                "iamRequestBody": iam_request_body,
                "iamRequestHeaders": iam_request_headers.expose(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(s: &str) -> Sensitive<String> {
        Sensitive::new(s.to_string())
    }

    #[test]
    fn jwt_methods_have_their_routes_and_the_same_body_shape() {
        let cases = [
            (
                LoginRequest::Kubernetes {
                    identity_id: "id-1".into(),
                    jwt: jwt("k.jwt"),
                },
                "/api/v1/auth/kubernetes-auth/login",
            ),
            (
                LoginRequest::Azure {
                    identity_id: "id-1".into(),
                    jwt: jwt("k.jwt"),
                },
                "/api/v1/auth/azure-auth/login",
            ),
            (
                LoginRequest::Gcp {
                    identity_id: "id-1".into(),
                    jwt: jwt("k.jwt"),
                },
                "/api/v1/auth/gcp-auth/login",
            ),
        ];
        for (request, route) in cases {
            assert_eq!(request.route(), route);
            assert_eq!(
                serde_json::to_string(&request.body()).unwrap(),
                r#"{"identityId":"id-1","jwt":"k.jwt"}"#
            );
            assert!(!format!("{request:?}").contains("k.jwt"));
        }
    }

    #[test]
    fn aws_body_uses_the_documented_field_names() {
        let request = LoginRequest::Aws {
            identity_id: "id-2".into(),
            iam_http_request_method: "POST".into(),
            iam_request_body: "Ym9keQ==".into(),
            iam_request_headers: jwt("aGVhZGVycw=="),
        };
        assert_eq!(request.route(), "/api/v1/auth/aws-auth/login");
        assert_eq!(request.identity_id(), "id-2");
        assert_eq!(
            serde_json::to_string(&request.body()).unwrap(),
            r#"{"identityId":"id-2","iamHttpRequestMethod":"POST","iamRequestBody":"Ym9keQ==","iamRequestHeaders":"aGVhZGVycw=="}"#
        );
        assert!(!format!("{request:?}").contains("aGVhZGVycw=="));
    }
}
