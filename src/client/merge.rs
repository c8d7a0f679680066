//! Flattening a list answer into what templates see (`kms-api.md` §12.3): the folder's own
//! secrets win; then imports apply from the last to the first, each key added only if it is not
//! present yet (so a later import overrides an earlier one).

use std::collections::HashSet;
use std::sync::Arc;

use super::secrets::{normalize_secret_path, RawSecret, SecretList};
use crate::template::Secret;

/// One secret of a flattened list, with its folder resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedSecret {
    pub secret: RawSecret,
    /// The folder it came from: its own `secretPath`, else the import block's source folder, else
    /// the requested folder.
    pub secret_path: String,
    /// True when it came from an import.
    pub imported: bool,
}

/// Flattens `list` with the server/CLI precedence. Own secrets keep the server's order (all of
/// them, even a key repeated across folders of a recursive list); imported secrets follow, in
/// the order they were taken (last import first).
pub fn merge_imports(list: SecretList, requested_path: &str) -> Vec<MergedSecret> {
    merge_imports_into(list, requested_path, |secret, secret_path, imported| {
        MergedSecret {
            secret,
            secret_path,
            imported,
        }
    })
}

/// [`merge_imports`], each secret handed to `take` with its folder and whether it was imported.
/// Consumes the list and builds no list of its own: an answer may hold a million secrets, each
/// moved once into what `take` makes of it.
fn merge_imports_into<T>(
    list: SecretList,
    requested_path: &str,
    mut take: impl FnMut(RawSecret, String, bool) -> T,
) -> Vec<T> {
    let requested_path = normalize_secret_path(requested_path);
    let SecretList { secrets, imports } = list;
    // Only imports need the keys already seen.
    let mut seen: HashSet<String> = if imports.is_empty() {
        HashSet::new()
    } else {
        secrets.iter().map(|s| s.secret_key.clone()).collect()
    };
    let mut out = Vec::with_capacity(secrets.len());
    for s in secrets {
        let path = s
            .secret_path
            .clone()
            .unwrap_or_else(|| requested_path.clone());
        out.push(take(s, path, false));
    }
    for block in imports.into_iter().rev() {
        for s in block.secrets {
            if seen.insert(s.secret_key.clone()) {
                let path = s.secret_path.clone().unwrap_or_else(|| {
                    if block.secret_path.is_empty() {
                        requested_path.clone()
                    } else {
                        block.secret_path.clone()
                    }
                });
                out.push(take(s, path, true));
            }
        }
    }
    out
}

/// The template view of one secret, its strings moved. `project_id` fills in the project when
/// the server left it empty (import items on late-2024 servers).
pub fn to_template_secret(raw: RawSecret, secret_path: String, project_id: &str) -> Secret {
    Secret {
        key: raw.secret_key,
        value: raw.secret_value.into_inner(),
        workspace_id: if raw.workspace.is_empty() {
            project_id.to_string()
        } else {
            raw.workspace
        },
        secret_path,
        r#type: raw.secret_type,
        id: raw.id,
        comment: raw.secret_comment,
        tags: raw.tags.into_iter().map(|t| t.slug).collect(),
    }
}

/// [`merge_imports`], then [`to_template_secret`] on each, shared as templates see them.
pub fn template_secrets(
    list: SecretList,
    requested_path: &str,
    project_id: &str,
) -> Vec<Arc<Secret>> {
    merge_imports_into(list, requested_path, |secret, path, _| {
        Arc::new(to_template_secret(secret, path, project_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::secrets::SecretImport;
    use crate::sensitive::Sensitive;

    fn secret(key: &str, value: &str, path: Option<&str>) -> RawSecret {
        RawSecret {
            id: format!("id-{key}-{value}"),
            workspace: String::new(),
            environment: "dev".into(),
            version: Some(1),
            secret_type: "shared".into(),
            secret_key: key.into(),
            secret_value: Sensitive::new(value.into()),
            secret_comment: String::new(),
            secret_path: path.map(Into::into),
            secret_value_hidden: false,
            tags: vec![],
        }
    }

    fn import(path: &str, secrets: Vec<RawSecret>) -> SecretImport {
        SecretImport {
            secret_path: path.into(),
            environment: "staging".into(),
            folder_id: None,
            secrets,
        }
    }

    fn values(merged: &[MergedSecret]) -> Vec<(String, String, String)> {
        merged
            .iter()
            .map(|m| {
                (
                    m.secret.secret_key.clone(),
                    m.secret.secret_value.expose().clone(),
                    m.secret_path.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn own_secrets_win_then_later_imports_override_earlier() {
        let list = SecretList {
            secrets: vec![secret("A", "own", Some("/app"))],
            imports: vec![
                import(
                    "/first",
                    vec![
                        secret("A", "first", None),
                        secret("B", "first", None),
                        secret("C", "first", None),
                    ],
                ),
                import("/second", vec![secret("B", "second", None)]),
            ],
        };
        let merged = merge_imports(list.clone(), "/app");
        assert_eq!(
            values(&merged),
            vec![
                ("A".into(), "own".into(), "/app".into()),
                ("B".into(), "second".into(), "/second".into()),
                ("C".into(), "first".into(), "/first".into()),
            ]
        );
        assert!(!merged[0].imported && merged[1].imported);
    }

    #[test]
    fn recursive_own_duplicates_are_all_kept() {
        let list = SecretList {
            secrets: vec![
                secret("A", "root", Some("/")),
                secret("A", "sub", Some("/sub")),
            ],
            imports: vec![import("/x", vec![secret("A", "imported", None)])],
        };
        let merged = merge_imports(list.clone(), "/");
        assert_eq!(merged.len(), 2);
        assert!(merged.iter().all(|m| !m.imported));
    }

    #[test]
    fn missing_paths_fall_back_to_the_request() {
        let list = SecretList {
            secrets: vec![secret("A", "v", None)],
            imports: vec![],
        };
        assert_eq!(merge_imports(list.clone(), "/app/")[0].secret_path, "/app");
    }

    #[test]
    fn template_view_fills_the_project_and_tags() {
        let mut raw = secret("K", "v", Some("/p"));
        raw.tags = vec![crate::client::secrets::SecretTag {
            id: "t".into(),
            slug: "db".into(),
            name: "DB".into(),
        }];
        let list = SecretList {
            secrets: vec![raw],
            imports: vec![],
        };
        let out = template_secrets(list.clone(), "/p", "proj-1");
        assert_eq!(
            out,
            vec![Arc::new(Secret {
                key: "K".into(),
                value: "v".into(),
                workspace_id: "proj-1".into(),
                secret_path: "/p".into(),
                r#type: "shared".into(),
                id: "id-K-v".into(),
                comment: String::new(),
                tags: vec!["db".into()],
            })]
        );
    }
}
