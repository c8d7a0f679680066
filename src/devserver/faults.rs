//! Request counting and fault injection. Every API request is counted under
//! `"<METHOD> <route pattern>"` before a fault rule may delay it, answer it with another status
//! and body, or drop its connection without answering.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

use super::api_error::{fault_body, ApiError};
use super::state::AppState;

/// One fault rule of `POST /dev/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `"<METHOD> <route pattern>"` (see [`super::API_ROUTES`]) or `"*"` for every API route.
    pub route: String,
    /// Answer with this status; `0` closes the connection without answering; absent = answer
    /// normally (after `delay_ms`).
    #[serde(default)]
    pub status: Option<u16>,
    /// Wait this long before answering (or before closing the connection).
    #[serde(default)]
    pub delay_ms: u64,
    /// How many matching requests the rule affects before it expires; absent = until cleared.
    #[serde(default)]
    pub count: Option<u64>,
    /// Replaces the response body: a string is sent as it is (e.g. malformed JSON), any other JSON
    /// value is sent serialised. Absent = a standard error body for `status`.
    #[serde(default)]
    pub body: Option<Value>,
    /// Adds `Retry-After: <seconds>` (typically with status 429).
    #[serde(default)]
    pub retry_after: Option<u64>,
}

impl FaultRule {
    fn matches(&self, key: &str) -> bool {
        self.route == "*" || self.route == key
    }

    fn body_text(&self) -> Option<String> {
        match &self.body {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => Some(v.to_string()),
        }
    }
}

/// Takes the first live rule matching `key`, using up one of its `count`.
pub fn take_fault(rules: &mut Vec<FaultRule>, key: &str) -> Option<FaultRule> {
    let pos = rules.iter().position(|r| r.matches(key))?;
    let rule = rules[pos].clone();
    if let Some(count) = rules[pos].count.as_mut() {
        *count = count.saturating_sub(1);
        if *count == 0 {
            rules.remove(pos);
        }
    }
    Some(rule)
}

/// Per-connection control inserted into every request: lets a fault close the connection.
#[derive(Clone)]
pub struct ConnControl {
    pub close: Arc<Notify>,
    pub peer: std::net::SocketAddr,
}

/// The `route_layer` middleware of every API route: count, then apply a fault rule if any.
pub async fn observe(State(state): State<AppState>, matched: MatchedPath, req: Request, next: Next) -> Response {
    let key = format!("{} {}", req.method(), matched.as_str());
    let fault = {
        let mut inner = state.lock();
        *inner.requests.entry(key.clone()).or_default() += 1;
        take_fault(&mut inner.faults, &key)
    };
    let Some(rule) = fault else {
        return next.run(req).await;
    };
    if rule.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    let mut response = match rule.status {
        Some(0) => {
            if let Some(ctrl) = req.extensions().get::<ConnControl>() {
                ctrl.close.notify_one();
                // The connection task drops the connection; this answer is never sent.
                std::future::pending::<()>().await;
            }
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(status) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = rule
                .body_text()
                .unwrap_or_else(|| fault_body(code.as_u16()).to_string());
            let mut r = Response::new(Body::from(text));
            *r.status_mut() = code;
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            r
        }
        None => {
            let mut r = next.run(req).await;
            if let Some(text) = rule.body_text() {
                *r.body_mut() = Body::from(text);
                r.headers_mut().remove(header::CONTENT_LENGTH);
            }
            r
        }
    };
    if let Some(secs) = rule.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Unknown routes (and unknown methods on known paths): the framework's own 404, counted under
/// `"<METHOD> <unmatched>"`.
pub async fn unknown_route(State(state): State<AppState>, req: Request) -> Response {
    let key = format!("{} <unmatched>", req.method());
    *state.lock().requests.entry(key).or_default() += 1;
    let url = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    ApiError::UnknownRoute {
        method: req.method().to_string(),
        url,
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(route: &str, count: Option<u64>) -> FaultRule {
        FaultRule {
            route: route.into(),
            status: Some(500),
            delay_ms: 0,
            count,
            body: None,
            retry_after: None,
        }
    }

    #[test]
    fn count_expires_rules_and_star_matches_all() {
        let mut rules = vec![rule("GET /api/v3/secrets/raw", Some(2)), rule("*", None)];
        assert_eq!(take_fault(&mut rules, "GET /api/v3/secrets/raw").unwrap().route, "GET /api/v3/secrets/raw");
        assert_eq!(take_fault(&mut rules, "GET /api/v3/secrets/raw").unwrap().route, "GET /api/v3/secrets/raw");
        assert_eq!(rules.len(), 1);
        assert_eq!(take_fault(&mut rules, "GET /api/v3/secrets/raw").unwrap().route, "*");
        assert_eq!(take_fault(&mut rules, "POST /x").unwrap().route, "*");
        assert_eq!(rules.len(), 1);
    }
}
