//! The supervised child process: started from its argv (no shell) in its own process group with
//! the rendered environment and the agent's stdin, stdout and stderr; asked to stop with its stop
//! signal; its whole group killed after the grace, and whatever of the group outlived the child
//! killed once it is gone (docs/behaviour.md §8).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use super::env::EnvBlock;
use crate::config::RestartOnChange;
use crate::exec::{inherits, RunningGroup};

/// What to run and how to stop it (`exec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// Never empty: `argv[0]` is the program (looked up in `PATH` when it has no `/`).
    pub argv: Vec<String>,
    pub working_dir: Option<PathBuf>,
    /// The agent's environment (minus its own `KMS_*`/`INFISICAL_*` variables) under the
    /// rendered one.
    pub inherit_env: bool,
    pub stop_signal: Signal,
    pub stop_grace: Duration,
    pub restart_on_change: RestartOnChange,
}

/// A child that could not be started, with the exit code a shell would give it (127: not found,
/// 126: found but not runnable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError {
    pub code: u8,
    pub message: String,
}

/// A started child: its pid (also its process group) and the process to wait for.
pub struct StartedChild {
    pub pid: Pid,
    pub process: tokio::process::Child,
    /// Kills what is left of the group when dropped (the child is gone, or the actor that held
    /// it crashed): no process of the child's group outlives it.
    pub group: ChildGroup,
}

/// The child's process group, registered so that a second signal to the agent kills it with the
/// reload commands' groups ([`crate::exec::signal_running_commands`]).
pub struct ChildGroup {
    pgid: Pid,
    _running: RunningGroup,
}

impl ChildGroup {
    /// SIGKILL to every process of the group.
    pub fn kill(&self) {
        let _ = killpg(self.pgid, Signal::SIGKILL);
    }
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the child with `env` (the rendered block) over the inherited environment.
pub fn start(spec: &ChildSpec, env: EnvBlock<'_>) -> Result<StartedChild, SpawnError> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(SpawnError {
            code: 127,
            message: "exec.command is empty".into(),
        });
    };
    let mut command = tokio::process::Command::new(program);
    command.args(args).env_clear();
    if spec.inherit_env {
        command.envs(std::env::vars_os().filter(|(name, _)| inherits(name)));
    }
    command.envs(env.vars()).process_group(0);
    if let Some(dir) = &spec.working_dir {
        command.current_dir(dir);
    }
    let process = command.spawn().map_err(|e| SpawnError {
        code: match e.kind() {
            std::io::ErrorKind::NotFound => 127,
            _ => 126,
        },
        message: format!("cannot start {}: {e}", program),
    })?;
    let Some(pid) = process.id().map(|id| Pid::from_raw(id as i32)) else {
        return Err(SpawnError {
            code: 126,
            message: format!("{program} exited before it could be watched"),
        });
    };
    Ok(StartedChild {
        pid,
        process,
        group: ChildGroup {
            pgid: pid,
            _running: RunningGroup::register(pid),
        },
    })
}

/// Asks the child to stop: its stop signal, to the child itself (the application decides what
/// its own processes do; the grace's SIGKILL then goes to the whole group).
pub fn ask_to_stop(pid: Pid, signal: Signal) {
    let _ = kill(pid, signal);
}

/// The agent's exit code for a child's exit: its own code, or 128 + the signal that killed it
/// (as a shell reports it).
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(signal)) => (128 + signal).min(255) as u8,
        (None, None) => 1,
    }
}

/// How a child's exit reads in a log line.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(s) => format!("was killed by {s}"),
            Err(_) => format!("was killed by signal {signal}"),
        },
        (None, None) => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str]) -> ChildSpec {
        ChildSpec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            working_dir: None,
            inherit_env: false,
            stop_signal: Signal::SIGTERM,
            stop_grace: Duration::from_secs(1),
            restart_on_change: RestartOnChange::Always,
        }
    }

    #[test]
    fn exit_codes_are_the_childs_or_128_plus_the_signal() {
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
        assert_eq!(
            describe_exit(ExitStatus::from_raw(15)),
            "was killed by SIGTERM"
        );
    }

    #[tokio::test]
    async fn the_child_gets_the_rendered_environment_and_not_the_agents_own() {
        std::env::set_var("KMS_TEST_CHILD_SECRET", "agent-only");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!(
            "echo \"$A|$B|${{KMS_TEST_CHILD_SECRET:-unset}}|${{PATH:+path}}\" > {}",
            out.display()
        );
        let mut s = spec(&["sh", "-c", &script]);
        s.inherit_env = true;
        let mut started = start(&s, EnvBlock(b"A=1\0B=x=y\0")).unwrap();
        let status = started.process.wait().await.unwrap();
        assert_eq!(exit_code(status), 0);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "1|x=y|unset|path\n");
    }

    #[tokio::test]
    async fn a_missing_program_is_127_and_the_group_dies_with_its_guard() {
        let err = start(&spec(&["/nonexistent/program"]), EnvBlock(b""))
            .err()
            .unwrap();
        assert_eq!(err.code, 127);
        let mut started =
            start(&spec(&["sh", "-c", "sleep 30 & sleep 30"]), EnvBlock(b"")).unwrap();
        let pid = started.pid;
        drop(started.group);
        let status = tokio::time::timeout(Duration::from_secs(5), started.process.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(exit_code(status), 137);
        // The background sleep was in the group too: once its new parent reaps it, the group
        // is empty.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while killpg(pid, None).is_ok() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            killpg(pid, None).is_err(),
            "a process of the group survived"
        );
    }
}
