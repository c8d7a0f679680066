//! The child's environment as one template: every `exec.env` template and every `exec.env-from`
//! folder, rendered together by one renderer with the same engines and the same coalesced
//! fetching as a file template (docs/behaviour.md §8). Its output is an environment block,
//! `NAME=VALUE\0` per variable, sorted by name, which [`EnvBlock`] reads back.
//!
//! Precedence: folders in the order written (within a folder, its secrets in template order, so a
//! sub-folder's secret overrides its parent's of the same key), then `exec.env`, which wins. A
//! secret key that is not a valid environment name fails the render with an error naming it and
//! its folder: it is never skipped silently, and never renamed behind the user's back.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use crate::config::{EnvFolderConfig, ExecConfig};
use crate::telemetry::outside_text::escape;
use crate::template::functions::in_template_order;
use crate::template::go::GoEngine;
use crate::template::handlebars::HandlebarsEngine;
use crate::template::{
    CompiledTemplate, DataRequest, DataSource, DataValue, EngineKind, ProjectRef, RenderError,
    RenderOutcome, TemplateEngine,
};

/// The id of the child's environment in logs, metrics and readiness.
pub const ENV_TEMPLATE_ID: &str = "exec.env";

/// Whether `name` can be an environment variable a program reads: ASCII letters, digits and `_`,
/// not starting with a digit (POSIX's portable names, what every shell accepts).
pub fn is_valid_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `exec.env` and `exec.env-from`, compiled.
#[derive(Debug)]
pub struct ChildEnvTemplate {
    /// Each folder's request and its name in errors (`exec.env-from[0]`).
    folders: Vec<(String, DataRequest)>,
    /// Each variable's name and compiled template, in the order written.
    variables: Vec<(String, Arc<dyn CompiledTemplate>)>,
}

