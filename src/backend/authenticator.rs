//! Logging in with the configured machine identity.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures::future::BoxFuture;

use super::describe;
use crate::auth::methods::{
    aws_iam_login, azure_login, azure_metadata_endpoint, gcp_iam_login, gcp_id_token_login,
    gcp_metadata_host, kubernetes_login, read_credential_file, AwsEndpoints, GcpIamEndpoints,
    HttpClients, LoginRequest, ProcessEnv,
};
use crate::auth::{AuthFailure, Authenticator, TokenGrant};
use crate::client::auth::UniversalAuthLogin;
use crate::client::{AccessToken, ApiError, KmsClient};
use crate::config::{AuthConfig, Credential};
use crate::sensitive::Sensitive;

/// Logs in, renews and revokes through the KMS client with the method from the config.
pub struct KmsAuthenticator {
    client: Arc<KmsClient>,
    method: AuthConfig,
    http: HttpClients,
    /// The client secret, kept in memory once read when `remove_client_secret_on_read` deleted
    /// its file.
    kept_secret: Mutex<Option<Sensitive<String>>>,
}

impl KmsAuthenticator {
    pub fn new(client: Arc<KmsClient>, method: AuthConfig) -> Result<Self, String> {
        let http =
            HttpClients::new(crate::auth::methods::DEFAULT_TIMEOUT).map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            method,
            http,
            kept_secret: Mutex::new(None),
        })
    }

    async fn login_request(&self) -> Result<LoginRequest, AuthFailure> {
        let env = ProcessEnv;
        match &self.method {
            AuthConfig::UniversalAuth(ua) => {
                let client_id = credential(&ua.client_id, "universal-auth client id").await?;
                let client_secret = self
                    .client_secret(&ua.client_secret, ua.remove_client_secret_on_read)
                    .await?;
                Ok(LoginRequest::UniversalAuth(UniversalAuthLogin {
                    client_id: client_id.into_inner(),
                    client_secret,
                    organization_slug: None,
                }))
            }
            AuthConfig::Kubernetes(k) => {
                let id = credential(&k.identity_id, "machine identity id").await?;
                Ok(kubernetes_login(id.expose(), &k.service_account_token).await?)
            }
            AuthConfig::Azure(a) => {
                let id = credential(&a.identity_id, "machine identity id").await?;
                Ok(azure_login(&self.http, id.expose(), &azure_metadata_endpoint(&env)).await?)
            }
            AuthConfig::GcpIdToken(g) => {
                let id = credential(&g.identity_id, "machine identity id").await?;
                Ok(gcp_id_token_login(&self.http, id.expose(), &gcp_metadata_host(&env)).await?)
            }
            AuthConfig::GcpIam(g) => {
                let id = credential(&g.identity_id, "machine identity id").await?;
                let endpoints = GcpIamEndpoints::from_env(&env);
                Ok(gcp_iam_login(
                    &self.http,
                    id.expose(),
                    &g.service_account_key,
                    &endpoints,
                    SystemTime::now(),
                )
                .await?)
            }
            AuthConfig::AwsIam(a) => {
                let id = credential(&a.identity_id, "machine identity id").await?;
                let endpoints = AwsEndpoints::from_env(&env);
                Ok(
                    aws_iam_login(&self.http, id.expose(), &env, &endpoints, SystemTime::now())
                        .await?,
                )
            }
        }
    }

    /// The universal-auth client secret: read from its file (deleted afterwards when asked,
    /// the value then kept in memory for later logins) or from the environment.
    async fn client_secret(
        &self,
        source: &Credential,
        remove_on_read: bool,
    ) -> Result<Sensitive<String>, AuthFailure> {
        if let Some(kept) = self.kept_secret.lock().ok().and_then(|k| k.clone()) {
            return Ok(kept);
        }
        let secret = credential(source, "universal-auth client secret").await?;
        if let (true, Credential::File(path)) = (remove_on_read, source) {
            match std::fs::remove_file(path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "client secret file removed after reading (remove_client_secret_on_read)")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove the client secret file")
                }
            }
            if let Ok(mut kept) = self.kept_secret.lock() {
                *kept = Some(secret.clone());
            }
        }
        Ok(secret)
    }
}

async fn credential(
    source: &Credential,
    what: &'static str,
) -> Result<Sensitive<String>, AuthFailure> {
    match source {
        Credential::Value(v) => Ok(v.clone()),
        Credential::File(path) => Ok(read_credential_file(what, path).await?),
    }
}

fn grant(token: AccessToken) -> TokenGrant {
    TokenGrant {
        access_token: token.access_token,
        expires_in: crate::server_numbers::server_duration(token.expires_in),
        max_ttl: crate::server_numbers::server_duration(token.access_token_max_ttl),
    }
}

fn failure(error: ApiError) -> AuthFailure {
    AuthFailure::new(describe(&error))
}

impl Authenticator for KmsAuthenticator {
    fn method_name(&self) -> &str {
        self.method.method_name()
    }

    fn login(&self) -> BoxFuture<'_, Result<TokenGrant, AuthFailure>> {
        Box::pin(async move {
            let request = self.login_request().await?;
            self.client
                .login(&request)
                .await
                .map(grant)
                .map_err(failure)
        })
    }

    fn renew<'a>(
        &'a self,
        token: &'a Sensitive<String>,
    ) -> BoxFuture<'a, Result<TokenGrant, AuthFailure>> {
        Box::pin(async move {
            self.client
                .renew_token(token)
                .await
                .map(grant)
                .map_err(failure)
        })
    }

    fn revoke<'a>(
        &'a self,
        token: &'a Sensitive<String>,
    ) -> BoxFuture<'a, Result<(), AuthFailure>> {
        Box::pin(async move {
            self.client
                .revoke_token(token)
                .await
                .map(|_| ())
                .map_err(failure)
        })
    }
}
