//! The client against the in-process dev server with faults injected through `/dev/faults`:
//! which failures are retried, after how long, and which are not.

mod client_support;

use std::sync::Arc;
use std::time::Duration;

use client_support::*;
use kms_agent::client::{ApiError, ClientConfig, KmsClient, RetryPolicy};
use serde_json::json;

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
    assert!(!list.secrets.0.is_empty());
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
