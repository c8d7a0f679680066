//! The AWS shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`): the
//! selected profile's settings, as the AWS CLI and SDKs read them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::auth::methods::credential_file::io_reason;
use crate::auth::methods::{Env, MethodError};

/// The selected profile's keys (lower-case), merged from both files; the credentials file wins.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub name: String,
    /// Where the profile was looked for, for messages.
    pub sources: String,
    /// Whether either file had a section for it.
    pub found: bool,
    settings: HashMap<String, String>,
}

// Settings may hold secrets: Debug shows only which keys are present.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<&String> = self.settings.keys().collect();
        keys.sort();
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("found", &self.found)
            .field("keys", &keys)
            .finish()
    }
}

impl Profile {
    /// Reads the profile named by `AWS_PROFILE` (default `default`) from `AWS_CONFIG_FILE` and
    /// `AWS_SHARED_CREDENTIALS_FILE` (defaults under `$HOME/.aws`). Absent files are empty; an
    /// explicitly chosen profile that neither file has is an error.
    pub async fn load(env: &dyn Env) -> Result<Self, MethodError> {
        let explicit = env.var("AWS_PROFILE");
        let name = explicit.clone().unwrap_or_else(|| "default".to_string());
        let home = env.var("HOME");
        let credentials_path = file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials", &home);
        let config_path = file_path(env, "AWS_CONFIG_FILE", "config", &home);

        let mut profile = Profile {
            name: name.clone(),
            sources: [&credentials_path, &config_path]
                .iter()
                .filter_map(|p| p.as_ref().map(|p| p.display().to_string()))
                .collect::<Vec<_>>()
                .join(" and "),
            ..Profile::default()
        };
        // Config first, then credentials over it.
        if let Some(path) = &config_path {
            let sections = parse_ini(&read_optional(path, "AWS config file").await?);
            let section = if name == "default" {
                sections
                    .get("default")
                    .or_else(|| sections.get("profile default"))
            } else {
                sections.get(&format!("profile {name}"))
            };
            if let Some(section) = section {
                profile.found = true;
                profile.settings.extend(section.clone());
            }
        }
        if let Some(path) = &credentials_path {
            let sections = parse_ini(&read_optional(path, "AWS shared credentials file").await?);
            if let Some(section) = sections.get(&name) {
                profile.found = true;
                profile.settings.extend(section.clone());
            }
        }
        if explicit.is_some() && !profile.found {
            let looked_in = if profile.sources.is_empty() {
                "no file (HOME is not set)".to_string()
            } else {
                profile.sources.clone()
            };
            return Err(MethodError::AwsProfile {
                profile: name,
                reason: format!("AWS_PROFILE names it but {looked_in} has no such profile"),
            });
        }
        Ok(profile)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn file_path(
    env: &dyn Env,
    var: &str,
    default_name: &str,
    home: &Option<String>,
) -> Option<PathBuf> {
    match env.var(var) {
        Some(path) => Some(expand_home(&path, home)),
        None => home
            .as_ref()
            .map(|h| Path::new(h).join(".aws").join(default_name)),
    }
}

fn expand_home(path: &str, home: &Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => PathBuf::from(path),
    }
}

async fn read_optional(path: &Path, what: &'static str) -> Result<String, MethodError> {
    match tokio::fs::read(path).await {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| MethodError::FileInvalid {
            what,
            path: path.to_path_buf(),
            reason: "it is not UTF-8 text".to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(MethodError::FileUnreadable {
            what,
            path: path.to_path_buf(),
            reason: io_reason(&e),
        }),
    }
}

/// Sections of an AWS INI file: `[name]` headers, `key = value` lines, `#`/`;` comments.
/// Indented lines continue a nested setting (like `s3 =`), which the agent does not use.
fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[') {
            let name = header.split(']').next().unwrap_or_default();
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        if let (Some(section), Some((key, value))) = (&current, trimmed.split_once('=')) {
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::methods::MapEnv;

    #[test]
    fn ini_sections_keys_comments_and_nested_settings() {
        let sections = parse_ini(
            "# top\n[default]\naws_access_key_id = AK1\nAWS_Secret_Access_Key=SK1 \n\
             s3 =\n  max_concurrent_requests = 20\n; c\n[profile  dev]\nregion = eu-west-1\n",
        );
        assert_eq!(sections["default"]["aws_access_key_id"], "AK1");
        assert_eq!(sections["default"]["aws_secret_access_key"], "SK1");
        assert!(!sections["default"].contains_key("max_concurrent_requests"));
        assert_eq!(sections["profile dev"]["region"], "eu-west-1");
    }

    #[tokio::test]
    async fn profile_merges_config_and_credentials_with_credentials_winning() {
        let dir = tempfile::tempdir().unwrap();
        let aws = dir.path().join(".aws");
        std::fs::create_dir(&aws).unwrap();
        std::fs::write(
            aws.join("config"),
            "[profile dev]\nregion = eu-west-1\naws_access_key_id = FROMCONFIG\n",
        )
        .unwrap();
        std::fs::write(
            aws.join("credentials"),
            "[dev]\naws_access_key_id = AKDEV\n",
        )
        .unwrap();
        let home = dir.path().to_str().unwrap();
        let env = MapEnv::new([("HOME", home), ("AWS_PROFILE", "dev")]);
        let profile = Profile::load(&env).await.unwrap();
        assert!(profile.found);
        assert_eq!(profile.get("region"), Some("eu-west-1"));
        assert_eq!(profile.get("aws_access_key_id"), Some("AKDEV"));

        // The default profile may be absent; a named one may not.
        let profile = Profile::load(&MapEnv::new([("HOME", home)])).await.unwrap();
        assert!(!profile.found);
        let err = Profile::load(&MapEnv::new([("HOME", home), ("AWS_PROFILE", "prod")]))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("AWS profile prod is not usable"),
            "{message}"
        );
        assert!(message.contains(&aws.join("credentials").display().to_string()));
    }

    #[tokio::test]
    async fn file_locations_follow_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds.ini");
        std::fs::write(&creds, "[default]\naws_access_key_id = AKX\n").unwrap();
        let env = MapEnv::new([("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap())]);
        let profile = Profile::load(&env).await.unwrap();
        assert_eq!(profile.get("aws_access_key_id"), Some("AKX"));
    }
}
