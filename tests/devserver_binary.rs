//! The real `kms dev-server` binary: ready line, demo credentials, serving, SIGTERM → exit 0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

#[tokio::test]
async fn demo_server_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(["dev-server", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kms binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a ready line").unwrap();
    let url = ready
        .strip_prefix("dev-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {ready}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let id_line = lines.next().unwrap().unwrap();
    let secret_line = lines.next().unwrap().unwrap();
    assert!(
        id_line.starts_with("demo universal-auth client id: demo-client-id"),
        "{id_line}"
    );
    // The credential files the server wrote hold the same values.
    let file_of = |line: &str| {
        line.rsplit_once("(file: ")
            .unwrap()
            .1
            .trim_end_matches(')')
            .to_string()
    };
    let id_file = file_of(&id_line);
    assert_eq!(std::fs::read_to_string(&id_file).unwrap(), "demo-client-id");
    let secret = std::fs::read_to_string(file_of(&secret_line)).unwrap();

    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let login: Value = c
        .post(format!("{url}/api/v1/auth/universal-auth/login"))
        .json(&json!({"clientId": "demo-client-id", "clientSecret": secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["accessToken"].as_str().expect("login gives a token");
    let resp = c
        .get(format!("{url}/api/v3/secrets/raw?workspaceId=6553ccb2b7da580d7f6e7260&environment=dev&secretPath=/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let keys: Vec<&str> = body["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["secretKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["API_KEY", "DATABASE_URL", "DB_PASSWORD", "DEBUG"]);

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "dev-server did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(
        !std::path::Path::new(&id_file).exists(),
        "credential files are removed on exit"
    );
}

#[test]
fn bad_seed_file_is_a_config_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, "projects:\n  - id: p\n    environmentz: {}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kms"))
        .args(["dev-server", "--listen", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("environmentz"), "{stderr}");
}
