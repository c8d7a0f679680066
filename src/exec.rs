//! Running a template's reload command: `sh -c` in its own process group, with a timeout after
//! which the whole group is terminated (SIGTERM, then SIGKILL after a grace period). Output lines
//! go to the log tagged with the template.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

/// Grace period between SIGTERM and SIGKILL when a command times out.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

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
    if let Some(out) = child.stdout.take() {
        tokio::spawn(log_lines(out, tag.to_string(), "stdout"));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(log_lines(err, tag.to_string(), "stderr"));
    }

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

async fn log_lines(stream: impl AsyncRead + Unpin, tag: String, which: &'static str) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(template = %tag, stream = which, "command output: {line}");
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
    async fn runs_with_the_agent_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        std::env::set_var("KMS_EXEC_TEST_VAR", "visible");
        let cmd = format!("printf %s \"$KMS_EXEC_TEST_VAR\" > {}", out.display());
        assert!(run_command(&spec(&cmd, 5000), "t").await.is_success());
        assert_eq!(std::fs::read_to_string(out).unwrap(), "visible");
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
