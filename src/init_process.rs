//! What `kms` does when it starts as PID 1 (a container's entrypoint): it splits into a tiny init
//! and the agent, like `tini`.
//!
//! Why: PID 1 has three duties an ordinary program does not.
//! - **Orphans.** A process whose parent dies is reparented to PID 1, which must reap it when it
//!   exits, or it stays a zombie for ever. A reload command such as `nginx -s reload` or
//!   `some-daemon &` leaves such orphans. The agent cannot reap them itself: its runtime
//!   (tokio::process) waits only for the pids it spawned, and a `waitpid(-1)` in the same process
//!   would steal their exit statuses.
//! - **Signals.** `docker stop` and `kill` signal PID 1, so once the init is PID 1 it must pass
//!   signals on to the agent. A terminal's Ctrl-C, though, goes to the terminal's whole foreground
//!   process group: were the agent in the init's group it would get SIGINT twice (from the
//!   terminal, then forwarded), and a second SIGINT tells the agent to stop at once, cutting its
//!   graceful shutdown short. So the agent has a process group of its own, made the terminal's
//!   foreground group, and the init is out of the terminal's way.
//! - **The exit code.** The container's exit code is PID 1's, so it must be the agent's.
//!
//! How: [`become_init_if_pid1`] runs first thing in `main`, while the process has one thread. It
//! blocks the forwarded signals and SIGCHLD, and forks. The child is the agent: it goes into a
//! process group of its own, restores the signal mask and returns to `main`. The parent stays
//! PID 1 and does nothing else: it never reads the configuration nor holds a secret, and as its
//! environment is the agent's (which may name credentials) it is made non-dumpable like the agent
//! (see `process_hardening`). When stdin is a terminal it makes the agent's process group the
//! terminal's foreground group; then it waits for signals, forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to the
//! agent, reaps every exited child on SIGCHLD, and when the agent itself is reaped exits with its
//! exit code (128 + the signal number when a signal killed it).
//!
//! `KMS_NO_INIT=1` (any value but empty or `0`) turns this off, for a container that already has
//! an init (`docker run --init`, tini, dumb-init). If the fork fails, one line goes to stderr and
//! the agent runs as PID 1 without an init: it works, but orphans are not reaped.

use std::ffi::OsStr;
use std::io::IsTerminal;

use nix::errno::Errno;
use nix::sys::signal::{
    kill, sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal,
};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, setpgid, tcsetpgrp, ForkResult, Pid};

/// The environment variable that turns the init off.
pub const NO_INIT_VAR: &str = "KMS_NO_INIT";

/// The signals the init forwards to the agent.
pub const FORWARDED_SIGNALS: [Signal; 7] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// When the process is PID 1 (and [`NO_INIT_VAR`] does not say otherwise), forks: the parent
/// becomes the init and never returns (it ends with `std::process::exit`); the child, the agent,
/// returns. Otherwise returns at once. Must be called before any thread is started.
pub fn become_init_if_pid1() {
    if std::process::id() != 1 || init_disabled(std::env::var_os(NO_INIT_VAR).as_deref()) {
        return;
    }
    let waited = waited_signals();
    // Blocked before the fork, so that no signal sent to PID 1 in between is lost: it stays
    // pending until the init waits for it.
    let old_mask = match waited.thread_swap_mask(SigmaskHow::SIG_BLOCK) {
        Ok(old) => old,
        Err(e) => {
            eprintln!("warning: running as PID 1 without an init: cannot block signals: {e}");
            return;
        }
    };
    // SAFETY: this runs first thing in `main`, before any other thread exists, so the child is a
    // complete copy of a single-threaded process (no lock can be held by a thread that is gone).
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // Its own process group, so the terminal's signals can go to it alone. A failure
            // leaves it in the init's group: signals then arrive twice, nothing worse.
            let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
            restore_mask(&old_mask);
        }
        Ok(ForkResult::Parent { child }) => run_init(child, &waited),
        Err(e) => {
            eprintln!(
                "warning: running as PID 1 without an init (exited processes will not be reaped): fork: {e}"
            );
            restore_mask(&old_mask);
        }
    }
}

/// Whether the value of [`NO_INIT_VAR`] turns the init off.
pub fn init_disabled(value: Option<&OsStr>) -> bool {
    match value {
        None => false,
        Some(v) => !v.is_empty() && v != "0",
    }
}

