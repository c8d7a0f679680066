//! Dev server over real HTTP: secret listing (v3/v4), references, recursion, imports, get by name,
//! writes and the documented error answers.

mod devserver_support;

use devserver_support::{client, login, send, start};
use kms_agent::devserver::Seed;
use serde_json::{json, Value};

const SEED: &str = r#"
identities:
  - {client-id: c, client-secret: s}
  - {client-id: outsider, client-secret: s, projects: []}
projects:
  - id: p1
    slug: proj-one
    environments:
      dev:
        secrets:
          /:
            - {key: B, value: "b-${A}", id: id-b, comment: "the b"}
            - {key: A, value: a, id: id-a}
            - {key: LOOP, value: "${LOOP2}"}
            - {key: LOOP2, value: "${LOOP}"}
            - {key: MISSING, value: "${NOPE}/${prod.x.NOPE}"}
            - {key: MINE, value: personal, type: personal}
          /db: {DB_USER: u, DSN: "${DB_USER}@${dev.A}@${prod.db.HOST}"}
          /db/replica: {R: r}
          /dbx: {X: x}
          /empty: []
          /app: {OWN: own, SHARED: app-wins}
        imports:
          /app: [{environment: prod, path: /shared}, {environment: dev, path: /db}]
      prod:
        secrets:
          /db: {HOST: prod-host}
          /shared: {SHARED: from-prod, ONLY_PROD: p, DB_USER: prod-user, REF: "${HOST}|${prod.db.HOST}"}
"#;

struct Env {
    _server: kms_agent::devserver::DevServerHandle,
    c: reqwest::Client,
    base: String,
    token: String,
}

async fn env() -> Env {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let c = client();
    let base = server.url();
    let token = login(&c, &base, "c", "s").await;
    Env {
        _server: server,
        c,
        base,
        token,
    }
}

impl Env {
    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        send(
            self.c
                .get(format!("{}{path_and_query}", self.base))
                .bearer_auth(&self.token),
        )
        .await
    }
}

fn keys(body: &Value) -> Vec<String> {
    body["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["secretPath"].as_str().unwrap(),
                s["secretKey"].as_str().unwrap()
            )
        })
        .collect()
}

fn value_of<'a>(body: &'a Value, key: &str) -> &'a str {
    body["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secretKey"] == key)
        .and_then(|s| s["secretValue"].as_str())
        .unwrap_or_else(|| panic!("{key} not listed"))
}

