//! Credential acquisition for the cloud and Kubernetes auth methods.
//!
//! Each method gathers its proof of identity (a service-account token file, a cloud metadata
//! service answer, a Google-signed JWT, a SigV4-signed STS request) and returns the exact
//! [`LoginRequest`] body the KMS login route expects (docs/wire-contract.md §4-§7). Sending it is
//! the KMS client's job. Every environment lookup goes through an injectable [`Env`] and every
//! endpoint is a parameter, so tests serve the metadata services from local fakes.
//!
//! Environment variables read (through [`Env`]; blank counts as unset):
//!
//! | method | variables |
//! | --- | --- |
//! | azure | `KMS_AZURE_METADATA_ENDPOINT`, then `AZURE_POD_IDENTITY_AUTHORITY_HOST` (Azure SDKs' IMDS override); default `http://169.254.169.254` |
//! | gcp-id-token | `GCE_METADATA_HOST` (`host[:port]`); default `metadata.google.internal` |
//! | gcp-iam | `KMS_GCP_OAUTH_TOKEN_URI` (beats the key's `token_uri`; default `https://oauth2.googleapis.com/token`), `KMS_GCP_IAM_CREDENTIALS_ENDPOINT` (default `https://iamcredentials.googleapis.com`) |
//! | aws-iam | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; `AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, `HOME`; `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ROLE_SESSION_NAME`, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`; `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, `AWS_CONTAINER_AUTHORIZATION_TOKEN`; `AWS_EC2_METADATA_DISABLED`, `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`; `AWS_REGION`, `AWS_DEFAULT_REGION` |
//!
//! Kubernetes takes its token path as a parameter (config resolves
//! `KMS_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH`), as gcp-iam takes its key path.

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

/// Logins are sent by the KMS client; methods only build the request.
pub use crate::client::auth::{AwsIamLogin, JwtLogin, LoginRequest};
pub use aws::{
    aws_iam_login, AwsCredentials, AwsEndpoints, DEFAULT_CONTAINER_CREDENTIALS_HOST,
    DEFAULT_IMDS_ENDPOINT,
};
pub use azure::{
    azure_login, azure_metadata_endpoint, AZURE_MANAGEMENT_RESOURCE,
    DEFAULT_AZURE_METADATA_ENDPOINT,
};
pub(crate) use credential_file::read_credential_file;
pub use env::{Env, MapEnv, ProcessEnv};
pub use error::MethodError;
pub use gcp_iam::{
    gcp_iam_login, GcpIamEndpoints, DEFAULT_GCP_IAM_CREDENTIALS_ENDPOINT, DEFAULT_GOOGLE_TOKEN_URI,
};
pub use gcp_id_token::{gcp_id_token_login, gcp_metadata_host, DEFAULT_GCE_METADATA_HOST};
pub use http::{HttpClients, DEFAULT_TIMEOUT};
pub use kubernetes::{kubernetes_login, DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH};

/// The trimmed identity id, or an error when there is none (every method needs one).
fn identity_id(raw: &str) -> Result<String, MethodError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(MethodError::MissingIdentityId);
    }
    Ok(id.to_string())
}
