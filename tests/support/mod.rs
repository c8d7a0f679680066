//! Test support: the real `kms` binary as a dev server and as an agent, on 127.0.0.1 port 0,
//! with real files and processes. Every process is killed when its handle drops, and every wait
//! has a deadline.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const KMS: &str = env!("CARGO_BIN_EXE_kms");

/// A seed with one universal-auth identity (`test-client`/`test-secret`) and project `proj-1`
/// (slug `proj`) with secrets in `/` (A=1) and `/other` (B=2), and a `redis` dynamic secret.
pub fn default_seed(token_ttl: u64, token_max_ttl: u64) -> String {
    format!(
        r#"identities:
  - client-id: test-client
    client-secret: test-secret
    identity-id: 00000000-0000-0000-0000-000000000001
    access-token-ttl: {token_ttl}
    access-token-max-ttl: {token_max_ttl}
projects:
  - id: proj-1
    slug: proj
    environments:
      dev:
        secrets:
          /:
            - {{ key: A, value: "1", id: sec-a }}
          /other:
            B: "2"
        dynamic-secrets:
          /:
            redis:
              default-ttl: 60
              max-ttl: 600
              credentials:
                DB_USERNAME: "user-$LEASE_ID"
                DB_PASSWORD: "$RANDOM"
"#
    )
}

/// Output of a child process collected by a background thread.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn collect(&self, mut stream: impl Read + Send + 'static) {
        let buf = self.0.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
    }
}

/// A `kms dev-server` child process.
pub struct DevServer {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub stderr: Output,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The CA the harness's own client trusts when the server speaks TLS.
    pub ca: Option<PathBuf>,
}

/// What a dev server started with `--tls-cert`/`--tls-key` needs: its files, and the CA that
/// signed the certificate (for the harness's own admin calls).
pub struct TlsFiles<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub ca: &'a Path,
}

impl DevServer {
    pub fn start(seed_yaml: &str) -> DevServer {
        Self::start_on(seed_yaml, "127.0.0.1:0")
    }

    pub fn start_on(seed_yaml: &str, listen: &str) -> DevServer {
        Self::spawn(seed_yaml, listen, None)
    }

    /// A dev server serving HTTPS on 127.0.0.1 (a free port).
    pub fn start_tls(seed_yaml: &str, tls: TlsFiles<'_>) -> DevServer {
        Self::spawn(seed_yaml, "127.0.0.1:0", Some(tls))
    }

