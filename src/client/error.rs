//! [`ApiError`]: every way a KMS call can fail, and the pure classification of a server answer
//! (status + error body) into it (`docs/wire-contract.md` §0.2, §0.3, D6, D13, D16, D19).
//!
//! Messages name the method, the route (path only, never the query or a token), the status, the
//! server's `reqId` and its message. Request bodies are never echoed, and JSON decoding errors
//! are reduced to their position so that a value from the body cannot leak into a log line.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Which request failed: enough to find it in the server's logs, nothing secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'static str,
    /// The request path, e.g. `/api/v3/secrets/raw/DB_PASS`; never the query string.
    pub route: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The server's request id (`reqId`), when it sent one.
    pub req_id: Option<String>,
    /// The server's `error` label (`NotFound`, `TokenError`, ...), when it sent one.
    pub error_label: Option<String>,
    /// The server's message (validation issues joined), or a short description of the failure.
    pub message: String,
}

impl RequestContext {
    pub fn new(method: &'static str, route: impl Into<String>) -> Self {
        Self {
            method,
            route: route.into(),
            status: None,
            req_id: None,
            error_label: None,
            message: String::new(),
        }
    }
}

impl fmt::Display for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.route)?;
        if let Some(status) = self.status {
            write!(f, " -> {status}")?;
        }
        if let Some(label) = &self.error_label {
            write!(f, " {label}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(req_id) = &self.req_id {
            write!(f, " (reqId {req_id})")?;
        }
        Ok(())
    }
}

/// A failed KMS call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The connection failed or broke. `sent` is false when the request provably never reached
    /// the server (connection refused, DNS, TLS handshake).
    #[error("transport error ({detail}): {ctx}")]
    Transport {
        ctx: Box<RequestContext>,
        detail: String,
        sent: bool,
    },
    /// No complete answer within the request timeout.
    #[error("no answer within {after:?}: {ctx}")]
    Timeout {
        ctx: Box<RequestContext>,
        after: Duration,
    },
    /// The token is missing, dead or rejected (401 other than `ValidationFailure`, or 403
    /// `TokenError`); or the login credentials were refused. Log in again.
    #[error("unauthorized: {ctx}")]
    Unauthorized { ctx: Box<RequestContext> },
    /// The identity may not do this (403 other than `TokenError`). Not retried; re-login won't help.
    #[error("permission denied: {ctx}")]
    PermissionDenied { ctx: Box<RequestContext> },
    /// The project, folder, secret or lease does not exist (404, or a pre-2024 400 "not found").
    #[error("not found: {ctx}")]
    NotFound { ctx: Box<RequestContext> },
    /// The server does not serve this route at all (framework 404 `Route ... not found`): for the
    /// secret routes, the signal to fall back from v4 to v3.
    #[error("route not served by this server: {ctx}")]
    RouteNotFound { ctx: Box<RequestContext> },
    /// The request was malformed or refused by a business rule (400, 422, `ValidationFailure`
    /// under any status, other 4xx), or failed a check before sending.
    #[error("invalid request: {ctx}")]
    InvalidRequest { ctx: Box<RequestContext> },
    /// 429. `retry_after` is the server's `Retry-After`, when given in seconds.
    #[error("rate limited: {ctx}")]
    RateLimited {
        ctx: Box<RequestContext>,
        retry_after: Option<Duration>,
    },
    /// 5xx.
    #[error("server error: {ctx}")]
    Server { ctx: Box<RequestContext> },
    /// A 2xx (or unexpected) answer whose body does not have the documented shape.
    #[error("undecodable response ({detail}): {ctx}")]
    Decode {
        ctx: Box<RequestContext>,
        detail: String,
    },
    /// Hanzo KMS held a secret read for an AI-access approval (`secret: null`, `aiAccess.status`).
    #[error("secret read held for approval ({status}): {ctx}")]
    ApprovalPending {
        ctx: Box<RequestContext>,
        status: String,
        request_id: Option<String>,
    },
}

/// Error labels of 500s that mean "project not found" on late-2024 servers (D19): retrying them
/// only repeats the failure.
const PROJECT_LOOKUP_LABELS: [&str; 2] = ["find project by slug", "failed to find project by slug"];

