//! Azure auth (docs/wire-contract.md §5): a managed-identity access token from the instance
//! metadata service (IMDS).

use super::http::{json_string, send_for_json};
use super::{identity_id, Env, HttpClients, JwtLogin, LoginRequest, MethodError};
use crate::sensitive::Sensitive;

/// The Azure instance metadata service.
pub const DEFAULT_AZURE_METADATA_ENDPOINT: &str = "http://169.254.169.254";

/// The token audience the KMS expects by default.
pub const AZURE_MANAGEMENT_RESOURCE: &str = "https://management.azure.com/";

/// Environment variables that override the metadata endpoint, first match wins:
/// our own, then the one Azure's identity SDKs honour for pod identity.
const ENDPOINT_VARS: [&str; 2] = [
    "KMS_AZURE_METADATA_ENDPOINT",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
];

const SERVICE: &str = "Azure instance metadata service";

/// The metadata endpoint (scheme and host, no path) from `env`, or the default.
pub fn azure_metadata_endpoint(env: &dyn Env) -> String {
    env.first_of(&ENDPOINT_VARS)
        .map(|e| e.trim_end_matches('/').to_string())
        .unwrap_or_else(|| DEFAULT_AZURE_METADATA_ENDPOINT.to_string())
}

/// Asks the metadata service at `endpoint` for a token for [`AZURE_MANAGEMENT_RESOURCE`] and
/// builds the login request.
pub async fn azure_login(
    http: &HttpClients,
    identity: &str,
    endpoint: &str,
) -> Result<LoginRequest, MethodError> {
    let identity_id = identity_id(identity)?;
    let url = format!(
        "{}/metadata/identity/oauth2/token",
        endpoint.trim_end_matches('/')
    );
    let request = http
        .metadata
        .get(&url)
        .query(&[
            ("api-version", "2018-02-01"),
            ("resource", AZURE_MANAGEMENT_RESOURCE),
        ])
        .header("Metadata", "true");
    let answer = send_for_json(SERVICE, &url, request).await?;
    let jwt = json_string(&answer, "access_token", SERVICE, &url)?;
    Ok(LoginRequest::Azure(JwtLogin {
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
    fn endpoint_comes_from_our_variable_then_azures_then_the_default() {
        assert_eq!(
            azure_metadata_endpoint(&MapEnv::default()),
            "http://169.254.169.254"
        );
        let env = MapEnv::new([("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://pod:1/")]);
        assert_eq!(azure_metadata_endpoint(&env), "http://pod:1");
        let env = MapEnv::new([
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://pod:1/"),
            ("KMS_AZURE_METADATA_ENDPOINT", "http://127.0.0.1:9"),
        ]);
        assert_eq!(azure_metadata_endpoint(&env), "http://127.0.0.1:9");
    }
}
