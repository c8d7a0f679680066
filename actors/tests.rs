//! Runtime tests with in-memory fakes for the server side (the integration tests in `tests/`
//! drive the real binary against the dev server). Every wait has a timeout.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::plan::SinkPlan;
use super::run_agent;
use super::test_support::*;

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
async fn a_template_whose_engine_always_panics_fails_only_itself() {
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
    let templates = vec![
        template(dir.path(), 0, "/a", 200, u32::MAX, None),
        template(dir.path(), 1, "/a", 200, 0, None),
    ];
    let agent = run_agent(plan(auth, server, dir.path(), templates))
        .await
        .unwrap();
    wait_for("the good file", Duration::from_secs(5), || {
        read(&dir.path().join("out1")) == "K=v\n"
    })
    .await;
    // Well past the restart budget (3 in 30 s at 10-50 ms backoff): the agent still runs.
    let handle = agent.handle.clone();
    let exit = tokio::spawn(agent.wait());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !exit.is_finished(),
        "one failing template stopped the agent"
    );
    assert!(!dir.path().join("out0").exists());
    handle.shutdown();
    let exit = tokio::time::timeout(Duration::from_secs(5), exit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code, 0, "{}", exit.reason);
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

#[tokio::test]
async fn identical_dynamic_secret_calls_share_one_lease_which_is_renewed_then_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let auth = Arc::new(FakeAuth {
        logins: AtomicU32::new(0),
        ttl: Duration::from_secs(3600),
    });
    let leases = Arc::new(FakeLeases::new(1200, 3600));
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
    // 1.2s TTL within 3.6s max: renewed, then replaced before it expires; every file follows.
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
    agent.handle.reload(vec![t0, t2], vec![new_sink], None);
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
    // Renewed every ~800ms and replaced before 3s while in use.
    let leases = Arc::new(FakeLeases::new(1200, 3000));
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

    agent.handle.reload(vec![plain], vec![], None);
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