/// The exit code the init ends with when the agent ended with `status`: its exit code, or
/// 128 + the signal number when a signal killed it; `None` while it has not ended.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}

/// The signals the init waits for: the forwarded ones and SIGCHLD.
fn waited_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED_SIGNALS {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

fn restore_mask(old: &SigSet) {
    if let Err(e) = old.thread_set_mask() {
        eprintln!("warning: cannot restore the signal mask after the fork: {e}");
    }
}

/// The init's loop: forward signals to `agent`, reap children, exit with the agent's code.
fn run_init(agent: Pid, waited: &SigSet) -> ! {
    // A failure here is the agent's too, which logs it.
    let _ = crate::process_hardening::protect_process_memory();
    // The child does the same; whichever comes first makes the group exist before `tcsetpgrp`.
    let _ = setpgid(agent, agent);
    if std::io::stdin().is_terminal() {
        give_terminal_to(agent);
    }
    loop {
        match waited.wait() {
            Ok(Signal::SIGCHLD) => {
                if let Some(code) = reap(agent) {
                    std::process::exit(code);
                }
            }
            Ok(signal) => {
                // ESRCH: the agent has exited and its SIGCHLD is on its way.
                let _ = kill(agent, signal);
            }
            Err(_) => {
                // sigwait has no error for a valid set; should it fail, poll rather than spin.
                std::thread::sleep(std::time::Duration::from_millis(100));
                if let Some(code) = reap(agent) {
                    std::process::exit(code);
                }
            }
        }
    }
}

/// Makes `agent`'s process group the foreground group of the terminal on stdin. The init is then
/// in a background group, which gets SIGTTOU for changing it: ignored for the call.
fn give_terminal_to(agent: Pid) {
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    // SAFETY: installs no handler function (SIG_IGN), and the init has one thread.
    let old = unsafe { sigaction(Signal::SIGTTOU, &ignore) };
    // ENOTTY (stdin is a terminal but not this session's): the agent just is not in front.
    let _ = tcsetpgrp(std::io::stdin(), agent);
    if let Ok(old) = old {
        // SAFETY: puts back the action that was there (the default, as nothing set another).
        let _ = unsafe { sigaction(Signal::SIGTTOU, &old) };
    }
}

/// Reaps every child that has exited; returns the agent's exit code when it was one of them.
fn reap(agent: Pid) -> Option<i32> {
    let mut agent_code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => break,
            Ok(status) => {
                if status.pid() == Some(agent) {
                    agent_code = exit_code(status).or(agent_code);
                }
            }
            Err(Errno::EINTR) => continue,
            // ECHILD: no child left.
            Err(_) => break,
        }
    }
    agent_code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_is_the_agents_or_128_plus_the_signal() {
        let pid = Pid::from_raw(2);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 0)), Some(0));
        assert_eq!(exit_code(WaitStatus::Exited(pid, 2)), Some(2));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, true)),
            Some(143)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
        assert_eq!(exit_code(WaitStatus::Stopped(pid, Signal::SIGSTOP)), None);
        assert_eq!(exit_code(WaitStatus::Continued(pid)), None);
    }

    #[test]
    fn kms_no_init_turns_the_init_off() {
        assert!(!init_disabled(None));
        assert!(!init_disabled(Some(OsStr::new(""))));
        assert!(!init_disabled(Some(OsStr::new("0"))));
        assert!(init_disabled(Some(OsStr::new("1"))));
        assert!(init_disabled(Some(OsStr::new("true"))));
    }

    #[test]
    fn the_init_waits_for_the_forwarded_signals_and_sigchld() {
        let set = waited_signals();
        for signal in FORWARDED_SIGNALS {
            assert!(set.contains(signal));
        }
        assert!(set.contains(Signal::SIGCHLD));
        assert!(!set.contains(Signal::SIGTTOU));
        assert!(!FORWARDED_SIGNALS.contains(&Signal::SIGCHLD));
    }

    #[test]
    fn outside_pid_1_it_returns_at_once() {
        // The test harness is never PID 1 here; the call must be a no-op (no fork).
        if std::process::id() != 1 {
            let me = std::process::id();
            become_init_if_pid1();
            assert_eq!(std::process::id(), me);
        }
    }
}
