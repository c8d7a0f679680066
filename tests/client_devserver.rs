//! The client against the in-process dev server: every endpoint, success and error paths, the
//! dev server's `/dev/stats` counters, and fault injection through `/dev/faults`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kms_agent::backoff::{RandomSource, SleepFuture, Sleeper};
use kms_agent::client::auth::AWS_GET_CALLER_IDENTITY_BODY;
use kms_agent::client::{
    ApiError, ApiVersion, AwsIamLogin, ClientConfig, CreateLeaseRequest, GetSecretQuery, JwtLogin,
    KmsClient, LeaseLocation, ListSecretsQuery, LoginRequest, RenewLeaseRequest, RetryPolicy,
    RevokeLeaseRequest, UniversalAuthLogin,
};
use kms_agent::devserver::{DevServer, DevServerHandle, Seed};
use kms_agent::sensitive::Sensitive;
use kms_agent::template::ProjectRef;
use serde_json::{json, Value};

const PROJECT_ID: &str = "proj-1";
const IDENTITY_ID: &str = "00000000-0000-0000-0000-000000000001";

const SEED: &str = r#"
identities:
  - client-id: test-client
    client-secret: test-secret
    identity-id: 00000000-0000-0000-0000-000000000001
    access-token-ttl: 300
    access-token-max-ttl: 3600
projects:
  - id: proj-1
    slug: demo
    environments:
      dev:
        secrets:
          /:
            - { key: API_KEY, value: sk-test, id: sec-1, comment: "the key" }
            - { key: DSN, value: "db://${API_KEY}" }
          /app:
            APP_NAME: demo-app
            SHARED: own-value
        imports:
          /app: [ { environment: prod, path: /shared } ]
        dynamic-secrets:
          /:
            redis:
              default-ttl: 60
              max-ttl: 600
              credentials:
                DB_USERNAME: v-redis-user
                DB_PASSWORD: "$RANDOM"
      prod:
        secrets:
          /shared:
            SHARED: imported-value
            ONLY_IMPORTED: from-prod
"#;

/// Records every delay the client asks for and returns at once.
#[derive(Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, delay: Duration) -> SleepFuture {
        self.0.lock().unwrap().push(delay);
        Box::pin(async {})
    }
}

