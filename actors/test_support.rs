//! In-memory fakes for the server side and plan builders, shared by the runtime tests in
//! `tests.rs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::plan::{AgentPlan, SinkPlan, TemplateOutput, TemplatePlan};
use kms_agent::auth::{AuthFailure, Authenticator, TokenGrant};
use kms_agent::exec::CommandSpec;
use kms_agent::fetch::{FetchFailure, SecretFetcher};
use kms_agent::leases::{LeaseApi, LeaseFailure, LeaseGrant, LeaseInfo, LeaseSpec};
use kms_agent::restart_policy::RestartPolicy;
use kms_agent::sensitive::Sensitive;
use kms_agent::template::{
    CompiledTemplate, DataRequest, DataSource, DataValue, ProjectRef, RenderError, RenderOutcome,
    Secret, SecretFields,
};

pub(super) struct FakeAuth {
    pub(super) logins: AtomicU32,
    pub(super) ttl: Duration,
}

impl Authenticator for FakeAuth {
    fn method_name(&self) -> &str {
        "fake"
    }
    fn login(&self) -> BoxFuture<'_, Result<TokenGrant, AuthFailure>> {
        Box::pin(async move {
            let n = self.logins.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(TokenGrant {
                access_token: Sensitive::new(format!("token-{n}")),
                expires_in: self.ttl,
                max_ttl: Duration::ZERO,
            })
        })
    }
    fn renew<'a>(
        &'a self,
        token: &'a Sensitive<String>,
    ) -> BoxFuture<'a, Result<TokenGrant, AuthFailure>> {
        Box::pin(async move {
            Ok(TokenGrant {
                access_token: Sensitive::new(format!("{}r", token.expose())),
                expires_in: self.ttl,
                max_ttl: Duration::ZERO,
            })
        })
    }
    fn revoke<'a>(&'a self, _: &'a Sensitive<String>) -> BoxFuture<'a, Result<(), AuthFailure>> {
        Box::pin(async { Ok(()) })
    }
}

#[derive(Default)]
pub(super) struct FakeServer {
    pub(super) values: Mutex<HashMap<String, String>>,
    pub(super) fetches: Mutex<HashMap<DataRequest, u32>>,
}

impl SecretFetcher for FakeServer {
    fn fetch<'a>(
        &'a self,
        _: &'a Sensitive<String>,
        request: &'a DataRequest,
    ) -> BoxFuture<'a, Result<DataValue, FetchFailure>> {
        Box::pin(async move {
            *self
                .fetches
                .lock()
                .unwrap()
                .entry(request.clone())
                .or_default() += 1;
            // A little latency so that concurrent askers really overlap.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let DataRequest::ListSecrets { path, .. } = request else {
                return Err(FetchFailure {
                    message: "unsupported".into(),
                    token_rejected: false,
                });
            };
            let value = self
                .values
                .lock()
                .unwrap()
                .get(path)
                .cloned()
                .unwrap_or_default();
            Ok(DataValue::Secrets(Arc::new(vec![Secret::new(
                SecretFields {
                    key: "K".into(),
                    value,
                    ..SecretFields::default()
                },
            )
            .unwrap()])))
        })
    }
}

/// Leases with the server's rules: renew adds the TTL to the expiry, never past max TTL.
pub(super) struct FakeLeases {
    pub(super) ttl: Duration,
    pub(super) max_ttl: Duration,
    pub(super) created: AtomicU32,
    pub(super) renewed: AtomicU32,
    pub(super) revoked: AtomicU32,
}

impl FakeLeases {
    pub(super) fn new(ttl_ms: u64, max_ms: u64) -> Self {
        Self {
            ttl: Duration::from_millis(ttl_ms),
            max_ttl: Duration::from_millis(max_ms),
            created: AtomicU32::new(0),
            renewed: AtomicU32::new(0),
            revoked: AtomicU32::new(0),
        }
    }
}

impl LeaseApi for FakeLeases {
    fn create<'a>(
        &'a self,
        _: &'a Sensitive<String>,
        _: &'a LeaseSpec,
    ) -> BoxFuture<'a, Result<LeaseGrant, LeaseFailure>> {
        Box::pin(async move {
            let n = self.created.fetch_add(1, Ordering::SeqCst) + 1;
            let now = std::time::SystemTime::now();
            let mut creds = serde_json::Map::new();
            creds.insert("DB_USERNAME".into(), format!("user-{n}").into());
            Ok(LeaseGrant {
                info: LeaseInfo {
                    lease_id: format!("lease-{n}"),
                    created_at: now,
                    expire_at: now + self.ttl,
                    max_expire_at: Some(now + self.max_ttl),
                    renew_ttl: self.ttl,
                },
                credentials: Sensitive::new(creds),
            })
        })
    }
    fn renew<'a>(
        &'a self,
        _: &'a Sensitive<String>,
        _: &'a LeaseSpec,
        lease: &'a LeaseInfo,
    ) -> BoxFuture<'a, Result<LeaseInfo, LeaseFailure>> {
        Box::pin(async move {
            let mut l = lease.clone();
            l.expire_at += self.ttl;
            if l.expire_at > l.max_expire_at.unwrap() {
                return Err(LeaseFailure {
                    cannot_extend: true,
                    ..LeaseFailure::other("past max TTL")
                });
            }
            self.renewed.fetch_add(1, Ordering::SeqCst);
            Ok(l)
        })
    }
    fn revoke<'a>(
        &'a self,
        _: &'a Sensitive<String>,
        _: &'a LeaseSpec,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), LeaseFailure>> {
        Box::pin(async move {
            self.revoked.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
    fn get<'a>(
        &'a self,
        _: &'a Sensitive<String>,
        _: &'a LeaseSpec,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<LeaseInfo>, LeaseFailure>> {
        Box::pin(async { Ok(None) })
    }
}

