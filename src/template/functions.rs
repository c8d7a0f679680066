//! The agent's template functions, independent of the engine: argument rules, the data request
//! each call makes, and the shape of what it returns. Both engines call these.

use serde_json::{Map, Value};

use super::data::{DataRequest, DataValue, ProjectRef};
use super::secret::Secret;

/// Options of `secret` / `listSecretsByProjectSlug`, decoded as Go's `encoding/json` would decode
/// them into the Infisical agent's struct: keys match case-insensitively (an exact match first),
/// `null` leaves a default alone, unknown keys are ignored, a wrong type is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions {
    pub recursive: bool,
    pub expand_references: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        Self {
            recursive: false,
            expand_references: true,
        }
    }
}

/// Parses the optional JSON options argument, with the Go engine's decoder (the one place that
/// mirrors `encoding/json`, including its case folding and `null` handling).
pub fn parse_list_options(json: &str) -> Result<ListOptions, String> {
    let (recursive, expand_references) = super::go::agent::decode_options(json.as_bytes())?;
    Ok(ListOptions {
        recursive,
        expand_references,
    })
}

/// `secret` / `listSecrets` (by project id) and `listSecretsByProjectSlug` (by slug).
pub fn list_request(
    project: ProjectRef,
    environment: &str,
    path: &str,
    options: Option<&str>,
) -> Result<DataRequest, String> {
    let options = match options {
        Some(json) => parse_list_options(json)?,
        None => ListOptions::default(),
    };
    Ok(DataRequest::ListSecrets {
        project,
        environment: environment.to_string(),
        path: path.to_string(),
        recursive: options.recursive,
        expand_references: options.expand_references,
    })
}

/// `getSecretByName`.
pub fn get_request(project_id: &str, environment: &str, path: &str, name: &str) -> DataRequest {
    DataRequest::GetSecret {
        project_id: project_id.to_string(),
        environment: environment.to_string(),
        path: path.to_string(),
        name: name.to_string(),
    }
}

/// `dynamic_secret` / `dynamicSecret`: 4 or 5 string arguments.
pub fn dynamic_request(function: &str, args: &[String]) -> Result<DataRequest, String> {
    if args.len() != 4 && args.len() != 5 {
        return Err(format!(
            "invalid arguments found for {function} function: want 4 or 5, got {}",
            args.len()
        ));
    }
    Ok(DataRequest::DynamicSecret {
        project_slug: args[0].clone(),
        environment: args[1].clone(),
        path: args[2].clone(),
        name: args[3].clone(),
        ttl: args.get(4).filter(|t| !t.is_empty()).cloned(),
    })
}

/// The positions of `secrets` in the order `secret` returns them: by (SecretPath, Key), stably.
/// The client hands lists over sorted already ([`sort_secrets`]); then no order is built (`None`
/// from [`template_order`]) and a render walks the list as it is.
pub fn in_template_order(secrets: &[Secret]) -> impl Iterator<Item = usize> + '_ {
    let order = template_order(secrets);
    (0..secrets.len()).map(move |i| order.as_ref().map_or(i, |o| o.get(i).copied().unwrap_or(i)))
}

/// `None` when `secrets` is already in template order, else the sorted positions.
pub fn template_order(secrets: &[Secret]) -> Option<Vec<usize>> {
    if secrets.is_sorted_by(|a, b| secret_order(a, b).is_le()) {
        return None;
    }
    let mut order: Vec<usize> = (0..secrets.len()).collect();
    order.sort_by(|&a, &b| match (secrets.get(a), secrets.get(b)) {
        (Some(x), Some(y)) => secret_order(x, y),
        _ => a.cmp(&b),
    });
    Some(order)
}

/// Sorts `secrets` by (SecretPath, Key), stably.
pub fn sort_secrets(secrets: &mut [Secret]) {
    secrets.sort_by(secret_order);
}

fn secret_order(a: &Secret, b: &Secret) -> std::cmp::Ordering {
    (a.secret_path(), a.key()).cmp(&(b.secret_path(), b.key()))
}

