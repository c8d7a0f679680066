//! The Handlebars engine (`engine: handlebars`, or a `.hbs`/`.handlebars` source): the agent's
//! functions as helpers usable in subexpressions, HTML escaping off (secret values are written
//! verbatim), strict mode on.
//!
//! Helpers read from the render's [`DataSource`]; the registry is built per render so helpers can
//! borrow it (no global state). A call whose data is missing records its request and yields an
//! empty placeholder; the render then reports [`RenderOutcome::NeedData`].
//!
//! A template that could overflow the stack (self-including partials, deep nesting) is refused
//! when it is compiled: see [`super::handlebars_limits`].

use std::sync::Mutex;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext, RenderError as HbRenderError,
    RenderErrorReason, ScopedJson, Template,
};
use serde_json::Value;

use super::data::{DataRequest, DataSource, ProjectRef};
use super::functions::{data_json, dynamic_request, get_request, list_request, placeholder_json};
use super::handlebars_limits::{check_source, check_template};
use super::{CompiledTemplate, RenderError, RenderOutcome, TemplateEngine, TemplateError};

/// Names under which the agent functions are registered.
const LIST_BY_ID: [&str; 2] = ["secret", "listSecrets"];
const LIST_BY_SLUG: &str = "listSecretsByProjectSlug";
const GET: &str = "getSecretByName";
const DYNAMIC: [&str; 2] = ["dynamic_secret", "dynamicSecret"];

/// Largest output a template may produce.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Default, Clone, Copy)]
pub struct HandlebarsEngine;

impl TemplateEngine for HandlebarsEngine {
    fn compile(
        &self,
        name: &str,
        source: &[u8],
    ) -> Result<Box<dyn CompiledTemplate>, TemplateError> {
        let text = std::str::from_utf8(source).map_err(|e| TemplateError {
            message: format!("template {name}: Handlebars templates must be UTF-8 ({e})"),
            line: None,
            column: None,
        })?;
        let refused = |message: String| TemplateError {
            message: format!("template {name}: {message}"),
            line: None,
            column: None,
        };
        check_source(text).map_err(refused)?;
        let template = Template::compile(text).map_err(|e| {
            let (line, column) = e.pos().map_or((None, None), |(l, c)| (Some(l), Some(c)));
            let at = line.map_or(String::new(), |l| format!(":{l}:{}", column.unwrap_or(0)));
            TemplateError {
                message: format!("template {name}{at}: {}", e.reason()),
                line,
                column,
            }
        })?;
        check_template(&template).map_err(refused)?;
        Ok(Box::new(HandlebarsTemplate {
            name: name.to_string(),
            template,
        }))
    }
}

#[derive(Debug)]
struct HandlebarsTemplate {
    name: String,
    template: Template,
}

/// What the helpers share during one render.
struct Calls<'a> {
    data: &'a dyn DataSource,
    missing: Mutex<Vec<DataRequest>>,
}

impl Calls<'_> {
    fn answer(&self, request: DataRequest) -> Result<Value, HbRenderError> {
        match self.data.lookup(&request) {
            Some(Ok(value)) => Ok(data_json(&value)),
            Some(Err(message)) => Err(RenderErrorReason::Other(message).into()),
            None => {
                let placeholder = placeholder_json(&request);
                if let Ok(mut m) = self.missing.lock() {
                    if !m.contains(&request) {
                        m.push(request);
                    }
                }
                Ok(placeholder)
            }
        }
    }
}

enum Function {
    ListById,
    ListBySlug,
    Get,
    Dynamic(&'static str),
}

struct AgentHelper<'a> {
    function: Function,
    calls: &'a Calls<'a>,
}

fn string_args(name: &str, h: &Helper<'_>) -> Result<Vec<String>, HbRenderError> {
    h.params()
        .iter()
        .enumerate()
        .map(|(i, p)| match p.value() {
            Value::String(s) => Ok(s.clone()),
            _ => Err(RenderErrorReason::Other(format!(
                "{name}: argument {} must be a string",
                i + 1
            ))
            .into()),
        })
        .collect()
}

