//! Dev server over real HTTP: logins, token renew/revoke rules, auth failures, admin token expiry.

mod devserver_support;

use std::time::Duration;

use devserver_support::{client, login, send, start, wait_for};
use kms_agent::devserver::Seed;
use serde_json::{json, Value};

const SEED: &str = r#"
identities:
  - {client-id: main, client-secret: main-secret, identity-id: id-main, access-token-ttl: 60, access-token-max-ttl: 600}
  - {client-id: forever, client-secret: s, identity-id: id-forever, access-token-ttl: 0, access-token-max-ttl: 0}
  - {client-id: tight, client-secret: s, identity-id: id-tight, access-token-ttl: 60, access-token-max-ttl: 60}
  - {client-id: short, client-secret: s, identity-id: id-short, access-token-ttl: 1, access-token-max-ttl: 0}
  - {identity-id: 3c1f0b2e-7d4a-4e59-9a61-0c2b8d7e5f10}
projects:
  - id: p1
    environments:
      dev:
        secrets:
          /: {A: a}
"#;

fn list_url(base: &str) -> String {
    format!("{base}/api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=/")
}

async fn list_with(c: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    send(c.get(list_url(base)).bearer_auth(token)).await
}

#[tokio::test]
async fn login_success_and_failures_have_documented_shapes() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let url = format!("{base}/api/v1/auth/universal-auth/login");

    let (status, body) = send(
        c.post(&url)
            .json(&json!({"clientId": " main ", "clientSecret": "main-secret"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["expiresIn"], 60);
    assert_eq!(body["accessTokenMaxTTL"], 600);
    assert_eq!(body["tokenType"], "Bearer");
    let token = body["accessToken"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "looks like a JWT");

    for creds in [
        json!({"clientId": "main", "clientSecret": "wrong"}),
        json!({"clientId": "nobody", "clientSecret": "x"}),
    ] {
        let (status, body) = send(c.post(&url).json(&creds)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("UnauthorizedError"))
        );
        assert_eq!(body["message"], "Invalid credentials");
        assert!(body["reqId"].as_str().unwrap().starts_with("req-"));
    }

    let (status, body) = send(c.post(&url).json(&json!({"clientId": "main"}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("ValidationFailure"))
    );
    assert_eq!(body["message"][0]["path"], json!(["clientSecret"]));

    for raw in ["", "{not json"] {
        let (status, body) = send(
            c.post(&url)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            json!({"statusCode": 500, "message": "Something went wrong", "error": "InternalServerError"})
        );
    }

    // Trailing slash is accepted, as the CLI calls `/login/`.
    let (status, _) = send(
        c.post(format!("{url}/"))
            .json(&json!({"clientId": "main", "clientSecret": "main-secret"})),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn renew_gives_a_new_token_and_revoke_kills_it() {
    // The old token keeps working until its own TTL ends (so a client never holds a dead one
    // while it swaps tokens); revocation kills a token at once.
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let token = login(&c, &base, "main", "main-secret").await;
    let renew = format!("{base}/api/v1/auth/token/renew");
    let revoke = format!("{base}/api/v1/auth/token/revoke");

    let (status, body) = send(c.post(&renew).json(&json!({"accessToken": token}))).await;
    assert_eq!(status, 200);
    let renewed = body["accessToken"].as_str().unwrap().to_string();
    assert_ne!(renewed, token);
    assert_eq!(
        (
            body["expiresIn"].as_u64(),
            body["accessTokenMaxTTL"].as_u64()
        ),
        (Some(60), Some(600))
    );
    assert_eq!(list_with(&c, &base, &renewed).await.0, 200);
    assert_eq!(list_with(&c, &base, &token).await.0, 200);

    let (status, body) = send(c.post(&revoke).json(&json!({"accessToken": renewed}))).await;
    assert_eq!(
        (status, body),
        (200, json!({"message": "Successfully revoked access token"}))
    );
    let (status, body) = list_with(&c, &base, &renewed).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("No identity access token found"))
    );
    let (status, _) = send(c.post(&revoke).json(&json!({"accessToken": renewed}))).await;
    assert_eq!(status, 401);
    let (status, body) = send(c.post(&renew).json(&json!({"accessToken": renewed}))).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("No identity access token found"))
    );

    let (status, body) = send(c.post(&renew).json(&json!({}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("ValidationFailure"))
    );
    let (status, body) = send(c.post(&renew).json(&json!({"accessToken": "garbage"}))).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("TokenError")));

    let stats = server.stats();
    assert_eq!(
        stats["tokens"],
        // The original token is still within its TTL.
        json!({"issued": 1, "renewed": 1, "revoked": 1, "active": 1})
    );
}

#[tokio::test]
async fn renew_past_max_ttl_is_refused_and_deletes_the_token() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let token = login(&c, &base, "tight", "s").await;
    let (status, body) = send(
        c.post(format!("{base}/api/v1/auth/token/renew"))
            .json(&json!({"accessToken": token})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["message"],
        "Failed to renew MI access token past its Max TTL expiration"
    );
    let (status, body) = list_with(&c, &base, &token).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("No identity access token found"))
    );
}

