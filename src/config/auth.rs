//! Validating `auth`: the method, its credentials (a file path from the config, or a value from
//! the environment, which wins) and its paths.

use std::path::PathBuf;

use super::defaults;
use super::env::{vars, Env};
use super::error::Errors;
use super::fields::{boolean, choice, missing, non_empty, optional_path, present};
use super::model::*;
use super::raw::{RawAuth, AUTH_METHODS};
use crate::sensitive::Sensitive;

const IDENTITY_HINT: &str = "a file holding the identity id, or set KMS_MACHINE_IDENTITY_ID";

pub(crate) fn auth(
    raw: &RawAuth,
    env: &dyn Env,
    overrides: &mut Vec<&'static str>,
    errs: &mut Errors,
) -> Option<AuthConfig> {
    let Some(method_leaf) = present(raw.method.as_ref()) else {
        missing(
            raw.method.as_ref(),
            "type",
            &raw.site,
            Some("universal-auth, kubernetes, azure, gcp-id-token, gcp-iam or aws-iam"),
            errs,
        );
        return None;
    };
    let names: Vec<&'static str> = AUTH_METHODS.iter().map(|(n, _)| *n).collect();
    let method = choice(method_leaf, &names, errs)?;
    let mut cred =
        |key: &str, env_names: &[&'static str], hint: &'static str, errs: &mut Errors| {
            credential(raw, key, env_names, hint, env, overrides, errs)
        };
    match method {
        "universal-auth" => {
            let client_id = cred(
                "client-id",
                vars::UNIVERSAL_AUTH_CLIENT_ID,
                "a file holding the client id, or set KMS_UNIVERSAL_AUTH_CLIENT_ID",
                errs,
            );
            let client_secret = cred(
                "client-secret",
                vars::UNIVERSAL_AUTH_CLIENT_SECRET,
                "a file holding the client secret, or set KMS_UNIVERSAL_AUTH_CLIENT_SECRET",
                errs,
            );
            let remove = boolean(
                raw.field("remove_client_secret_on_read"),
                defaults::REMOVE_CLIENT_SECRET_ON_READ,
                errs,
            );
            Some(AuthConfig::UniversalAuth(UniversalAuthConfig {
                client_id: client_id?,
                client_secret: client_secret?,
                remove_client_secret_on_read: remove?,
            }))
        }
        "kubernetes" => {
            let identity_id = cred(
                "identity-id",
                vars::MACHINE_IDENTITY_ID,
                IDENTITY_HINT,
                errs,
            );
            let token = env_path(
                raw,
                "service-account-token",
                vars::KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH,
                env,
                overrides,
                errs,
            )
            .map(|p| p.unwrap_or_else(|| PathBuf::from(defaults::SERVICE_ACCOUNT_TOKEN_PATH)));
            Some(AuthConfig::Kubernetes(KubernetesAuthConfig {
                identity_id: identity_id?,
                service_account_token: token?,
            }))
        }
        "gcp-iam" => {
            let identity_id = cred(
                "identity-id",
                vars::MACHINE_IDENTITY_ID,
                IDENTITY_HINT,
                errs,
            );
            let key = env_path(
                raw,
                "service-account-key",
                vars::GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH,
                env,
                overrides,
                errs,
            );
            let key = match key {
                Some(None) => {
                    missing(
                        raw.field("service-account-key"),
                        "service-account-key",
                        &raw.config_site,
                        Some("or set KMS_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH"),
                        errs,
                    );
                    None
                }
                other => other.flatten(),
            };
            Some(AuthConfig::GcpIam(GcpIamAuthConfig {
                identity_id: identity_id?,
                service_account_key: key?,
            }))
        }
        other => {
            let id = IdentityAuthConfig {
                identity_id: cred(
                    "identity-id",
                    vars::MACHINE_IDENTITY_ID,
                    IDENTITY_HINT,
                    errs,
                )?,
            };
            Some(match other {
                "azure" => AuthConfig::Azure(id),
                "gcp-id-token" => AuthConfig::GcpIdToken(id),
                _ => AuthConfig::AwsIam(id),
            })
        }
    }
}

/// A credential from the environment (a value; first name set wins) or else from the config (a
/// file path).
fn credential(
    raw: &RawAuth,
    key: &str,
    env_names: &[&'static str],
    hint: &'static str,
    env: &dyn Env,
    overrides: &mut Vec<&'static str>,
    errs: &mut Errors,
) -> Option<Credential> {
    if let Some((name, value)) = env.first_of(env_names) {
        overrides.push(name);
        return Some(Credential::Value(Sensitive::new(value)));
    }
    match present(raw.field(key)) {
        Some(leaf) => non_empty(leaf, errs).map(|p| Credential::File(PathBuf::from(p))),
        None => {
            missing(raw.field(key), key, &raw.config_site, Some(hint), errs);
            None
        }
    }
}

/// A path from the environment (first name set wins) or else from the config, if either.
fn env_path(
    raw: &RawAuth,
    key: &str,
    env_names: &[&'static str],
    env: &dyn Env,
    overrides: &mut Vec<&'static str>,
    errs: &mut Errors,
) -> Option<Option<PathBuf>> {
    if let Some((name, value)) = env.first_of(env_names) {
        overrides.push(name);
        return Some(Some(PathBuf::from(value)));
    }
    optional_path(raw.field(key), errs)
}
