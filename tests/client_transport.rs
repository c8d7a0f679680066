//! What the client puts on the wire, seen by a bare TCP listener: User-Agent, custom headers,
//! the bearer header, JSON bodies (also on DELETE), explicit query flags; and connection reuse.

use std::time::Duration;

use kms_agent::client::headers::parse_custom_headers;
use kms_agent::client::{
    ApiVersion, ClientConfig, KmsClient, LeaseLocation, ListSecretsQuery, RevokeLeaseRequest,
    USER_AGENT,
};
use kms_agent::sensitive::Sensitive;
use kms_agent::template::ProjectRef;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One captured request: the head (request line + headers, lower-cased names) and the body.
#[derive(Debug)]
struct Captured {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
    connection: usize,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `answers` (one JSON body per request, status 200) and reports every request.
async fn capture_server(answers: Vec<&'static str>) -> (String, mpsc::UnboundedReceiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut answers = answers.into_iter();
        let mut connection = 0;
        while let Ok((stream, _)) = listener.accept().await {
            connection += 1;
            let mut reader = BufReader::new(stream);
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                    break;
                }
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).await.unwrap();
                    let line = line.trim_end().to_string();
                    if line.is_empty() {
                        break;
                    }
                    let (n, v) = line.split_once(':').unwrap();
                    headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).await.unwrap();
                let answer = answers.next().unwrap_or("{}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
                    answer.len(),
                    answer
                );
                reader
                    .get_mut()
                    .write_all(response.as_bytes())
                    .await
                    .unwrap();
                let _ = tx.send(Captured {
                    request_line: request_line.trim_end().to_string(),
                    headers,
                    body: String::from_utf8(body).unwrap(),
                    connection,
                });
            }
        }
    });
    (format!("http://{addr}"), rx)
}

const LIST_ANSWER: &str = r#"{"secrets":[]}"#;
const LEASE_ANSWER: &str = r#"{"lease":{"id":"41ac32d8-56f3-4d3e-af03-eb5d5eafc174","expireAt":"2026-01-01T00:00:00.000Z"}}"#;

async fn next(rx: &mut mpsc::UnboundedReceiver<Captured>) -> Captured {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn requests_carry_agent_headers_bearer_and_explicit_flags_over_one_connection() {
    let (url, mut rx) = capture_server(vec![LIST_ANSWER, LIST_ANSWER, LEASE_ANSWER]).await;
    let config = ClientConfig {
        api_version: ApiVersion::V3,
        custom_headers: parse_custom_headers(r#"CF-Access-Client-Id=abc X-Team="a b""#).unwrap(),
        ..ClientConfig::new(url)
    };
    let client = KmsClient::new(&config).unwrap();
    let token = Sensitive::new("tok.en.x".to_string());
    let query = ListSecretsQuery {
        project: ProjectRef::Id("p1".into()),
        environment: "dev".into(),
        secret_path: "/".into(),
        recursive: false,
        expand_references: false,
        include_imports: false,
    };
    client.list_secrets(&token, &query).await.unwrap();
    client.list_secrets(&token, &query).await.unwrap();
    let revoke = RevokeLeaseRequest {
        location: LeaseLocation::new("demo", "dev", "/"),
        is_forced: true,
    };
    client
        .revoke_lease(&token, "41ac32d8-56f3-4d3e-af03-eb5d5eafc174", &revoke)
        .await
        .unwrap();

    let first = next(&mut rx).await;
    assert_eq!(
        first.request_line,
        "GET /api/v3/secrets/raw?workspaceId=p1&environment=dev&secretPath=%2F&expandSecretReferences=false&recursive=false&include_imports=false&viewSecretValue=true HTTP/1.1"
    );
    assert_eq!(first.header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("kms-agent/"));
    assert_eq!(first.header("authorization"), Some("Bearer tok.en.x"));
    assert_eq!(first.header("cf-access-client-id"), Some("abc"));
    assert_eq!(first.header("x-team"), Some("a b"));
    assert_eq!(first.body, "");

    let second = next(&mut rx).await;
    assert_eq!(
        second.connection, first.connection,
        "the connection is reused"
    );

    let delete = next(&mut rx).await;
    assert_eq!(
        delete.request_line,
        "DELETE /api/v1/dynamic-secrets/leases/41ac32d8-56f3-4d3e-af03-eb5d5eafc174 HTTP/1.1"
    );
    assert_eq!(delete.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&delete.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"projectSlug": "demo", "environmentSlug": "dev", "path": "/", "isForced": true})
    );
}

#[tokio::test]
async fn login_renew_and_revoke_send_no_authorization_header() {
    let token_answer =
        r#"{"accessToken":"new","expiresIn":10,"accessTokenMaxTTL":20,"tokenType":"Bearer"}"#;
    let (url, mut rx) = capture_server(vec![token_answer, r#"{"message":"ok"}"#]).await;
    let client = KmsClient::new(&ClientConfig::new(url)).unwrap();
    let token = Sensitive::new("old".to_string());
    let renewed = client.renew_token(&token).await.unwrap();
    assert_eq!(renewed.access_token.expose(), "new");
    client.revoke_token(&renewed.access_token).await.unwrap();
    let renew = next(&mut rx).await;
    assert!(renew
        .request_line
        .starts_with("POST /api/v1/auth/token/renew "));
    assert_eq!(renew.header("authorization"), None);
    assert_eq!(renew.body, r#"{"accessToken":"old"}"#);
    let revoke = next(&mut rx).await;
    assert_eq!(revoke.header("authorization"), None);
    assert_eq!(revoke.body, r#"{"accessToken":"new"}"#);
}
