//! Dev server over real HTTP: dynamic-secret leases (create, renew, revoke, get, expiry).

mod devserver_support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use devserver_support::{client, login, send, start, wait_for};
use kms_agent::devserver::Seed;
use serde_json::{json, Value};

const SEED: &str = r#"
identities:
  - {client-id: c, client-secret: s}
projects:
  - id: p1
    slug: demo
    environments:
      dev:
        dynamic-secrets:
          /:
            redis:
              default-ttl: 1m
              max-ttl: 5m
              credentials: {DB_USERNAME: "v-$LEASE_ID", DB_PASSWORD: "$RANDOM", PORT: 6379, TAGS: ["$RANDOM"]}
            fleeting:
              default-ttl: 1s
              credentials: {TOKEN: "$RANDOM"}
          /nested/path:
            pg: {default-ttl: 2h, max-ttl: 1d, type: sql-database, credentials: {DB_USERNAME: u}}
"#;

struct Env {
    server: kms_agent::devserver::DevServerHandle,
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
        server,
        c,
        base,
        token,
    }
}

impl Env {
    async fn create(&self, body: Value) -> (u16, Value) {
        send(
            self.c
                .post(format!("{}/api/v1/dynamic-secrets/leases", self.base))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }
    async fn renew(&self, id: &str, body: Value) -> (u16, Value) {
        send(
            self.c
                .post(format!(
                    "{}/api/v1/dynamic-secrets/leases/{id}/renew",
                    self.base
                ))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }
    async fn revoke(&self, id: &str, body: Value) -> (u16, Value) {
        send(
            self.c
                .delete(format!("{}/api/v1/dynamic-secrets/leases/{id}", self.base))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }
    async fn get(&self, id: &str, path: &str) -> (u16, Value) {
        send(
            self.c
                .get(format!("{}/api/v1/dynamic-secrets/leases/{id}?projectSlug=demo&environmentSlug=dev&path={path}", self.base))
                .bearer_auth(&self.token),
        )
        .await
    }
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn redis(extra: Value) -> Value {
    let mut body = json!({"projectSlug": "demo", "environmentSlug": "dev", "path": "/", "dynamicSecretName": "Redis"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

const WHERE: &str = r#"{"projectSlug": "demo", "environmentSlug": "dev", "path": "/"}"#;

fn place() -> Value {
    serde_json::from_str(WHERE).unwrap()
}

#[tokio::test]
async fn create_uses_default_ttl_and_templates_credentials() {
    let e = env().await;
    let (status, a) = e.create(redis(json!({}))).await;
    assert_eq!(status, 200, "{a}");
    let lease = &a["lease"];
    let id = lease["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(
        (at(&lease["expireAt"]) - at(&lease["createdAt"])).num_seconds(),
        60
    );
    assert_eq!(a["data"]["DB_USERNAME"], format!("v-{id}"));
    assert_eq!(lease["externalEntityId"], format!("v-{id}"));
    assert_eq!(a["data"]["PORT"], 6379);
    assert_eq!(a["data"]["DB_PASSWORD"].as_str().unwrap().len(), 24);
    assert_eq!(a["data"]["TAGS"][0].as_str().unwrap().len(), 24);
    assert_eq!(a["dynamicSecret"]["defaultTTL"], "1m");
    assert_eq!(a["dynamicSecret"]["maxTTL"], "5m");
    assert_eq!(a["dynamicSecret"]["name"], "redis");
    let (_, b) = e.create(redis(json!({"ttl": ""}))).await;
    assert_ne!(a["data"]["DB_PASSWORD"], b["data"]["DB_PASSWORD"]);
    let (status, c) = e
        .create(redis(json!({"ttl": "2m", "config": {"k": 1}})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (at(&c["lease"]["expireAt"]) - at(&c["lease"]["createdAt"])).num_seconds(),
        120
    );
    assert_eq!(c["lease"]["config"], json!({"k": 1}));
    let (status, n) = e
        .create(json!({"projectSlug": "demo", "environmentSlug": "dev", "path": "/nested/path/", "dynamicSecretName": "pg"}))
        .await;
    assert_eq!(
        (status, n["dynamicSecret"]["type"].as_str()),
        (200, Some("sql-database"))
    );
    assert_eq!(
        e.server.stats()["leases"],
        json!({"created": 4, "renewed": 0, "revoked": 0, "active": 4})
    );
}

#[tokio::test]
async fn create_errors() {
    let e = env().await;
    let cases = [
        (redis(json!({"ttl": "30s"})), 422, "ValidationFailure"),
        (redis(json!({"ttl": "11y"})), 422, "ValidationFailure"),
        (redis(json!({"ttl": "abc"})), 500, "InternalServerError"),
        (redis(json!({"ttl": "10m"})), 400, "BadRequest"),
        (
            json!({"projectSlug": "demo", "environmentSlug": "dev"}),
            422,
            "ValidationFailure",
        ),
        (
            json!({"projectSlug": "nope", "environmentSlug": "dev", "dynamicSecretName": "redis"}),
            404,
            "NotFound",
        ),
        (
            json!({"projectSlug": "demo", "environmentSlug": "qa", "dynamicSecretName": "redis"}),
            404,
            "NotFound",
        ),
        (
            json!({"projectSlug": "demo", "environmentSlug": "dev", "path": "/nope", "dynamicSecretName": "redis"}),
            404,
            "NotFound",
        ),
        (
            json!({"projectSlug": "demo", "environmentSlug": "dev", "dynamicSecretName": "other"}),
            404,
            "NotFound",
        ),
    ];
    for (body, status, error) in cases {
        let (got, answer) = e.create(body.clone()).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{body}: {answer}"
        );
    }
    let (_, answer) = e.create(redis(json!({"ttl": "30s"}))).await;
    assert_eq!(
        answer["message"][0]["message"],
        "TTL must be a greater than 1min"
    );
    let (_, answer) = e.create(redis(json!({"ttl": "10m"}))).await;
    assert_eq!(answer["message"], "TTL cannot be larger than max TTL");
    let (_, answer) = e
        .create(
            json!({"projectSlug": "demo", "environmentSlug": "dev", "dynamicSecretName": "other"}),
        )
        .await;
    assert_eq!(
        answer["message"],
        "Dynamic secret with name 'other' in folder with path '/' not found"
    );
    let (status, _) = send(
        e.c.post(format!("{}/api/v1/dynamic-secrets/leases", e.base))
            .json(&redis(json!({}))),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn renew_adds_to_the_old_expiry_up_to_max_ttl() {
    let e = env().await;
    let (_, created) = e.create(redis(json!({}))).await;
    let id = created["lease"]["id"].as_str().unwrap().to_string();
    let created_at = at(&created["lease"]["createdAt"]);
    let (status, r) = e.renew(&id, redis(json!({"ttl": "2m"}))).await;
    assert_eq!(status, 200, "{r}");
    assert!(r.get("data").is_none() && r["lease"].get("dynamicSecret").is_none());
    assert_eq!(
        (at(&r["lease"]["expireAt"]) - created_at).num_seconds(),
        180,
        "old expiry (1m) + 2m"
    );
    let (_, r) = e.renew(&id, place()).await;
    assert_eq!(
        (at(&r["lease"]["expireAt"]) - created_at).num_seconds(),
        240,
        "default TTL added"
    );
    let (status, r) = e.renew(&id, redis(json!({"ttl": "2m"}))).await;
    assert_eq!(status, 400, "past createdAt + maxTTL: {r}");
    let (status, r) = e.renew(&id, place()).await;
    assert_eq!(status, 200, "exactly createdAt + maxTTL is allowed: {r}");
    assert_eq!(
        (at(&r["lease"]["expireAt"]) - created_at).num_seconds(),
        300
    );

    let (status, r) = e.renew(&id, redis(json!({"ttl": "10s"}))).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (422, Some("ValidationFailure"))
    );
    let (status, r) = e.renew("not-a-uuid", place()).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (500, Some("DynamicSecretLeaseFindById"))
    );
    let (status, r) = e
        .renew("00000000-0000-0000-0000-000000000000", place())
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        r["message"],
        "Dynamic secret lease with ID '00000000-0000-0000-0000-000000000000' not found"
    );
    let (status, _) = e
        .renew(
            &id,
            json!({"projectSlug": "demo", "environmentSlug": "dev", "path": "/nested/path"}),
        )
        .await;
    assert_eq!(status, 404, "a lease of another folder is not found");
    assert_eq!(e.server.stats()["leases"]["renewed"], 3);
}

#[tokio::test]
async fn revoke_and_get() {
    let e = env().await;
    let (_, created) = e.create(redis(json!({}))).await;
    let id = created["lease"]["id"].as_str().unwrap().to_string();
    let (status, got) = e.get(&id, "/").await;
    assert_eq!(status, 200);
    assert_eq!(got["lease"]["id"], id.as_str());
    assert_eq!(got["lease"]["dynamicSecret"]["name"], "redis");
    let (status, _) = send(
        e.c.get(format!("{}/api/v1/dynamic-secrets/leases/{id}", e.base))
            .bearer_auth(&e.token),
    )
    .await;
    assert_eq!(status, 422, "get needs projectSlug and environmentSlug");

    let (status, r) = send(
        e.c.delete(format!("{}/api/v1/dynamic-secrets/leases/{id}", e.base))
            .bearer_auth(&e.token),
    )
    .await;
    assert_eq!(
        (status, r["message"][0]["message"].as_str()),
        (422, Some("Expected object, received null"))
    );
    let (status, r) = e
        .revoke(
            &id,
            json!({"projectSlug": "demo", "environmentSlug": "dev", "path": "/", "isForced": true}),
        )
        .await;
    assert_eq!(
        (status, r["lease"]["id"].as_str()),
        (200, Some(id.as_str()))
    );
    for (status, _) in [
        e.revoke(&id, place()).await,
        e.renew(&id, place()).await,
        e.get(&id, "/").await,
    ] {
        assert_eq!(status, 404);
    }
    assert_eq!(
        e.server.stats()["leases"],
        json!({"created": 1, "renewed": 0, "revoked": 1, "active": 0})
    );
}

#[tokio::test]
async fn expired_leases_are_deleted() {
    let e = env().await;
    // The seed's default TTL may be below a minute (1 s here); only TTLs sent by clients are
    // held to the 1-minute minimum.
    let (status, created) = e.create(json!({"projectSlug": "demo", "environmentSlug": "dev", "dynamicSecretName": "fleeting"})).await;
    assert_eq!(status, 200, "{created}");
    let id = created["lease"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["dynamicSecret"]["maxTTL"], Value::Null);
    wait_for(Duration::from_secs(5), || {
        let e = &e;
        let id = id.clone();
        async move { (e.get(&id, "/").await.0 == 404).then_some(()) }
    })
    .await;
    assert_eq!(e.renew(&id, place()).await.0, 404);
    assert_eq!(e.revoke(&id, place()).await.0, 404);
    assert_eq!(e.server.stats()["leases"]["active"], 0);
}
