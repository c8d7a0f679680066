//! Environment access behind a trait, so tests inject variables instead of touching the process
//! environment.

use std::collections::HashMap;

/// Reads environment variables. An empty value counts as unset.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;

    /// The first of `names` that is set, with its name.
    fn first_of(&self, names: &[&'static str]) -> Option<(&'static str, String)> {
        names
            .iter()
            .find_map(|name| self.var(name).filter(|v| !v.is_empty()).map(|v| (*name, v)))
    }
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// A fixed set of variables (for tests and embedding).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// No variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyEnv;

impl Env for EmptyEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Environment variables the configuration reads, `KMS_*` first: the first one set wins.
pub mod vars {
    pub const UNIVERSAL_AUTH_CLIENT_ID: &[&str] = &[
        "KMS_UNIVERSAL_AUTH_CLIENT_ID",
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID",
    ];
    pub const UNIVERSAL_AUTH_CLIENT_SECRET: &[&str] = &[
        "KMS_UNIVERSAL_AUTH_CLIENT_SECRET",
        "KMS_UNIVERSAL_CLIENT_SECRET",
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
        "INFISICAL_UNIVERSAL_CLIENT_SECRET",
    ];
    pub const MACHINE_IDENTITY_ID: &[&str] =
        &["KMS_MACHINE_IDENTITY_ID", "INFISICAL_MACHINE_IDENTITY_ID"];
    pub const KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH: &[&str] = &[
        "KMS_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH",
        "INFISICAL_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH",
    ];
    pub const GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH: &[&str] = &[
        "KMS_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH",
        "INFISICAL_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_names_win_and_empty_counts_as_unset() {
        let env = [
            ("INFISICAL_MACHINE_IDENTITY_ID", "old"),
            ("KMS_MACHINE_IDENTITY_ID", "new"),
        ];
        assert_eq!(
            env.first_of(vars::MACHINE_IDENTITY_ID),
            Some(("KMS_MACHINE_IDENTITY_ID", "new".to_string()))
        );
        let env = [
            ("KMS_MACHINE_IDENTITY_ID", ""),
            ("INFISICAL_MACHINE_IDENTITY_ID", "old"),
        ];
        assert_eq!(
            env.first_of(vars::MACHINE_IDENTITY_ID).map(|(n, _)| n),
            Some("INFISICAL_MACHINE_IDENTITY_ID")
        );
        assert_eq!(EmptyEnv.first_of(vars::MACHINE_IDENTITY_ID), None);
    }
}
