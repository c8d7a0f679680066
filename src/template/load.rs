//! Turning a configured template into a compiled one: read its source (file, inline or base64),
//! pick the engine, parse. Used when the config loads (`kms agent validate` reports syntax errors
//! with template, line and column) and by the runtime.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
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

/// Compiled templates by what they were compiled from (engine, name, source): templates with the
/// same source file share one parse tree instead of holding a copy each.
type Compiled = HashMap<(EngineKind, String, Vec<u8>), Arc<dyn CompiledTemplate>>;

/// Reads and compiles one configured template. The error names the template (and, for syntax
/// errors, the line and column), never secret data.
pub fn load_template(config: &TemplateConfig) -> Result<LoadedTemplate, String> {
    load_shared(config, &mut Compiled::new())
}

/// [`load_template`], reusing what `compiled` already holds.
fn load_shared(config: &TemplateConfig, compiled: &mut Compiled) -> Result<LoadedTemplate, String> {
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
    let key = (config.engine, name, source);
    let template = match compiled.get(&key) {
        Some(shared) => shared.clone(),
        None => {
            let (engine, name, source) = &key;
            let fresh: Arc<dyn CompiledTemplate> = Arc::from(
                match engine {
                    EngineKind::Go => GoEngine.compile(name, source),
                    EngineKind::Handlebars => HandlebarsEngine.compile(name, source),
                }
                .map_err(|e| format!("{id}: {}", e.message))?,
            );
            compiled.insert(key.clone(), fresh.clone());
            fresh
        }
    };
    let source = &key.2;

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
        compiled: template,
        fingerprint: h.finish(),
    })
}

/// Loads every template of a config, collecting every error.
pub fn load_templates(templates: &[TemplateConfig]) -> Result<Vec<LoadedTemplate>, Vec<String>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    let mut compiled = Compiled::new();
    for t in templates {
        match load_shared(t, &mut compiled) {
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
    fn templates_from_one_source_file_share_one_parse_tree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.tmpl");
        std::fs::write(
            &path,
            "{{ range secret \"p\" \"dev\" \"/\" }}{{ .Key }}{{ end }}",
        )
        .unwrap();
        let mut a = config("", EngineKind::Go);
        a.source = TemplateSource::File(path.clone());
        let mut b = a.clone();
        b.index = 4;
        b.destination = PathBuf::from("/tmp/other");
        let inline = config("x", EngineKind::Go);
        let loaded = load_templates(&[a, b, inline]).unwrap();
        assert!(Arc::ptr_eq(&loaded[0].compiled, &loaded[1].compiled));
        assert!(!Arc::ptr_eq(&loaded[0].compiled, &loaded[2].compiled));
        assert_ne!(loaded[0].fingerprint, loaded[1].fingerprint);
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
