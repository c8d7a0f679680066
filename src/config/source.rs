//! Where the configuration document comes from: a file, or the whole document base64-encoded in
//! `KMS_AGENT_CONFIG_BASE64` (which, when set, is used instead of the file).

use std::path::PathBuf;

use base64::Engine as _;

use super::defaults::{CONFIG_BASE64_ENV, MAX_CONFIG_BYTES};
use super::env::Env;
use super::error::{ConfigError, ErrorKind};
use super::model::ConfigOrigin;

/// A configuration document to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    /// The document base64-encoded in `KMS_AGENT_CONFIG_BASE64`, read through the [`Env`] given
    /// to [`super::load`].
    EnvBase64,
    /// Text in memory; `name` is used in messages.
    Text {
        name: String,
        text: String,
    },
}

impl ConfigSource {
    /// `KMS_AGENT_CONFIG_BASE64` when it is set (and not empty), else `file`.
    pub fn select(file: impl Into<PathBuf>, env: &dyn Env) -> Self {
        match env.var(CONFIG_BASE64_ENV) {
            Some(v) if !v.trim().is_empty() => ConfigSource::EnvBase64,
            _ => ConfigSource::File(file.into()),
        }
    }

    /// A short description for messages: the file name or the variable name.
    pub fn describe(&self) -> String {
        match self {
            ConfigSource::File(p) => p.display().to_string(),
            ConfigSource::EnvBase64 => format!("environment variable {CONFIG_BASE64_ENV}"),
            ConfigSource::Text { name, .. } => name.clone(),
        }
    }

    /// Reads the document text.
    pub(crate) fn read(&self, env: &dyn Env) -> Result<(String, ConfigOrigin), ConfigError> {
        let fail = |reason: String| ConfigError::new("", None, ErrorKind::Source(reason));
        match self {
            ConfigSource::File(path) => {
                use std::io::Read;
                let mut text = String::new();
                std::fs::File::open(path)
                    .and_then(|f| {
                        f.take(MAX_CONFIG_BYTES as u64 + 1)
                            .read_to_string(&mut text)
                    })
                    .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                if text.len() > MAX_CONFIG_BYTES {
                    return Err(fail(format!(
                        "{} is larger than {} MiB",
                        path.display(),
                        MAX_CONFIG_BYTES >> 20
                    )));
                }
                Ok((text, ConfigOrigin::File(path.clone())))
            }
            ConfigSource::EnvBase64 => {
                let encoded = env.var(CONFIG_BASE64_ENV).unwrap_or_default();
                let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
                if compact.len() / 4 * 3 > MAX_CONFIG_BYTES {
                    return Err(fail(format!(
                        "{CONFIG_BASE64_ENV} holds more than {} MiB",
                        MAX_CONFIG_BYTES >> 20
                    )));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|_| fail(format!("{CONFIG_BASE64_ENV} is not valid base64")))?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    fail(format!("{CONFIG_BASE64_ENV} does not decode to UTF-8 text"))
                })?;
                Ok((text, ConfigOrigin::EnvBase64(CONFIG_BASE64_ENV)))
            }
            ConfigSource::Text { name, text } => {
                Ok((text.clone(), ConfigOrigin::Text(name.clone())))
            }
        }
    }
}
