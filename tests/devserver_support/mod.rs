//! Helpers shared by the dev-server integration tests (not a test crate of its own).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kms_agent::devserver::{DevServer, DevServerHandle, Seed};
use serde_json::{json, Value};

pub async fn start(seed: Seed) -> DevServerHandle {
    DevServer::start(seed, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("dev server starts on 127.0.0.1:0")
}

pub fn seed_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seeds")
        .join(name)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Universal-auth login; returns the access token.
pub async fn login(c: &reqwest::Client, base: &str, id: &str, secret: &str) -> String {
    let (status, body) = send(
        c.post(format!("{base}/api/v1/auth/universal-auth/login"))
            .json(&json!({"clientId": id, "clientSecret": secret})),
    )
    .await;
    assert_eq!(status, 200, "login failed: {body}");
    body["accessToken"].as_str().unwrap().to_string()
}

/// Sends a request; returns status and JSON body (`Value::Null` for an empty or non-JSON body).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request reaches the dev server");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `f` until it returns `Some`, or panics after `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "condition not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