/// Pre-2024 servers answered "not found" with 400 and these messages (D6).
const LEGACY_NOT_FOUND_MESSAGES: [&str; 3] = [
    "Project not found",
    "Folder not found",
    "Dynamic secret lease not found",
];

impl ApiError {
    pub fn context(&self) -> &RequestContext {
        match self {
            ApiError::Transport { ctx, .. }
            | ApiError::Timeout { ctx, .. }
            | ApiError::Unauthorized { ctx }
            | ApiError::PermissionDenied { ctx }
            | ApiError::NotFound { ctx }
            | ApiError::RouteNotFound { ctx }
            | ApiError::InvalidRequest { ctx }
            | ApiError::RateLimited { ctx, .. }
            | ApiError::Server { ctx }
            | ApiError::Decode { ctx, .. }
            | ApiError::ApprovalPending { ctx, .. } => ctx.as_ref(),
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.context().status
    }

    /// "My token is dead: renew or log in again."
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }

    /// The v4 → v3 fallback signal (D16).
    pub fn is_route_not_found(&self) -> bool {
        matches!(self, ApiError::RouteNotFound { .. })
    }

    /// Worth repeating the same request later: transport errors, timeouts, 429 and 5xx (except a
    /// 500 that names a failed project lookup, D19).
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. }
            | ApiError::Timeout { .. }
            | ApiError::RateLimited { .. } => true,
            ApiError::Server { ctx } => !ctx
                .error_label
                .as_deref()
                .is_some_and(|l| PROJECT_LOOKUP_LABELS.contains(&l.to_ascii_lowercase().as_str())),
            _ => false,
        }
    }

    /// Whether the request may have reached the server (and had an effect).
    pub fn request_may_have_been_processed(&self) -> bool {
        match self {
            ApiError::Transport { sent, .. } => *sent,
            // The rate limiter answers before any handler runs.
            ApiError::RateLimited { .. } => false,
            _ => true,
        }
    }

    /// The server's `Retry-After`, for 429 answers.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The error body of §0.3, decoded leniently: every field optional, `message` a string or an
/// array of validation issues.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub req_id: Option<String>,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub message: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<String>,
}

impl ErrorBody {
    /// Parses an error body; a body that is not a JSON object gives an empty [`ErrorBody`].
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    fn is_validation_failure(&self) -> bool {
        self.error.as_deref() == Some("ValidationFailure")
            || matches!(self.message, Some(serde_json::Value::Array(_)))
    }

    /// The message as one line. Validation issues become `path: message; ...` (never their
    /// `received` value, which may be a value we sent).
    fn message_text(&self) -> String {
        match &self.message {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(issues)) => issues
                .iter()
                .map(describe_issue)
                .collect::<Vec<_>>()
                .join("; "),
            _ => String::new(),
        }
    }
}

