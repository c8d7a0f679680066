//! The agent's template functions (`secret`, `listSecrets`, `listSecretsByProjectSlug`,
//! `getSecretByName`, `dynamic_secret`, `dynamicSecret`): they turn their arguments into a
//! [`DataRequest`] and answer from the [`DataSource`]. Data not fetched yet is recorded and
//! replaced by an empty placeholder so rendering can go on and find every other request.

use std::rc::Rc;

use super::exec::{empty_secrets, State};
use super::value::{ElemType, Value};

use crate::template::data::{DataRequest, DataValue, ProjectRef};
use crate::template::functions::in_template_order;
use crate::template::secret::{Secret, SharedSecret};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentFn {
    /// `secret` / `listSecrets`: project by id.
    ListSecrets,
    /// `listSecretsByProjectSlug`.
    ListSecretsBySlug,
    GetSecretByName,
    /// `dynamic_secret` / `dynamicSecret`.
    DynamicSecret,
}

pub fn lookup(name: &str) -> Option<AgentFn> {
    Some(match name {
        "secret" | "listSecrets" => AgentFn::ListSecrets,
        "listSecretsByProjectSlug" => AgentFn::ListSecretsBySlug,
        "getSecretByName" => AgentFn::GetSecretByName,
        "dynamic_secret" | "dynamicSecret" => AgentFn::DynamicSecret,
        _ => return None,
    })
}

/// The options JSON of the list functions, decoded like Go's `encoding/json` into
/// `struct { IsRecursive bool "json:recursive"; Expand *bool "json:expandSecretReferences" }`:
/// keys match case-insensitively, `null` leaves a field alone, a wrong type is an error and
/// unknown keys are ignored.
pub fn decode_options(raw: &[u8]) -> Result<(bool, bool), String> {
    let text = String::from_utf8_lossy(raw);
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("invalid options JSON: {e}"))?;
    let mut recursive = false;
    let mut expand: Option<bool> = None;
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    match &v {
        serde_json::Value::Null => {}
        serde_json::Value::Object(o) => {
            for (k, val) in o {
                let field = match fold(k).as_str() {
                    "recursive" => "recursive",
                    "expandsecretreferences" => "expandSecretReferences",
                    _ => continue,
                };
                match val {
                    serde_json::Value::Null => {
                        if field == "expandSecretReferences" {
                            expand = None;
                        }
                    }
                    serde_json::Value::Bool(b) => {
                        if field == "recursive" {
                            recursive = *b;
                        } else {
                            expand = Some(*b);
                        }
                    }
                    other => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field secretArguments.{field} of type bool",
                            kind(other)
                        ))
                    }
                }
            }
        }
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type main.secretArguments",
                kind(other)
            ))
        }
    }
    Ok((recursive, expand.unwrap_or(true)))
}

/// Go's `strings.EqualFold` closure for ASCII plus the two non-ASCII folds of `k` and `s`.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{212A}' => 'k',
            '\u{17F}' => 's',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        _ => String::new(),
    }
}

/// The request a call with these (string) arguments makes.
pub fn request_for(f: AgentFn, args: &[Value]) -> Result<DataRequest, String> {
    match f {
        AgentFn::ListSecrets | AgentFn::ListSecretsBySlug => {
            let (recursive, expand_references) = match args.get(3) {
                Some(Value::Str(raw)) => decode_options(raw)?,
                _ => (false, true),
            };
            let project = if f == AgentFn::ListSecrets {
                ProjectRef::Id(text(&args[0]))
            } else {
                ProjectRef::Slug(text(&args[0]))
            };
            Ok(DataRequest::ListSecrets {
                project,
                environment: text(&args[1]),
                path: text(&args[2]),
                recursive,
                expand_references,
            })
        }
        AgentFn::GetSecretByName => Ok(DataRequest::GetSecret {
            project_id: text(&args[0]),
            environment: text(&args[1]),
            path: text(&args[2]),
            name: text(&args[3]),
        }),
        AgentFn::DynamicSecret => {
            if args.len() != 4 && args.len() != 5 {
                return Err(format!(
                    "invalid arguments found for dynamic-secret function: want 4 or 5, got {}",
                    args.len()
                ));
            }
            Ok(DataRequest::DynamicSecret {
                project_slug: text(&args[0]),
                environment: text(&args[1]),
                path: text(&args[2]),
                name: text(&args[3]),
                ttl: args.get(4).map(text),
            })
        }
    }
}

/// Runs an agent function on validated string arguments.
pub fn call(f: AgentFn, args: &[Value], state: &mut State<'_>) -> Result<Value, String> {
    let request = request_for(f, args)?;
    let answer = state.data.lookup(&request);
    let Some(answer) = answer else {
        if !state.missing.contains(&request) {
            state.missing.push(request);
        }
        return Ok(match f {
            AgentFn::ListSecrets | AgentFn::ListSecretsBySlug => empty_secrets(),
            AgentFn::GetSecretByName => Value::Secret(SharedSecret::single(Secret::default())),
            AgentFn::DynamicSecret => Value::map(Default::default()),
        });
    };
    let value = answer?;
    if let Some(done) = state.converted.get(&request) {
        return Ok(done.clone());
    }
    match (f, value) {
        (AgentFn::ListSecrets | AgentFn::ListSecretsBySlug, DataValue::Secrets(list)) => {
            // Shared, not copied: each value is the list and a position in it.
            let value = Value::List(
                Rc::new(
                    in_template_order(&list)
                        .filter_map(|i| SharedSecret::in_list(&list, i))
                        .map(Value::Secret)
                        .collect(),
                ),
                ElemType::Secret,
            );
            state.converted.insert(request, value.clone());
            Ok(value)
        }
        (AgentFn::GetSecretByName, DataValue::Secret(s)) => {
            let value = Value::Secret(s.clone());
            state.converted.insert(request, value.clone());
            Ok(value)
        }
        (AgentFn::DynamicSecret, DataValue::Credentials(c)) => {
            Ok(Value::map(super::value::json_map(&c)))
        }
        _ => Err("the data source answered with the wrong kind of data".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_decode_like_encoding_json() {
        assert_eq!(
            decode_options(br#"{"recursive": true}"#).unwrap(),
            (true, true)
        );
        assert_eq!(
            decode_options(br#"{"Recursive": true, "EXPANDSECRETREFERENCES": false}"#).unwrap(),
            (true, false)
        );
        assert_eq!(decode_options(b"null").unwrap(), (false, true));
        assert_eq!(
            decode_options(br#"{"recursive": null, "foo": 1}"#).unwrap(),
            (false, true)
        );
        assert!(decode_options(br#"{"recursive": "yes"}"#)
            .unwrap_err()
            .contains("cannot unmarshal string"));
        assert!(decode_options(b"{recursive: true}").is_err());
        assert!(decode_options(b"[]").is_err());
    }

    #[test]
    fn dynamic_secret_arg_count() {
        let a = |n: usize| vec![Value::str("x"); n];
        assert!(request_for(AgentFn::DynamicSecret, &a(3))
            .unwrap_err()
            .contains("want 4 or 5, got 3"));
        assert!(request_for(AgentFn::DynamicSecret, &a(5)).is_ok());
        assert!(request_for(AgentFn::DynamicSecret, &a(6)).is_err());
    }
}
