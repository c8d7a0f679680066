//! Replays every recorded exchange of tests/fixtures/contract/*.json against the dev server
//! (seeded with tests/fixtures/seeds/contract.yaml) and checks the same status and the same JSON
//! shape (keys and value types, recursively; array lengths too), plus the secret values.
//!
//! Redacted or server-generated parts are substituted: `Bearer <redacted>` and `accessToken:
//! "<redacted>"` become a fresh token in the state the recording needs (revoked, expired…), and
//! recorded lease ids become a fresh lease in the state the recording needs.
//! Where the dev server deliberately follows docs/wire-contract.md's newer behaviour, [`DIVERGENT`]
//! names the recording, the status the dev server answers and why; [`NOT_REPLAYABLE`] lists the
//! rest.

mod devserver_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use devserver_support::{client, login, seed_file, send, start, wait_for};
use kms_agent::devserver::Seed;
use serde_json::{json, Value};

const MAIN: &str = "12493e99-88a7-4bcc-8148-590c771c8ac6";
const SHORT: &str = "8264b6e5-f4dd-4280-8932-57843c095eef";
const VIEWER: &str = "agent-viewer-client-id";
const OUTSIDER: &str = "agent-no-project-access-client-id";
const JWT_EXPIRY: &str = "contract-jwt-expiry-client-id";
const MAX_TTL: &str = "contract-max-ttl-client-id";
const SECRET: &str = "<redacted>";

/// Recordings the dev server answers differently on purpose: (file, dev status, reason).
const DIVERGENT: &[(&str, u16, &str)] = &[
    (
        "ua-login-unknown-client-id.json",
        401,
        "D5: current servers answer 401 Invalid credentials",
    ),
    (
        "ua-login-missing-client-secret-validation.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "token-renew-missing-access-token-validation.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "secrets-list-invalid-bool-validation.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "dynamic-lease-create-ttl-below-1m-validation.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "dynamic-lease-create-missing-name-validation.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "dynamic-lease-renew-ttl-below-1m-validation.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "dynamic-lease-revoke-no-body.json",
        422,
        "D13: validation failures are 422",
    ),
    (
        "secrets-list-path-not-found.json",
        404,
        "D4: a missing folder is 404 SecretPathNotFound",
    ),
    (
        "secrets-list-env-not-found.json",
        404,
        "D4: a missing environment is 404 SecretPathNotFound",
    ),
    (
        "secrets-list-path-not-found-recursive.json",
        404,
        "D4: a missing folder is 404 SecretPathNotFound",
    ),
    (
        "secrets-list-project-slug-not-found.json",
        404,
        "D19: an unknown slug is 404, not 500",
    ),
    (
        "dynamic-lease-create-project-not-found.json",
        404,
        "D19: an unknown slug is 404, not 500",
    ),
    (
        "secrets-v4-list-probe-404.json",
        200,
        "D16: the dev server serves the v4 routes",
    ),
    (
        "secrets-v3-encrypted-route-shadowing.json",
        404,
        "the legacy E2EE route /api/v3/secrets/{name} is not served",
    ),
    (
        "dynamic-lease-renew-wrong-env.json",
        404,
        "D20: a lease of another folder is not found",
    ),
    (
        "dynamic-lease-renew-wrong-path.json",
        404,
        "D20: a lease of another folder is not found",
    ),
    (
        "dynamic-lease-renew-redis-without-renew-statement-500.json",
        200,
        "D22: the provider bug is not reproduced",
    ),
    (
        "dynamic-lease-renew-redis-without-renew-statement-default-ttl-500.json",
        200,
        "D22: the provider bug is not reproduced",
    ),
];

/// Recordings that are not replayed: (file prefix, reason).
const NOT_REPLAYABLE: &[(&str, &str)] = &[
    (
        "secrets-list-rate-limited-429.json",
        "no rate limiting (a fault rule with status 429 and retry_after emulates it)",
    ),
    (
        "dynamic-secret-create-",
        "dynamic-secret management routes are not served (agents do not call them)",
    ),
    (
        "dynamic-secret-lease-create-plan-restricted.json",
        "licences are not modelled",
    ),
    ("token-renew-user-jwt.json", "user JWTs are not modelled"),
];

