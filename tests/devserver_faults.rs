//! Dev server over real HTTP: request counters, fault rules, shutdown.

mod devserver_support;

use std::time::{Duration, Instant};

use devserver_support::{client, login, send, start};
use kms_agent::devserver::{Seed, API_ROUTES};
use serde_json::{json, Value};

const LIST: &str = "GET /api/v3/secrets/raw";

async fn setup() -> (
    kms_agent::devserver::DevServerHandle,
    reqwest::Client,
    String,
    String,
) {
    let server = start(Seed::demo()).await;
    let c = client();
    let base = server.url();
    let token = login(&c, &base, "demo-client-id", "demo-client-secret").await;
    (server, c, base, token)
}

fn list_req(c: &reqwest::Client, base: &str, token: &str) -> reqwest::RequestBuilder {
    c.get(format!(
        "{base}/api/v3/secrets/raw?workspaceId=6553ccb2b7da580d7f6e7260&environment=dev"
    ))
    .bearer_auth(token)
}

async fn add_faults(c: &reqwest::Client, base: &str, rules: Value) -> (u16, Value) {
    send(c.post(format!("{base}/dev/faults")).json(&rules)).await
}

#[tokio::test]
async fn status_rules_expire_after_count_and_are_counted() {
    let (server, c, base, token) = setup().await;
    let (status, _) = add_faults(
        &c,
        &base,
        json!([{"route": LIST, "status": 503, "count": 2}]),
    )
    .await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let (status, body) = send(list_req(&c, &base, &token)).await;
        assert_eq!((status, body["statusCode"].as_u64()), (503, Some(503)));
    }
    let (status, _) = send(list_req(&c, &base, &token)).await;
    assert_eq!(status, 200, "the rule expired after count=2");
    let (_, stats) = send(c.get(format!("{base}/dev/stats"))).await;
    assert_eq!(stats["requests"][LIST], 3, "faulted requests are counted");
    assert_eq!(
        stats["requests"]["POST /api/v1/auth/universal-auth/login"],
        1
    );
    assert!(
        stats["requests"].get("GET /dev/stats").is_none(),
        "admin calls are not counted"
    );
    assert_eq!(server.stats()["requests"][LIST], 3);
}

#[tokio::test]
async fn body_and_retry_after_replace_the_answer() {
    let (_server, c, base, token) = setup().await;
    add_faults(
        &c,
        &base,
        json!([
            {"route": LIST, "status": 200, "body": "{\"secrets\": [", "count": 1},
            {"route": LIST, "status": 429, "retry_after": 7, "count": 1}
        ]),
    )
    .await;
    let resp = list_req(&c, &base, &token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "{\"secrets\": [");
    let resp = list_req(&c, &base, &token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "RateLimitExceeded");
}

#[tokio::test]
async fn status_zero_closes_the_connection_without_answer() {
    let (_server, c, base, token) = setup().await;
    add_faults(&c, &base, json!({"route": "*", "status": 0, "count": 1})).await;
    let err = list_req(&c, &base, &token)
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_timeout(), "closed, not timed out: {err}");
    assert!(err.status().is_none());
    // The server keeps serving other connections.
    let (status, _) = send(list_req(&c, &base, &token)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delay_then_normal_answer_and_clear() {
    let (_server, c, base, token) = setup().await;
    add_faults(&c, &base, json!([{"route": LIST, "delay_ms": 300}])).await;
    let started = Instant::now();
    let (status, _) = send(list_req(&c, &base, &token)).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (_, listed) = send(c.get(format!("{base}/dev/faults"))).await;
    assert_eq!(
        listed["faults"].as_array().unwrap().len(),
        1,
        "no count: stays until cleared"
    );
    let (status, _) = send(c.delete(format!("{base}/dev/faults"))).await;
    assert_eq!(status, 200);
    let started = Instant::now();
    send(list_req(&c, &base, &token)).await;
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn invalid_rules_are_refused_with_the_field_named() {
    let (_server, c, base, _) = setup().await;
    for (rule, field) in [
        (
            json!([{"route": "GET /api/v3/secrets", "status": 500}]),
            "route",
        ),
        (json!([{"route": "*", "status": 42}]), "status"),
        (json!([{"route": "*", "statuss": 500}]), "statuss"),
    ] {
        let (status, body) = add_faults(&c, &base, rule).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
    for key in API_ROUTES {
        let (status, _) = add_faults(
            &c,
            &base,
            json!([{"route": key, "delay_ms": 1, "count": 1}]),
        )
        .await;
        assert_eq!(status, 200, "{key}");
    }
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let (server, c, base, token) = setup().await;
    server.shutdown().await;
    assert!(list_req(&c, &base, &token).send().await.is_err());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let (server, c, base, token) = setup().await;
    drop(server);
    devserver_support::wait_for(Duration::from_secs(5), || {
        let req = list_req(&c, &base, &token);
        async move { req.send().await.is_err().then_some(()) }
    })
    .await;
}
