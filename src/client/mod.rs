//! The typed KMS API client (the Infisical-compatible wire contract, as recorded from a real server in `tests/fixtures/contract/`).
//!
//! - [`KmsClient`]: the endpoints (logins, token renew/revoke, secret list/get in v3 and v4 with
//!   automatic fallback, dynamic-secret leases), with retries ([`retry`]) and one typed error
//!   ([`ApiError`]).
//! - Pure parts, usable without a network: request/response types, [`classify_error`] /
//!   [`decode_response`], [`template_secrets`] (import precedence), [`parse_ms_duration`],
//!   [`parse_custom_headers`].

pub mod auth;
pub mod body;
pub mod config;
pub mod duration;
pub mod error;
pub mod headers;
pub mod http;
pub mod leases;
pub mod merge;
pub mod observer;
pub mod retry;
pub mod secrets;
pub mod tls;

pub use auth::{
    AccessToken, AwsIamLogin, JwtLogin, LoginRequest, RevokeResponse, UniversalAuthLogin,
};
pub use config::{ClientBuildError, ClientConfig, DEFAULT_ADDRESS, DEFAULT_TIMEOUT, USER_AGENT};
pub use duration::{parse_ms_duration, DurationError};
pub use error::{classify_error, decode_response, ApiError, RequestContext};
pub use headers::{custom_headers_from_env, parse_custom_headers, CustomHeader, HeaderFormatError};
pub use http::KmsClient;
pub use leases::{
    CreateLeaseRequest, CreatedLease, DynamicSecretInfo, Lease, LeaseDetails, LeaseLocation,
    RenewLeaseRequest, RevokeLeaseRequest,
};
pub use merge::{template_secrets, to_template_secret};
pub use retry::{Idempotency, RetryPolicy};
pub use secrets::{
    normalize_secret_path, ApiVersion, GetSecretQuery, ListSecretsQuery, PackedSecrets, RawSecret,
    SecretImport, SecretList,
};
pub use tls::{describe_tls_failure, is_loopback, plain_http_warning};
