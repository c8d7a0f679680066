//! Flattening a list answer into what templates see (`docs/wire-contract.md` §12.3): the folder's
//! own secrets win; then imports apply from the last to the first, each key added only if it is not
//! present yet (so a later import overrides an earlier one).

use std::collections::HashSet;
use std::sync::Arc;

use super::secrets::{normalize_secret_path, RawSecret, SecretList};
use crate::template::{Secret, SecretTooLarge};

/// Flattens `list` with the server/CLI precedence. Own secrets keep the server's order (all of
/// them, even a key repeated across folders of a recursive list); imported secrets follow, in
/// the order they were taken (last import first). A secret without a folder gets its import
/// block's source folder, else the requested folder; one without a project gets `project_id`
/// (import items on late-2024 servers). Consumes the list: each secret is moved, never copied.
pub fn template_secrets(list: SecretList, requested_path: &str, project_id: &str) -> Vec<Secret> {
    let requested: Arc<str> = normalize_secret_path(requested_path).into();
    let project: Arc<str> = project_id.into();
    let fill = |secret: &mut Secret, folder: &Arc<str>| {
        if secret.secret_path().is_empty() {
            secret.set_secret_path(folder.clone());
        }
        if secret.workspace_id().is_empty() {
            secret.set_workspace_id(project.clone());
        }
    };
    let SecretList { secrets, imports } = list;
    let mut out = secrets.0;
    // Only imports need the keys already seen.
    let mut seen: HashSet<Box<str>> = if imports.is_empty() {
        HashSet::new()
    } else {
        out.iter().map(|s| s.key().into()).collect()
    };
    for secret in &mut out {
        fill(secret, &requested);
    }
    for block in imports.into_iter().rev() {
        let folder: Arc<str> = if block.secret_path.is_empty() {
            requested.clone()
        } else {
            block.secret_path.into()
        };
        for mut secret in block.secrets.0 {
            if seen.insert(secret.key().into()) {
                fill(&mut secret, &folder);
                out.push(secret);
            }
        }
    }
    out
}

/// The template view of one secret got by name, in `secret_path`; `project_id` fills in the
/// project when the server left it empty.
pub fn to_template_secret(
    raw: RawSecret,
    secret_path: &str,
    project_id: &str,
) -> Result<Secret, SecretTooLarge> {
    let project = if raw.workspace.is_empty() {
        project_id.into()
    } else {
        raw.workspace.as_str().into()
    };
    raw.into_template(project, secret_path.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(json: &str) -> SecretList {
        serde_json::from_str(json).unwrap()
    }

    /// (key, value, folder) of each secret, in order.
    fn values(merged: &[Secret]) -> Vec<(&str, &str, &str)> {
        merged
            .iter()
            .map(|s| (s.key(), s.value(), s.secret_path()))
            .collect()
    }

    #[test]
    fn own_secrets_win_then_later_imports_override_earlier() {
        let list = list(
            r#"{"secrets":[{"secretKey":"A","secretValue":"own","secretPath":"/app"}],
                "imports":[
                  {"secretPath":"/first","secrets":[
                    {"secretKey":"A","secretValue":"first"},
                    {"secretKey":"B","secretValue":"first"},
                    {"secretKey":"C","secretValue":"first"}]},
                  {"secretPath":"/second","secrets":[{"secretKey":"B","secretValue":"second"}]}]}"#,
        );
        assert_eq!(
            values(&template_secrets(list, "/app", "proj-1")),
            [
                ("A", "own", "/app"),
                ("B", "second", "/second"),
                ("C", "first", "/first"),
            ]
        );
    }

    #[test]
    fn recursive_own_duplicates_are_all_kept() {
        let list = list(
            r#"{"secrets":[{"secretKey":"A","secretValue":"root","secretPath":"/"},
                           {"secretKey":"A","secretValue":"sub","secretPath":"/sub"}],
                "imports":[{"secretPath":"/x","secrets":[{"secretKey":"A","secretValue":"imported"}]}]}"#,
        );
        assert_eq!(
            values(&template_secrets(list, "/", "")),
            [("A", "root", "/"), ("A", "sub", "/sub")]
        );
    }

    #[test]
    fn missing_paths_fall_back_to_the_request_and_import_blocks_without_one_too() {
        let list = list(
            r#"{"secrets":[{"secretKey":"A","secretValue":"v"}],
                "imports":[{"secrets":[{"secretKey":"B","secretValue":"w"}]}]}"#,
        );
        assert_eq!(
            values(&template_secrets(list, "/app/", "")),
            [("A", "v", "/app"), ("B", "w", "/app")]
        );
    }

    #[test]
    fn template_view_fills_the_project_and_keeps_every_field() {
        let list = list(
            r#"{"secrets":[{"id":"id-K","secretKey":"K","secretValue":"v","secretPath":"/p",
                            "secretComment":"c","tags":[{"id":"t","slug":"db","name":"DB"}]},
                           {"secretKey":"L","secretValue":"w","workspace":"other","type":"personal"}]}"#,
        );
        let out = template_secrets(list, "/p", "proj-1");
        let k = &out[0];
        assert_eq!(
            (k.key(), k.value(), k.id(), k.comment()),
            ("K", "v", "id-K", "c")
        );
        assert_eq!(
            (k.workspace_id(), k.secret_path(), k.secret_type()),
            ("proj-1", "/p", "shared")
        );
        assert_eq!(&*k.tags()[0], "db");
        let l = &out[1];
        assert_eq!((l.workspace_id(), l.secret_type()), ("other", "personal"));
    }

    #[test]
    fn the_folder_and_project_of_a_list_are_kept_once() {
        let list = list(
            r#"{"secrets":[{"secretKey":"A","secretValue":"1","secretPath":"/f","workspace":"w"},
                           {"secretKey":"B","secretValue":"2","secretPath":"/f","workspace":"w"}]}"#,
        );
        let out = template_secrets(list, "/", "");
        assert!(std::ptr::eq(out[0].secret_path(), out[1].secret_path()));
        assert!(std::ptr::eq(out[0].workspace_id(), out[1].workspace_id()));
    }

    #[test]
    fn null_lists_are_refused_for_secrets_and_empty_for_imports() {
        assert!(serde_json::from_str::<SecretList>(r#"{"secrets":null}"#).is_err());
        let l = list(r#"{"secrets":[],"imports":null}"#);
        assert!(l.imports.is_empty());
    }
}
