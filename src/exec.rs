//! Running a template's reload command: `sh -c` in its own process group, with a timeout after
//! which the whole group is terminated (SIGTERM, then SIGKILL after a grace period). Output lines
//! go to the log tagged with the template, escaped, cut at [`MAX_LOGGED_LINE`] bytes and at most
//! [`MAX_LOGGED_LINES`] per run; the rest is read and dropped, so the command never blocks on a
//! full pipe or dies of SIGPIPE.
//!
//! The command's environment is the agent's minus every `KMS_*` and `INFISICAL_*` variable: those
//! name the agent's own credentials and configuration (`KMS_UNIVERSAL_AUTH_CLIENT_SECRET`,
//! `KMS_AGENT_CONFIG_BASE64`, ...), which a reload script has no business holding.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::telemetry::outside_text::escape;

/// Grace period between SIGTERM and SIGKILL when a command times out.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// A logged output line is cut here (the rest of the line is logged as further pieces).
pub const MAX_LOGGED_LINE: usize = 4096;

/// Output lines logged per stream and run; later ones are counted, not logged.
pub const MAX_LOGGED_LINES: usize = 200;

/// How long output is still read after the shell exits: a daemon the command left behind may hold
/// the pipe open forever, and the agent must not keep the other end (or a task) for it.
const OUTPUT_DRAIN: Duration = Duration::from_millis(500);

/// Prefixes of the variables a command does not inherit.
const PRIVATE_PREFIXES: [&[u8]; 2] = [b"KMS_", b"INFISICAL_"];

/// The process groups of the commands running now, so that a shutdown can end them all (its
/// grace ran out, or a second signal) whatever actor or task is waiting for them.
static RUNNING_GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Keeps a process group in [`RUNNING_GROUPS`] while its leader runs (a reload command's shell,
/// or the supervised child of `exec`).
pub struct RunningGroup(i32);

impl RunningGroup {
    pub fn register(pgid: Pid) -> RunningGroup {
        if let Ok(mut groups) = RUNNING_GROUPS.lock() {
            groups.insert(pgid.as_raw());
        }
        RunningGroup(pgid.as_raw())
    }
}

impl Drop for RunningGroup {
    fn drop(&mut self) {
        if let Ok(mut groups) = RUNNING_GROUPS.lock() {
            groups.remove(&self.0);
        }
    }
}

/// Sends `signal` to the process group of every command still running; returns how many.
pub fn signal_running_commands(signal: Signal) -> usize {
    let groups: Vec<i32> = match RUNNING_GROUPS.lock() {
        Ok(g) => g.iter().copied().collect(),
        Err(_) => return 0,
    };
    for &g in &groups {
        let _ = killpg(Pid::from_raw(g), signal);
    }
    groups.len()
}

/// Whether a command inherits the environment variable `name`.
pub fn inherits(name: &OsStr) -> bool {
    let name = name.as_bytes();
    !PRIVATE_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// What to run and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// Shell command line, run with `sh -c`.
    pub command: String,
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL on timeout.
    pub kill_grace: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// The shell exited with this status.
    Exited(i32),
    /// The shell was killed by this signal (not by us).
    Signaled(i32),
    /// The timeout passed; the process group was terminated.
    TimedOut,
    /// The shell could not be started.
    SpawnFailed(String),
}

impl ExecOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, ExecOutcome::Exited(0))
    }
}

/// Runs `spec` to completion (or timeout). `tag` names the template in every log line.
pub async fn run_command(spec: &CommandSpec, tag: &str) -> ExecOutcome {
    let mut child = match Command::new("sh")
        .arg("-c")
        .arg(&spec.command)
        .env_clear()
        .envs(std::env::vars_os().filter(|(name, _)| inherits(name)))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return ExecOutcome::SpawnFailed(e.to_string()),
    };
    let pgid = child.id().map(|id| Pid::from_raw(id as i32));
    let running = pgid.map(RunningGroup::register);
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(log_output(out, tag.to_string(), "stdout")));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(log_output(err, tag.to_string(), "stderr")));
    }
    let outcome = wait_or_kill(&mut child, spec, pgid, tag).await;
    drop(running);
    // The shell is gone; whatever still holds the pipes (a daemon it started) gets a moment to
    // finish writing, then the agent's ends are closed.
    for r in readers {
        let abort = r.abort_handle();
        if tokio::time::timeout(OUTPUT_DRAIN, r).await.is_err() {
            abort.abort();
        }
    }
    outcome
}

async fn wait_or_kill(
    child: &mut tokio::process::Child,
    spec: &CommandSpec,
    pgid: Option<Pid>,
    tag: &str,
) -> ExecOutcome {
    match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => status_outcome(status),
        Ok(Err(e)) => ExecOutcome::SpawnFailed(e.to_string()),
        Err(_) => {
            tracing::warn!(template = tag, timeout = ?spec.timeout, "command timed out; terminating its process group");
            if let Some(pgid) = pgid {
                let _ = killpg(pgid, Signal::SIGTERM);
                if tokio::time::timeout(spec.kill_grace, child.wait())
                    .await
                    .is_err()
                {
                    let _ = killpg(pgid, Signal::SIGKILL);
                    let _ = child.wait().await;
                }
                // Members of the group that outlived the shell (background jobs) go too.
                let _ = killpg(pgid, Signal::SIGKILL);
            } else {
                let _ = child.kill().await;
            }
            ExecOutcome::TimedOut
        }
    }
}

fn status_outcome(status: std::process::ExitStatus) -> ExecOutcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExecOutcome::Exited(code),
        (None, Some(sig)) => ExecOutcome::Signaled(sig),
        (None, None) => ExecOutcome::Exited(-1),
    }
}

