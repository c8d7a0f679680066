//! Every auth method end to end: the real `kms` binary logs in to `kms dev-server` with the body
//! shape of docs/wire-contract.md, using local fake metadata, OAuth and IAM servers for the cloud
//! parts, then renders a template. A missing credential is named in the log and the agent keeps
//! retrying.

mod auth_methods_support;
mod support;

use std::time::Duration;

use auth_methods_support::FakeServer;
use support::*;

const IDENTITY: &str = "00000000-0000-0000-0000-000000000001";
const TEST_KEY_PEM: &str = include_str!("fixtures/auth_methods/test-rsa-key.pem");

fn config(dev: &DevServer, auth: &str) -> String {
    format!(
        "kms:\n  address: {}\nauth:\n{auth}sinks:\n  - type: file\n    config:\n      path: {{dir}}/token\ntemplates:\n  - destination-path: {{dir}}/out\n    template-content: '{{{{ range secret \"proj-1\" \"dev\" \"/\" }}}}{{{{ .Key }}}}={{{{ .Value }}}}{{{{ end }}}}'\n    config:\n      polling-interval: 1s\n",
        dev.url()
    )
}

/// Logs in with `auth` (and `env`), waits for the render, and returns the login body the dev
/// server recorded.
fn login_and_render(auth: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("identity-id"), IDENTITY).unwrap();
    let auth = auth.replace("{dir}", &dir.path().display().to_string());
    let agent = Agent::start_with(dir.path(), &config(&dev, &auth), &[], env);
    wait_until("the render", Duration::from_secs(15), || {
        agent.read("out") == "A=1"
    });
    let logins = http()
        .get(format!("{}/dev/logins", dev.url()))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    logins["logins"][0]["body"].clone()
}

fn keys(body: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn kubernetes_sends_the_service_account_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("sa-token");
    std::fs::write(&token, "k8s.sa.jwt\n").unwrap();
    let auth = format!(
        "  type: kubernetes\n  config:\n    identity-id: {{dir}}/identity-id\n    service-account-token: {}\n",
        token.display()
    );
    let body = login_and_render(&auth, &[]);
    assert_eq!(keys(&body), ["identityId", "jwt"]);
    assert_eq!(body["identityId"], IDENTITY);
    assert_eq!(body["jwt"], "k8s.sa.jwt");
}

#[test]
fn azure_sends_the_imds_access_token() {
    let rt = runtime();
    let imds = rt.block_on(FakeServer::start(|r| {
        assert_eq!(r.header("metadata"), Some("true"));
        (
            200,
            r#"{"access_token":"azure.ad.jwt","token_type":"Bearer"}"#.to_string(),
        )
    }));
    let body = login_and_render(
        "  type: azure\n  config:\n    identity-id: {dir}/identity-id\n",
        &[("KMS_AZURE_METADATA_ENDPOINT", &imds.base())],
    );
    assert_eq!(keys(&body), ["identityId", "jwt"]);
    assert_eq!(body["jwt"], "azure.ad.jwt");
    assert_eq!(imds.requests().len(), 1);
}

#[test]
fn gcp_id_token_sends_the_metadata_identity_token() {
    let rt = runtime();
    let metadata = rt.block_on(FakeServer::start(|r| {
        assert_eq!(r.header("metadata-flavor"), Some("Google"));
        (200, "gce.identity.jwt".to_string())
    }));
    let host = metadata.base().trim_start_matches("http://").to_string();
    let body = login_and_render(
        "  type: gcp-id-token\n  config:\n    identity-id: {dir}/identity-id\n",
        &[("GCE_METADATA_HOST", &host)],
    );
    assert_eq!(keys(&body), ["identityId", "jwt"]);
    assert_eq!(body["jwt"], "gce.identity.jwt");
    let query = metadata.requests()[0].query.clone().unwrap_or_default();
    assert!(query.contains(&format!("audience={IDENTITY}")), "{query}");
}

#[test]
fn gcp_iam_sends_a_google_signed_jwt() {
    let rt = runtime();
    let google = rt.block_on(FakeServer::start(|r| {
        if r.path.contains(":signJwt") {
            (
                200,
                r#"{"keyId":"k","signedJwt":"google.signed.jwt"}"#.to_string(),
            )
        } else {
            (
                200,
                r#"{"access_token":"ya29.token","expires_in":3600,"token_type":"Bearer"}"#
                    .to_string(),
            )
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("sa.json");
    let key_json = serde_json::json!({
        "type": "service_account", "private_key_id": "kid", "private_key": TEST_KEY_PEM,
        "client_email": "agent@demo.iam.gserviceaccount.com", "token_uri": format!("{}/token", google.base())
    });
    std::fs::write(&key, key_json.to_string()).unwrap();
    let auth = format!(
        "  type: gcp-iam\n  config:\n    identity-id: {{dir}}/identity-id\n    service-account-key: {}\n",
        key.display()
    );
    let body = login_and_render(
        &auth,
        &[("KMS_GCP_IAM_CREDENTIALS_ENDPOINT", &google.base())],
    );
    assert_eq!(keys(&body), ["identityId", "jwt"]);
    assert_eq!(body["jwt"], "google.signed.jwt");
}

#[test]
fn aws_iam_sends_a_signed_get_caller_identity_request() {
    let home = tempfile::tempdir().unwrap();
    let body = login_and_render(
        "  type: aws-iam\n  config:\n    identity-id: {dir}/identity-id\n",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_REGION", "eu-west-1"),
            ("HOME", &home.path().display().to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(
        keys(&body),
        [
            "iamHttpRequestMethod",
            "iamRequestBody",
            "iamRequestHeaders",
            "identityId"
        ]
    );
    assert_eq!(body["iamHttpRequestMethod"], "POST");
    assert_eq!(
        body["iamRequestBody"],
        "QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNQ=="
    );
    use base64::Engine as _;
    let headers = base64::engine::general_purpose::STANDARD
        .decode(body["iamRequestHeaders"].as_str().unwrap())
        .unwrap();
    let headers: serde_json::Value = serde_json::from_slice(&headers).unwrap();
    assert_eq!(headers["Host"], "sts.eu-west-1.amazonaws.com");
    assert!(headers["Authorization"]
        .as_str()
        .unwrap()
        .contains("/eu-west-1/sts/aws4_request"));
    assert!(
        !headers["Authorization"]
            .as_str()
            .unwrap()
            .contains("wJalrXUtnFEMI"),
        "the secret key is never sent"
    );
}

#[test]
fn a_missing_credential_is_named_and_the_agent_keeps_retrying() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("identity-id"), IDENTITY).unwrap();
    let missing = dir.path().join("no-such-token");
    let auth = format!(
        "  type: kubernetes\n  config:\n    identity-id: {}/identity-id\n    service-account-token: {}\n",
        dir.path().display(),
        missing.display()
    );
    let mut agent = Agent::start(dir.path(), &config(&dev, &auth));
    wait_until("the error naming the file", Duration::from_secs(10), || {
        let logs = agent.logs();
        logs.contains(&missing.display().to_string()) && logs.contains("retrying")
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        agent.child.try_wait().unwrap().is_none(),
        "the agent must keep running"
    );
    // Once the file appears, the next attempt logs in.
    std::fs::write(&missing, "late.jwt").unwrap();
    wait_until(
        "the login after the file appeared",
        Duration::from_secs(15),
        || agent.read("out") == "A=1",
    );
    let _ = agent.wait_exit(Duration::from_millis(10));
}
