//! Kubernetes auth (docs/wire-contract.md §4): the pod's service-account token.

use std::path::Path;

use super::credential_file::read_credential_file;
use super::{identity_id, JwtLogin, LoginRequest, MethodError};

/// Where Kubernetes mounts the pod's service-account token.
pub const DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Reads the token at `token_path` (afresh on every call: projected tokens rotate) and builds
/// the login request.
pub async fn kubernetes_login(
    identity: &str,
    token_path: &Path,
) -> Result<LoginRequest, MethodError> {
    let identity_id = identity_id(identity)?;
    let jwt = read_credential_file("Kubernetes service-account token file", token_path).await?;
    Ok(LoginRequest::Kubernetes(JwtLogin {
        identity_id,
        jwt,
        organization_slug: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_is_trimmed_and_reread_on_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first.jwt\n").unwrap();
        let request = kubernetes_login(" id-1 ", &path).await.unwrap();
        assert_eq!(
            request.body(),
            serde_json::json!({"identityId": "id-1", "jwt": "first.jwt"})
        );
        std::fs::write(&path, "  second.jwt \n").unwrap();
        let request = kubernetes_login("id-1", &path).await.unwrap();
        assert_eq!(request.body()["jwt"], "second.jwt");
    }

    #[tokio::test]
    async fn missing_empty_file_and_identity_are_errors_naming_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = kubernetes_login("id", &missing).await.unwrap_err();
        assert!(matches!(err, MethodError::FileUnreadable { .. }));
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );

        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let err = kubernetes_login("id", &empty).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Kubernetes service-account token file {} is empty",
                empty.display()
            )
        );

        let err = kubernetes_login("  ", &empty).await.unwrap_err();
        assert_eq!(err, MethodError::MissingIdentityId);
    }
}