impl RecordingSleeper {
    fn delays(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

struct FixedRandom(f64);

impl RandomSource for FixedRandom {
    fn next_unit(&self) -> f64 {
        self.0
    }
}

struct Env {
    server: DevServerHandle,
    client: KmsClient,
    sleeper: Arc<RecordingSleeper>,
    admin: reqwest::Client,
}

async fn start_with(config: impl FnOnce(&mut ClientConfig)) -> Env {
    let seed = Seed::from_yaml_str(SEED).expect("test seed");
    let server = DevServer::start(seed, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut cfg = ClientConfig::new(server.url());
    cfg.timeout = Duration::from_secs(5);
    config(&mut cfg);
    let sleeper = Arc::new(RecordingSleeper::default());
    let client =
        KmsClient::with_runtime(&cfg, sleeper.clone(), Arc::new(FixedRandom(1.0))).unwrap();
    Env {
        server,
        client,
        sleeper,
        admin: reqwest::Client::new(),
    }
}

async fn start() -> Env {
    start_with(|_| {}).await
}

impl Env {
    async fn faults(&self, rules: Value) {
        let resp = self
            .admin
            .post(format!("{}/dev/faults", self.server.url()))
            .json(&rules)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "fault rules refused: {}",
            resp.text().await.unwrap()
        );
    }

    async fn stats(&self) -> Value {
        self.admin
            .get(format!("{}/dev/stats", self.server.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn requests(&self, route: &str) -> u64 {
        self.stats().await["requests"][route].as_u64().unwrap_or(0)
    }

    async fn login(&self) -> Sensitive<String> {
        self.client
            .login(&ua("test-secret"))
            .await
            .unwrap()
            .access_token
    }
}

fn ua(secret: &str) -> LoginRequest {
    LoginRequest::UniversalAuth(UniversalAuthLogin {
        client_id: "test-client".into(),
        client_secret: Sensitive::new(secret.into()),
        organization_slug: None,
    })
}

fn list_query(path: &str) -> ListSecretsQuery {
    ListSecretsQuery {
        project: ProjectRef::Id(PROJECT_ID.into()),
        environment: "dev".into(),
        secret_path: path.into(),
        recursive: false,
        expand_references: true,
        include_imports: true,
    }
}

fn get_query(path: &str, name: &str) -> GetSecretQuery {
    GetSecretQuery {
        project: ProjectRef::Id(PROJECT_ID.into()),
        environment: "dev".into(),
        secret_path: path.into(),
        name: name.into(),
        expand_references: true,
        include_imports: true,
    }
}

fn location() -> LeaseLocation {
    LeaseLocation::new("demo", "dev", "/")
}

fn create_request() -> CreateLeaseRequest {
    CreateLeaseRequest {
        dynamic_secret_name: "redis".into(),
        location: location(),
        ttl: None,
        config: None,
    }
}

const LIST_V4: &str = "GET /api/v4/secrets";
const LIST_V3: &str = "GET /api/v3/secrets/raw";
const LOGIN_UA: &str = "POST /api/v1/auth/universal-auth/login";
const LEASE_CREATE: &str = "POST /api/v1/dynamic-secrets/leases";

// ---- auth ---------------------------------------------------------------------------------

#[tokio::test]
async fn universal_auth_login_renew_revoke() {
    let env = start().await;
    let token = env.client.login(&ua("test-secret")).await.unwrap();
    assert_eq!(token.expires_in, 300);
    assert_eq!(token.access_token_max_ttl, 3600);
    assert_eq!(token.token_type, "Bearer");

    let renewed = env.client.renew_token(&token.access_token).await.unwrap();
    assert!(renewed.expires_in > 0);
    let revoked = env
        .client
        .revoke_token(&renewed.access_token)
        .await
        .unwrap();
    assert!(!revoked.message.is_empty());

    let stats = env.stats().await;
    assert_eq!(stats["tokens"]["issued"], 1, "{stats}");
    assert_eq!(stats["tokens"]["renewed"], 1, "{stats}");
    assert_eq!(stats["tokens"]["revoked"], 1, "{stats}");

    // A revoked token is an auth failure everywhere, and is not retried.
    let err = env
        .client
        .list_secrets(&renewed.access_token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    assert!(env.sleeper.delays().is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_not_retried() {
    let env = start().await;
    let err = env.client.login(&ua("wrong")).await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert!(
        !err.to_string().contains("wrong"),
        "the secret must not appear: {err}"
    );
    assert_eq!(env.requests(LOGIN_UA).await, 1);
}

#[tokio::test]
async fn cloud_logins_send_the_documented_bodies() {
    let env = start().await;
    let jwt = || JwtLogin {
        identity_id: IDENTITY_ID.into(),
        jwt: Sensitive::new("header.payload.signature".into()),
        organization_slug: None,
    };
    for login in [
        LoginRequest::Kubernetes(jwt()),
        LoginRequest::Azure(jwt()),
        LoginRequest::Gcp(jwt()),
    ] {
        let token = env
            .client
            .login(&login)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", login.path()));
        assert!(!token.access_token.expose().is_empty());
    }
    let mut headers = BTreeMap::new();
    headers.insert(
        "Authorization".to_string(),
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc".to_string(),
    );
    headers.insert(
        "Host".to_string(),
        "sts.us-east-1.amazonaws.com".to_string(),
    );
    headers.insert("X-Amz-Date".to_string(), "20250101T000000Z".to_string());
    let aws = AwsIamLogin::from_signed_request(
        IDENTITY_ID,
        AWS_GET_CALLER_IDENTITY_BODY.as_bytes(),
        &headers,
    );
    env.client.login(&LoginRequest::AwsIam(aws)).await.unwrap();

    let stats = env.stats().await;
    assert_eq!(stats["tokens"]["issued"], 4, "{stats}");
    for route in [
        "POST /api/v1/auth/kubernetes-auth/login",
        "POST /api/v1/auth/azure-auth/login",
        "POST /api/v1/auth/gcp-auth/login",
        "POST /api/v1/auth/aws-auth/login",
    ] {
        assert_eq!(stats["requests"][route], 1, "{route}: {stats}");
    }

    // Unknown identity: refused (the dev server's 404 "auth method not found" reads as refused).
    let unknown = LoginRequest::Kubernetes(JwtLogin {
        identity_id: "99999999-0000-0000-0000-000000000000".into(),
        ..jwt()
    });
    let err = env.client.login(&unknown).await.unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
}

#[tokio::test]
async fn expired_tokens_are_auth_failures() {
    let env = start().await;
    let token = env.login().await;
    let resp = env
        .admin
        .post(format!("{}/dev/tokens/expire", env.server.url()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
    let err = env
        .client
        .create_lease(&token, &create_request())
        .await
        .unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
}

// ---- secrets ------------------------------------------------------------------------------

#[tokio::test]
async fn auto_version_lists_with_v4_and_merges_imports() {
    let env = start().await;
    let token = env.login().await;
    let secrets = env
        .client
        .list_template_secrets(&token, &list_query("/app"))
        .await
        .unwrap();
    assert_eq!(env.client.resolved_api_version(), ApiVersion::V4);
    let find = |k: &str| {
        secrets
            .iter()
            .find(|s| s.key == k)
            .unwrap_or_else(|| panic!("{k} in {secrets:?}"))
    };
    assert_eq!(find("APP_NAME").value, "demo-app");
    assert_eq!(find("APP_NAME").secret_path, "/app");
    assert_eq!(find("APP_NAME").workspace_id, PROJECT_ID);
    // Own secrets win over imports; import-only keys come with the import's source folder.
    assert_eq!(find("SHARED").value, "own-value");
    assert_eq!(find("ONLY_IMPORTED").value, "from-prod");
    assert_eq!(find("ONLY_IMPORTED").secret_path, "/shared");
    assert_eq!(secrets.iter().filter(|s| s.key == "SHARED").count(), 1);

    // References expanded on request; raw when not.
    let root = env
        .client
        .list_template_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    assert_eq!(
        root.iter().find(|s| s.key == "DSN").unwrap().value,
        "db://sk-test"
    );
    let raw = ListSecretsQuery {
        expand_references: false,
        ..list_query("/")
    };
    let root = env
        .client
        .list_template_secrets(&token, &raw)
        .await
        .unwrap();
    assert_eq!(
        root.iter().find(|s| s.key == "DSN").unwrap().value,
        "db://${API_KEY}"
    );
    let api_key = root.iter().find(|s| s.key == "API_KEY").unwrap();
    assert_eq!(
        (api_key.id.as_str(), api_key.comment.as_str()),
        ("sec-1", "the key")
    );

    assert_eq!(env.requests(LIST_V4).await, 3);
    assert_eq!(env.requests(LIST_V3).await, 0);
}

#[tokio::test]
async fn recursive_lists_keep_every_folder() {
    let env = start().await;
    let token = env.login().await;
    let q = ListSecretsQuery {
        recursive: true,
        include_imports: false,
        ..list_query("/")
    };
    let list = env.client.list_secrets(&token, &q).await.unwrap();
    let mut paths: Vec<(String, String)> = list
        .secrets
        .iter()
        .map(|s| {
            (
                s.secret_path.clone().unwrap_or_default(),
                s.secret_key.clone(),
            )
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("/".into(), "API_KEY".into()),
            ("/".into(), "DSN".into()),
            ("/app".into(), "APP_NAME".into()),
            ("/app".into(), "SHARED".into()),
        ]
    );
}

#[tokio::test]
async fn auto_version_falls_back_to_v3_on_the_framework_404_and_remembers() {
    let env = start().await;
    let token = env.login().await;
    let framework_404 = json!({"message": "Route GET:/api/v4/secrets not found", "error": "Not Found", "statusCode": 404});
    env.faults(json!([
        {"route": LIST_V4, "status": 404, "body": framework_404},
        {"route": "GET /api/v4/secrets/{secretName}", "status": 404, "body": framework_404},
    ]))
    .await;
    let secrets = env
        .client
        .list_template_secrets(&token, &list_query("/app"))
        .await
        .unwrap();
    assert!(
        secrets.iter().any(|s| s.key == "ONLY_IMPORTED"),
        "v3 with include_imports: {secrets:?}"
    );
    assert_eq!(env.client.resolved_api_version(), ApiVersion::V3);
    env.client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    let secret = env
        .client
        .get_secret(&token, &get_query("/", "API_KEY"))
        .await
        .unwrap();
    assert_eq!(secret.secret_value.expose(), "sk-test");
    // v4 was tried once, then never again.
    assert_eq!(env.requests(LIST_V4).await, 1);
    assert_eq!(env.requests(LIST_V3).await, 2);
    assert_eq!(env.requests("GET /api/v4/secrets/{secretName}").await, 0);
    assert_eq!(
        env.requests("GET /api/v3/secrets/raw/{secretName}").await,
        1
    );
}

#[tokio::test]
async fn a_handler_404_on_v4_is_not_found_not_a_fallback() {
    let env = start().await;
    let token = env.login().await;
    let err = env
        .client
        .get_secret(&token, &get_query("/", "NOPE"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(env.client.resolved_api_version(), ApiVersion::Auto);
    assert_eq!(
        env.requests("GET /api/v3/secrets/raw/{secretName}").await,
        0
    );
}

#[tokio::test]
async fn get_by_name_in_v3_and_v4() {
    for version in [ApiVersion::V3, ApiVersion::V4] {
        let env = start_with(|c| c.api_version = version).await;
        let token = env.login().await;
        let s = env
            .client
            .get_template_secret(&token, &get_query("/app", "APP_NAME"))
            .await
            .unwrap();
        assert_eq!(
            (s.key.as_str(), s.value.as_str(), s.secret_path.as_str()),
            ("APP_NAME", "demo-app", "/app")
        );
        // Found through the folder's import.
        let s = env
            .client
            .get_secret(&token, &get_query("/app", "ONLY_IMPORTED"))
            .await
            .unwrap();
        assert_eq!(s.secret_value.expose(), "from-prod");
        assert_eq!(s.environment, "prod");
        let no_imports = GetSecretQuery {
            include_imports: false,
            ..get_query("/app", "ONLY_IMPORTED")
        };
        let err = env
            .client
            .get_secret(&token, &no_imports)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{version:?}: {err:?}");
        let err = env
            .client
            .get_secret(&token, &get_query("/nope", "APP_NAME"))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{version:?}: {err:?}");
        assert!(err.to_string().contains("APP_NAME"), "{err}");
        let route = match version {
            ApiVersion::V3 => "GET /api/v3/secrets/raw/{secretName}",
            _ => "GET /api/v4/secrets/{secretName}",
        };
        assert_eq!(env.requests(route).await, 4, "{version:?}");
    }
}

#[tokio::test]
async fn slug_projects_list_through_v3() {
    let env = start_with(|c| c.api_version = ApiVersion::V4).await;
    let token = env.login().await;
    let q = ListSecretsQuery {
        project: ProjectRef::Slug("demo".into()),
        ..list_query("/")
    };
    let secrets = env.client.list_template_secrets(&token, &q).await.unwrap();
    assert!(
        secrets
            .iter()
            .any(|s| s.key == "API_KEY" && s.workspace_id == PROJECT_ID),
        "{secrets:?}"
    );
    assert_eq!(env.requests(LIST_V3).await, 1);
    assert_eq!(env.requests(LIST_V4).await, 0);
}

#[tokio::test]
async fn unknown_project_and_missing_environment() {
    let env = start().await;
    let token = env.login().await;
    let q = ListSecretsQuery {
        project: ProjectRef::Id("no-such-project".into()),
        ..list_query("/")
    };
    let err = env.client.list_secrets(&token, &q).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let q = ListSecretsQuery {
        environment: String::new(),
        ..list_query("/")
    };
    let err = env.client.list_secrets(&token, &q).await.unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(env.requests(LIST_V4).await, 2, "4xx are never retried");
}

// ---- leases -------------------------------------------------------------------------------

#[tokio::test]
async fn lease_create_get_renew_revoke() {
    let env = start().await;
    let token = env.login().await;
    let created = env
        .client
        .create_lease(&token, &create_request())
        .await
        .unwrap();
    let data = created.data.expose();
    assert_eq!(data["DB_USERNAME"], "v-redis-user");
    assert_eq!(data["DB_PASSWORD"].as_str().map(str::len), Some(24));
    assert_eq!(created.dynamic_secret.name, "redis");
    assert_eq!(
        created.dynamic_secret.default_ttl().unwrap(),
        Duration::from_secs(60)
    );
    let id = created.lease.id.clone();

    let details = env
        .client
        .get_lease(&token, &id, &location())
        .await
        .unwrap();
    assert_eq!(details.lease.id, id);
    assert_eq!(details.dynamic_secret.unwrap().name, "redis");

    let renew = RenewLeaseRequest {
        location: location(),
        ttl: Some("2m".into()),
    };
    let renewed = env.client.renew_lease(&token, &id, &renew).await.unwrap();
    assert_eq!(
        renewed.expire_at - created.lease.expire_at,
        chrono::TimeDelta::seconds(120)
    );

    let revoked = env
        .client
        .revoke_lease(
            &token,
            &id,
            &RevokeLeaseRequest {
                location: location(),
                is_forced: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(revoked.id, id);
    assert!(!revoked.revocation_failed());

    let stats = env.stats().await;
    assert_eq!(stats["leases"]["created"], 1, "{stats}");
    assert_eq!(stats["leases"]["renewed"], 1, "{stats}");
    assert_eq!(stats["leases"]["revoked"], 1, "{stats}");
    assert_eq!(stats["leases"]["active"], 0, "{stats}");

    let err = env
        .client
        .get_lease(&token, &id, &location())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = env
        .client
        .renew_lease(&token, &id, &renew)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn lease_errors() {
    let env = start().await;
    let token = env.login().await;
    let unknown = CreateLeaseRequest {
        dynamic_secret_name: "nope".into(),
        ..create_request()
    };
    assert!(env
        .client
        .create_lease(&token, &unknown)
        .await
        .unwrap_err()
        .is_not_found());
    let too_long = CreateLeaseRequest {
        ttl: Some("1h".into()),
        ..create_request()
    };
    let err = env
        .client
        .create_lease(&token, &too_long)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    let too_short = CreateLeaseRequest {
        ttl: Some("30s".into()),
        ..create_request()
    };
    let err = env
        .client
        .create_lease(&token, &too_short)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(env.requests(LEASE_CREATE).await, 3);

    // A non-UUID lease id is refused before anything is sent.
    let renew = RenewLeaseRequest {
        location: location(),
        ttl: None,
    };
    let err = env
        .client
        .renew_lease(&token, "not-a-uuid", &renew)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::InvalidRequest { .. }) && err.status().is_none(),
        "{err:?}"
    );
    assert_eq!(
        env.requests("POST /api/v1/dynamic-secrets/leases/{leaseId}/renew")
            .await,
        0
    );
}

// ---- faults and retries -------------------------------------------------------------------

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let env = start().await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "status": 503, "count": 2}]))
        .await;
    let list = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    assert!(!list.secrets.is_empty());
    assert_eq!(env.requests(LIST_V4).await, 3);
    // FixedRandom(1.0): the full backoff ceiling, 200ms then 400ms.
    assert_eq!(
        env.sleeper.delays(),
        vec![Duration::from_millis(200), Duration::from_millis(400)]
    );
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let env = start_with(|c| {
        c.retry = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        }
    })
    .await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "status": 500, "count": 10}]))
        .await;
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Server { .. }), "{err:?}");
    assert_eq!(err.status(), Some(500));
    assert_eq!(env.requests(LIST_V4).await, 3);
    assert_eq!(env.sleeper.delays().len(), 2);
}

#[tokio::test]
async fn rate_limits_honour_retry_after() {
    let env = start().await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "status": 429, "retry_after": 7, "count": 1}]))
        .await;
    env.client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    assert_eq!(env.sleeper.delays(), vec![Duration::from_secs(7)]);
    assert_eq!(env.requests(LIST_V4).await, 2);

    // Longer than the cap: returned at once, with the server's wait for the caller.
    env.faults(json!([{"route": LIST_V4, "status": 429, "retry_after": 3600, "count": 1}]))
        .await;
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(!err.is_auth_failure());
    assert_eq!(env.sleeper.delays().len(), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_for_reads_but_not_for_lease_creation() {
    let env = start().await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "status": 0, "count": 1}]))
        .await;
    env.client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    assert_eq!(env.requests(LIST_V4).await, 2);

    env.faults(json!([{"route": LEASE_CREATE, "status": 0, "count": 1}]))
        .await;
    let err = env
        .client
        .create_lease(&token, &create_request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Transport { sent: true, .. }),
        "{err:?}"
    );
    assert_eq!(
        env.requests(LEASE_CREATE).await,
        1,
        "a create that may have reached the server is not repeated"
    );
}

