//! The agent configuration, read in two stages: the YAML document becomes a tree of nodes with
//! positions ([`node`]), then raw structs that deny unknown keys ([`raw`]), then a validated
//! [`Config`] with real types, defaults and environment overrides ([`validate`]). Every error is
//! collected and reported at once, each with its field path and line, never with the value.
//!
//! ```no_run
//! use kms_agent::config::{self, ConfigSource, ProcessEnv};
//! let source = ConfigSource::select("agent-config.yaml", &ProcessEnv);
//! match config::load(&source, &ProcessEnv) {
//!     Ok(cfg) => print!("{}", cfg.summary()),
//!     Err(errors) => eprintln!("{errors}"),
//! }
//! ```

mod auth;
pub mod defaults;
mod duration;
mod env;
mod error;
mod exec;
mod fields;
mod file_identity;
mod model;
mod node;
mod permissions;
mod raw;
mod reader;
mod source;
mod summary;
mod validate;

pub use duration::{format_duration, parse_duration, DurationError};
pub use env::{vars as env_vars, EmptyEnv, Env, MapEnv, ProcessEnv};
pub use error::{ConfigError, ConfigErrors, ErrorKind, Location};
pub use model::*;
pub use permissions::{format_permissions, parse_permissions, PermissionsError};
pub use raw::field_paths;
pub use reader::suggest;
pub use source::ConfigSource;

use error::Errors;

/// Reads, parses and validates a configuration. `env` supplies the environment overrides (and
/// `KMS_AGENT_CONFIG_BASE64` for [`ConfigSource::EnvBase64`]). Credential files are not read
/// here: the runtime reads them at login.
pub fn load(source: &ConfigSource, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let (text, origin) = source
        .read(env)
        .map_err(|e| ConfigErrors::sorted(vec![e]))?;
    parse_document(&text, origin, env)
}

/// Parses and validates configuration text (see [`load`]).
pub fn parse_str(text: &str, env: &dyn Env) -> Result<Config, ConfigErrors> {
    parse_document(text, ConfigOrigin::Text("(text)".into()), env)
}

fn parse_document(text: &str, origin: ConfigOrigin, env: &dyn Env) -> Result<Config, ConfigErrors> {
    let root = node::parse(text).map_err(|e| ConfigErrors::sorted(vec![e]))?;
    // An empty document is an empty mapping: it then fails only for the missing `auth`.
    let root = root.unwrap_or(node::Node {
        kind: node::NodeKind::Map(Vec::new()),
        at: Location { line: 1, column: 1 },
    });
    let mut errs = Errors::default();
    let config = raw::read(&root, &mut errs)
        .and_then(|raw| validate::validate(&raw, env, origin, &mut errs));
    match config {
        Some(config) if errs.0.is_empty() => Ok(config),
        _ => Err(ConfigErrors::sorted(errs.0)),
    }
}
