//! Shared set-up of the client integration tests: a dev server with a test seed, a client with
//! a recording sleeper, and helpers to set faults and read `/dev/stats`.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kms_agent::backoff::{RandomSource, SleepFuture, Sleeper};
use kms_agent::client::{
    ClientConfig, CreateLeaseRequest, GetSecretQuery, KmsClient, LeaseLocation, ListSecretsQuery,
    LoginRequest, UniversalAuthLogin,
};
use kms_agent::devserver::{DevServer, DevServerHandle, Seed};
use kms_agent::sensitive::Sensitive;
use kms_agent::template::ProjectRef;
use serde_json::Value;

pub const PROJECT_ID: &str = "proj-1";
pub const IDENTITY_ID: &str = "00000000-0000-0000-0000-000000000001";

pub const SEED: &str = r#"
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
pub struct RecordingSleeper(Mutex<Vec<Duration>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, delay: Duration) -> SleepFuture {
        self.0.lock().unwrap().push(delay);
        Box::pin(async {})
    }
}

impl RecordingSleeper {
    pub fn delays(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

pub struct FixedRandom(pub f64);

impl RandomSource for FixedRandom {
    fn next_unit(&self) -> f64 {
        self.0
    }
}

pub struct Env {
    pub server: DevServerHandle,
    pub client: KmsClient,
    pub sleeper: Arc<RecordingSleeper>,
    pub admin: reqwest::Client,
}

pub async fn start_with(config: impl FnOnce(&mut ClientConfig)) -> Env {
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

pub async fn start() -> Env {
    start_with(|_| {}).await
}

impl Env {
    pub async fn faults(&self, rules: Value) {
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

    pub async fn stats(&self) -> Value {
        self.admin
            .get(format!("{}/dev/stats", self.server.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn requests(&self, route: &str) -> u64 {
        self.stats().await["requests"][route].as_u64().unwrap_or(0)
    }

    pub async fn login(&self) -> Sensitive<String> {
        self.client
            .login(&ua("test-secret"))
            .await
            .unwrap()
            .access_token
    }
}

pub fn ua(secret: &str) -> LoginRequest {
    LoginRequest::UniversalAuth(UniversalAuthLogin {
        client_id: "test-client".into(),
        client_secret: Sensitive::new(secret.into()),
        organization_slug: None,
    })
}

pub fn list_query(path: &str) -> ListSecretsQuery {
    ListSecretsQuery {
        project: ProjectRef::Id(PROJECT_ID.into()),
        environment: "dev".into(),
        secret_path: path.into(),
        recursive: false,
        expand_references: true,
        include_imports: true,
    }
}

pub fn get_query(path: &str, name: &str) -> GetSecretQuery {
    GetSecretQuery {
        project: ProjectRef::Id(PROJECT_ID.into()),
        environment: "dev".into(),
        secret_path: path.into(),
        name: name.into(),
        expand_references: true,
        include_imports: true,
    }
}

pub fn location() -> LeaseLocation {
    LeaseLocation::new("demo", "dev", "/")
}

pub fn create_request() -> CreateLeaseRequest {
    CreateLeaseRequest {
        dynamic_secret_name: "redis".into(),
        location: location(),
        ttl: None,
        config: None,
    }
}

pub const LIST_V4: &str = "GET /api/v4/secrets";
pub const LIST_V3: &str = "GET /api/v3/secrets/raw";
pub const LOGIN_UA: &str = "POST /api/v1/auth/universal-auth/login";
pub const LEASE_CREATE: &str = "POST /api/v1/dynamic-secrets/leases";