impl ChildEnvTemplate {
    /// Compiles every `exec.env` template; every error is collected, each naming its variable
    /// (`exec.env.API_KEY:1:4: ...`) and the config line of its value.
    pub fn compile(exec: &ExecConfig) -> Result<ChildEnvTemplate, Vec<String>> {
        let mut errors = Vec::new();
        let mut variables = Vec::new();
        for var in &exec.env {
            let name = format!("exec.env.{}", var.name);
            let compiled = match exec.engine {
                EngineKind::Go => GoEngine.compile(&name, var.template.as_bytes()),
                EngineKind::Handlebars => HandlebarsEngine.compile(&name, var.template.as_bytes()),
            };
            match compiled {
                Ok(c) => variables.push((var.name.clone(), Arc::from(c))),
                Err(e) => errors.push(format!("{name} (config line {}): {}", var.line, e.message)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ChildEnvTemplate {
            folders: exec.env_from.iter().map(folder_request).collect(),
            variables,
        })
    }
}

/// The list request a folder of `exec.env-from` makes: the same as `secret` with the folder's
/// arguments, so a template reading that folder shares the fetch.
fn folder_request(folder: &EnvFolderConfig) -> (String, DataRequest) {
    (
        format!("exec.env-from[{}]", folder.index),
        DataRequest::ListSecrets {
            project: ProjectRef::Id(folder.project.clone()),
            environment: folder.environment.clone(),
            path: folder.path.clone(),
            recursive: folder.recursive,
            expand_references: true,
        },
    )
}

/// A value an environment variable cannot hold: one with a NUL byte (the environment is a list
/// of C strings).
fn check_value(what: &str, value: &[u8]) -> Result<(), RenderError> {
    if value.contains(&0) {
        return Err(RenderError {
            message: format!(
                "{what}: the value contains a NUL byte, which an environment variable cannot hold"
            ),
        });
    }
    Ok(())
}

impl CompiledTemplate for ChildEnvTemplate {
    fn render(&self, data: &dyn DataSource) -> Result<RenderOutcome, RenderError> {
        let mut env: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut missing: Vec<DataRequest> = Vec::new();
        for (label, request) in &self.folders {
            match data.lookup(request) {
                None => missing.push(request.clone()),
                Some(Err(message)) => {
                    return Err(RenderError {
                        message: format!("{label}: {message}"),
                    })
                }
                Some(Ok(DataValue::Secrets(list))) => {
                    for i in in_template_order(&list) {
                        let Some(secret) = list.get(i) else { continue };
                        let key = secret.key();
                        if !is_valid_env_name(key) {
                            return Err(RenderError {
                                message: format!(
                                    "{label}: the secret key \"{}\" (folder {}) is not a valid \
                                     environment variable name (letters, digits and _, not \
                                     starting with a digit); rename the secret, or give it a \
                                     valid name in exec.env",
                                    escape(key.as_bytes()),
                                    escape(secret.secret_path().as_bytes()),
                                ),
                            });
                        }
                        let value = secret.value().as_bytes();
                        check_value(&format!("{label}: secret {key}"), value)?;
                        env.insert(key.to_string(), value.to_vec());
                    }
                }
                Some(Ok(_)) => {
                    return Err(RenderError {
                        message: format!("{label}: the answer is not a list of secrets"),
                    })
                }
            }
        }
        for (name, template) in &self.variables {
            match template.render(data)? {
                RenderOutcome::Done(value) => {
                    check_value(&format!("exec.env.{name}"), &value)?;
                    env.insert(name.clone(), value);
                }
                RenderOutcome::NeedData(more) => missing.extend(more),
            }
        }
        if !missing.is_empty() {
            let mut seen = std::collections::HashSet::new();
            missing.retain(|r| seen.insert(r.clone()));
            return Ok(RenderOutcome::NeedData(missing));
        }
        let mut block = Vec::new();
        for (name, value) in &env {
            block.extend_from_slice(name.as_bytes());
            block.push(b'=');
            block.extend_from_slice(value);
            block.push(0);
        }
        Ok(RenderOutcome::Done(block))
    }

    fn is_deterministic(&self) -> bool {
        self.variables.iter().all(|(_, t)| t.is_deterministic())
    }

    fn literal_requests(&self) -> Vec<DataRequest> {
        let mut out: Vec<DataRequest> = self.folders.iter().map(|(_, r)| r.clone()).collect();
        for (_, template) in &self.variables {
            for r in template.literal_requests() {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }
}

/// A rendered environment block, read back: `NAME=VALUE\0` per variable.
#[derive(Clone, Copy)]
pub struct EnvBlock<'a>(pub &'a [u8]);

impl<'a> EnvBlock<'a> {
    /// Each variable's name and value.
    pub fn vars(self) -> impl Iterator<Item = (&'a OsStr, &'a OsStr)> {
        self.0
            .split(|&b| b == 0)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let eq = entry.iter().position(|&b| b == b'=').unwrap_or(entry.len());
                let (name, rest) = entry.split_at(eq);
                (
                    OsStr::from_bytes(name),
                    OsStr::from_bytes(rest.get(1..).unwrap_or_default()),
                )
            })
    }

    /// A SHA-256 of the block: tells a changed environment from a repeat without keeping a
    /// second copy of its secrets.
    pub fn digest(self) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(self.0).into()
    }

    /// The variables' names only (what a dry run shows).
    pub fn names(self) -> impl Iterator<Item = &'a OsStr> {
        self.vars().map(|(name, _)| name)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{EnvTemplateConfig, RestartOnChange};
    use crate::template::{SecretFields, Snapshot};

