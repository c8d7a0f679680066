//! Turning a configured template into a compiled one: read its source (file, inline or base64),
//! pick the engine, parse. Used when the config loads (`kms agent validate` reports syntax errors
//! with template, line and column) and by the runtime.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::go::GoEngine;
use super::handlebars::HandlebarsEngine;
use super::{CompiledTemplate, EngineKind, TemplateEngine};
use crate::config::{TemplateConfig, TemplateSource};

/// A template ready to run, with the id that names it in logs.
#[derive(Debug, Clone)]
pub struct LoadedTemplate {
    /// `templates[N]`.
    pub id: String,
    pub compiled: Arc<dyn CompiledTemplate>,
    /// Identifies the whole definition (source bytes and every setting), for reloads.
    pub fingerprint: u64,
}

/// The id of the template at `index` in the config.
pub fn template_id(index: usize) -> String {
    format!("templates[{index}]")
}

/// Reads and compiles one configured template. The error names the template (and, for syntax
/// errors, the line and column), never secret data.
pub fn load_template(config: &TemplateConfig) -> Result<LoadedTemplate, String> {
    let id = template_id(config.index);
    let (name, source) = match &config.source {
        TemplateSource::File(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("{id}: cannot read source-path {}: {e}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| id.clone());
            (name, bytes)
        }
        TemplateSource::Inline { content, .. } => (id.clone(), content.as_bytes().to_vec()),
    };
    let compiled: Box<dyn CompiledTemplate> = match config.engine {
        EngineKind::Go => GoEngine.compile(&name, &source),
        EngineKind::Handlebars => HandlebarsEngine.compile(&name, &source),
    }
    .map_err(|e| format!("{id}: {}", e.message))?;

    let mut h = DefaultHasher::new();
    source.hash(&mut h);
    config.destination.hash(&mut h);
    format!("{:?}", config.engine).hash(&mut h);
    config.polling_interval.hash(&mut h);
    config.permissions.hash(&mut h);
    config
        .execute
        .as_ref()
        .map(|e| (&e.command, e.timeout))
        .hash(&mut h);
    Ok(LoadedTemplate {
        id,
        compiled: Arc::from(compiled),
        fingerprint: h.finish(),
    })
}

/// Loads every template of a config, collecting every error.
pub fn load_templates(templates: &[TemplateConfig]) -> Result<Vec<LoadedTemplate>, Vec<String>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for t in templates {
        match load_template(t) {
            Ok(l) => loaded.push(l),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn config(content: &str, engine: EngineKind) -> TemplateConfig {
        TemplateConfig {
            index: 3,
            source: TemplateSource::Inline {
                content: content.into(),
                from_base64: false,
            },
            destination: PathBuf::from("/tmp/out"),
            engine,
            polling_interval: Duration::from_secs(60),
            permissions: 0o600,
            execute: None,
        }
    }

    #[test]
    fn an_unclosed_range_is_reported_with_template_and_line() {
        let err = load_template(&config(
            "line 1\n{{ range secret \"p\" \"dev\" \"/\" }}\nx\n",
            EngineKind::Go,
        ))
        .unwrap_err();
        assert!(err.starts_with("templates[3]: "), "{err}");
        // Go reports an unclosed block where the text ends: line 4.
        assert!(err.contains("templates[3]:4:"), "no line in: {err}");
    }

    #[test]
    fn fingerprints_change_with_the_source_or_a_setting() {
        let a = load_template(&config("x", EngineKind::Go)).unwrap();
        let b = load_template(&config("x", EngineKind::Go)).unwrap();
        let c = load_template(&config("y", EngineKind::Go)).unwrap();
        let mut d_cfg = config("x", EngineKind::Go);
        d_cfg.polling_interval = Duration::from_secs(5);
        let d = load_template(&d_cfg).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(a.fingerprint, d.fingerprint);
    }

    #[test]
    fn handlebars_templates_compile_with_their_engine() {
        assert!(load_template(&config(
            "{{#each (secret \"p\" \"dev\" \"/\")}}{{Key}}{{/each}}",
            EngineKind::Handlebars
        ))
        .is_ok());
        assert!(load_template(&config("{{#each x}}", EngineKind::Handlebars)).is_err());
    }

    #[test]
    fn a_missing_source_file_names_the_template_and_path() {
        let mut c = config("", EngineKind::Go);
        c.source = TemplateSource::File(PathBuf::from("/nonexistent/dir/t.tmpl"));
        let err = load_template(&c).unwrap_err();
        assert!(
            err.contains("templates[3]") && err.contains("/nonexistent/dir/t.tmpl"),
            "{err}"
        );
    }
}
