//! Secret reference expansion (docs/wire-contract.md §12.1): `${KEY}`, `${env.KEY}`,
//! `${env.a.b.KEY}`, recursive to depth 10, cycles and missing targets left literal.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::store::Project;

const MAX_DEPTH: usize = 10;

static REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z0-9_.\-]+)\}").expect("reference regex is valid"));

/// Expands the references in `value`, the value of secret `key` stored in `env` at `path` of
/// `project` (the secret itself starts the chain, so a reference back to it stays literal).
pub fn expand(project: &Project, env: &str, path: &str, key: &str, value: &str) -> String {
    let mut chain = vec![(env.to_string(), path.to_string(), key.to_string())];
    expand_in(project, env, path, value, 0, &mut chain)
}

fn expand_in(
    project: &Project,
    env: &str,
    path: &str,
    value: &str,
    depth: usize,
    chain: &mut Vec<(String, String, String)>,
) -> String {
    // A closure result is inserted literally: `$` in the inserted value is not special, and the
    // inserted text is not scanned again by this pass.
    REFERENCE
        .replace_all(value, |caps: &Captures| {
            let whole = caps[0].to_string();
            let Some((tenv, tpath, tkey)) = target(env, path, &caps[1]) else {
                return whole;
            };
            let id = (tenv.clone(), tpath.clone(), tkey.clone());
            if chain.contains(&id) {
                return whole;
            }
            let Some(secret) = project.folder(&tenv, &tpath).and_then(|f| {
                f.secrets
                    .iter()
                    .find(|s| s.key == tkey && s.kind == "shared")
            }) else {
                return whole;
            };
            if secret.value.is_empty() {
                return whole;
            }
            if depth + 1 >= MAX_DEPTH {
                return secret.value.clone();
            }
            chain.push(id);
            let out = expand_in(
                project,
                &tenv,
                &tpath,
                &secret.value.clone(),
                depth + 1,
                chain,
            );
            chain.pop();
            out
        })
        .into_owned()
}

/// Resolves a reference body to (environment, folder path, key).
fn target(env: &str, path: &str, body: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = body.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    match parts.as_slice() {
        [key] => Some((env.to_string(), path.to_string(), key.to_string())),
        [tenv, key] => Some((tenv.to_string(), "/".to_string(), key.to_string())),
        [tenv, middle @ .., key] => Some((
            tenv.to_string(),
            format!("/{}", middle.join("/")),
            key.to_string(),
        )),
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devserver::seed::Seed;
    use crate::devserver::store::Store;

    fn project() -> Project {
        let seed = Seed::from_yaml_str(
            r#"
projects:
  - id: p
    environments:
      dev:
        secrets:
          /: {A: "a", REF: "${A}-x", CYCLE1: "${CYCLE2}", CYCLE2: "${CYCLE1}", EMPTY: "", USE_EMPTY: "<${EMPTY}>", MISS: "${NOPE} ${prod.NOPE}", DOLLAR: "$$1", USE_DOLLAR: "${DOLLAR}"}
          /app/db: {PW: "pw-${A}", NESTED: "${dev.A}/${dev.app.db.PW}"}
      prod:
        secrets:
          /: {HOST: "prod-${A}"}
"#,
        )
        .unwrap();
        Store::from_seed(&seed).projects.remove(0)
    }

    #[test]
    fn expands_same_folder_root_and_nested_paths() {
        let p = project();
        assert_eq!(expand(&p, "dev", "/", "", "${REF}"), "a-x");
        assert_eq!(expand(&p, "dev", "/app/db", "", "${NESTED}"), "a/pw-${A}");
        assert_eq!(expand(&p, "dev", "/", "", "${dev.app.db.PW}"), "pw-${A}");
        // prod's ${A} refers to prod:/A, which does not exist
        assert_eq!(expand(&p, "dev", "/", "", "${prod.HOST}"), "prod-${A}");
    }

    #[test]
    fn leaves_cycles_missing_and_empty_literal() {
        let p = project();
        assert_eq!(expand(&p, "dev", "/", "", "${CYCLE1}"), "${CYCLE1}");
        assert_eq!(
            expand(&p, "dev", "/", "", "${MISS}"),
            "${NOPE} ${prod.NOPE}"
        );
        assert_eq!(expand(&p, "dev", "/", "", "${USE_EMPTY}"), "<${EMPTY}>");
        assert_eq!(expand(&p, "dev", "/", "", "${USE_DOLLAR}"), "$$1");
    }
}
