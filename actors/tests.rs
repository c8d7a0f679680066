//! Runtime tests with in-memory fakes for the server side (the integration tests in `tests/`
//! drive the real binary against the dev server). Every wait has a timeout.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::plan::{AgentPlan, SinkPlan, TemplatePlan};
use super::run_agent;
use crate::auth::{AuthFailure, Authenticator, TokenGrant};
use crate::exec::CommandSpec;
use crate::fetch::{FetchFailure, SecretFetcher};
use crate::leases::{LeaseApi, LeaseFailure, LeaseGrant, LeaseInfo, LeaseSpec};
use crate::restart_policy::RestartPolicy;
use crate::sensitive::Sensitive;
use crate::template::{
    CompiledTemplate, DataRequest, DataSource, DataValue, ProjectRef, RenderError, RenderOutcome,
    Secret,
};

struct FakeAuth {
    logins: AtomicU32,
    ttl: Duration,
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
struct FakeServer {
    values: Mutex<HashMap<String, String>>,
    fetches: Mutex<HashMap<DataRequest, u32>>,
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
            Ok(DataValue::Secrets(Arc::new(vec![Secret {
                key: "K".into(),
                value,
                ..Secret::default()
            }])))
        })
    }
}

/// Leases with the server's rules: renew adds the TTL to the expiry, never past max TTL.
struct FakeLeases {
    ttl: Duration,
    max_ttl: Duration,
    created: AtomicU32,
    renewed: AtomicU32,
    revoked: AtomicU32,
}

impl FakeLeases {
    fn new(ttl_ms: u64, max_ms: u64) -> Self {
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
struct LeaseTemplate;

fn dynamic() -> DataRequest {
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

fn list(path: &str) -> DataRequest {
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
struct FolderTemplate {
    path: String,
    panics: AtomicU32,
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
                format!("K={}\n", s[0].value).into_bytes(),
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

fn template(
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
        destination: dir.join(format!("out{i}")),
        mode: 0o600,
        polling_interval: Duration::from_millis(interval_ms),
        fingerprint: i as u64,
        command: command.map(|c| CommandSpec {
            command: c,
            timeout: Duration::from_secs(5),
            kill_grace: Duration::from_millis(200),
        }),
    }
}

fn plan(
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
        exit_after_auth: false,
        restart_policy: RestartPolicy {
            max_restarts: 3,
            window: Duration::from_secs(30),
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        },
        shutdown_timeout: Duration::from_secs(5),
        max_concurrent_fetches: 8,
        metrics: Arc::new(crate::telemetry::Metrics::new()),
        readiness: Arc::new(crate::telemetry::Readiness::new(ids)),
    }
}

async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[tokio::test]
async fn token_reaches_the_sink_and_templates_share_one_fetch_per_round() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let server = Arc::new(FakeServer::default());
    server
        .values
        .lock()
        .unwrap()
        .insert("/a".into(), "1".into());
    server
        .values
        .lock()
        .unwrap()
        .insert("/b".into(), "2".into());
    let templates = (0..20)
        .map(|i| {
            template(
                dir.path(),
                i,
                if i % 2 == 0 { "/a" } else { "/b" },
                300,
                0,
                None,
            )
        })
        .collect();
    let agent = run_agent(plan(auth.clone(), server.clone(), dir.path(), templates))
        .await
        .unwrap();

    wait_for("token", Duration::from_secs(5), || {
        read(&dir.path().join("sink/token")) == "token-1"
    })
    .await;
    wait_for("all files", Duration::from_secs(5), || {
        (0..20).all(|i| !read(&dir.path().join(format!("out{i}"))).is_empty())
    })
    .await;
    assert_eq!(read(&dir.path().join("out0")), "K=1\n");
    assert_eq!(read(&dir.path().join("out1")), "K=2\n");

    // A change shows up within an interval or so.
    server
        .values
        .lock()
        .unwrap()
        .insert("/a".into(), "changed".into());
    wait_for("change", Duration::from_secs(3), || {
        read(&dir.path().join("out4")) == "K=changed\n"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;

    agent.handle.shutdown();
    let exit = tokio::time::timeout(Duration::from_secs(5), agent.wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 0, "{}", exit.reason);

    // Rounds happen every 300ms: each folder is fetched about once per round, not 10 times.
    let fetches = server.fetches.lock().unwrap().clone();
    let rounds = fetches[&list("/a")];
    assert!(rounds >= 3, "expected several rounds, got {rounds}");
    for (req, n) in &fetches {
        // The first round may fetch twice (prefetch-free templates discover the request while the
        // round runs); afterwards one per round.
        assert!(
            *n <= rounds + 2,
            "{req:?} fetched {n} times for {rounds} rounds"
        );
    }
    let total: u32 = fetches.values().sum();
    assert!(
        total <= 2 * (rounds + 2),
        "20 templates over 2 sources cost {total} fetches"
    );
}

#[tokio::test]
async fn a_panicking_renderer_is_restarted_and_others_keep_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let server = Arc::new(FakeServer::default());
    let templates = vec![
        template(dir.path(), 0, "/a", 200, 2, None),
        template(dir.path(), 1, "/a", 200, 0, None),
    ];
    let agent = run_agent(plan(auth, server.clone(), dir.path(), templates))
        .await
        .unwrap();
    // Template 0 panics twice, is restarted, then renders.
    wait_for("both files", Duration::from_secs(5), || {
        dir.path().join("out0").exists() && dir.path().join("out1").exists()
    })
    .await;
    agent.handle.shutdown();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), agent.wait())
            .await
            .unwrap()
            .code,
        0
    );
}