#[tokio::test]
async fn v3_list_defaults_shape_and_order() {
    let e = env().await;
    let (status, body) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/")
        .await;
    assert_eq!(status, 200);
    assert!(body.get("imports").is_none(), "v3 default: no imports");
    assert_eq!(
        keys(&body),
        ["/:A", "/:B", "/:LOOP", "/:LOOP2", "/:MINE", "/:MISSING"]
    );
    assert_eq!(value_of(&body, "B"), "b-${A}", "v3 default: no expansion");
    let b = &body["secrets"][1];
    for (k, v) in [
        ("id", json!("id-b")),
        ("_id", json!("id-b")),
        ("workspace", json!("p1")),
        ("environment", json!("dev")),
        ("version", json!(1)),
        ("type", json!("shared")),
        ("secretComment", json!("the b")),
        ("secretPath", json!("/")),
        ("secretValueHidden", json!(false)),
        ("tags", json!([])),
    ] {
        assert_eq!(b[k], v, "{k}");
    }
    assert!(b["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["secrets"][4]["type"], "personal");
    // By slug, with the Go SDK's empty workspaceSlug alongside an id, and with a trailing slash.
    let (_, by_slug) = e
        .get("/api/v3/secrets/raw?workspaceSlug=proj-one&environment=dev")
        .await;
    assert_eq!(keys(&by_slug), keys(&body));
    let (status, _) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&workspaceSlug=&environment=dev")
        .await;
    assert_eq!(status, 200);
    let (_, slash) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/db/")
        .await;
    assert_eq!(keys(&slash), ["/db:DB_USER", "/db:DSN"]);
}

#[tokio::test]
async fn expansion_follows_the_reference_rules() {
    let e = env().await;
    let (_, root) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&expandSecretReferences=true")
        .await;
    assert_eq!(value_of(&root, "B"), "b-a");
    assert_eq!(value_of(&root, "LOOP"), "${LOOP}", "cycle stays literal");
    assert_eq!(value_of(&root, "MISSING"), "${NOPE}/${prod.x.NOPE}");
    let (_, db) = e.get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/db&expandSecretReferences=true").await;
    assert_eq!(value_of(&db, "DSN"), "u@a@prod-host");
    let (_, masked) = e.get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/db&viewSecretValue=false&expandSecretReferences=true").await;
    assert_eq!(value_of(&masked, "DSN"), "<hidden-by-infisical>");
    assert_eq!(masked["secrets"][0]["secretValueHidden"], true);
}

#[tokio::test]
async fn recursive_listing_is_segment_wise() {
    let e = env().await;
    let (_, body) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/db&recursive=true")
        .await;
    assert_eq!(
        keys(&body),
        ["/db:DB_USER", "/db:DSN", "/db/replica:R"],
        "/dbx is not inside /db"
    );
    let (_, all) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&recursive=true")
        .await;
    assert_eq!(all["secrets"].as_array().unwrap().len(), 12);
    let (status, empty) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/empty")
        .await;
    assert_eq!((status, empty), (200, json!({"secrets": []})));
}

#[tokio::test]
async fn imports_blocks_shape_order_and_get_precedence() {
    let e = env().await;
    let (_, body) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/app&include_imports=true&expandSecretReferences=true")
        .await;
    let imports = body["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 2);
    assert_eq!(
        (
            imports[0]["environment"].as_str(),
            imports[0]["secretPath"].as_str()
        ),
        (Some("prod"), Some("/shared"))
    );
    assert_eq!(imports[1]["secretPath"], "/db");
    assert!(imports[0]["folderId"].is_string());
    let item = &imports[0]["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["secretKey"] == "REF")
        .unwrap();
    assert_eq!(
        item["secretValue"], "${HOST}|prod-host",
        "expanded in the import's own folder"
    );
    for absent in [
        "secretPath",
        "createdAt",
        "updatedAt",
        "tags",
        "secretReminderNote",
    ] {
        assert!(
            item.get(absent).is_none(),
            "{absent} absent from import items"
        );
    }
    assert_eq!(item["workspace"], "p1");

    // Get by name: own secret first, then imports last-to-first (the later import wins).
    let get = |name: &str, extra: &str| {
        format!("/api/v3/secrets/raw/{name}?workspaceId=p1&environment=dev&secretPath=/app{extra}")
    };
    let (_, own) = e.get(&get("SHARED", "&include_imports=true")).await;
    assert_eq!(own["secret"]["secretValue"], "app-wins");
    let (_, later) = e.get(&get("DB_USER", "&include_imports=true")).await;
    assert_eq!(
        (
            later["secret"]["secretValue"].as_str(),
            later["secret"]["secretPath"].as_str()
        ),
        (Some("u"), Some("/db"))
    );
    assert!(
        later["secret"].get("tags").is_none(),
        "found through an import: no tags"
    );
    let (_, prod) = e.get(&get("ONLY_PROD", "&include_imports=true")).await;
    assert_eq!(prod["secret"]["environment"], "prod");
    let (status, body) = e.get(&get("ONLY_PROD", "")).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Secret with name 'ONLY_PROD' not found"))
    );
}

#[tokio::test]
async fn v4_defaults_and_both_import_spellings() {
    let e = env().await;
    let (status, body) = e
        .get("/api/v4/secrets?projectId=p1&environment=dev&secretPath=/app")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["imports"].as_array().unwrap().len(),
        2,
        "v4 default includes imports"
    );
    let (_, body) = e.get("/api/v4/secrets?projectId=p1&environment=dev").await;
    assert_eq!(value_of(&body, "B"), "b-a", "v4 default expands");
    let (_, body) = e.get("/api/v4/secrets?projectId=p1&environment=dev&secretPath=/app&includeImports=false&include_imports=true").await;
    assert!(body.get("imports").is_none(), "camelCase wins");
    let (_, body) = e
        .get("/api/v4/secrets?projectId=p1&environment=dev&secretPath=/app&include_imports=false")
        .await;
    assert!(
        body.get("imports").is_none(),
        "snake_case honoured when camelCase is absent"
    );
    let (_, body) = e
        .get("/api/v4/secrets/B?projectId=p1&environment=dev")
        .await;
    assert_eq!(body["secret"]["secretValue"], "b-a");
    let (_, body) = e
        .get("/api/v4/secrets/B?projectId=p1&environment=dev&expandSecretReferences=false")
        .await;
    assert_eq!(body["secret"]["secretValue"], "b-${A}");
    let (status, body) = e.get("/api/v4/secrets/B?environment=dev").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("ValidationFailure"))
    );
}