/// Keys the dev server sends and the late-2024 recordings lack (or the reverse), with the reason.
const DEV_ONLY_KEYS: &[(&str, &str)] = &[
    ("reqId", "D14: current servers put reqId in error bodies"),
    (
        "secretValueHidden",
        "D17: current servers send it on every secret",
    ),
    (
        "secretPath",
        "D17: current servers send it on get-by-name too",
    ),
    (
        "config",
        "docs/wire-contract.md §11.1: lease.config is a current (optional) field",
    ),
];
const RECORDING_ONLY_KEYS: &[(&str, &str)] = &[("metadata", "D17: late-2024 servers only")];

/// Import values come back expanded on late-2024 servers even without expansion (D21).
const RAW_IMPORT_VALUES: &[&str] = &["secrets-list-app-include-imports-expand-false.json"];

fn contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contract")
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares keys and value types recursively; returns the differences.
fn shape_diff(recorded: &Value, dev: &Value, at: &str, out: &mut Vec<String>) {
    match (recorded, dev) {
        (Value::Object(r), Value::Object(d)) => {
            for (k, rv) in r {
                match d.get(k) {
                    Some(dv) => shape_diff(rv, dv, &format!("{at}.{k}"), out),
                    None if RECORDING_ONLY_KEYS.iter().any(|(x, _)| x == k) => {}
                    None => out.push(format!("{at}.{k}: missing in the dev server's answer")),
                }
            }
            for k in d.keys() {
                if !r.contains_key(k) && !DEV_ONLY_KEYS.iter().any(|(x, _)| x == k) {
                    out.push(format!("{at}.{k}: not in the recording"));
                }
            }
        }
        (Value::Array(r), Value::Array(d)) => {
            if r.len() != d.len() {
                out.push(format!(
                    "{at}: {} items recorded, {} from the dev server",
                    r.len(),
                    d.len()
                ));
            }
            for (i, (rv, dv)) in r.iter().zip(d).enumerate() {
                shape_diff(rv, dv, &format!("{at}[{i}]"), out);
            }
        }
        (r, d) if type_of(r) != type_of(d) => out.push(format!(
            "{at}: {} recorded, {} from the dev server",
            type_of(r),
            type_of(d)
        )),
        _ => {}
    }
}

