//! Kubernetes, Azure and GCP auth methods against local fakes of their metadata and token
//! services: the exact requests the methods send and the exact login bodies they produce.

mod auth_methods_support;

use std::time::{Duration, UNIX_EPOCH};

use auth_methods_support::{body_text, clients, dead_address, FakeServer, Reply};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kms_agent::auth::methods::{
    azure_login, azure_metadata_endpoint, gcp_iam_login, gcp_id_token_login, gcp_metadata_host,
    kubernetes_login, GcpIamEndpoints, MapEnv, MethodError,
};
use serde_json::{json, Value};

const IDENTITY: &str = "3c1f0b2e-7d4a-4e59-9a61-0c2b8d7e5f10";
const TEST_KEY_PEM: &str = include_str!("fixtures/auth_methods/test-rsa-key.pem");
const CLIENT_EMAIL: &str = "agent@demo.iam.gserviceaccount.com";

#[tokio::test]
async fn kubernetes_sends_the_current_token_file_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "eyJrOHMiOiJ0b2tlbiJ9.a.b\n").unwrap();
    let request = kubernetes_login(IDENTITY, &path).await.unwrap();
    assert_eq!(request.path(), "/api/v1/auth/kubernetes-auth/login");
    assert_eq!(
        body_text(&request),
        format!(r#"{{"identityId":"{IDENTITY}","jwt":"eyJrOHMiOiJ0b2tlbiJ9.a.b"}}"#)
    );
    std::fs::remove_file(&path).unwrap();
    let err = kubernetes_login(IDENTITY, &path).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Kubernetes service-account token file {} cannot be read: no such file",
            path.display()
        )
    );
}

