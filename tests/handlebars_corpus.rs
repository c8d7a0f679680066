//! Golden cases of the Go-template corpus mirrored in Handlebars: the same world, the same
//! functions as helpers, the same content (compared after trimming surrounding whitespace, since
//! Handlebars and Go place newlines around blocks differently).

#[path = "support/gotemplate_world.rs"]
mod world;

use std::path::Path;

use kms_agent::template::handlebars::HandlebarsEngine;
use kms_agent::template::{RenderOutcome, TemplateEngine};

const RECURSIVE_BODY: &str = r#"{{#if (eq SecretPath "/")}}{{Key}}={{Value}}
{{else}}{{SecretPath}}/{{Key}}={{Value}}
{{/if}}"#;

fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("001-doc-a-secret-nonrecursive", r#"{{#each (secret "6553ccb2b7da580d7f6e7260" "dev" "/" '{"recursive": false, "expandSecretReferences": true}')}}{{Key}}={{Value}}
{{/each}}"#.to_string()),
        ("002-doc-b-secret-recursive", format!(r#"{{{{#each (secret "da8056c8-01e2-4d24-b39f-cb4e004b8d44" "staging" "/" '{{"recursive": true, "expandSecretReferences": true}}')}}}}{RECURSIVE_BODY}{{{{/each}}}}"#)),
        ("003-doc-c-getsecretbyname", r#"{{#with (getSecretByName "d821f21d-aa90-453b-8448-8c78c1160a0e" "dev" "/" "POSTHOG_HOST")}}{{#if Value}}password = "{{Value}}"{{/if}}{{/with}}"#.to_string()),
        ("004-doc-d-dynamic-secret", r#"{{#with (dynamic_secret "aaa-o7en-s5qm" "dev" "/" "redis" "1m")}}{{DB_USERNAME}}={{DB_PASSWORD}}{{/with}}"#.to_string()),
        ("005-doc-e-secret-no-modifier", r#"{{#each (secret "6553ccb2b7da580d7f6e7260" "dev" "/")}}{{Key}}={{Value}}
{{/each}}"#.to_string()),
        ("012-doc-a-prod-env", r#"{{#each (listSecrets "6553ccb2b7da580d7f6e7260" "prod" "/" '{"recursive": false}')}}{{Key}}={{Value}}
{{/each}}"#.to_string()),
        ("013-doc-d-no-ttl", r#"{{#with (dynamicSecret "aaa-o7en-s5qm" "dev" "/" "redis")}}{{DB_USERNAME}}={{DB_PASSWORD}}{{/with}}"#.to_string()),
        ("014-doc-b-subfolder", format!(r#"{{{{#each (secret "da8056c8-01e2-4d24-b39f-cb4e004b8d44" "staging" "/backend" '{{"recursive": true}}')}}}}{RECURSIVE_BODY}{{{{/each}}}}"#)),
        ("058-range-personal-type", r#"{{#each (secret "proj-main" "dev" "/")}}{{#if (eq Type "personal")}}{{Key}} is personal ({{Comment}}){{/if}}{{/each}}"#.to_string()),
        ("183-unicode-values", r#"{{#each (secret "proj-main" "dev" "/unicode")}}{{Key}}={{Value}}
{{/each}}"#.to_string()),
        ("189-tricky-pem-in-yaml", r#"key: |
  {{#with (getSecretByName "proj-main" "dev" "/tricky" "VALUE_PEM")}}{{Value}}{{/with}}
next: 1"#.to_string()),
        ("002-doc-b-secret-recursive", format!(r#"{{{{#each (listSecretsByProjectSlug "da8056c8-01e2-4d24-b39f-cb4e004b8d44" "staging" "/" '{{"RECURSIVE": true}}')}}}}{RECURSIVE_BODY}{{{{/each}}}}"#)),
    ]
}

#[test]
fn a_dozen_corpus_cases_render_the_same_content_in_handlebars() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gotemplate");
    let world = world::World::load(dir.join("world.json").to_str().unwrap()).unwrap();
    let mut failures = Vec::new();
    for (case, source) in cases() {
        let golden = std::fs::read(dir.join("cases").join(format!("{case}.out"))).unwrap();
        let compiled = HandlebarsEngine
            .compile(case, source.as_bytes())
            .unwrap_or_else(|e| panic!("{case}: {}", e.message));
        let out = match compiled.render(&world) {
            Ok(RenderOutcome::Done(out)) => out,
            other => panic!("{case}: {other:?}"),
        };
        let (want, got) = (
            String::from_utf8_lossy(&golden),
            String::from_utf8_lossy(&out),
        );
        if want.trim() != got.trim() {
            failures.push(format!("{case}:\n--- go\n{want}\n--- handlebars\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