#[tokio::test]
async fn documented_errors() {
    let e = env().await;
    let cases = [
        (
            "/api/v3/secrets/raw?workspaceId=p1&environment=dev&recursive=yes",
            422,
            "ValidationFailure",
        ),
        (
            "/api/v3/secrets/raw?workspaceId=p1&environment=dev&include_imports=True",
            422,
            "ValidationFailure",
        ),
        ("/api/v3/secrets/raw?workspaceId=p1", 400, "BadRequest"),
        ("/api/v3/secrets/raw?environment=dev", 400, "BadRequest"),
        (
            "/api/v3/secrets/raw?workspaceId=nope&environment=dev",
            404,
            "NotFound",
        ),
        (
            "/api/v3/secrets/raw?workspaceSlug=nope&environment=dev",
            404,
            "NotFound",
        ),
        (
            "/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/nope",
            404,
            "SecretPathNotFound",
        ),
        (
            "/api/v3/secrets/raw?workspaceId=p1&environment=qa",
            404,
            "SecretPathNotFound",
        ),
        (
            "/api/v3/secrets/raw/A?workspaceId=p1&environment=dev&secretPath=/nope",
            404,
            "GetSecretByName",
        ),
        (
            "/api/v3/secrets/raw/A?workspaceId=p1&environment=dev&type=personal",
            404,
            "NotFound",
        ),
        (
            "/api/v3/secrets/raw/A?workspaceId=p1&environment=dev&type=other",
            422,
            "ValidationFailure",
        ),
        ("/api/v3/secrets/raw/A?workspaceId=p1", 400, "BadRequest"),
        ("/api/v3/secrets/raw/A?environment=dev", 400, "BadRequest"),
    ];
    for (url, status, error) in cases {
        let (got, body) = e.get(url).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{url}: {body}"
        );
        assert!(body["reqId"].is_string());
        if error == "ValidationFailure" {
            assert!(body["message"].is_array());
        }
    }
    let (_, body) = e
        .get("/api/v3/secrets/raw/MINE?workspaceId=p1&environment=dev&type=personal")
        .await;
    assert_eq!(body["secret"]["secretValue"], "personal");
    let outsider = login(&e.c, &e.base, "outsider", "s").await;
    let (status, body) = send(
        e.c.get(format!(
            "{}/api/v3/secrets/raw?workspaceId=p1&environment=dev",
            e.base
        ))
        .bearer_auth(outsider),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"],
        "Identity is not a member of the specified project with ID 'p1'"
    );
    let (status, body) = send(e.c.get(format!("{}/api/v3/nothing-here?x=1", e.base))).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"message": "Route GET:/api/v3/nothing-here?x=1 not found", "error": "Not Found", "statusCode": 404})
        )
    );
}

#[tokio::test]
async fn writes_change_what_reads_return() {
    let e = env().await;
    let url = format!("{}/api/v3/secrets/raw/NEW_ONE", e.base);
    let target =
        json!({"workspaceId": "p1", "environment": "dev", "secretPath": "/db/", "type": "shared"});
    let mut create = target.clone();
    create["secretValue"] = json!("v1");
    create["secretComment"] = json!("made by a test");
    let (status, body) = send(e.c.post(&url).bearer_auth(&e.token).json(&create)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["secret"]["version"].as_u64(),
            body["secret"]["secretPath"].as_str()
        ),
        (Some(1), Some("/db"))
    );
    let (status, body) = send(e.c.post(&url).bearer_auth(&e.token).json(&create)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Secret already exist"))
    );

    let mut update = target.clone();
    update["secretValue"] = json!("v2-${DB_USER}");
    let (status, body) = send(e.c.patch(&url).bearer_auth(&e.token).json(&update)).await;
    assert_eq!((status, body["secret"]["version"].as_u64()), (200, Some(2)));
    let (_, got) = e
        .get("/api/v4/secrets/NEW_ONE?projectId=p1&environment=dev&secretPath=/db")
        .await;
    assert_eq!(got["secret"]["secretValue"], "v2-u");
    assert_eq!(got["secret"]["secretComment"], "made by a test");

    let (status, _) = send(e.c.delete(&url).bearer_auth(&e.token).json(&target)).await;
    assert_eq!(status, 200);
    let (status, body) = send(e.c.delete(&url).bearer_auth(&e.token).json(&target)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("DeleteSecret"))
    );
    let (status, _) = send(e.c.patch(&url).bearer_auth(&e.token).json(&update)).await;
    assert_eq!(status, 404);
    let (_, list) = e
        .get("/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/db")
        .await;
    assert_eq!(keys(&list), ["/db:DB_USER", "/db:DSN"]);
    let (status, _) = send(e.c.post(&url).json(&create)).await;
    assert_eq!(status, 401, "writes need a token");
    let mut missing_folder = create.clone();
    missing_folder["secretPath"] = json!("/nope");
    let (status, _) = send(e.c.post(&url).bearer_auth(&e.token).json(&missing_folder)).await;
    assert_eq!(status, 404);
}