#[tokio::test]
async fn azure_asks_imds_with_the_metadata_header_and_sends_the_access_token() {
    let fake = FakeServer::start(|r| {
        if r.path == "/metadata/identity/oauth2/token" && r.header("metadata") == Some("true") {
            (
                200,
                json!({"access_token": "az.access.jwt", "expires_in": "86399",
                       "resource": "https://management.azure.com/", "token_type": "Bearer"})
                .to_string(),
            )
        } else {
            (400, r#"{"error":"invalid_request"}"#.to_string())
        }
    })
    .await;
    let env = MapEnv::new([("KMS_AZURE_METADATA_ENDPOINT", fake.base())]);
    let request = azure_login(&clients(), IDENTITY, &azure_metadata_endpoint(&env))
        .await
        .unwrap();

    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/metadata/identity/oauth2/token");
    assert_eq!(
        seen[0].query.as_deref(),
        Some("api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F")
    );
    assert_eq!(seen[0].header("metadata"), Some("true"));
    assert_eq!(request.path(), "/api/v1/auth/azure-auth/login");
    assert_eq!(
        body_text(&request),
        format!(r#"{{"identityId":"{IDENTITY}","jwt":"az.access.jwt"}}"#)
    );
    assert!(!format!("{request:?}").contains("az.access.jwt"));
}

#[tokio::test]
async fn azure_errors_name_the_endpoint_and_keep_only_the_error_code() {
    let fake = FakeServer::start(|_| {
        (
            400,
            r#"{"error":"invalid_request","error_description":"Identity not found"}"#.to_string(),
        )
    })
    .await;
    let err = azure_login(&clients(), IDENTITY, &fake.base())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Azure instance metadata service at {}/metadata/identity/oauth2/token answered \
             HTTP 400 (invalid_request)",
            fake.base()
        )
    );

    let fake = FakeServer::start(|_| (200, r#"{"token_type":"Bearer"}"#.to_string())).await;
    let err = azure_login(&clients(), IDENTITY, &fake.base())
        .await
        .unwrap_err();
    assert!(err
        .to_string()
        .ends_with("sent an unusable answer: no `access_token` in the answer"));

    // Metadata requests are never redirected (the Metadata header must not travel).
    let target = FakeServer::start(|_| (200, r#"{"access_token":"elsewhere"}"#.to_string())).await;
    let location = format!("{}/metadata/identity/oauth2/token", target.base());
    let redirecting = FakeServer::start(move |_| Reply {
        status: 302,
        body: String::new(),
        headers: vec![("location", location.clone())],
    })
    .await;
    let err = azure_login(&clients(), IDENTITY, &redirecting.base())
        .await
        .unwrap_err();
    assert!(
        matches!(err, MethodError::Status { status: 302, .. }),
        "{err:?}"
    );
    assert!(target.requests().is_empty());

    let dead = dead_address().await;
    let err = azure_login(&clients(), IDENTITY, &dead).await.unwrap_err();
    assert!(matches!(err, MethodError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "Azure instance metadata service at {dead}/metadata/identity/oauth2/token could not \
             be reached"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn gcp_id_token_asks_for_the_identity_audience_with_the_google_flavor_header() {
    let fake = FakeServer::start(|r| {
        if r.header("metadata-flavor") == Some("Google") {
            (200, "gcp.identity.jwt".to_string())
        } else {
            (403, "missing header".to_string())
        }
    })
    .await;
    let env = MapEnv::new([("GCE_METADATA_HOST", fake.addr.to_string())]);
    let request = gcp_id_token_login(&clients(), IDENTITY, &gcp_metadata_host(&env))
        .await
        .unwrap();

    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].path,
        "/computeMetadata/v1/instance/service-accounts/default/identity"
    );
    assert_eq!(
        seen[0].query.as_deref(),
        Some(format!("audience={IDENTITY}&format=full").as_str())
    );
    assert_eq!(seen[0].header("metadata-flavor"), Some("Google"));
    assert_eq!(request.path(), "/api/v1/auth/gcp-auth/login");
    assert_eq!(
        body_text(&request),
        format!(r#"{{"identityId":"{IDENTITY}","jwt":"gcp.identity.jwt"}}"#)
    );
}

#[tokio::test]
async fn gcp_id_token_errors_name_the_metadata_server() {
    let fake = FakeServer::start(|_| (404, "not found".to_string())).await;
    let host = fake.addr.to_string();
    let err = gcp_id_token_login(&clients(), IDENTITY, &host)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GCE metadata server at http://{host}/computeMetadata/v1/instance/service-accounts/\
             default/identity answered HTTP 404"
        )
    );
    let dead = dead_address().await;
    let err = gcp_id_token_login(&clients(), IDENTITY, dead.trim_start_matches("http://"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        MethodError::Unreachable {
            service: "GCE metadata server",
            ..
        }
    ));
}

fn write_key(dir: &std::path::Path, token_uri: &str) -> std::path::PathBuf {
    let path = dir.join("sa.json");
    let key = json!({
        "type": "service_account",
        "project_id": "demo",
        "private_key_id": "kid-1",
        "private_key": TEST_KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "token_uri": token_uri,
    });
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

/// A fake of both Google endpoints: `/token` and the IAM `signJwt` route.
async fn fake_google() -> FakeServer {
    FakeServer::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/token") => (
            200,
            r#"{"access_token":"ya29.fake-access","expires_in":3599,"token_type":"Bearer"}"#
                .to_string(),
        ),
        ("POST", "/v1/projects/-/serviceAccounts/agent@demo.iam.gserviceaccount.com:signJwt")
            if r.header("authorization") == Some("Bearer ya29.fake-access") =>
        {
            (
                200,
                r#"{"keyId":"k1","signedJwt":"google.signed.jwt"}"#.to_string(),
            )
        }
        _ => (
            403,
            r#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"no"}}"#.to_string(),
        ),
    })
    .await
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

#[tokio::test]
async fn gcp_iam_gets_an_oauth_token_then_has_google_sign_sub_aud_exp() {
    let google = fake_google().await;
    let dir = tempfile::tempdir().unwrap();
    let token_uri = format!("{}/token", google.base());
    let key_path = write_key(dir.path(), &token_uri);
    let env = MapEnv::new([("KMS_GCP_IAM_CREDENTIALS_ENDPOINT", google.base())]);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let request = gcp_iam_login(
        &clients(),
        IDENTITY,
        &key_path,
        &GcpIamEndpoints::from_env(&env),
        now,
    )
    .await
    .unwrap();

    let seen = google.requests();
    assert_eq!(seen.len(), 2);
    // 1. The JWT-bearer grant, with an RS256 assertion signed by the key.
    let token_request = &seen[0];
    assert_eq!(
        (token_request.method.as_str(), token_request.path.as_str()),
        ("POST", "/token")
    );
    assert_eq!(
        token_request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = token_request.form();
    assert_eq!(form.len(), 2);
    assert_eq!(
        form[0],
        (
            "grant_type".to_string(),
            "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string()
        )
    );
    assert_eq!(form[1].0, "assertion");
    let parts: Vec<&str> = form[1].1.split('.').collect();
    assert_eq!(
        decode_segment(parts[0]),
        json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"})
    );
    assert_eq!(
        decode_segment(parts[1]),
        json!({
            "iss": CLIENT_EMAIL,
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "aud": token_uri,
            "iat": 1_700_000_000u64,
            "exp": 1_700_003_600u64,
        })
    );
    verify_rs256(parts[0], parts[1], parts[2]);

    // 2. signJwt with the bearer token and the payload the KMS checks.
    let sign_request = &seen[1];
    assert_eq!(
        sign_request.path,
        "/v1/projects/-/serviceAccounts/agent@demo.iam.gserviceaccount.com:signJwt"
    );
    assert_eq!(
        sign_request.header("authorization"),
        Some("Bearer ya29.fake-access")
    );
    assert_eq!(
        sign_request.header("content-type"),
        Some("application/json")
    );
    let expected_payload = format!(
        r#"{{"sub":"{CLIENT_EMAIL}","aud":"{IDENTITY}","exp":{}}}"#,
        1_700_000_000u64 + 600
    );
    assert_eq!(
        serde_json::from_str::<Value>(&sign_request.body).unwrap(),
        json!({ "payload": expected_payload })
    );

    assert_eq!(request.path(), "/api/v1/auth/gcp-auth/login");
    assert_eq!(
        body_text(&request),
        format!(r#"{{"identityId":"{IDENTITY}","jwt":"google.signed.jwt"}}"#)
    );
}

/// Verifies the assertion's signature with the fixture key's public half.
fn verify_rs256(header: &str, claims: &str, signature: &str) {
    use base64::engine::general_purpose::STANDARD;
    use ring::signature::{KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    let body: String = TEST_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let key = RsaKeyPair::from_pkcs8(&STANDARD.decode(body).unwrap()).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().as_ref())
        .verify(
            format!("{header}.{claims}").as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .expect("the assertion verifies with the key's public half");
}

#[tokio::test]
async fn gcp_iam_token_uri_override_beats_the_key_file() {
    let google = fake_google().await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = write_key(dir.path(), &format!("{}/token", dead_address().await));
    let env = MapEnv::new([
        ("KMS_GCP_IAM_CREDENTIALS_ENDPOINT", google.base()),
        (
            "KMS_GCP_OAUTH_TOKEN_URI",
            format!("{}/token", google.base()),
        ),
    ]);
    let request = gcp_iam_login(
        &clients(),
        IDENTITY,
        &key_path,
        &GcpIamEndpoints::from_env(&env),
        UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
    .await
    .unwrap();
    assert_eq!(request.body()["jwt"], "google.signed.jwt");
    assert_eq!(google.requests()[0].path, "/token");
}

#[tokio::test]
async fn gcp_iam_errors_name_the_key_file_or_the_failing_google_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.json");
    let err = gcp_iam_login(
        &clients(),
        IDENTITY,
        &missing,
        &GcpIamEndpoints::default(),
        UNIX_EPOCH,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GCP service-account key file {} cannot be read: no such file",
            missing.display()
        )
    );

    // Google refuses the grant: the error has its code, never the assertion.
    let refusing = FakeServer::start(|_| {
        (
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.to_string(),
        )
    })
    .await;
    let key_path = write_key(dir.path(), &format!("{}/token", refusing.base()));
    let err = gcp_iam_login(
        &clients(),
        IDENTITY,
        &key_path,
        &GcpIamEndpoints::default(),
        UNIX_EPOCH,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Google OAuth2 token endpoint at {}/token answered HTTP 400 (invalid_grant)",
            refusing.base()
        )
    );

    // signJwt refused (the fake wants another bearer token for this account).
    let google = fake_google().await;
    std::fs::write(
        &key_path,
        json!({"private_key": TEST_KEY_PEM, "client_email": "other@demo.iam.gserviceaccount.com",
               "token_uri": format!("{}/token", google.base())})
        .to_string(),
    )
    .unwrap();
    let endpoints = GcpIamEndpoints {
        token_uri: None,
        iam_credentials: google.base(),
    };
    let err = gcp_iam_login(&clients(), IDENTITY, &key_path, &endpoints, UNIX_EPOCH)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GCP IAM Credentials signJwt at "),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("answered HTTP 403 (PERMISSION_DENIED)"),
        "{err}"
    );
    assert!(!err.to_string().contains("ya29"));
}