/// Renders the `DB_USERNAME` of one shared dynamic secret.
#[derive(Debug)]
pub(super) struct LeaseTemplate;

pub(super) fn dynamic() -> DataRequest {
    DataRequest::DynamicSecret {
        project_slug: "p".into(),
        environment: "dev".into(),
        path: "/".into(),
        name: "db".into(),
        ttl: None,
    }
}

impl CompiledTemplate for LeaseTemplate {
    fn render(&self, data: &dyn DataSource) -> Result<RenderOutcome, RenderError> {
        match data.lookup(&dynamic()) {
            None => Ok(RenderOutcome::NeedData(vec![dynamic()])),
            Some(Err(message)) => Err(RenderError { message }),
            Some(Ok(DataValue::Credentials(c))) => Ok(RenderOutcome::Done(
                c["DB_USERNAME"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec(),
            )),
            Some(Ok(_)) => Err(RenderError {
                message: "wrong type".into(),
            }),
        }
    }
    fn literal_requests(&self) -> Vec<DataRequest> {
        vec![dynamic()]
    }
}

pub(super) fn list(path: &str) -> DataRequest {
    DataRequest::ListSecrets {
        project: ProjectRef::Id("p".into()),
        environment: "dev".into(),
        path: path.into(),
        recursive: false,
        expand_references: true,
    }
}

/// Renders `K=<value>` of one folder. Panics on its first `panics` renders.
#[derive(Debug)]
pub(super) struct FolderTemplate {
    pub(super) path: String,
    pub(super) panics: AtomicU32,
}

impl CompiledTemplate for FolderTemplate {
    fn render(&self, data: &dyn DataSource) -> Result<RenderOutcome, RenderError> {
        if self.panics.load(Ordering::SeqCst) > 0 {
            self.panics.fetch_sub(1, Ordering::SeqCst);
            panic!("test template panics on purpose");
        }
        match data.lookup(&list(&self.path)) {
            None => Ok(RenderOutcome::NeedData(vec![list(&self.path)])),
            Some(Err(message)) => Err(RenderError { message }),
            Some(Ok(DataValue::Secrets(s))) => Ok(RenderOutcome::Done(
                format!("K={}\n", s[0].value()).into_bytes(),
            )),
            Some(Ok(_)) => Err(RenderError {
                message: "wrong type".into(),
            }),
        }
    }
    fn literal_requests(&self) -> Vec<DataRequest> {
        vec![]
    }
}

pub(super) fn template(
    dir: &Path,
    i: usize,
    folder: &str,
    interval_ms: u64,
    panics: u32,
    command: Option<String>,
) -> TemplatePlan {
    TemplatePlan {
        id: format!("t{i}"),
        template: Arc::new(FolderTemplate {
            path: folder.into(),
            panics: AtomicU32::new(panics),
        }),
        output: TemplateOutput::File {
            destination: dir.join(format!("out{i}")),
            mode: 0o600,
        },
        polling_interval: Duration::from_millis(interval_ms),
        fingerprint: i as u64,
        command: command.map(|c| CommandSpec {
            command: c,
            timeout: Duration::from_secs(5),
            kill_grace: Duration::from_millis(200),
        }),
    }
}

pub(super) fn plan(
    auth: Arc<FakeAuth>,
    server: Arc<FakeServer>,
    dir: &Path,
    templates: Vec<TemplatePlan>,
) -> AgentPlan {
    let ids: Vec<String> = templates.iter().map(|t| t.id.clone()).collect();
    AgentPlan {
        authenticator: auth,
        fetcher: server,
        leases: Arc::new(FakeLeases::new(60_000, 600_000)),
        revoke_on_shutdown: false,
        cache: None,
        sinks: vec![SinkPlan {
            path: dir.join("sink/token"),
            mode: 0o600,
        }],
        templates,
        child: None,
        exit_after_auth: false,
        restart_policy: RestartPolicy {
            max_restarts: 3,
            window: Duration::from_secs(30),
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        },
        shutdown_timeout: Duration::from_secs(5),
        max_concurrent_fetches: 8,
        metrics: Arc::new(kms_agent::telemetry::Metrics::new()),
        readiness: Arc::new(kms_agent::telemetry::Readiness::new(ids)),
    }
}

pub(super) async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(super) fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

pub(super) fn lease_template(dir: &Path, i: usize, command: Option<String>) -> TemplatePlan {
    TemplatePlan {
        id: format!("lease{i}"),
        template: Arc::new(LeaseTemplate),
        output: TemplateOutput::File {
            destination: dir.join(format!("lease{i}")),
            mode: 0o600,
        },
        polling_interval: Duration::from_secs(60),
        command: command.map(|c| CommandSpec {
            command: c,
            timeout: Duration::from_secs(5),
            kill_grace: Duration::from_millis(200),
        }),
        fingerprint: 1000 + i as u64,
    }
}