#[tokio::test]
async fn crashes_past_the_limit_stop_the_agent_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let server = Arc::new(FakeServer::default());
    let templates = vec![template(dir.path(), 0, "/a", 200, 1000, None)];
    let agent = run_agent(plan(auth, server, dir.path(), templates))
        .await
        .unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), agent.wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 1);
    assert!(exit.reason.contains("crashed"), "{}", exit.reason);
}

#[tokio::test]
async fn exit_after_auth_renders_runs_commands_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let server = Arc::new(FakeServer::default());
    server
        .values
        .lock()
        .unwrap()
        .insert("/a".into(), "v".into());
    let marker = dir.path().join("ran");
    let templates = vec![template(
        dir.path(),
        0,
        "/a",
        60_000,
        0,
        Some(format!("sleep 0.2; touch {}", marker.display())),
    )];
    let mut p = plan(auth, server, dir.path(), templates);
    p.exit_after_auth = true;
    let agent = run_agent(p).await.unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(5), agent.wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 0, "{}", exit.reason);
    assert_eq!(read(&dir.path().join("out0")), "K=v\n");
    assert!(
        marker.exists(),
        "the command must have finished before exit"
    );

    // With no templates it exits once the sink is written.
    let dir2 = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let mut p = plan(auth, Arc::new(FakeServer::default()), dir2.path(), vec![]);
    p.exit_after_auth = true;
    let exit = tokio::time::timeout(Duration::from_secs(5), run_agent(p).await.unwrap().wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 0);
    assert_eq!(read(&dir2.path().join("sink/token")), "token-1");
}

#[tokio::test]
async fn short_ttl_tokens_are_renewed_into_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_millis(300),
    });
    let agent = run_agent(plan(
        auth.clone(),
        Arc::new(FakeServer::default()),
        dir.path(),
        vec![],
    ))
    .await
    .unwrap();
    wait_for("renewed token", Duration::from_secs(5), || {
        read(&dir.path().join("sink/token")).starts_with("token-1rr")
    })
    .await;
    assert_eq!(auth.logins.load(Ordering::SeqCst), 1);
    agent.handle.shutdown();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), agent.wait())
            .await
            .unwrap()
            .code,
        0
    );
}

fn lease_template(dir: &Path, i: usize, command: Option<String>) -> TemplatePlan {
    TemplatePlan {
        id: format!("lease{i}"),
        template: Arc::new(LeaseTemplate),
        destination: dir.join(format!("lease{i}")),
        mode: 0o600,
        polling_interval: Duration::from_secs(60),
        command: command.map(|c| CommandSpec {
            command: c,
            timeout: Duration::from_secs(5),
            kill_grace: Duration::from_millis(200),
        }),
        fingerprint: 1000 + i as u64,
    }
}