    fn spawn(seed_yaml: &str, listen: &str, tls: Option<TlsFiles<'_>>) -> DevServer {
        let dir = tempfile::tempdir().unwrap();
        let seed = dir.path().join("seed.yaml");
        std::fs::write(&seed, seed_yaml).unwrap();
        let mut cmd = Command::new(KMS);
        cmd.args(["dev-server", "--listen", listen, "--seed"])
            .arg(&seed);
        if let Some(tls) = &tls {
            cmd.arg("--tls-cert")
                .arg(tls.cert)
                .arg("--tls-key")
                .arg(tls.key);
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let ready = format!("dev-server listening on {scheme}://");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kms dev-server");
        let stderr = Output::default();
        stderr.collect(child.stderr.take().unwrap());
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut addr = None;
        while Instant::now() < deadline {
            let mut line = String::new();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(rest) = line.trim().strip_prefix(ready.as_str()) {
                addr = Some(rest.to_string());
                break;
            }
        }
        let addr = addr.unwrap_or_else(|| panic!("dev server did not start: {}", stderr.text()));
        // Keep draining stdout so the server never blocks on a full pipe.
        Output::default().collect(lines);
        DevServer {
            child,
            addr,
            dir,
            stderr,
            scheme,
            ca: tls.map(|t| t.ca.to_path_buf()),
        }
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The harness's client for this server (trusting its CA when it speaks TLS).
    pub fn client(&self) -> reqwest::blocking::Client {
        match &self.ca {
            Some(ca) => http_trusting(ca),
            None => http(),
        }
    }

    pub fn login(&self) -> String {
        let body: serde_json::Value = self
            .client()
            .post(format!("{}/api/v1/auth/universal-auth/login", self.url()))
            .json(&serde_json::json!({"clientId": "test-client", "clientSecret": "test-secret"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        body["accessToken"]
            .as_str()
            .expect("login answer has accessToken")
            .to_string()
    }

    /// Sets (updates, or creates) a secret through the v3 raw API.
    pub fn set_secret(&self, project_id: &str, env: &str, path: &str, key: &str, value: &str) {
        let token = self.login();
        let body = serde_json::json!({
            "workspaceId": project_id, "environment": env, "secretPath": path,
            "secretValue": value, "type": "shared"
        });
        let url = format!("{}/api/v3/secrets/raw/{key}", self.url());
        let resp = self
            .client()
            .patch(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .unwrap();
        if resp.status() == 404 {
            let resp = self
                .client()
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .unwrap();
            assert!(
                resp.status().is_success(),
                "create secret: {}",
                resp.status()
            );
        } else {
            assert!(
                resp.status().is_success(),
                "update secret: {}",
                resp.status()
            );
        }
    }

    pub fn stats(&self) -> serde_json::Value {
        self.client()
            .get(format!("{}/dev/stats", self.url()))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// Requests counted for routes whose key contains `fragment` (e.g. `/secrets`).
    pub fn requests_matching(&self, method: &str, fragment: &str) -> u64 {
        let stats = self.stats();
        stats["requests"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with(method) && k.contains(fragment))
                    .map(|(_, v)| v.as_u64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    }

    pub fn faults(&self, rules: serde_json::Value) {
        let resp = self
            .client()
            .post(format!("{}/dev/faults", self.url()))
            .json(&rules)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "set faults: {}", resp.status());
    }

    pub fn clear_faults(&self) {
        self.client()
            .delete(format!("{}/dev/faults", self.url()))
            .send()
            .unwrap();
    }

    pub fn expire_tokens(&self) {
        let resp = self
            .client()
            .post(format!("{}/dev/tokens/expire", self.url()))
            .send()
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// Whether `token` is accepted for a secrets list right now.
    pub fn token_works(&self, token: &str) -> bool {
        self.client()
            .get(format!("{}/api/v3/secrets/raw", self.url()))
            .query(&[
                ("workspaceId", "proj-1"),
                ("environment", "dev"),
                ("secretPath", "/"),
            ])
            .bearer_auth(token)
            .send()
            .map(|r| r.status().is_success())
            .unwrap_or(false)
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A blocking client that also trusts the PEM CA certificate `ca`.
pub fn http_trusting(ca: &Path) -> reqwest::blocking::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(ca)
        .build()
        .unwrap()
}

/// A `kms agent` child process with its own directory for credentials, sinks and outputs.
pub struct Agent {
    pub child: Child,
    pub dir: PathBuf,
    pub stderr: Output,
}

/// Writes the universal-auth credential files into `dir` and returns the `auth:` block.
pub fn universal_auth_block(dir: &Path) -> String {
    std::fs::write(dir.join("client-id"), "test-client").unwrap();
    std::fs::write(dir.join("client-secret"), "test-secret").unwrap();
    format!(
        "auth:\n  type: universal-auth\n  config:\n    client-id: {d}/client-id\n    client-secret: {d}/client-secret\n",
        d = dir.display()
    )
}

impl Agent {
    /// Starts `kms agent --config` with `config` (`{dir}` is replaced by the agent's directory).
    pub fn start(dir: &Path, config: &str) -> Agent {
        Self::start_with(dir, config, &[], &[])
    }

    pub fn start_with(dir: &Path, config: &str, args: &[&str], env: &[(&str, &str)]) -> Agent {
        let config = config.replace("{dir}", &dir.display().to_string());
        let path = dir.join("agent.yaml");
        std::fs::write(&path, config).unwrap();
        let mut cmd = Command::new(KMS);
        cmd.args(["--log-level", "debug", "agent", "--config"])
            .arg(&path)
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kms agent");
        let stderr = Output::default();
        stderr.collect(child.stderr.take().unwrap());
        stderr.collect(child.stdout.take().unwrap());
        Agent {
            child,
            dir: dir.to_path_buf(),
            stderr,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn logs(&self) -> String {
        self.stderr.text()
    }

    /// The listener's `IP:port`, from the agent's "serving /healthz" log line (waits for it).
    pub fn listener_addr(&self) -> String {
        let mut addr = String::new();
        wait_until("the listener", Duration::from_secs(10), || {
            addr = self
                .logs()
                .lines()
                .find(|l| l.contains("serving /healthz"))
                .and_then(|l| l.split("address=").nth(1))
                .and_then(|a| a.split_whitespace().next())
                .unwrap_or("")
                .to_string();
            !addr.is_empty()
        });
        addr
    }
}

/// The text of `/metrics` at the listener `addr`.
pub fn metrics_text(addr: &str) -> String {
    http()
        .get(format!("http://{addr}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

/// The value of the first metric line starting with `prefix` (0 when there is none).
pub fn metric_value(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0)
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` every 20ms until it holds, or panics after `timeout` naming `what`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
