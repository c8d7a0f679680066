//! `kms` as PID 1 (a container's entrypoint), in a real PID namespace (`unshare --pid --fork`, as
//! root): orphans are reaped, the agent's exit code is the namespace's, and SIGTERM to PID 1
//! reaches the agent. See `kms_agent::init_process`. Skipped (with a printed reason) when not
//! root or when the machine does not allow PID namespaces.
//!
//! Without `unshare --mount-proc`, /proc shows the host's pids: the namespace's PID 1 is found as
//! the child of the `unshare` process.

mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::*;

/// Why the tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root: PID namespaces need root".into());
    }
    match Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("`unshare --pid --fork true` failed: {s}")),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

macro_rules! skip_unless_possible {
    () => {
        if let Some(reason) = skip_reason() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

/// `/proc/PID/stat`'s state (field 3) and ppid (field 4); `None` once the process is gone.
fn state_and_ppid(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Every process whose parent is `parent`, with its state.
fn children_of(parent: u32) -> Vec<(u32, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (state, ppid) = state_and_ppid(pid)?;
            (ppid == parent).then_some((pid, state))
        })
        .collect()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `kms` run as `unshare --pid --fork kms ...`, its output in a file.
struct Namespaced {
    unshare: Child,
    log: std::path::PathBuf,
}

impl Namespaced {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Namespaced {
        let log = dir.join("kms.log");
        let out = File::create(&log).unwrap();
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", KMS]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let unshare = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start unshare");
        Namespaced { unshare, log }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The host pid of the namespace's PID 1 (the `kms` that `unshare` forked and exec'd).
    fn init_pid(&self) -> u32 {
        let unshare = self.unshare.id();
        let mut found = None;
        wait_until("the namespace's PID 1", Duration::from_secs(10), || {
            found = children_of(unshare)
                .into_iter()
                .map(|(pid, _)| pid)
                .find(|&pid| comm(pid) == "kms");
            found.is_some()
        });
        found.unwrap()
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.unshare.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Namespaced {
    fn drop(&mut self) {
        // SIGKILL to the namespace's PID 1 (from the host it is delivered) ends the namespace.
        for (pid, _) in children_of(self.unshare.id()) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// An agent config rendering a constant template once, with `execute` as its command if any.
fn agent_config(dev: &DevServer, dir: &Path, execute: Option<&str>) -> String {
    let mut cfg = format!(
        "kms:\n  address: {}\n{}templates:\n  - destination-path: {d}/out\n    template-content: x\n",
        dev.url(),
        universal_auth_block(dir),
        d = dir.display()
    );
    if let Some(command) = execute {
        cfg.push_str(&format!(
            "    config:\n      execute:\n        command: '{command}'\n        timeout: 5\n"
        ));
    }
    cfg
}

#[test]
fn orphans_left_by_a_reload_command_are_reaped() {
    skip_unless_possible!();
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    // The shell exits at once; its background sleep is reparented to the namespace's PID 1.
    let command = format!(
        "echo ran >> {}/ran; sleep 0.3 >/dev/null 2>&1 &",
        dir.path().display()
    );
    let config = dir.path().join("agent.yaml");
    std::fs::write(&config, agent_config(&dev, dir.path(), Some(&command))).unwrap();
    let ns = Namespaced::start(
        dir.path(),
        &[
            "--log-level",
            "debug",
            "agent",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    wait_until("the reload command", Duration::from_secs(20), || {
        dir.path().join("ran").exists()
    });
    let init = ns.init_pid();
    // The orphan lives 0.3s; then it is a zombie until someone reaps it.
    std::thread::sleep(Duration::from_millis(1500));
    let zombies: Vec<u32> = children_of(init)
        .into_iter()
        .filter(|&(_, state)| state == 'Z')
        .map(|(pid, _)| pid)
        .collect();
    assert!(
        zombies.is_empty(),
        "zombies left under the namespace's PID 1 ({init}): {zombies:?}\n{}",
        ns.logs()
    );
    // PID 1 (the init, or the agent itself without it) still runs.
    assert!(
        state_and_ppid(init).is_some(),
        "PID 1 is gone:\n{}",
        ns.logs()
    );
}

#[test]
fn the_agents_exit_code_is_the_namespaces() {
    skip_unless_possible!();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.yaml");
    std::fs::write(&config, "kms:\n  address: [not, a, url\n").unwrap();
    let plain = Command::new(KMS)
        .args(["agent", "--config", config.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(plain.code(), Some(2), "the config error code");
    let mut ns = Namespaced::start(
        dir.path(),
        &["agent", "--config", config.to_str().unwrap()],
        &[],
    );
    let status = ns
        .wait_exit(Duration::from_secs(20))
        .expect("kms as PID 1 exits");
    assert_eq!(status.code(), Some(2), "{}", ns.logs());
}

#[test]
fn sigterm_to_pid_1_stops_the_agent_gracefully() {
    skip_unless_possible!();
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.yaml");
    std::fs::write(&config, agent_config(&dev, dir.path(), None)).unwrap();
    let mut ns = Namespaced::start(
        dir.path(),
        &["agent", "--config", config.to_str().unwrap()],
        &[],
    );
    wait_until("the first render", Duration::from_secs(20), || {
        dir.path().join("out").exists()
    });
    let init = ns.init_pid();
    // PID 1 is the init; the agent is its child, in a process group of its own.
    let agent = children_of(init)
        .into_iter()
        .map(|(pid, _)| pid)
        .find(|&pid| comm(pid) == "kms")
        .unwrap_or_else(|| panic!("no agent under the init {init}:\n{}", ns.logs()));
    let pgid = nix::unistd::getpgid(Some(Pid::from_raw(agent as i32))).unwrap();
    assert_eq!(pgid.as_raw(), agent as i32, "the agent leads its own group");
    let sent = Instant::now();
    kill(Pid::from_raw(init as i32), Signal::SIGTERM).unwrap();
    let status = ns.wait_exit(Duration::from_secs(10));
    let logs = ns.logs();
    let status = status.unwrap_or_else(|| panic!("still running 10s after SIGTERM:\n{logs}"));
    assert_eq!(status.code(), Some(0), "{logs}");
    assert!(logs.contains("shutting down"), "{logs}");
    eprintln!("figure: SIGTERM to PID 1: exited 0 in {:?}", sent.elapsed());
}