/// Logs a command's output stream line by line (as bytes: any encoding), bounded; reads to the end.
async fn log_output(stream: impl AsyncRead + Unpin, tag: String, which: &'static str) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut logged = 0usize;
    let mut dropped = 0usize;
    loop {
        line.clear();
        match read_piece(&mut reader, &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if logged < MAX_LOGGED_LINES {
            logged += 1;
            tracing::info!(template = %tag, stream = which, "command output: {}", escape(text));
        } else {
            dropped += 1;
        }
    }
    if dropped > 0 {
        tracing::warn!(template = %tag, stream = which, dropped, "command output lines not logged (over {MAX_LOGGED_LINES} per run)");
    }
}

/// Reads up to and including the next newline, or [`MAX_LOGGED_LINE`] bytes, whichever is first.
async fn read_piece(
    reader: &mut BufReader<impl AsyncRead + Unpin>,
    piece: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(piece.len());
        }
        let room = MAX_LOGGED_LINE - piece.len();
        let take = buf.len().min(room);
        let (n, done) = match buf[..take].iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (take, take == room),
        };
        piece.extend_from_slice(&buf[..n]);
        reader.consume(n);
        if done {
            return Ok(piece.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn spec(cmd: &str, timeout_ms: u64) -> CommandSpec {
        CommandSpec {
            command: cmd.into(),
            timeout: Duration::from_millis(timeout_ms),
            kill_grace: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn reports_the_exit_status() {
        assert_eq!(
            run_command(&spec("exit 0", 5000), "t").await,
            ExecOutcome::Exited(0)
        );
        assert_eq!(
            run_command(&spec("exit 3", 5000), "t").await,
            ExecOutcome::Exited(3)
        );
    }

    #[tokio::test]
    async fn runs_with_the_agent_environment_less_its_own_variables() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        std::env::set_var("EXEC_TEST_VAR", "visible");
        std::env::set_var("KMS_EXEC_TEST_SECRET", "hidden");
        std::env::set_var("INFISICAL_EXEC_TEST_SECRET", "hidden");
        let cmd = format!(
            "printf %s \"$EXEC_TEST_VAR:$KMS_EXEC_TEST_SECRET:$INFISICAL_EXEC_TEST_SECRET\" > {}",
            out.display()
        );
        assert!(run_command(&spec(&cmd, 5000), "t").await.is_success());
        assert_eq!(std::fs::read_to_string(out).unwrap(), "visible::");
    }

    #[test]
    fn the_agent_variables_are_private() {
        assert!(!inherits(OsStr::new("KMS_UNIVERSAL_AUTH_CLIENT_SECRET")));
        assert!(!inherits(OsStr::new("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID")));
        assert!(!inherits(OsStr::new("KMS_AGENT_CONFIG_BASE64")));
        assert!(inherits(OsStr::new("PATH")));
        assert!(inherits(OsStr::new("MY_KMS_NOTE")));
    }

    #[tokio::test]
    async fn output_pieces_are_bounded_and_any_bytes_are_read() {
        let input: Vec<u8> = [
            b"short\n".to_vec(),
            vec![b'x'; MAX_LOGGED_LINE + 10],
            b"\n\xff\xfe end".to_vec(),
        ]
        .concat();
        let mut reader = BufReader::new(&input[..]);
        let mut pieces = Vec::new();
        loop {
            let mut p = Vec::new();
            if read_piece(&mut reader, &mut p).await.unwrap() == 0 {
                break;
            }
            pieces.push(p);
        }
        assert_eq!(pieces[0], b"short\n");
        assert_eq!(pieces[1].len(), MAX_LOGGED_LINE);
        assert_eq!(pieces[2], b"xxxxxxxxxx\n");
        assert_eq!(pieces[3], b"\xff\xfe end");
        assert_eq!(pieces.len(), 4);
    }

    #[tokio::test]
    async fn a_command_printing_non_utf8_runs_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let done = dir.path().join("done");
        let cmd = format!(
            "printf '\\377\\n'; i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; touch {}",
            done.display()
        );
        assert!(run_command(&spec(&cmd, 10_000), "t").await.is_success());
        assert!(done.exists(), "the command was stopped before its end");
    }

    #[tokio::test]
    async fn the_agent_closes_its_pipe_ends_when_a_daemon_keeps_them_open() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // The background sleep inherits stdout and keeps it open after the shell exits.
        let cmd = format!("sleep 30 & echo $! > {}; echo started", pidfile.display());
        let started = Instant::now();
        assert_eq!(
            run_command(&spec(&cmd, 10_000), "t").await,
            ExecOutcome::Exited(0)
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let pipe = std::fs::read_link(format!("/proc/{pid}/fd/1")).unwrap();
        let ours: Vec<_> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .collect();
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        assert!(
            !ours.contains(&pipe),
            "the agent still holds {pipe:?}, which the daemon keeps open"
        );
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        // A background job and a foreground job, both recording their pids.
        let cmd = format!(
            "sleep 600 & echo $! >> {p}; sh -c 'echo $$ >> {p}; exec sleep 600'",
            p = pids.display()
        );
        let started = Instant::now();
        assert_eq!(
            run_command(&spec(&cmd, 500), "t").await,
            ExecOutcome::TimedOut
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let recorded = std::fs::read_to_string(&pids).unwrap();
        let pids: Vec<i32> = recorded
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(pids.len(), 2, "{recorded}");
        for pid in pids {
            // Give the kernel a moment to reap the reparented processes.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
                    .unwrap_or(false);
                if !alive {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "process {pid} survived the timeout"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    #[tokio::test]
    async fn a_command_that_ignores_sigterm_is_killed() {
        let started = Instant::now();
        let outcome = run_command(&spec("trap '' TERM; sleep 600", 300), "t").await;
        assert_eq!(outcome, ExecOutcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