/// `(secretKey, secretValue)` pairs of a list of secrets.
fn pairs(list: &Value) -> BTreeSet<(String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["secretKey"].as_str().unwrap_or("").to_string(),
                s["secretValue"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn value_diff(name: &str, recorded: &Value, dev: &Value, out: &mut Vec<String>) {
    if recorded.get("secrets").is_some() && pairs(&recorded["secrets"]) != pairs(&dev["secrets"]) {
        out.push(format!(
            "secrets differ: recorded {:?}, dev {:?}",
            pairs(&recorded["secrets"]),
            pairs(&dev["secrets"])
        ));
    }
    if let (Some(r), Some(d)) = (recorded["imports"].as_array(), dev["imports"].as_array()) {
        for (ri, di) in r.iter().zip(d) {
            let keys = |v: &Value| {
                pairs(&v["secrets"])
                    .into_iter()
                    .map(|p| p.0)
                    .collect::<BTreeSet<_>>()
            };
            if keys(ri) != keys(di)
                || (!RAW_IMPORT_VALUES.contains(&name)
                    && pairs(&ri["secrets"]) != pairs(&di["secrets"]))
            {
                out.push(format!(
                    "import block differs: recorded {:?}, dev {:?}",
                    pairs(&ri["secrets"]),
                    pairs(&di["secrets"])
                ));
            }
        }
    }
    if let Some(secret) = recorded.get("secret").filter(|s| s.is_object()) {
        for k in ["secretKey", "secretValue", "environment"] {
            if secret[k] != dev["secret"][k] {
                out.push(format!(
                    "secret.{k}: recorded {}, dev {}",
                    secret[k], dev["secret"][k]
                ));
            }
        }
    }
}

/// The token state a recording needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TokenState {
    Main,
    Viewer,
    Outsider,
    ShortTtl,
    Garbage,
    BadSignature,
    JwtExpired,
    TtlExpired,
    Revoked,
    AfterFailedMaxRenew,
    MaxTtl,
}

fn token_state(name: &str) -> TokenState {
    use TokenState::*;
    match name {
        n if n.contains("viewer") => Viewer,
        n if n.contains("no-project-access") || n.contains("without-project-access") => Outsider,
        "token-renew-success-short-ttl.json" => ShortTtl,
        "secrets-list-bad-token.json" => Garbage,
        "secrets-list-bad-jwt-signature.json" => BadSignature,
        n if n.contains("jwt-expired") => JwtExpired,
        "secrets-list-ttl-expired-token.json" | "token-renew-after-ttl-expired.json" => TtlExpired,
        "secrets-list-revoked-token.json"
        | "token-renew-revoked.json"
        | "token-revoke-already-revoked.json" => Revoked,
        "secrets-list-after-failed-max-ttl-renew.json" => AfterFailedMaxRenew,
        "token-renew-past-max-ttl.json" => MaxTtl,
        _ => Main,
    }
}

/// The lease state a recording needs (recorded lease ids are replaced by a fresh lease).
#[derive(Debug, Clone, Copy, PartialEq)]
enum LeaseState {
    /// No substitution (the recorded id is all-zero, not a UUID, or never reached).
    Keep,
    Fresh,
    /// Renewed to createdAt + 3m.
    Renewed3m,
    /// Renewed to createdAt + 5m (the max TTL).
    RenewedToMax,
    Revoked,
    Expired,
}

fn lease_state(name: &str) -> LeaseState {
    use LeaseState::*;
    if !name.starts_with("dynamic-lease-") || name.starts_with("dynamic-lease-create-") {
        return Keep;
    }
    match name {
        n if n.contains("not-found") || n.contains("non-uuid") || n.contains("no-auth") => Keep,
        "dynamic-lease-renew-until-max-ttl.json" => Renewed3m,
        "dynamic-lease-renew-past-max-ttl.json" => RenewedToMax,
        "dynamic-lease-renew-after-revoke.json" | "dynamic-lease-revoke-already-revoked.json" => {
            Revoked
        }
        n if n.contains("after-expiry") => Expired,
        _ => Fresh,
    }
}

struct Replay {
    c: reqwest::Client,
    base: String,
}

impl Replay {
    async fn fresh_token(&self, state: TokenState) -> String {
        use TokenState::*;
        let client_id = match state {
            Viewer => VIEWER,
            Outsider => OUTSIDER,
            ShortTtl => SHORT,
            JwtExpired => JWT_EXPIRY,
            AfterFailedMaxRenew | MaxTtl => MAX_TTL,
            _ => MAIN,
        };
        let token = login(&self.c, &self.base, client_id, SECRET).await;
        match state {
            Garbage => "not-a-jwt".to_string(),
            BadSignature => {
                let (head, _) = token.rsplit_once('.').unwrap();
                format!("{head}.aW52YWxpZC1zaWduYXR1cmU")
            }
            JwtExpired => {
                // Wait until the JWT's own `exp` (max TTL 1 s) has passed.
                let exp = jwt_exp(&token).expect("a max-TTL token carries exp");
                wait_for(Duration::from_secs(5), || async move {
                    (chrono::Utc::now().timestamp() >= exp).then_some(())
                })
                .await;
                token
            }
            TtlExpired => {
                send(self.c.post(format!("{}/dev/tokens/expire", self.base))).await;
                token
            }
            Revoked => {
                let (status, _) = send(
                    self.c
                        .post(format!("{}/api/v1/auth/token/revoke", self.base))
                        .json(&json!({"accessToken": token})),
                )
                .await;
                assert_eq!(status, 200);
                token
            }
            AfterFailedMaxRenew => {
                let (status, _) = send(
                    self.c
                        .post(format!("{}/api/v1/auth/token/renew", self.base))
                        .json(&json!({"accessToken": token})),
                )
                .await;
                assert_eq!(status, 401);
                token
            }
            _ => token,
        }
    }

    async fn lease(&self, token: &str, state: LeaseState, path: &str, name: &str) -> String {
        let dynamic = match (state, path) {
            (LeaseState::Expired, _) => "contract-fleeting",
            (_, "/app") => "redis-dyn-app",
            _ if name.contains("without-renew-statement") => "redis-dyn",
            _ => "redis-dyn-renewable",
        };
        let (status, body) = send(
            self.c
                .post(format!("{}/api/v1/dynamic-secrets/leases", self.base))
                .bearer_auth(token)
                .json(&json!({"projectSlug": "agent-contract", "environmentSlug": "dev", "path": path, "dynamicSecretName": dynamic})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let id = body["lease"]["id"].as_str().unwrap().to_string();
        let at = json!({"projectSlug": "agent-contract", "environmentSlug": "dev", "path": path});
        let renew = |ttl: &str| {
            let mut b = at.clone();
            b["ttl"] = json!(ttl);
            self.c
                .post(format!(
                    "{}/api/v1/dynamic-secrets/leases/{id}/renew",
                    self.base
                ))
                .bearer_auth(token)
                .json(&b)
        };
        match state {
            LeaseState::Renewed3m => assert_eq!(send(renew("2m")).await.0, 200),
            LeaseState::RenewedToMax => {
                assert_eq!(send(renew("2m")).await.0, 200);
                assert_eq!(send(renew("2m")).await.0, 200);
            }
            LeaseState::Revoked => {
                let url = format!("{}/api/v1/dynamic-secrets/leases/{id}", self.base);
                assert_eq!(
                    send(self.c.delete(url).bearer_auth(token).json(&at))
                        .await
                        .0,
                    200
                );
            }
            LeaseState::Expired => {
                let get = format!("{}/api/v1/dynamic-secrets/leases/{id}?projectSlug=agent-contract&environmentSlug=dev&path={path}", self.base);
                let (c, t) = (self.c.clone(), token.to_string());
                wait_for(Duration::from_secs(5), || {
                    let (c, get, t) = (c.clone(), get.clone(), t.clone());
                    async move { (send(c.get(get).bearer_auth(t)).await.0 == 404).then_some(()) }
                })
                .await;
            }
            _ => {}
        }
        id
    }

    /// Creates the secret a write recording expects to exist already (and updates it, as the
    /// recorder did before deleting it).
    async fn pre_create(&self, token: &str, update: bool) {
        let mut steps = vec![("secret-create-raw-success.json", reqwest::Method::POST)];
        if update {
            steps.push(("secret-update-raw-success.json", reqwest::Method::PATCH));
        }
        for (file, method) in steps {
            let recording: Value =
                serde_json::from_str(&std::fs::read_to_string(contract_dir().join(file)).unwrap())
                    .unwrap();
            let req = &recording["request"];
            let (status, _) = send(
                self.c
                    .request(
                        method,
                        format!("{}{}", self.base, req["path"].as_str().unwrap()),
                    )
                    .bearer_auth(token)
                    .json(&req["body"]),
            )
            .await;
            assert_eq!(status, 200, "{file}");
        }
    }
}

fn jwt_exp(token: &str) -> Option<i64> {
    use base64::Engine;
    let body = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?["exp"].as_i64()
}

/// Replays one recording on a fresh server; returns the problems found.
async fn replay(name: &str, recording: &Value) -> Vec<String> {
    let server =
        start(Seed::from_file(seed_file("contract.yaml")).expect("contract seed loads")).await;
    let r = Replay {
        c: client(),
        base: server.url(),
    };
    let req = &recording["request"];
    let recorded = &recording["response"];
    let method: reqwest::Method = req["method"].as_str().unwrap().parse().unwrap();
    let mut path = req["path"].as_str().unwrap().to_string();

    let state = token_state(name);
    let token = r.fresh_token(state).await;
    let lease = lease_state(name);
    if lease != LeaseState::Keep {
        // The wrong-path recording renews a lease of `/` naming `/app`.
        let lease_path = match name {
            "dynamic-lease-renew-wrong-path.json" => "/",
            _ => req["body"]["path"]
                .as_str()
                .or(req["query"]["path"].as_str())
                .unwrap_or("/"),
        };
        let id = r
            .lease(
                &r.fresh_token(TokenState::Main).await,
                lease,
                lease_path,
                name,
            )
            .await;
        let recorded_id = path
            .trim_start_matches("/api/v1/dynamic-secrets/leases/")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        path = path.replace(&recorded_id, &id);
    }
    if matches!(
        name,
        "secret-create-raw-duplicate.json"
            | "secret-update-raw-success.json"
            | "secret-delete-raw-success.json"
    ) {
        r.pre_create(
            &r.fresh_token(TokenState::Main).await,
            name == "secret-delete-raw-success.json",
        )
        .await;
    }

    let mut builder = r.c.request(method, format!("{}{path}", r.base));
    let query: Vec<(String, String)> = req["query"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    if !query.is_empty() {
        builder = builder.query(&query);
    }
    for (k, v) in req["headers"].as_object().unwrap() {
        let v = v.as_str().unwrap();
        if k.eq_ignore_ascii_case("authorization") && v == "Bearer <redacted>" {
            builder = builder.bearer_auth(&token);
        } else {
            builder = builder.header(k.as_str(), v);
        }
    }
    builder = match &req["body"] {
        Value::Null => builder,
        Value::String(raw) => builder.body(raw.clone()),
        body => {
            let mut body = body.clone();
            if body["accessToken"] == "<redacted>" {
                body["accessToken"] = json!(token);
            }
            builder.body(body.to_string())
        }
    };
    let (status, body) = send(builder).await;

    let mut problems = Vec::new();
    let want_status = DIVERGENT
        .iter()
        .find(|(f, _, _)| *f == name)
        .map(|(_, s, _)| *s)
        .unwrap_or_else(|| recorded["status"].as_u64().unwrap() as u16);
    if status != want_status {
        problems.push(format!("status {status}, expected {want_status}: {body}"));
        return problems;
    }
    // A divergent status has its own body; validation failures keep the same shape.
    if status == recorded["status"].as_u64().unwrap() as u16 || status == 422 {
        shape_diff(&recorded["body"], &body, "$", &mut problems);
    }
    if status == 200 && recorded["status"] == 200 {
        value_diff(name, &recorded["body"], &body, &mut problems);
    }
    if body["accessToken"].is_string() && recorded["body"]["accessToken"].is_string() {
        let new = body["accessToken"].as_str().unwrap();
        if name.starts_with("token-renew-success") && new == token {
            problems.push("renew returned the same token string".into());
        }
        if new.split('.').count() != 3 {
            problems.push("access token is not JWT-shaped".into());
        }
    }
    server.shutdown().await;
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recording_replays_against_the_dev_server() {
    let mut names: Vec<String> = std::fs::read_dir(contract_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 115, "the contract recordings are present");

    let mut replayed = 0;
    let mut failures = Vec::new();
    let mut jobs = tokio::task::JoinSet::new();
    for name in names {
        if NOT_REPLAYABLE
            .iter()
            .any(|(prefix, _)| name.starts_with(prefix))
        {
            continue;
        }
        let recording: Value =
            serde_json::from_str(&std::fs::read_to_string(contract_dir().join(&name)).unwrap())
                .unwrap();
        replayed += 1;
        jobs.spawn(async move {
            let problems = replay(&name, &recording).await;
            (name, problems)
        });
    }
    while let Some(done) = jobs.join_next().await {
        let (name, problems) = done.unwrap();
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {replayed} recordings differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(replayed >= 105);
}

#[test]
fn exception_lists_name_existing_recordings() {
    let dir = contract_dir();
    for (name, _, reason) in DIVERGENT {
        assert!(dir.join(name).exists(), "{name} ({reason})");
    }
    for (prefix, reason) in NOT_REPLAYABLE {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix));
        assert!(found, "{prefix} ({reason})");
    }
}
