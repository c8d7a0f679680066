//! AWS IAM auth (docs/wire-contract.md §7): find the host's AWS credentials and region, then
//! SigV4-sign an STS `GetCallerIdentity` request that the KMS replays to learn who we are.

mod container;
mod credentials;
mod imds;
mod profile;
mod sign;
mod web_identity;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub use container::DEFAULT_CONTAINER_CREDENTIALS_HOST;
pub use credentials::AwsCredentials;

use super::{identity_id, AwsIamLogin, Env, HttpClients, LoginRequest, MethodError};
use crate::sensitive::Sensitive;
use credentials::Chain;
use imds::Imds;
use profile::Profile;

/// The EC2 instance metadata service (IPv4).
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";
const IMDS_IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

const REGION_VARS: [&str; 2] = ["AWS_REGION", "AWS_DEFAULT_REGION"];

/// Where the AWS credential sources are reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEndpoints {
    /// Instance metadata base URL; `None` when disabled.
    pub imds: Option<String>,
    /// STS base URL for `AssumeRoleWithWebIdentity`; `None` = `https://sts.<region>.amazonaws.com`.
    pub sts: Option<String>,
    /// Base of `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
    pub container_credentials_host: String,
}

impl Default for AwsEndpoints {
    fn default() -> Self {
        Self {
            imds: Some(DEFAULT_IMDS_ENDPOINT.to_string()),
            sts: None,
            container_credentials_host: DEFAULT_CONTAINER_CREDENTIALS_HOST.to_string(),
        }
    }
}

impl AwsEndpoints {
    /// The AWS SDKs' variables: `AWS_EC2_METADATA_DISABLED`, `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` (`IPv6`), `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`.
    pub fn from_env(env: &dyn Env) -> Self {
        let disabled = env
            .var("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let imds = (!disabled).then(|| {
            env.var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                .map(|e| e.trim_end_matches('/').to_string())
                .unwrap_or_else(|| {
                    let ipv6 = env
                        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
                        .is_some_and(|m| m.eq_ignore_ascii_case("ipv6"));
                    if ipv6 {
                        IMDS_IPV6_ENDPOINT
                    } else {
                        DEFAULT_IMDS_ENDPOINT
                    }
                    .to_string()
                })
        });
        Self {
            imds,
            sts: env
                .first_of(&["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
                .map(|e| e.trim_end_matches('/').to_string()),
            ..Self::default()
        }
    }
}

/// Resolves credentials and region (reading every file and endpoint afresh), signs the STS
/// request at `now` and builds the login request.
pub async fn aws_iam_login(
    http: &HttpClients,
    identity: &str,
    env: &dyn Env,
    endpoints: &AwsEndpoints,
    now: SystemTime,
) -> Result<LoginRequest, MethodError> {
    let identity_id = identity_id(identity)?;
    // The shared files are read only when the environment leaves region or keys open, so a
    // broken ~/.aws cannot fail a login configured entirely by variables.
    let configured_by_env = env.first_of(&REGION_VARS).is_some()
        && (env.var("AWS_ACCESS_KEY_ID").is_some() || env.var("AWS_SECRET_ACCESS_KEY").is_some());
    let profile = if configured_by_env {
        Profile::default()
    } else {
        Profile::load(env).await?
    };
    let imds = endpoints
        .imds
        .as_deref()
        .map(|endpoint| Imds::new(&http.metadata, endpoint));
    let region = resolve_region(env, &profile, imds.as_ref()).await?;
    let credentials = Chain {
        http,
        env,
        profile: &profile,
        imds: imds.as_ref(),
        sts_endpoint: endpoints
            .sts
            .clone()
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com")),
        container_credentials_host: &endpoints.container_credentials_host,
        now_unix: now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    }
    .resolve()
    .await?;
    let headers = sign::sign_get_caller_identity(&credentials, &region, now)?;
    let headers_json: serde_json::Map<String, serde_json::Value> = headers
        .into_iter()
        .map(|(name, value)| (name.to_string(), serde_json::Value::String(value)))
        .collect();
    Ok(LoginRequest::AwsIam(AwsIamLogin {
        identity_id,
        iam_http_request_method: "POST".to_string(),
        iam_request_body: STANDARD.encode(sign::GET_CALLER_IDENTITY_BODY),
        iam_request_headers: Sensitive::new(
            STANDARD.encode(serde_json::Value::Object(headers_json).to_string()),
        ),
        organization_slug: None,
    }))
}

/// `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, then instance metadata. The KMS
/// rejects names outside `[a-z0-9-]{1,20}`, so those are refused here with a clear message.
async fn resolve_region(
    env: &dyn Env,
    profile: &Profile,
    imds: Option<&Imds<'_>>,
) -> Result<String, MethodError> {
    let configured = env
        .first_of(&REGION_VARS)
        .or_else(|| profile.get("region").map(str::to_string));
    let region = match (configured, imds) {
        (Some(region), _) => region,
        (None, Some(imds)) => imds.region().await.map_err(|e| MethodError::NoAwsRegion {
            reason: format!("instance metadata at {} did not say: {e}", imds.endpoint()),
        })?,
        (None, None) => {
            return Err(MethodError::NoAwsRegion {
                reason: "instance metadata is disabled by AWS_EC2_METADATA_DISABLED".to_string(),
            })
        }
    };
    let valid = !region.is_empty()
        && region.len() <= 20
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(MethodError::NoAwsRegion {
            reason: format!("`{region}` is not an AWS region name"),
        });
    }
    Ok(region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::methods::MapEnv;

    #[test]
    fn endpoints_follow_the_sdk_variables() {
        assert_eq!(
            AwsEndpoints::from_env(&MapEnv::default()),
            AwsEndpoints::default()
        );
        let env = MapEnv::new([
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:7/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9/"),
        ]);
        let endpoints = AwsEndpoints::from_env(&env);
        assert_eq!(endpoints.imds.as_deref(), Some("http://127.0.0.1:7"));
        assert_eq!(endpoints.sts.as_deref(), Some("http://127.0.0.1:9"));
        let env = MapEnv::new([("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]);
        assert_eq!(
            AwsEndpoints::from_env(&env).imds.as_deref(),
            Some("http://[fd00:ec2::254]")
        );
        let env = MapEnv::new([("AWS_EC2_METADATA_DISABLED", "TRUE")]);
        assert_eq!(AwsEndpoints::from_env(&env).imds, None);
    }

    #[tokio::test]
    async fn region_comes_from_env_then_profile_and_is_validated() {
        let profile = Profile::default();
        let env = MapEnv::new([
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "us-west-2"),
        ]);
        assert_eq!(
            resolve_region(&env, &profile, None).await.unwrap(),
            "us-west-2"
        );
        let env = MapEnv::new([("AWS_REGION", "us-east-1.evil.com")]);
        let err = resolve_region(&env, &profile, None).await.unwrap_err();
        assert!(
            err.to_string().contains("is not an AWS region name"),
            "{err}"
        );
        let err = resolve_region(&MapEnv::default(), &profile, None)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (instance metadata is \
             disabled by AWS_EC2_METADATA_DISABLED)"
        );
    }
}
