//! Request parsing shared by the routes: JSON bodies (with the real server's 500 for invalid
//! JSON), zod-style field validation issues, and the strict `true`/`false` query booleans.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use serde_json::{json, Map, Value};

use super::api_error::{ApiError, ApiResult};

pub type Query = HashMap<String, String>;

/// Parses a request body. A JSON content type with an empty or invalid body is the server's 500;
/// no body at all (without a JSON content type) is `null`, which validation then refuses.
pub fn parse_body(headers: &HeaderMap, bytes: &Bytes) -> ApiResult<Value> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if bytes.is_empty() && !is_json {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::InvalidJson)
}

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// Collects validation issues for one request, then fails with 422 if there are any.
pub struct Fields<'a> {
    body: &'a Map<String, Value>,
    issues: Vec<Value>,
}

impl<'a> Fields<'a> {
    /// The body must be a JSON object.
    pub fn of(body: &'a Value) -> ApiResult<Fields<'a>> {
        match body {
            Value::Object(map) => Ok(Fields {
                body: map,
                issues: Vec::new(),
            }),
            other => {
                let got = type_name(Some(other));
                Err(ApiError::validation(vec![json!({
                    "code": "invalid_type", "expected": "object", "received": got, "path": [],
                    "message": format!("Expected object, received {got}")
                })]))
            }
        }
    }

    fn type_issue(&mut self, name: &str, expected: &str) {
        let got = type_name(self.body.get(name));
        let message = if got == "undefined" {
            "Required".to_string()
        } else {
            format!("Expected {expected}, received {got}")
        };
        self.issues.push(json!({
            "code": "invalid_type", "expected": expected, "received": got, "path": [name], "message": message
        }));
    }

    /// A required string (trimmed).
    pub fn string(&mut self, name: &str) -> String {
        match self.body.get(name) {
            Some(Value::String(s)) => s.trim().to_string(),
            _ => {
                self.type_issue(name, "string");
                String::new()
            }
        }
    }

    /// A required string of at least one character.
    pub fn nonempty(&mut self, name: &str) -> String {
        let s = self.string(name);
        if s.is_empty() && matches!(self.body.get(name), Some(Value::String(_))) {
            self.issues.push(json!({
                "code": "too_small", "minimum": 1, "type": "string", "inclusive": true, "exact": false,
                "message": "String must contain at least 1 character(s)", "path": [name]
            }));
        }
        s
    }

    /// An optional string; `null` counts as absent (clients send `ttl: ""`/`null` for "unset").
    pub fn optional(&mut self, name: &str) -> Option<String> {
        match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                self.type_issue(name, "string");
                None
            }
        }
    }

    /// An optional boolean.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.type_issue(name, "boolean");
                None
            }
        }
    }

    /// Any JSON value, as given.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.body.get(name)
    }

    /// Adds a custom issue (`code: custom`).
    pub fn custom(&mut self, name: &str, message: &str) {
        self.issues
            .push(json!({"code": "custom", "message": message, "path": [name]}));
    }

    pub fn finish(self) -> ApiResult<()> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.issues))
        }
    }
}

/// Query-string validation: booleans accept only `true`/`false`.
#[derive(Default)]
pub struct QueryCheck {
    issues: Vec<Value>,
}

impl QueryCheck {
    pub fn boolean(&mut self, q: &Query, name: &str, default: bool) -> bool {
        match q.get(name).map(String::as_str) {
            None => default,
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                self.issues.push(json!({
                    "received": other, "code": "invalid_enum_value", "options": ["true", "false"],
                    "path": [name],
                    "message": format!("Invalid enum value. Expected 'true' | 'false', received '{other}'")
                }));
                default
            }
        }
    }

    /// An optional boolean: `None` when the parameter is absent.
    pub fn maybe(&mut self, q: &Query, name: &str) -> Option<bool> {
        q.contains_key(name).then(|| self.boolean(q, name, false))
    }

    pub fn required(&mut self, q: &Query, name: &str) -> String {
        match q.get(name) {
            Some(v) => v.trim().to_string(),
            None => {
                self.issues.push(json!({
                    "code": "invalid_type", "expected": "string", "received": "undefined",
                    "path": [name], "message": "Required"
                }));
                String::new()
            }
        }
    }

    pub fn custom(&mut self, name: &str, message: &str) {
        self.issues
            .push(json!({"code": "custom", "message": message, "path": [name]}));
    }

    pub fn finish(self) -> ApiResult<()> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.issues))
        }
    }
}

/// A non-empty query value, trimmed.
pub fn param(q: &Query, name: &str) -> Option<String> {
    q.get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_is_500_and_missing_body_is_null() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_body(&h, &Bytes::new()).unwrap(), Value::Null);
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(matches!(parse_body(&h, &Bytes::new()), Err(ApiError::InvalidJson)));
        assert!(matches!(parse_body(&h, &Bytes::from_static(b"{x")), Err(ApiError::InvalidJson)));
    }

    #[test]
    fn field_issues_are_zod_like() {
        let body = json!({"clientId": "a", "n": 1});
        let mut f = Fields::of(&body).unwrap();
        assert_eq!(f.string("clientId"), "a");
        f.string("clientSecret");
        f.string("n");
        let ApiError::Handled { status, message, .. } = f.finish().unwrap_err() else {
            panic!("expected a handled error")
        };
        assert_eq!(status.as_u16(), 422);
        assert_eq!(message[0]["path"][0], "clientSecret");
        assert_eq!(message[0]["message"], "Required");
        assert_eq!(message[1]["received"], "number");
        assert!(Fields::of(&Value::Null).is_err());
    }

    #[test]
    fn query_booleans_are_strict() {
        let q: Query = [("a".to_string(), "yes".to_string()), ("b".to_string(), "true".to_string())].into();
        let mut c = QueryCheck::default();
        assert!(c.boolean(&q, "b", false));
        assert!(!c.boolean(&q, "missing", false));
        c.boolean(&q, "a", false);
        assert!(c.finish().is_err());
    }
}
