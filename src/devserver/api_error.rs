//! Error answers in the shapes of docs/wire-contract.md §0.3: the handled-error body with `reqId`,
//! the validation failure with an array of issues, the framework 404 and the invalid-JSON 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub enum ApiError {
    /// `{reqId, statusCode, message, error[, details]}`.
    Handled {
        status: StatusCode,
        error: String,
        message: Value,
    },
    /// 500 `{statusCode, message: "Something went wrong", error: "InternalServerError"}` for a
    /// body that is not JSON (no `reqId`, as recorded).
    InvalidJson,
    /// The framework's own 404 for an unknown route (different key order, no `reqId`).
    UnknownRoute { method: String, url: String },
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn req_id() -> String {
    format!("req-{}", Alphanumeric.sample_string(&mut rand::rng(), 14))
}

impl ApiError {
    pub fn new(status: u16, error: &str, message: impl Into<String>) -> ApiError {
        ApiError::Handled {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error: error.to_string(),
            message: Value::String(message.into()),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "UnauthorizedError", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "NotFound", message)
    }

    pub fn internal(error: &str) -> ApiError {
        ApiError::new(500, error, "Something went wrong")
    }

    /// 422 `ValidationFailure` with zod-style issues.
    pub fn validation(issues: Vec<Value>) -> ApiError {
        ApiError::Handled {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "ValidationFailure".to_string(),
            message: Value::Array(issues),
        }
    }

    pub fn token_malformed() -> ApiError {
        ApiError::new(
            403,
            "TokenError",
            "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
        )
    }

    pub fn not_member(project_id: &str) -> ApiError {
        ApiError::new(
            403,
            &format!("Identity is not a member of the specified project with ID '{project_id}'"),
            "You are not allowed to access this resource",
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Handled { status, .. } => *status,
            ApiError::InvalidJson => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::UnknownRoute { .. } => StatusCode::NOT_FOUND,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            ApiError::Handled {
                status,
                error,
                message,
            } => {
                json!({"reqId": req_id(), "statusCode": status.as_u16(), "message": message, "error": error})
            }
            ApiError::InvalidJson => {
                json!({"statusCode": 500, "message": "Something went wrong", "error": "InternalServerError"})
            }
            ApiError::UnknownRoute { method, url } => json!({
                "message": format!("Route {method}:{url} not found"), "error": "Not Found", "statusCode": 404
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}

/// The generic error body a fault rule answers with when it gives no `body`.
pub fn fault_body(status: u16) -> Value {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let error = match status {
        429 => "RateLimitExceeded".to_string(),
        500 => "InternalServerError".to_string(),
        _ => reason.replace(' ', ""),
    };
    let message = match status {
        429 => "Rate limit exceeded. Please try again later".to_string(),
        s if s >= 500 => "Something went wrong".to_string(),
        _ => reason.to_string(),
    };
    json!({"reqId": req_id(), "statusCode": status, "message": message, "error": error})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handled_body_has_req_id_and_status() {
        let b = ApiError::not_found("x").body();
        assert_eq!(b["statusCode"], 404);
        assert_eq!(b["error"], "NotFound");
        let id = b["reqId"].as_str().unwrap();
        assert!(id.starts_with("req-") && id.len() == 18);
    }

    #[test]
    fn framework_404_key_order() {
        let b = ApiError::UnknownRoute {
            method: "GET".into(),
            url: "/x?a=1".into(),
        }
        .body();
        let keys: Vec<_> = b.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["message", "error", "statusCode"]);
        assert_eq!(b["message"], "Route GET:/x?a=1 not found");
    }
}
