//! The EC2 instance metadata service, IMDSv2 only (a session token from `PUT`, then `GET`s that
//! present it): the instance role's credentials and the instance's region.

use serde_json::Value;
use tokio::sync::OnceCell;

use super::AwsCredentials;
use crate::auth::methods::http::{bad_answer, json_string, send_for_json, send_for_text};
use crate::auth::methods::MethodError;
use crate::sensitive::Sensitive;

const SERVICE: &str = "EC2 instance metadata service";

/// Lifetime asked for the session token (the maximum, six hours); it is kept for one login.
const TOKEN_TTL_SECONDS: &str = "21600";

/// One login's view of IMDS: the session token is fetched once and shared by later requests.
pub(crate) struct Imds<'a> {
    http: &'a reqwest::Client,
    endpoint: String,
    token: OnceCell<Sensitive<String>>,
}

impl<'a> Imds<'a> {
    pub fn new(http: &'a reqwest::Client, endpoint: &str) -> Self {
        Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: OnceCell::new(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The region the instance runs in.
    pub async fn region(&self) -> Result<String, MethodError> {
        self.get("/latest/meta-data/placement/region").await
    }

    /// The credentials of the instance profile's role.
    pub async fn credentials(&self) -> Result<AwsCredentials, MethodError> {
        const ROLES: &str = "/latest/meta-data/iam/security-credentials/";
        let roles = self.get(ROLES).await?;
        let role = roles
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or_else(|| {
                bad_answer(
                    SERVICE,
                    &self.url(ROLES),
                    "the instance has no IAM role attached",
                )
            })?;
        let path = format!("{ROLES}{role}");
        let url = self.url(&path);
        let answer = send_for_json(SERVICE, &url, self.authorized_get(&url).await?).await?;
        if let Some(code) = answer.get("Code").and_then(Value::as_str) {
            if code != "Success" {
                return Err(bad_answer(
                    SERVICE,
                    &url,
                    "the role credentials are not available (Code is not Success)",
                ));
            }
        }
        AwsCredentials::from_json(&answer, SERVICE, &url)
    }

    async fn get(&self, path: &str) -> Result<String, MethodError> {
        let url = self.url(path);
        let text = send_for_text(SERVICE, &url, self.authorized_get(&url).await?).await?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(bad_answer(SERVICE, &url, "the answer is empty"));
        }
        Ok(text)
    }

    async fn authorized_get(&self, url: &str) -> Result<reqwest::RequestBuilder, MethodError> {
        let token = self.session_token().await?;
        Ok(self
            .http
            .get(url)
            .header("X-aws-ec2-metadata-token", token.expose()))
    }

    async fn session_token(&self) -> Result<&Sensitive<String>, MethodError> {
        self.token
            .get_or_try_init(|| async {
                let url = self.url("/latest/api/token");
                let request = self
                    .http
                    .put(&url)
                    .header("X-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS);
                let token = send_for_text(SERVICE, &url, request).await?;
                let token = token.trim();
                if token.is_empty() {
                    return Err(bad_answer(SERVICE, &url, "the session token is empty"));
                }
                Ok(Sensitive::new(token.to_string()))
            })
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }
}

impl AwsCredentials {
    /// Credentials from the JSON shape IMDS and the container endpoints share
    /// (`AccessKeyId`, `SecretAccessKey`, optional `Token`).
    pub(crate) fn from_json(
        answer: &Value,
        service: &'static str,
        url: &str,
    ) -> Result<Self, MethodError> {
        Ok(AwsCredentials {
            access_key_id: json_string(answer, "AccessKeyId", service, url)?,
            secret_access_key: Sensitive::new(json_string(
                answer,
                "SecretAccessKey",
                service,
                url,
            )?),
            session_token: json_string(answer, "Token", service, url)
                .ok()
                .map(Sensitive::new),
        })
    }
}