#[tokio::test]
async fn identical_dynamic_secret_calls_share_one_lease_which_is_renewed_then_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let leases = Arc::new(FakeLeases::new(600, 1800));
    let runs = dir.path().join("runs");
    let templates = (0..3)
        .map(|i| {
            lease_template(
                dir.path(),
                i,
                Some(format!("echo run >> {}", runs.display())),
            )
        })
        .collect();
    let mut p = plan(auth, Arc::new(FakeServer::default()), dir.path(), templates);
    p.leases = leases.clone();
    p.revoke_on_shutdown = true;
    let agent = run_agent(p).await.unwrap();

    wait_for("first lease rendered", Duration::from_secs(5), || {
        (0..3).all(|i| read(&dir.path().join(format!("lease{i}"))) == "user-1")
    })
    .await;
    assert_eq!(
        leases.created.load(Ordering::SeqCst),
        1,
        "three identical calls share one lease"
    );
    // 600ms TTL within 1800ms max: renewed, then replaced before it expires; every file follows.
    wait_for("replacement rendered", Duration::from_secs(5), || {
        (0..3).all(|i| read(&dir.path().join(format!("lease{i}"))) == "user-2")
    })
    .await;
    assert!(leases.renewed.load(Ordering::SeqCst) >= 1);
    wait_for(
        "commands ran for both leases",
        Duration::from_secs(5),
        || read(&runs).lines().count() >= 6,
    )
    .await;

    agent.handle.shutdown();
    let exit = tokio::time::timeout(Duration::from_secs(5), agent.wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 0, "{}", exit.reason);
    assert_eq!(
        leases.revoked.load(Ordering::SeqCst),
        1,
        "the current lease is revoked on shutdown"
    );
    assert_eq!(
        read(&dir.path().join("sink/token")),
        "",
        "sinks are emptied after revocation"
    );
}

#[tokio::test]
async fn reload_keeps_unchanged_templates_adds_new_ones_and_moves_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let server = Arc::new(FakeServer::default());
    server
        .values
        .lock()
        .unwrap()
        .insert("/a".into(), "1".into());
    let t0 = template(dir.path(), 0, "/a", 60_000, 0, None);
    let t1 = template(dir.path(), 1, "/a", 60_000, 0, None);
    let p = plan(
        auth.clone(),
        server.clone(),
        dir.path(),
        vec![t0.clone(), t1],
    );
    let metrics = p.metrics.clone();
    let agent = run_agent(p).await.unwrap();
    wait_for("first renders", Duration::from_secs(5), || {
        dir.path().join("out0").exists() && dir.path().join("out1").exists()
    })
    .await;

    // The new config keeps t0, drops t1, adds t2, and moves the sink.
    let t2 = template(dir.path(), 2, "/a", 60_000, 0, None);
    let new_sink = SinkPlan {
        path: dir.path().join("new-sink/token"),
        mode: 0o600,
    };
    agent.handle.reload(vec![t0, t2], vec![new_sink]);
    wait_for("the added template", Duration::from_secs(5), || {
        dir.path().join("out2").exists()
    })
    .await;
    wait_for("the new sink", Duration::from_secs(5), || {
        read(&dir.path().join("new-sink/token")) == "token-1"
    })
    .await;
    assert_eq!(
        auth.logins.load(Ordering::SeqCst),
        1,
        "a reload never logs in again"
    );
    // t0 was not restarted: it rendered once (its interval is a minute); t2 rendered once.
    let text = metrics.encode();
    assert!(
        text.contains("kms_agent_renders_total{template=\"t0\",outcome=\"written\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("kms_agent_renders_total{template=\"t0\",outcome=\"unchanged\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("kms_agent_renders_total{template=\"t2\",outcome=\"written\"} 1"),
        "{text}"
    );

    agent.handle.shutdown();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), agent.wait())
            .await
            .unwrap()
            .code,
        0
    );
}

#[tokio::test]
async fn a_lease_no_template_uses_after_a_reload_is_neither_renewed_nor_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    // Renewed every ~400ms and replaced before 1.5s while in use.
    let leases = Arc::new(FakeLeases::new(600, 1500));
    let server = Arc::new(FakeServer::default());
    server
        .values
        .lock()
        .unwrap()
        .insert("/a".into(), "1".into());
    let plain = template(dir.path(), 0, "/a", 60_000, 0, None);
    let mut p = plan(
        auth,
        server,
        dir.path(),
        vec![plain.clone(), lease_template(dir.path(), 1, None)],
    );
    p.leases = leases.clone();
    let agent = run_agent(p).await.unwrap();
    wait_for(
        "the lease renewed while in use",
        Duration::from_secs(5),
        || leases.renewed.load(Ordering::SeqCst) >= 1,
    )
    .await;

    agent.handle.reload(vec![plain], vec![]);
    // Past the old lease's max TTL: in use, it would have been renewed and replaced by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (created, renewed) = (
        leases.created.load(Ordering::SeqCst),
        leases.renewed.load(Ordering::SeqCst),
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        leases.created.load(Ordering::SeqCst),
        created,
        "an unused lease is not replaced"
    );
    assert!(
        leases.renewed.load(Ordering::SeqCst) <= renewed + 1,
        "an unused lease is not renewed (at most one renewal already in flight at the reload)"
    );
    agent.handle.shutdown();
    let exit = tokio::time::timeout(Duration::from_secs(5), agent.wait())
        .await
        .unwrap();
    assert_eq!(exit.code, 0, "{}", exit.reason);
}