fn describe_issue(issue: &serde_json::Value) -> String {
    let path = issue
        .get("path")
        .and_then(|p| p.as_array())
        .map(|parts| {
            parts
                .iter()
                .map(|p| match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .unwrap_or_default();
    let message = issue
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("invalid");
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}

/// Parses a `Retry-After` header given in seconds (the only form the KMS sends).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Turns a non-2xx answer into the matching [`ApiError`].
pub fn classify_error(
    mut ctx: RequestContext,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ApiError {
    let parsed = ErrorBody::parse(body);
    ctx.status = Some(status);
    ctx.req_id = parsed.req_id.clone();
    ctx.error_label = parsed.error.clone();
    // The server's words are outside text: escaped so they cannot forge a log line.
    ctx.message = crate::telemetry::outside_text::escape(parsed.message_text().as_bytes());
    if ctx.message.is_empty() && !body.is_empty() && parsed.error.is_none() {
        ctx.message = format!("non-JSON error body ({} bytes)", body.len());
    }
    let validation = parsed.is_validation_failure();
    let ctx = Box::new(ctx);
    match status {
        401 if validation => ApiError::InvalidRequest { ctx },
        401 => ApiError::Unauthorized { ctx },
        403 if parsed.error.as_deref() == Some("TokenError") => ApiError::Unauthorized { ctx },
        403 => ApiError::PermissionDenied { ctx },
        404 if parsed.error.as_deref() == Some("Not Found")
            && ctx.message.starts_with("Route ") =>
        {
            ApiError::RouteNotFound { ctx }
        }
        404 => ApiError::NotFound { ctx },
        400 if !validation && LEGACY_NOT_FOUND_MESSAGES.contains(&ctx.message.as_str()) => {
            ApiError::NotFound { ctx }
        }
        429 => ApiError::RateLimited { ctx, retry_after },
        500..=599 => ApiError::Server { ctx },
        400..=499 => ApiError::InvalidRequest { ctx },
        _ => {
            // Redirects are not followed (a proxy login page is not the API) and 1xx/3xx are
            // never part of the contract.
            ApiError::Decode {
                ctx,
                detail: format!("unexpected HTTP status {status}"),
            }
        }
    }
}

/// Decodes a 2xx body into `T`. A failure reports the JSON position and the kind of problem,
/// never a piece of the body (which may hold secret values).
pub fn decode_body<T: serde::de::DeserializeOwned>(
    ctx: RequestContext,
    status: u16,
    body: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| decode_error(ctx, status, &e))
}

/// The [`ApiError::Decode`] of a 2xx body that did not decode.
pub fn decode_error(mut ctx: RequestContext, status: u16, e: &serde_json::Error) -> ApiError {
    ctx.status = Some(status);
    ApiError::Decode {
        ctx: Box::new(ctx),
        detail: describe_json_error(e),
    }
}

/// A serde_json error without the parts that quote the input.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    let what = match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "malformed JSON",
        Category::Eof => "truncated JSON",
        // "missing field `x`" names a field of our schema, not data: safe and useful.
        Category::Data if text.starts_with("missing field") => {
            let field = text.split(" at line").next().unwrap_or(&text);
            return format!("{field} at line {} column {}", e.line(), e.column());
        }
        Category::Data => "unexpected JSON shape",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// Decodes a whole answer: 2xx → `T`, anything else → the classified error.
pub fn decode_response<T: serde::de::DeserializeOwned>(
    ctx: RequestContext,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        decode_body(ctx, status, body)
    } else {
        Err(classify_error(ctx, status, retry_after, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::new("GET", "/api/v3/secrets/raw")
    }

    fn classify(status: u16, body: &str) -> ApiError {
        classify_error(ctx(), status, None, body.as_bytes())
    }

    #[test]
    fn auth_failures_are_401_and_403_token_error() {
        let e = classify(
            401,
            r#"{"statusCode":401,"message":"Token missing","error":"UnauthorizedError"}"#,
        );
        assert!(e.is_auth_failure(), "{e:?}");
        let e = classify(
            403,
            r#"{"statusCode":403,"message":"Your token has expired.","error":"TokenError"}"#,
        );
        assert!(e.is_auth_failure(), "{e:?}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn validation_failure_is_invalid_request_even_as_401() {
        let body = r#"{"statusCode":401,"error":"ValidationFailure","message":[{"code":"invalid_type","expected":"string","received":"undefined","path":["clientSecret"],"message":"Required"}]}"#;
        let e = classify(401, body);
        assert!(matches!(e, ApiError::InvalidRequest { .. }), "{e:?}");
        assert_eq!(e.context().message, "clientSecret: Required");
        let e = classify(422, &body.replace("401", "422"));
        assert!(matches!(e, ApiError::InvalidRequest { .. }), "{e:?}");
    }

    #[test]
    fn validation_issue_text_never_carries_the_received_value() {
        let body = r#"{"error":"ValidationFailure","message":[{"code":"invalid_enum_value","received":"hunter2","path":["recursive"],"message":"Invalid enum value"}]}"#;
        let e = classify(422, body);
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(
            e.to_string().contains("recursive: Invalid enum value"),
            "{e}"
        );
    }

    #[test]
    fn other_403s_are_permission_errors() {
        for label in [
            "PermissionDenied",
            "Forbidden access to /api/v1/x",
            "Identity is not a member of the specified project with ID 'x'",
        ] {
            let body = format!(
                r#"{{"statusCode":403,"message":"You are not allowed to access this resource","error":"{label}"}}"#
            );
            let e = classify(403, &body);
            assert!(matches!(e, ApiError::PermissionDenied { .. }), "{e:?}");
            assert!(!e.is_auth_failure() && !e.is_retryable());
        }
    }

    #[test]
    fn framework_404_is_the_route_fallback_signal_and_handler_404_is_not_found() {
        let e = classify(
            404,
            r#"{"message":"Route GET:/api/v4/secrets?projectId=x not found","error":"Not Found","statusCode":404}"#,
        );
        assert!(e.is_route_not_found(), "{e:?}");
        let e = classify(
            404,
            r#"{"reqId":"req-1","statusCode":404,"message":"Secret with name 'X' not found","error":"NotFound"}"#,
        );
        assert!(e.is_not_found(), "{e:?}");
        assert_eq!(e.context().req_id.as_deref(), Some("req-1"));
        // A handler 404 whose text happens to start with "Route" is still a real not-found.
        let e = classify(
            404,
            r#"{"statusCode":404,"message":"Route table missing","error":"NotFound"}"#,
        );
        assert!(e.is_not_found(), "{e:?}");
    }

    #[test]
    fn legacy_400_not_found_messages_mean_not_found() {
        let e = classify(
            400,
            r#"{"statusCode":400,"message":"Dynamic secret lease not found","error":"BadRequest"}"#,
        );
        assert!(e.is_not_found(), "{e:?}");
        let e = classify(
            400,
            r#"{"statusCode":400,"message":"TTL cannot be larger than max TTL","error":"BadRequest"}"#,
        );
        assert!(matches!(e, ApiError::InvalidRequest { .. }), "{e:?}");
    }

    #[test]
    fn rate_limit_and_server_errors_are_retryable() {
        let e = classify_error(
            ctx(),
            429,
            Some(Duration::from_secs(17)),
            br#"{"statusCode":429,"message":"Rate limit exceeded.","error":"RateLimitExceeded"}"#,
        );
        assert!(e.is_retryable() && !e.is_auth_failure());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(17)));
        assert!(!e.request_may_have_been_processed());
        for status in [500, 502, 503, 504] {
            assert!(classify(status, "").is_retryable());
        }
        for status in [400, 404, 405, 409, 422] {
            assert!(!classify(status, "{}").is_retryable(), "{status}");
        }
    }

    #[test]
    fn project_lookup_500_is_not_retried() {
        let e = classify(
            500,
            r#"{"statusCode":500,"message":"Something went wrong","error":"Find project by slug"}"#,
        );
        assert!(matches!(e, ApiError::Server { .. }) && !e.is_retryable());
    }

    #[test]
    fn non_json_error_bodies_still_classify_by_status() {
        let e = classify(502, "<html>Bad gateway</html>");
        assert!(matches!(e, ApiError::Server { .. }));
        assert_eq!(e.context().message, "non-JSON error body (24 bytes)");
    }

    #[test]
    fn redirects_are_reported_not_followed() {
        let e = classify(302, "");
        assert!(
            matches!(e, ApiError::Decode { .. }) && !e.is_retryable(),
            "{e:?}"
        );
    }

    #[test]
    fn retry_after_seconds_parse() {
        assert_eq!(parse_retry_after(" 60 "), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn decode_errors_do_not_quote_the_body() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct T {
            n: u64,
        }
        let e = decode_body::<T>(ctx(), 200, br#"{"n":"super-secret-value"}"#).unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("super-secret"), "{text}");
        assert!(text.contains("unexpected JSON shape at line 1"), "{text}");
        let e = decode_body::<T>(ctx(), 200, br#"{"m":1}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `n`"), "{e}");
        let e = decode_body::<T>(ctx(), 200, b"{not json").unwrap_err();
        assert!(e.to_string().contains("malformed JSON"), "{e}");
    }

    #[test]
    fn display_names_method_route_status_and_req_id() {
        let e = classify(
            404,
            r#"{"reqId":"req-Qw12","statusCode":404,"message":"Secret with name 'DB_PASS' not found","error":"NotFound"}"#,
        );
        assert_eq!(
            e.to_string(),
            "not found: GET /api/v3/secrets/raw -> 404 NotFound: Secret with name 'DB_PASS' not found (reqId req-Qw12)"
        );
    }
}
