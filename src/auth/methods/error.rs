//! [`MethodError`]: why an auth method could not produce its login request.
//!
//! Messages name what is missing or failing (file path, environment variable, endpoint) and
//! never carry a token, key, signature or answer body.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    #[error("no machine identity id is configured")]
    MissingIdentityId,

    #[error("{what} {} cannot be read: {reason}", path.display())]
    FileUnreadable {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error("{what} {} is empty", path.display())]
    FileEmpty { what: &'static str, path: PathBuf },

    #[error("{what} {} is not usable: {reason}", path.display())]
    FileInvalid {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error("environment variable {name} is not usable: {reason}")]
    EnvInvalid { name: &'static str, reason: String },

    #[error("{service} at {url} could not be reached: {reason}")]
    Unreachable {
        service: &'static str,
        url: String,
        reason: String,
    },

    /// `code` is the service's own error code when it sent a recognisable one (never free text).
    #[error("{service} at {url} answered HTTP {status}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        service: &'static str,
        url: String,
        status: u16,
        code: Option<String>,
    },

    #[error("{service} at {url} sent an unusable answer: {reason}")]
    BadAnswer {
        service: &'static str,
        url: String,
        reason: String,
    },

    #[error("no AWS credentials found; tried: {tried}")]
    NoAwsCredentials { tried: String },

    #[error("no AWS region: set AWS_REGION or AWS_DEFAULT_REGION ({reason})")]
    NoAwsRegion { reason: String },

    #[error("AWS profile {profile} is not usable: {reason}")]
    AwsProfile { profile: String, reason: String },

    #[error("cannot sign the STS GetCallerIdentity request: {reason}")]
    Signing { reason: String },

    #[error("cannot build the HTTP client: {reason}")]
    HttpClient { reason: String },
}

/// The AuthActor retries failed logins with backoff; a method that cannot produce its request
/// yet (metadata service down, token file not mounted) is such a failure, not a rejection.
impl From<MethodError> for crate::auth::AuthFailure {
    fn from(err: MethodError) -> Self {
        crate::auth::AuthFailure::new(err.to_string())
    }
}