/// A secret as a JSON object with the template-visible field names.
pub fn secret_json(s: &Secret) -> Value {
    let mut m = Map::new();
    m.insert("Key".into(), s.key().into());
    m.insert("Value".into(), s.value().into());
    m.insert("WorkspaceId".into(), s.workspace_id().into());
    m.insert("SecretPath".into(), s.secret_path().into());
    m.insert("Type".into(), s.secret_type().into());
    m.insert("ID".into(), s.id().into());
    m.insert("Comment".into(), s.comment().into());
    m.insert(
        "Tags".into(),
        Value::Array(
            s.tags()
                .iter()
                .map(|t| Value::String(t.to_string()))
                .collect(),
        ),
    );
    Value::Object(m)
}

/// A fetched answer as JSON (for engines whose values are JSON).
pub fn data_json(value: &DataValue) -> Value {
    match value {
        DataValue::Secrets(list) => Value::Array(
            in_template_order(list)
                .filter_map(|i| list.get(i))
                .map(secret_json)
                .collect(),
        ),
        DataValue::Secret(s) => secret_json(s),
        DataValue::Credentials(map) => Value::Object((**map).clone()),
    }
}

/// The placeholder returned for a call whose data is not fetched yet.
pub fn placeholder_json(request: &DataRequest) -> Value {
    match request {
        DataRequest::ListSecrets { .. } => Value::Array(vec![]),
        DataRequest::GetSecret { .. } => secret_json(&Secret::default()),
        DataRequest::DynamicSecret { .. } => Value::Object(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::SecretFields;

    #[test]
    fn options_follow_go_encoding_json() {
        assert_eq!(parse_list_options("{}").unwrap(), ListOptions::default());
        assert_eq!(parse_list_options("null").unwrap(), ListOptions::default());
        let o = parse_list_options(
            r#"{"RECURSIVE": true, "expandsecretreferences": false, "other": 1}"#,
        )
        .unwrap();
        assert!(o.recursive && !o.expand_references);
        assert!(
            !parse_list_options(r#"{"recursive": null}"#)
                .unwrap()
                .recursive
        );
        assert!(parse_list_options(r#"{"recursive": "true"}"#).is_err());
        assert!(parse_list_options("[1]").is_err());
        assert!(parse_list_options("{").is_err());
        // Both spellings name the same field: the last one wins, as in Go.
        assert!(
            !parse_list_options(r#"{"recursive": true, "Recursive": false}"#)
                .unwrap()
                .recursive
        );
    }

    #[test]
    fn dynamic_secret_takes_four_or_five_arguments() {
        let args: Vec<String> = ["p", "dev", "/", "redis"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(matches!(
            dynamic_request("dynamic_secret", &args).unwrap(),
            DataRequest::DynamicSecret { ttl: None, .. }
        ));
        let mut five = args.clone();
        five.push("1m".into());
        assert!(matches!(
            dynamic_request("dynamic_secret", &five).unwrap(),
            DataRequest::DynamicSecret { ttl: Some(_), .. }
        ));
        let err = dynamic_request("dynamic_secret", &args[..3]).unwrap_err();
        assert!(
            err.contains("dynamic_secret") && err.contains("got 3"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_sorted_by_path_then_key() {
        let s = |p: &str, k: &str| {
            Secret::new(SecretFields {
                secret_path: p.into(),
                key: k.into(),
                ..SecretFields::default()
            })
            .unwrap()
        };
        let mut list = vec![s("/b", "A"), s("/", "Z"), s("/", "B")];
        let keys = |list: &[Secret]| -> Vec<String> {
            in_template_order(list)
                .map(|i| format!("{}{}", list[i].secret_path(), list[i].key()))
                .collect()
        };
        assert!(template_order(&list).is_some());
        assert_eq!(keys(&list), ["/B", "/Z", "/bA"]);
        // A sorted list is walked as it is: no order is built.
        sort_secrets(&mut list);
        assert!(template_order(&list).is_none());
        assert_eq!(keys(&list), ["/B", "/Z", "/bA"]);
    }
}
