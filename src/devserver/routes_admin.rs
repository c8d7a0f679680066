//! Admin endpoints under `/dev/` (loopback clients only): stats, fault rules, token expiry and
//! the recorded login bodies. They are not counted and faults never apply to them.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::faults::{ConnControl, FaultRule};
use super::state::AppState;
use super::API_ROUTES;

/// Refuses admin calls from anything but a loopback peer.
pub async fn loopback_only(req: Request, next: Next) -> Response {
    let local = req
        .extensions()
        .get::<ConnControl>()
        .is_none_or(|c| c.peer.ip().is_loopback());
    if local {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, Json(json!({"error": "admin endpoints are loopback only"}))).into_response()
    }
}

/// The `GET /dev/stats` document.
pub fn stats_json(state: &AppState) -> Value {
    let mut inner = state.lock();
    let active_tokens = inner.tokens.active();
    let active_leases = inner.leases.active();
    json!({
        "requests": inner.requests,
        "tokens": {"issued": inner.tokens.issued, "renewed": inner.tokens.renewed,
                   "revoked": inner.tokens.revoked, "active": active_tokens},
        "leases": {"created": inner.leases.created, "renewed": inner.leases.renewed,
                   "revoked": inner.leases.revoked, "active": active_leases},
    })
}

pub async fn stats(State(state): State<AppState>) -> Json<Value> {
    Json(stats_json(&state))
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

/// Validates a list of fault rules (a single rule object is accepted too).
pub fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let list = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => return Err("expected a JSON list of fault rules".into()),
    };
    let mut rules = Vec::new();
    for (i, item) in list.into_iter().enumerate() {
        let rule: FaultRule = serde_json::from_value(item).map_err(|e| format!("rule [{i}]: {e}"))?;
        if rule.route != "*" && !API_ROUTES.contains(&rule.route.as_str()) {
            return Err(format!(
                "rule [{i}]: field `route`: `{}` is not \"*\" nor one of the route keys of GET /dev/stats",
                rule.route
            ));
        }
        if let Some(s) = rule.status {
            if s != 0 && !(100..=999).contains(&s) {
                return Err(format!("rule [{i}]: field `status`: {s} is not 0 nor an HTTP status"));
            }
        }
        if rule.count == Some(0) {
            return Err(format!("rule [{i}]: field `count`: must be at least 1 (omit it for no limit)"));
        }
        rules.push(rule);
    }
    Ok(rules)
}

pub async fn add_faults(State(state): State<AppState>, body: Bytes) -> Response {
    match parse_rules(&body) {
        Ok(rules) => {
            let mut inner = state.lock();
            inner.faults.extend(rules);
            Json(json!({"faults": inner.faults})).into_response()
        }
        Err(message) => bad(message),
    }
}

pub async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"faults": state.lock().faults}))
}

pub async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    state.lock().faults.clear();
    Json(json!({"faults": []}))
}

pub async fn expire_tokens(State(state): State<AppState>) -> Json<Value> {
    let n = state.lock().tokens.expire_all();
    Json(json!({"expired": n}))
}

pub async fn logins(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"logins": state.lock().logins}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_validated_with_field_names() {
        assert!(parse_rules(br#"[{"route":"GET /api/v3/secrets/raw","status":500,"count":1}]"#).is_ok());
        assert!(parse_rules(br#"{"route":"*","status":0}"#).is_ok());
        let e = parse_rules(br#"[{"route":"GET /nope","status":500}]"#).unwrap_err();
        assert!(e.contains("`route`"), "{e}");
        let e = parse_rules(br#"[{"route":"*","stauts":500}]"#).unwrap_err();
        assert!(e.contains("stauts"), "{e}");
        assert!(parse_rules(b"[{\"route\":\"*\",\"count\":0}]").is_err());
    }
}