impl HelperDef for AgentHelper<'_> {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, HbRenderError> {
        let name = h.name();
        let args = string_args(name, h)?;
        let wrong_count = |want: &str| -> HbRenderError {
            RenderErrorReason::Other(format!(
                "{name}: wrong number of arguments: want {want}, got {}",
                args.len()
            ))
            .into()
        };
        let request = match self.function {
            Function::ListById | Function::ListBySlug => {
                if args.len() < 3 {
                    return Err(wrong_count("3 or 4"));
                }
                let project = match self.function {
                    Function::ListById => ProjectRef::Id(args[0].clone()),
                    _ => ProjectRef::Slug(args[0].clone()),
                };
                list_request(project, &args[1], &args[2], args.get(3).map(String::as_str)).map_err(
                    |e| HbRenderError::from(RenderErrorReason::Other(format!("{name}: {e}"))),
                )?
            }
            Function::Get => {
                if args.len() != 4 {
                    return Err(wrong_count("4"));
                }
                get_request(&args[0], &args[1], &args[2], &args[3])
            }
            Function::Dynamic(function) => dynamic_request(function, &args)
                .map_err(|e| HbRenderError::from(RenderErrorReason::Other(e)))?,
        };
        Ok(ScopedJson::Derived(self.calls.answer(request)?))
    }
}

impl CompiledTemplate for HandlebarsTemplate {
    fn render(&self, data: &dyn DataSource) -> Result<RenderOutcome, RenderError> {
        let calls = Calls {
            data,
            missing: Mutex::new(vec![]),
        };
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        for name in LIST_BY_ID {
            hb.register_helper(
                name,
                Box::new(AgentHelper {
                    function: Function::ListById,
                    calls: &calls,
                }),
            );
        }
        hb.register_helper(
            LIST_BY_SLUG,
            Box::new(AgentHelper {
                function: Function::ListBySlug,
                calls: &calls,
            }),
        );
        hb.register_helper(
            GET,
            Box::new(AgentHelper {
                function: Function::Get,
                calls: &calls,
            }),
        );
        for name in DYNAMIC {
            hb.register_helper(
                name,
                Box::new(AgentHelper {
                    function: Function::Dynamic(name),
                    calls: &calls,
                }),
            );
        }
        hb.register_template(&self.name, self.template.clone());
        let mut out = CappedOutput::default();
        let result = hb.render_with_context_to_write(&self.name, &Context::null(), &mut out);
        drop(hb);
        let missing = calls.missing.into_inner().unwrap_or_default();
        if !missing.is_empty() {
            // Errors after a missing call may come from its placeholder: fetch first.
            return Ok(RenderOutcome::NeedData(missing));
        }
        match result {
            _ if out.over => Err(RenderError {
                message: format!(
                    "template {}: output larger than {MAX_OUTPUT_BYTES} bytes",
                    self.name
                ),
            }),
            Ok(()) => Ok(RenderOutcome::Done(out.bytes)),
            Err(e) => Err(RenderError {
                message: render_error_message(&self.name, &e),
            }),
        }
    }

    /// Only the agent's helpers and Handlebars' own (`if`, `each`, `lookup`, ...) are
    /// registered: none reads the clock, randomness or the network.
    fn is_deterministic(&self) -> bool {
        true
    }

    fn literal_requests(&self) -> Vec<DataRequest> {
        // Handlebars calls are discovered by the first render (data lookups are cheap to redo).
        vec![]
    }
}