    #[test]
    fn env_names_are_letters_digits_and_underscores_not_leading_digits() {
        for ok in ["A", "_", "API_KEY", "a1", "_9"] {
            assert!(is_valid_env_name(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É", "A=B"] {
            assert!(!is_valid_env_name(bad), "{bad}");
        }
    }

    fn exec(env: &[(&str, &str)], folders: &[&str]) -> ExecConfig {
        ExecConfig {
            command: vec!["app".into()],
            line: 1,
            env: env
                .iter()
                .map(|(name, template)| EnvTemplateConfig {
                    name: name.to_string(),
                    template: template.to_string(),
                    line: 3,
                })
                .collect(),
            env_from: folders
                .iter()
                .enumerate()
                .map(|(index, path)| EnvFolderConfig {
                    index,
                    project: "p".into(),
                    environment: "dev".into(),
                    path: path.to_string(),
                    recursive: false,
                })
                .collect(),
            engine: EngineKind::Go,
            polling_interval: Duration::from_secs(60),
            restart_on_change: RestartOnChange::Always,
            stop_signal: nix::sys::signal::Signal::SIGTERM,
            stop_grace: Duration::from_secs(10),
            working_dir: None,
            inherit_env: true,
        }
    }

    fn secrets(pairs: &[(&str, &str)]) -> DataValue {
        let list = pairs
            .iter()
            .map(|(k, v)| {
                crate::template::Secret::new(SecretFields {
                    key: k.to_string(),
                    value: v.to_string(),
                    secret_path: "/".into(),
                    ..SecretFields::default()
                })
                .unwrap()
            })
            .collect();
        DataValue::Secrets(Arc::new(list))
    }

    fn render(t: &ChildEnvTemplate, data: &Snapshot) -> Result<RenderOutcome, RenderError> {
        t.render(data)
    }

    #[test]
    fn folders_and_templates_make_one_sorted_block_and_templates_win() {
        let t = ChildEnvTemplate::compile(&exec(
            &[("B", "from-template"), ("Z", "{{ \"z\" }}")],
            &["/"],
        ))
        .unwrap();
        let request = t.literal_requests()[0].clone();
        assert_eq!(
            render(&t, &Snapshot::new()).unwrap(),
            RenderOutcome::NeedData(vec![request.clone()])
        );
        let mut data = Snapshot::new();
        data.insert(request, Ok(secrets(&[("B", "from-folder"), ("A", "a=1")])));
        let RenderOutcome::Done(block) = render(&t, &data).unwrap() else {
            panic!("not done")
        };
        assert_eq!(block, b"A=a=1\0B=from-template\0Z=z\0");
        let vars: Vec<_> = EnvBlock(&block).vars().collect();
        assert_eq!(vars[0], (OsStr::new("A"), OsStr::new("a=1")));
        let names: Vec<_> = EnvBlock(&block).names().collect();
        assert_eq!(names, ["A", "B", "Z"]);
    }

    #[test]
    fn a_key_that_is_no_environment_name_fails_the_render_by_name() {
        let t = ChildEnvTemplate::compile(&exec(&[], &["/"])).unwrap();
        let mut data = Snapshot::new();
        data.insert(
            t.literal_requests()[0].clone(),
            Ok(secrets(&[("my-key", "v")])),
        );
        let err = render(&t, &data).unwrap_err().message;
        assert!(
            err.starts_with("exec.env-from[0]: the secret key \"my-key\" (folder /)"),
            "{err}"
        );
        assert!(!err.contains("\"v\""));
    }

    #[test]
    fn a_nul_byte_in_a_value_is_an_error_naming_the_variable() {
        let t = ChildEnvTemplate::compile(&exec(&[("X", "a{{ \"\\x00\" }}b")], &[])).unwrap();
        let err = render(&t, &Snapshot::new()).unwrap_err().message;
        assert!(
            err.starts_with("exec.env.X: the value contains a NUL byte"),
            "{err}"
        );
    }

    #[test]
    fn template_errors_name_the_variable_and_its_line() {
        let errors =
            ChildEnvTemplate::compile(&exec(&[("A", "{{ if }}"), ("B", "{{ end }}")], &[]))
                .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(
            errors[0].starts_with("exec.env.A (config line 3)"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("exec.env.B (config line 3)"),
            "{errors:?}"
        );
    }
}