#[tokio::test]
async fn lease_creation_is_not_repeated_after_a_server_error_but_is_after_a_429() {
    let env = start().await;
    let token = env.login().await;
    env.faults(json!([{"route": LEASE_CREATE, "status": 500, "count": 1}]))
        .await;
    let err = env
        .client
        .create_lease(&token, &create_request())
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Server { .. }), "{err:?}");
    assert_eq!(env.requests(LEASE_CREATE).await, 1);

    env.faults(json!([{"route": LEASE_CREATE, "status": 429, "retry_after": 1, "count": 1}]))
        .await;
    env.client
        .create_lease(&token, &create_request())
        .await
        .unwrap();
    assert_eq!(env.requests(LEASE_CREATE).await, 3);
    assert_eq!(env.stats().await["leases"]["created"], 1);
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let env = start_with(|c| c.timeout = Duration::from_millis(300)).await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "delay_ms": 2000, "count": 1}]))
        .await;
    let started = std::time::Instant::now();
    env.client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(env.requests(LIST_V4).await, 2);
    assert_eq!(env.sleeper.delays().len(), 1);
}

#[tokio::test]
async fn a_timeout_without_retries_is_a_timeout_error() {
    let env = start_with(|c| {
        c.timeout = Duration::from_millis(200);
        c.retry.max_retries = 0;
    })
    .await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "delay_ms": 2000, "count": 1}]))
        .await;
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("/api/v4/secrets"), "{err}");
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_and_not_retried() {
    let env = start().await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "body": "{\"secrets\": [tru", "count": 1}]))
        .await;
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("GET /api/v4/secrets") && text.contains("JSON"),
        "{text}"
    );
    assert_eq!(env.requests(LIST_V4).await, 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let env = start().await;
    let token = env.login().await;
    env.faults(json!([{"route": LIST_V4, "status": 400, "count": 5}]))
        .await;
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(env.requests(LIST_V4).await, 1);
    assert!(env.sleeper.delays().is_empty());
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_that_was_never_sent() {
    let env = start().await;
    let url = env.server.url();
    env.server.shutdown().await;
    let cfg = ClientConfig {
        retry: RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        },
        ..ClientConfig::new(url)
    };
    let sleeper = Arc::new(RecordingSleeper::default());
    let client =
        KmsClient::with_runtime(&cfg, sleeper.clone(), Arc::new(FixedRandom(0.0))).unwrap();
    let err = client.login(&ua("test-secret")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Transport { sent: false, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("test-secret"));
    assert_eq!(sleeper.delays(), vec![Duration::from_millis(100)]);
}
