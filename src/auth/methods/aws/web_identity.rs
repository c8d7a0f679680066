//! Web identity credentials (EKS IRSA and the like): a projected OIDC token file exchanged for
//! role credentials with STS `AssumeRoleWithWebIdentity` (an unsigned call).

use std::path::PathBuf;

use super::profile::Profile;
use super::AwsCredentials;
use crate::auth::methods::credential_file::read_credential_file;
use crate::auth::methods::http::{bad_answer, send_for_text, xml_element};
use crate::auth::methods::{Env, MethodError};
use crate::sensitive::Sensitive;

const SERVICE: &str = "AWS STS AssumeRoleWithWebIdentity";

/// What to exchange: the token file (read afresh at each login, it rotates) and the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebIdentity {
    pub token_file: PathBuf,
    pub role_arn: String,
    pub session_name: Option<String>,
}

impl WebIdentity {
    /// From `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`), else from
    /// the profile's `web_identity_token_file` + `role_arn`; `None` when neither is configured.
    /// One variable without the other is an error naming the missing one.
    pub fn from_env(env: &dyn Env, profile: &Profile) -> Result<Option<Self>, MethodError> {
        let token_file = env.var("AWS_WEB_IDENTITY_TOKEN_FILE");
        let role_arn = env.var("AWS_ROLE_ARN");
        let session_name = env.var("AWS_ROLE_SESSION_NAME");
        match (token_file, role_arn) {
            (Some(token_file), Some(role_arn)) => Ok(Some(WebIdentity {
                token_file: token_file.into(),
                role_arn,
                session_name,
            })),
            (Some(_), None) => Err(MethodError::EnvInvalid {
                name: "AWS_ROLE_ARN",
                reason: "it must be set along with AWS_WEB_IDENTITY_TOKEN_FILE".to_string(),
            }),
            (None, Some(_)) => Err(MethodError::EnvInvalid {
                name: "AWS_WEB_IDENTITY_TOKEN_FILE",
                reason: "it must be set along with AWS_ROLE_ARN".to_string(),
            }),
            (None, None) => Ok(
                match (
                    profile.get("web_identity_token_file"),
                    profile.get("role_arn"),
                ) {
                    (Some(token_file), Some(role_arn)) => Some(WebIdentity {
                        token_file: token_file.into(),
                        role_arn: role_arn.to_string(),
                        session_name: profile.get("role_session_name").map(str::to_string),
                    }),
                    _ => None,
                },
            ),
        }
    }

    /// Exchanges the token at the STS endpoint `sts` (a base URL such as
    /// `https://sts.us-east-1.amazonaws.com`). `now_unix` names the session by default.
    pub async fn credentials(
        &self,
        http: &reqwest::Client,
        sts: &str,
        now_unix: u64,
    ) -> Result<AwsCredentials, MethodError> {
        let token = read_credential_file("AWS web identity token file", &self.token_file).await?;
        let session_name = self
            .session_name
            .clone()
            .unwrap_or_else(|| format!("kms-agent-{now_unix}"));
        let url = format!("{}/", sts.trim_end_matches('/'));
        let request = http.post(&url).form(&[
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", session_name.as_str()),
            ("WebIdentityToken", token.expose().as_str()),
        ]);
        let xml = send_for_text(SERVICE, &url, request).await?;
        let field = |name: &str| {
            xml_element(&xml, name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad_answer(SERVICE, &url, &format!("no `{name}` in the answer")))
        };
        Ok(AwsCredentials {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: Sensitive::new(field("SecretAccessKey")?),
            session_token: Some(Sensitive::new(field("SessionToken")?)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::methods::MapEnv;

    #[test]
    fn half_configured_web_identity_names_the_missing_variable() {
        let profile = Profile::default();
        let env = MapEnv::new([("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")]);
        let err = WebIdentity::from_env(&env, &profile).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable AWS_ROLE_ARN"),
            "{err}"
        );
        let env = MapEnv::new([("AWS_ROLE_ARN", "arn:aws:iam::1:role/r")]);
        let err = WebIdentity::from_env(&env, &profile).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable AWS_WEB_IDENTITY_TOKEN_FILE"),
            "{err}"
        );
        assert_eq!(
            WebIdentity::from_env(&MapEnv::default(), &profile).unwrap(),
            None
        );
    }
}