/// The render's output, refused past [`MAX_OUTPUT_BYTES`] as it is written: the render stops
/// there (an `{{#each}}` over a large list repeated many times never builds its whole text).
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + data.len() > MAX_OUTPUT_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the output limit"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A render error naming the template and position, without values: strict-mode messages name
/// paths (template text), never data.
fn render_error_message(name: &str, e: &HbRenderError) -> String {
    let position = match (e.line_no, e.column_no) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        _ => String::new(),
    };
    format!("template {name}{position}: {}", e.reason())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::template::{DataValue, Secret, SecretFields, SharedSecret, Snapshot};

    fn render(src: &str, snapshot: &Snapshot) -> Result<RenderOutcome, RenderError> {
        HandlebarsEngine
            .compile("t.hbs", src.as_bytes())
            .map_err(|e| RenderError { message: e.message })?
            .render(snapshot)
    }

    fn secrets(values: &[(&str, &str)]) -> DataValue {
        DataValue::Secrets(Arc::new(
            values
                .iter()
                .map(|(k, v)| {
                    Secret::new(SecretFields {
                        key: k.to_string(),
                        value: v.to_string(),
                        secret_path: "/".into(),
                        r#type: "shared".into(),
                        ..SecretFields::default()
                    })
                    .unwrap()
                })
                .collect(),
        ))
    }

    fn list_req() -> DataRequest {
        list_request(ProjectRef::Id("p".into()), "dev", "/", None).unwrap()
    }

    #[test]
    fn missing_data_is_requested_then_rendered() {
        let src = "{{#each (secret \"p\" \"dev\" \"/\")}}{{Key}}={{Value}}\n{{/each}}";
        let mut snap = Snapshot::new();
        assert_eq!(
            render(src, &snap).unwrap(),
            RenderOutcome::NeedData(vec![list_req()])
        );
        snap.insert(list_req(), Ok(secrets(&[("B", "2"), ("A", "1")])));
        assert_eq!(
            render(src, &snap).unwrap(),
            RenderOutcome::Done(b"A=1\nB=2\n".to_vec())
        );
    }

    #[test]
    fn output_stops_at_the_limit_as_it_is_written() {
        // 200 secrets of 4 KB, each three levels deep: 200^3 x 4 KB = 6.4 TB if rendered to the
        // end (as it was, the limit then being checked on the whole text); refused at 64 MiB.
        let value = "v".repeat(4096);
        let keys: Vec<String> = (0..200).map(|i| format!("K{i}")).collect();
        let values: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
        let mut snap = Snapshot::new();
        snap.insert(list_req(), Ok(secrets(&values)));
        let each =
            |inner: &str| format!("{{{{#each (secret \"p\" \"dev\" \"/\")}}}}{inner}{{{{/each}}}}");
        let src = each(&each(&each("{{Value}}")));
        let e = render(&src, &snap).unwrap_err();
        assert!(e.message.contains("output larger than"), "{}", e.message);
    }

    #[test]
    fn values_are_written_verbatim() {
        let tricky = "{{x}} <b>&amp;\"'\n\0 ünï ✓";
        let mut snap = Snapshot::new();
        snap.insert(list_req(), Ok(secrets(&[("K", tricky)])));
        let out = render(
            "{{#each (secret \"p\" \"dev\" \"/\")}}{{Value}}{{/each}}",
            &snap,
        )
        .unwrap();
        assert_eq!(out, RenderOutcome::Done(tricky.as_bytes().to_vec()));
    }

    #[test]
    fn get_and_dynamic_secrets_work_in_subexpressions() {
        let mut snap = Snapshot::new();
        let get = get_request("p", "dev", "/", "K");
        snap.insert(
            get,
            Ok(DataValue::Secret(SharedSecret::single(
                Secret::new(SecretFields {
                    key: "K".into(),
                    value: "v".into(),
                    ..SecretFields::default()
                })
                .unwrap(),
            ))),
        );
        let dynamic = dynamic_request(
            "dynamic_secret",
            &["s".into(), "dev".into(), "/".into(), "db".into()],
        )
        .unwrap();
        let mut creds = serde_json::Map::new();
        creds.insert("DB_USERNAME".into(), "user".into());
        snap.insert(dynamic, Ok(DataValue::Credentials(Arc::new(creds))));
        let src = "{{#with (getSecretByName \"p\" \"dev\" \"/\" \"K\")}}{{Value}}{{/with}} {{#with (dynamic_secret \"s\" \"dev\" \"/\" \"db\")}}{{DB_USERNAME}}{{/with}}";
        assert_eq!(
            render(src, &snap).unwrap(),
            RenderOutcome::Done(b"v user".to_vec())
        );
    }

    #[test]
    fn strict_mode_and_errors_name_the_template_not_values() {
        let mut snap = Snapshot::new();
        snap.insert(list_req(), Err("folder not found".into()));
        let err = render("{{#each (secret \"p\" \"dev\" \"/\")}}{{/each}}", &snap).unwrap_err();
        assert!(
            err.message.contains("t.hbs") && err.message.contains("folder not found"),
            "{}",
            err.message
        );
        let err = render("{{nope}}", &Snapshot::new()).unwrap_err();
        assert!(err.message.contains("t.hbs"), "{}", err.message);
        let err = render("{{dynamic_secret \"a\"}}", &Snapshot::new()).unwrap_err();
        assert!(err.message.contains("dynamic_secret"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = HandlebarsEngine
            .compile("bad.hbs", b"line1\n{{#each x}}\n")
            .unwrap_err();
        assert!(err.message.contains("bad.hbs"), "{}", err.message);
        assert!(err.line.is_some());
    }
}
