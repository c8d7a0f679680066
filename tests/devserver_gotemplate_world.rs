//! The seed converted from the Go-template golden world (tests/fixtures/seeds/gotemplate-world.yaml)
//! is current, and the dev server serves exactly the world's data.

mod devserver_support;

use std::process::Command;

use devserver_support::{client, login, seed_file, send, start};
use kms_agent::devserver::Seed;
use serde_json::{json, Value};

fn world() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gotemplate/world.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn committed_seed_matches_its_generator() {
    // The generator needs python3; the committed file is the source of truth when it is absent.
    let Ok(out) = Command::new("python3")
        .arg(seed_file("gen_gotemplate_world.py"))
        .output()
    else {
        eprintln!("python3 not available: generator check skipped");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(seed_file("gotemplate-world.yaml")).unwrap();
    assert!(
        out.stdout == committed,
        "gotemplate-world.yaml is stale: regenerate it with gen_gotemplate_world.py"
    );
}

#[tokio::test]
async fn dev_server_serves_the_world() {
    let world = world();
    let server =
        start(Seed::from_file(seed_file("gotemplate-world.yaml")).expect("seed loads")).await;
    let (c, base) = (client(), server.url());
    let token = login(
        &c,
        &base,
        "gotemplate-client-id",
        "gotemplate-client-secret",
    )
    .await;

    let mut folders = 0;
    for (project, envs) in world["secrets"].as_object().unwrap() {
        for (env, paths) in envs.as_object().unwrap() {
            for (path, secrets) in paths.as_object().unwrap() {
                folders += 1;
                // Values are stored already expanded: read them raw.
                let (status, body) = send(
                    c.get(format!("{base}/api/v3/secrets/raw"))
                        .query(&[
                            ("workspaceId", project.as_str()),
                            ("environment", env),
                            ("secretPath", path),
                            ("expandSecretReferences", "false"),
                        ])
                        .bearer_auth(&token),
                )
                .await;
                assert_eq!(status, 200, "{project} {env} {path}: {body}");
                let mut want: Vec<Value> = secrets
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| {
                        json!({
                            "key": s["key"], "value": s["value"], "id": s["id"],
                            "comment": s.get("comment").cloned().unwrap_or(json!("")),
                            "type": s.get("type").cloned().unwrap_or(json!("shared")),
                            "workspace": project, "path": path,
                        })
                    })
                    .collect();
                want.sort_by(|a, b| {
                    a["key"]
                        .as_str()
                        .cmp(&b["key"].as_str())
                        .then(a["type"].as_str().cmp(&b["type"].as_str()))
                });
                let got: Vec<Value> = body["secrets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| json!({
                        "key": s["secretKey"], "value": s["secretValue"], "id": s["id"], "comment": s["secretComment"],
                        "type": s["type"], "workspace": s["workspace"], "path": s["secretPath"],
                    }))
                    .collect();
                assert_eq!(got, want, "{project} {env} {path}");
            }
        }
    }
    assert!(folders >= 20);

    let mut leases = 0;
    for (slug, envs) in world["dynamicSecrets"].as_object().unwrap() {
        for (env, paths) in envs.as_object().unwrap() {
            for (path, defs) in paths.as_object().unwrap() {
                for (name, credentials) in defs.as_object().unwrap() {
                    let (status, body) = send(
                        c.post(format!("{base}/api/v1/dynamic-secrets/leases"))
                            .bearer_auth(&token)
                            .json(&json!({"projectSlug": slug, "environmentSlug": env, "path": path, "dynamicSecretName": name})),
                    )
                    .await;
                    assert_eq!(status, 200, "{slug} {env} {path} {name}: {body}");
                    assert_eq!(&body["data"], credentials, "{slug} {env} {path} {name}");
                    leases += 1;
                }
            }
        }
    }
    assert_eq!(leases, 5);
}