#[tokio::test]
async fn ttl_zero_tokens_never_expire_and_renew_freely() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let (status, body) = send(
        c.post(format!("{base}/api/v1/auth/universal-auth/login"))
            .json(&json!({"clientId": "forever", "clientSecret": "s"})),
    )
    .await;
    assert_eq!(
        (
            status,
            body["expiresIn"].as_u64(),
            body["accessTokenMaxTTL"].as_u64()
        ),
        (200, Some(0), Some(0))
    );
    let mut token = body["accessToken"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let (status, body) = send(
            c.post(format!("{base}/api/v1/auth/token/renew"))
                .json(&json!({"accessToken": token})),
        )
        .await;
        assert_eq!(status, 200);
        token = body["accessToken"].as_str().unwrap().to_string();
    }
    assert_eq!(list_with(&c, &base, &token).await.0, 200);
}

#[tokio::test]
async fn ttl_expiry_rejects_then_forgets_the_token() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let token = login(&c, &base, "short", "s").await;
    // TTL 1 s: wait until the server rejects it, without a fixed sleep.
    let body = wait_for(Duration::from_secs(5), || {
        let (c, base, token) = (c.clone(), base.clone(), token.clone());
        async move {
            let (status, body) = list_with(&c, &base, &token).await;
            (status == 401).then_some(body)
        }
    })
    .await;
    assert_eq!(
        body["message"],
        "Failed to renew MI access token due to TTL expiration"
    );
    let (_, body) = list_with(&c, &base, &token).await;
    assert_eq!(body["message"], "No identity access token found");
}

#[tokio::test]
async fn admin_expire_invalidates_every_token() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let a = login(&c, &base, "main", "main-secret").await;
    let b = login(&c, &base, "forever", "s").await;
    let (status, body) = send(c.post(format!("{base}/dev/tokens/expire"))).await;
    assert_eq!((status, body["expired"].as_u64()), (200, Some(2)));
    for t in [&a, &b] {
        let (status, body) = list_with(&c, &base, t).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (
                401,
                Some("Failed to renew MI access token due to TTL expiration")
            )
        );
    }
    let (status, _) = send(
        c.post(format!("{base}/api/v1/auth/token/renew"))
            .json(&json!({"accessToken": a})),
    )
    .await;
    assert_eq!(status, 401);
    // A fresh login works again.
    let fresh = login(&c, &base, "main", "main-secret").await;
    assert_eq!(list_with(&c, &base, &fresh).await.0, 200);
}

#[tokio::test]
async fn auth_header_failures() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let (status, body) = send(c.get(list_url(&base))).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Token missing"))
    );
    for header in ["Bearer garbage", "Basic abc", "Bearer a.b.c"] {
        let (status, body) = send(c.get(list_url(&base)).header("authorization", header)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("TokenError")),
            "{header}"
        );
    }
    // A JWT-shaped token signed with another key.
    let token = login(&c, &base, "main", "main-secret").await;
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[2] = "c2lnbmF0dXJl";
    let (status, body) = list_with(&c, &base, &parts.join(".")).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("invalid signature"))
    );
}

#[tokio::test]
async fn cloud_logins_check_shape_and_identity_and_are_recorded() {
    let server = start(Seed::from_yaml_str(SEED).unwrap()).await;
    let (c, base) = (client(), server.url());
    let id = "3c1f0b2e-7d4a-4e59-9a61-0c2b8d7e5f10";
    for method in ["kubernetes", "azure", "gcp"] {
        let url = format!("{base}/api/v1/auth/{method}-auth/login");
        let (status, body) = send(
            c.post(&url)
                .json(&json!({"identityId": id, "jwt": format!("{method}-jwt\n")})),
        )
        .await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(body["expiresIn"], 7200, "identity defaults");
        let (status, body) = send(c.post(&url).json(&json!({"identityId": id}))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (422, Some("ValidationFailure"))
        );
        let (status, _) = send(
            c.post(&url)
                .json(&json!({"identityId": "unknown", "jwt": "x"})),
        )
        .await;
        assert_eq!(status, 404);
    }
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let headers = b64(
        r#"{"Authorization":"AWS4-HMAC-SHA256 Credential=AKIA/20250101/eu-west-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc","X-Amz-Date":"20250101T000000Z","Host":"sts.eu-west-1.amazonaws.com","Content-Type":"application/x-www-form-urlencoded; charset=utf-8","Content-Length":"43"}"#,
    );
    let aws = json!({"identityId": id, "iamHttpRequestMethod": "POST",
        "iamRequestBody": b64("Action=GetCallerIdentity&Version=2011-06-15"), "iamRequestHeaders": headers});
    let url = format!("{base}/api/v1/auth/aws-auth/login");
    let (status, body) = send(c.post(&url).json(&aws)).await;
    assert_eq!(status, 200, "{body}");
    let mut no_region = aws.clone();
    no_region["iamRequestHeaders"] = json!(b64(r#"{"Host":"sts.amazonaws.com"}"#));
    let (status, body) = send(c.post(&url).json(&no_region)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid AWS region"))
    );

    let (status, logins) = send(c.get(format!("{base}/dev/logins"))).await;
    assert_eq!(status, 200);
    let logins = logins["logins"].as_array().unwrap();
    let methods: Vec<&str> = logins
        .iter()
        .map(|l| l["method"].as_str().unwrap())
        .collect();
    assert!(
        methods.starts_with(&["kubernetes", "kubernetes", "kubernetes", "azure"]),
        "{methods:?}"
    );
    assert_eq!(logins[0]["body"]["jwt"], "kubernetes-jwt\n");
    let aws_login = logins.iter().find(|l| l["method"] == "aws-iam").unwrap();
    assert_eq!(aws_login["body"], aws);
}
