//! Credential acquisition for the cloud and Kubernetes auth methods.
//!
//! Each method gathers its proof of identity (a service-account token file, a cloud metadata
//! service answer, a Google-signed JWT, a SigV4-signed STS request) and returns the exact
//! [`LoginRequest`] body the KMS login route expects (kms-api.md §4-§7). Sending it is the KMS
//! client's job. Every environment lookup goes through an injectable [`Env`] and every endpoint
//! is a parameter, so tests serve the metadata services from local fakes.

mod aws;
mod azure;
mod credential_file;
mod env;
mod error;
mod gcp_iam;
mod gcp_id_token;
mod gcp_key;
mod http;
mod kubernetes;
mod login_request;

pub use aws::{aws_iam_login, AwsCredentials, AwsEndpoints};
pub use azure::{
    azure_login, azure_metadata_endpoint, AZURE_MANAGEMENT_RESOURCE,
    DEFAULT_AZURE_METADATA_ENDPOINT,
};
pub use env::{Env, MapEnv, ProcessEnv};
pub use error::MethodError;
pub use gcp_iam::{
    gcp_iam_login, GcpIamEndpoints, DEFAULT_GCP_IAM_CREDENTIALS_ENDPOINT, DEFAULT_GOOGLE_TOKEN_URI,
};
pub use gcp_id_token::{gcp_id_token_login, gcp_metadata_host, DEFAULT_GCE_METADATA_HOST};
pub use http::{HttpClients, DEFAULT_TIMEOUT};
pub use kubernetes::{kubernetes_login, DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH};
pub use login_request::LoginRequest;

/// The trimmed identity id, or an error when there is none (every method needs one).
fn identity_id(raw: &str) -> Result<String, MethodError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(MethodError::MissingIdentityId);
    }
    Ok(id.to_string())
}
