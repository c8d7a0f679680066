//! [`AwsCredentials`] and the standard credential chain: environment, shared profile, web
//! identity, container endpoint, EC2 instance metadata; the first source that is configured
//! decides (a configured source that fails is an error, not a reason to try the next).

use super::container::{container_credentials, container_credentials_url};
use super::imds::Imds;
use super::profile::Profile;
use super::web_identity::WebIdentity;
use crate::auth::methods::{Env, HttpClients, MethodError};
use crate::sensitive::Sensitive;

/// AWS credentials; the secret parts never print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Sensitive<String>,
    /// Present with temporary credentials (roles, web identity, containers).
    pub session_token: Option<Sensitive<String>>,
}

/// What the chain needs, resolved once per login.
pub(crate) struct Chain<'a> {
    pub http: &'a HttpClients,
    pub env: &'a dyn Env,
    pub profile: &'a Profile,
    pub imds: Option<&'a Imds<'a>>,
    /// Base URL for `AssumeRoleWithWebIdentity`.
    pub sts_endpoint: String,
    pub container_credentials_host: &'a str,
    pub now_unix: u64,
}

impl Chain<'_> {
    pub async fn resolve(&self) -> Result<AwsCredentials, MethodError> {
        if let Some(credentials) = self.environment_keys()? {
            return Ok(credentials);
        }
        if let Some(credentials) = self.profile_keys()? {
            return Ok(credentials);
        }
        if let Some(web_identity) = WebIdentity::from_env(self.env, self.profile)? {
            return web_identity
                .credentials(&self.http.internet, &self.sts_endpoint, self.now_unix)
                .await;
        }
        if let Some(url) = container_credentials_url(self.env, self.container_credentials_host)? {
            return container_credentials(&self.http.metadata, self.env, &url).await;
        }
        let mut tried = vec![
            "environment (AWS_ACCESS_KEY_ID is not set)".to_string(),
            format!(
                "profile {} ({})",
                self.profile.name,
                if self.profile.found {
                    "has no credentials"
                } else if self.profile.sources.is_empty() {
                    "no shared files: HOME is not set"
                } else {
                    "not in the shared files"
                }
            ),
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE is not set)".to_string(),
            "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are \
             not set)"
                .to_string(),
        ];
        match self.imds {
            Some(imds) => match imds.credentials().await {
                Ok(credentials) => return Ok(credentials),
                Err(e) => tried.push(format!("instance metadata: {e}")),
            },
            None => tried.push("instance metadata (disabled by AWS_EC2_METADATA_DISABLED)".into()),
        }
        Err(MethodError::NoAwsCredentials {
            tried: tried.join("; "),
        })
    }

    fn environment_keys(&self) -> Result<Option<AwsCredentials>, MethodError> {
        let key_id = self.env.var("AWS_ACCESS_KEY_ID");
        let secret = self.env.var("AWS_SECRET_ACCESS_KEY");
        match (key_id, secret) {
            (Some(access_key_id), Some(secret)) => Ok(Some(AwsCredentials {
                access_key_id,
                secret_access_key: Sensitive::new(secret),
                session_token: self.env.var("AWS_SESSION_TOKEN").map(Sensitive::new),
            })),
            (Some(_), None) => Err(MethodError::EnvInvalid {
                name: "AWS_SECRET_ACCESS_KEY",
                reason: "it must be set along with AWS_ACCESS_KEY_ID".to_string(),
            }),
            (None, Some(_)) => Err(MethodError::EnvInvalid {
                name: "AWS_ACCESS_KEY_ID",
                reason: "it must be set along with AWS_SECRET_ACCESS_KEY".to_string(),
            }),
            (None, None) => Ok(None),
        }
    }

    fn profile_keys(&self) -> Result<Option<AwsCredentials>, MethodError> {
        let profile = self.profile;
        let unusable = |reason: String| MethodError::AwsProfile {
            profile: profile.name.clone(),
            reason,
        };
        match (
            profile.get("aws_access_key_id"),
            profile.get("aws_secret_access_key"),
        ) {
            (Some(access_key_id), Some(secret)) => {
                return Ok(Some(AwsCredentials {
                    access_key_id: access_key_id.to_string(),
                    secret_access_key: Sensitive::new(secret.to_string()),
                    session_token: profile
                        .get("aws_session_token")
                        .map(|t| Sensitive::new(t.to_string())),
                }))
            }
            (Some(_), None) => {
                return Err(unusable(
                    "it has aws_access_key_id but no aws_secret_access_key".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(unusable(
                    "it has aws_secret_access_key but no aws_access_key_id".into(),
                ))
            }
            (None, None) => {}
        }
        // Sources the agent does not implement: say so instead of silently using another.
        let web_identity = profile.get("web_identity_token_file").is_some();
        for key in [
            "source_profile",
            "credential_source",
            "credential_process",
            "sso_session",
            "sso_start_url",
        ] {
            if profile.get(key).is_some() && !web_identity {
                return Err(unusable(format!(
                    "it uses `{key}`, which the agent does not support; use static keys, web \
                     identity, container or instance credentials"
                )));
            }
        }
        Ok(None)
    }
}
