//! GCP id-token auth (docs/wire-contract.md §6): an identity token from the GCE/GKE metadata server
//! whose audience is the machine identity id.

use super::http::{bad_answer, send_for_text};
use super::{identity_id, Env, HttpClients, JwtLogin, LoginRequest, MethodError};
use crate::sensitive::Sensitive;

/// The metadata server's host name on GCE and GKE.
pub const DEFAULT_GCE_METADATA_HOST: &str = "metadata.google.internal";

const SERVICE: &str = "GCE metadata server";

/// The metadata host (`host[:port]`, no scheme) from `GCE_METADATA_HOST` (the variable Google's
/// client libraries honour), or the default.
pub fn gcp_metadata_host(env: &dyn Env) -> String {
    env.var("GCE_METADATA_HOST")
        .map(|h| h.trim_end_matches('/').to_string())
        .unwrap_or_else(|| DEFAULT_GCE_METADATA_HOST.to_string())
}

/// Fetches an identity token for audience = the identity id from the metadata server at
/// `metadata_host` and builds the login request.
pub async fn gcp_id_token_login(
    http: &HttpClients,
    identity: &str,
    metadata_host: &str,
) -> Result<LoginRequest, MethodError> {
    let identity_id = identity_id(identity)?;
    let url = format!(
        "http://{metadata_host}/computeMetadata/v1/instance/service-accounts/default/identity"
    );
    let request = http
        .metadata
        .get(&url)
        .query(&[("audience", identity_id.as_str()), ("format", "full")])
        .header("Metadata-Flavor", "Google");
    let jwt = send_for_text(SERVICE, &url, request)
        .await?
        .trim()
        .to_string();
    if jwt.is_empty() {
        return Err(bad_answer(SERVICE, &url, "the identity token is empty"));
    }
    Ok(LoginRequest::Gcp(JwtLogin {
        identity_id,
        jwt: Sensitive::new(jwt),
        organization_slug: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::MapEnv;
    use super::*;

    #[test]
    fn host_comes_from_gce_metadata_host_or_the_default() {
        assert_eq!(
            gcp_metadata_host(&MapEnv::default()),
            "metadata.google.internal"
        );
        let env = MapEnv::new([("GCE_METADATA_HOST", "127.0.0.1:8080")]);
        assert_eq!(gcp_metadata_host(&env), "127.0.0.1:8080");
    }
}
