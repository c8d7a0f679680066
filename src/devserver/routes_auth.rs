//! Login (universal auth, kubernetes, azure, gcp, aws-iam), token renew and token revoke
//! (docs/wire-contract.md §1–§7). Cloud logins are accepted when `identityId` names a seeded
//! identity and the body has the documented shape; every login body is recorded for `GET
//! /dev/logins`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::api_error::{ApiError, ApiResult};
use super::request::{parse_body, Fields};
use super::state::AppState;
use super::tokens::token_response;

/// Keeps a login body for `GET /dev/logins` (every attempt, well-formed or not).
fn record(state: &AppState, method: &str, body: Value) {
    state
        .lock()
        .logins
        .push(json!({"method": method, "body": body}));
}

pub async fn universal_auth(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = parse_body(&headers, &body)?;
    let mut recorded = body.clone();
    if let Some(secret) = recorded.get_mut("clientSecret") {
        *secret = json!("<redacted>");
    }
    record(&state, "universal-auth", recorded);
    let mut f = Fields::of(&body)?;
    let client_id = f.string("clientId");
    let client_secret = f.string("clientSecret");
    f.finish()?;
    let mut inner = state.lock();
    let identity = inner
        .store
        .identities
        .iter()
        .find(|i| i.client_id.as_deref() == Some(client_id.as_str()))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("Invalid credentials"))?;
    if identity.client_secret.as_deref() != Some(client_secret.as_str()) {
        return Err(ApiError::unauthorized("Invalid credentials"));
    }
    let (token, record) = inner.tokens.issue(&identity);
    Ok(Json(token_response(&token, &record)))
}

#[derive(Clone, Copy)]
pub enum CloudMethod {
    Kubernetes,
    Azure,
    Gcp,
    Aws,
}

impl CloudMethod {
    fn name(self) -> &'static str {
        match self {
            CloudMethod::Kubernetes => "kubernetes",
            CloudMethod::Azure => "azure",
            CloudMethod::Gcp => "gcp",
            CloudMethod::Aws => "aws-iam",
        }
    }

    fn label(self) -> &'static str {
        match self {
            CloudMethod::Kubernetes => "Kubernetes",
            CloudMethod::Azure => "Azure",
            CloudMethod::Gcp => "GCP",
            CloudMethod::Aws => "AWS",
        }
    }
}

pub async fn kubernetes(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    cloud_login(state, headers, body, CloudMethod::Kubernetes)
}
pub async fn azure(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    cloud_login(state, headers, body, CloudMethod::Azure)
}
pub async fn gcp(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    cloud_login(state, headers, body, CloudMethod::Gcp)
}
pub async fn aws(
    state: State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    cloud_login(state, headers, body, CloudMethod::Aws)
}

fn cloud_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    method: CloudMethod,
) -> ApiResult<Json<Value>> {
    let body = parse_body(&headers, &body)?;
    record(&state, method.name(), body.clone());
    let mut f = Fields::of(&body)?;
    let identity_id = f.string("identityId");
    let aws_parts = match method {
        CloudMethod::Aws => {
            f.optional("iamHttpRequestMethod");
            Some((f.string("iamRequestBody"), f.string("iamRequestHeaders")))
        }
        _ => {
            f.string("jwt");
            None
        }
    };
    f.finish()?;
    let mut inner = state.lock();
    if let Some((req_body, req_headers)) = aws_parts {
        check_aws_request(&req_body, &req_headers)?;
    }
    let identity = inner.store.identity(&identity_id).cloned().ok_or_else(|| {
        ApiError::not_found(format!(
            "{} auth method not found for identity, did you configure {} auth?",
            method.label(),
            method.label()
        ))
    })?;
    let (token, record) = inner.tokens.issue(&identity);
    Ok(Json(token_response(&token, &record)))
}

/// The AWS login carries a base64 form body and base64 JSON headers whose SigV4 `Authorization`
/// names the region (`Credential=<key>/<date>/<region>/sts/aws4_request`).
fn check_aws_request(body_b64: &str, headers_b64: &str) -> ApiResult<()> {
    let bad = || ApiError::bad_request("Invalid AWS region");
    STANDARD
        .decode(body_b64)
        .map_err(|_| ApiError::bad_request("iamRequestBody is not base64"))?;
    let headers: Value = STANDARD
        .decode(headers_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
        .ok_or_else(|| ApiError::bad_request("iamRequestHeaders is not base64 of a JSON object"))?;
    let auth = headers
        .as_object()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        })
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(bad)?;
    let scope = auth
        .split("Credential=")
        .nth(1)
        .and_then(|s| s.split([',', ' ']).next())
        .ok_or_else(bad)?;
    let parts: Vec<&str> = scope.split('/').collect();
    let region = parts.get(2).copied().unwrap_or("");
    let valid = !region.is_empty()
        && region.len() <= 20
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid && parts.get(3) == Some(&"sts") {
        Ok(())
    } else {
        Err(bad())
    }
}

pub async fn renew(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = parse_body(&headers, &body)?;
    let mut f = Fields::of(&body)?;
    let token = f.string("accessToken");
    f.finish()?;
    let mut inner = state.lock();
    let (new_token, record) = inner.tokens.renew(&token)?;
    Ok(Json(token_response(&new_token, &record)))
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = parse_body(&headers, &body)?;
    let mut f = Fields::of(&body)?;
    let token = f.string("accessToken");
    f.finish()?;
    state.lock().tokens.revoke(&token)?;
    Ok(Json(
        json!({"message": "Successfully revoked access token"}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn aws_request_needs_region_scope() {
        let good = b64(
            r#"{"Authorization":"AWS4-HMAC-SHA256 Credential=AKIA/20250101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x"}"#,
        );
        assert!(check_aws_request(&b64("Action=GetCallerIdentity"), &good).is_ok());
        let no_auth = b64(r#"{"Host":"sts.amazonaws.com"}"#);
        assert!(check_aws_request(&b64("x"), &no_auth).is_err());
        assert!(check_aws_request("%%%", &good).is_err());
        let bad_region = b64(
            r#"{"Authorization":"AWS4-HMAC-SHA256 Credential=AKIA/20250101/US_EAST/sts/aws4_request"}"#,
        );
        assert!(check_aws_request(&b64("x"), &bad_region).is_err());
    }
}
