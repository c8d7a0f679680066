//! ChildActor: runs the `exec` child (docs/behaviour.md §8). It starts the child once the
//! environment has been rendered and every file template written; restarts it when the
//! environment changes (with `restart-on-change: always`), one restart at a time, so that a burst
//! of changes makes one restart with the latest values; stops it with its stop signal, then kills
//! its process group after the grace. A child that ends by itself ends the agent, with its exit
//! code.

use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;

use super::messages::{ChildMsg, SupervisorMsg};
use kms_agent::child::env::EnvBlock;
use kms_agent::child::pacing::RestartPacing;
use kms_agent::child::process::{self, ChildGroup, ChildSpec};
use kms_agent::config::RestartOnChange;
use kms_agent::telemetry::{Metrics, Readiness};

pub struct ChildArgs {
    pub spec: ChildSpec,
    pub supervisor: ActorRef<SupervisorMsg>,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// The files are already there (a replaced child after a reload, or a restarted actor).
    pub files_ready: bool,
}

/// Why the agent restarts the child: the `reason` label of `kms_agent_child_restarts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RestartReason {
    SecretChanged,
}

impl RestartReason {
    fn label(self) -> &'static str {
        match self {
            RestartReason::SecretChanged => "secret-changed",
        }
    }
}

/// What happens once the stopping child has gone.
enum AfterStop {
    Restart(RestartReason),
    /// Reply to these (shutdown, replacement) and stay stopped.
    Stay(Vec<RpcReplyPort<()>>),
}

enum Phase {
    /// Not started yet: waiting for the environment or the files.
    Waiting,
    Running(Running),
    /// The stop signal was sent; waiting for the process to end.
    Stopping(Running, AfterStop),
    /// Stopped for a restart; starts again when the delay of this generation passes.
    Restarting {
        generation: u64,
    },
    /// Stopped for good (shutdown), or ended by itself (the agent is exiting).
    Done,
}

struct Running {
    generation: u64,
    pid: Pid,
    started: Instant,
    /// The environment it was started with, to tell a change from a repeat.
    env: Vec<u8>,
    /// Dropped when the process is gone: kills what is left of its group.
    group: ChildGroup,
    /// Waits for the process.
    _waiter: JoinHandle<()>,
    grace_timer: Option<JoinHandle<Result<(), ractor::MessagingErr<ChildMsg>>>>,
}

pub struct ChildState {
    args: ChildArgs,
    /// The latest environment block.
    env: Option<Vec<u8>>,
    files_ready: bool,
    phase: Phase,
    generation: u64,
    pacing: RestartPacing,
}

pub struct ChildActor;

impl Actor for ChildActor {
    type Msg = ChildMsg;
    type State = ChildState;
    type Arguments = ChildArgs;

    async fn pre_start(
        &self,
        _: ActorRef<ChildMsg>,
        args: ChildArgs,
    ) -> Result<ChildState, ActorProcessingErr> {
        args.readiness.set_child_running(Some(false));
        args.metrics.child_up.set(0);
        Ok(ChildState {
            files_ready: args.files_ready,
            args,
            env: None,
            phase: Phase::Waiting,
            generation: 0,
            pacing: RestartPacing::default(),
        })
    }

    async fn post_stop(
        &self,
        _: ActorRef<ChildMsg>,
        state: &mut ChildState,
    ) -> Result<(), ActorProcessingErr> {
        // Dropping the running child's group kills it: no child outlives its actor.
        state.phase = Phase::Done;
        state.args.metrics.child_up.set(0);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<ChildMsg>,
        msg: ChildMsg,
        state: &mut ChildState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ChildMsg::Environment(env) => {
                state.env = Some(env);
                on_environment(&myself, state);
            }
            ChildMsg::FilesReady => {
                state.files_ready = true;
                if matches!(state.phase, Phase::Waiting) {
                    start(&myself, state);
                }
            }
            ChildMsg::Start { generation } => {
                if matches!(state.phase, Phase::Restarting { generation: g } if g == generation) {
                    start(&myself, state);
                }
            }
            ChildMsg::GraceOver { generation } => {
                if let Phase::Stopping(running, _) = &state.phase {
                    if running.generation == generation {
                        tracing::warn!(pid = running.pid.as_raw(), grace = ?state.args.spec.stop_grace, "the child did not stop in time; killing its process group");
                        running.group.kill();
                    }
                }
            }
            ChildMsg::Exited { generation, status } => on_exit(&myself, state, generation, status),
            ChildMsg::Stop(reply) => match std::mem::replace(&mut state.phase, Phase::Done) {
                Phase::Running(running) => {
                    stop(&myself, state, running, AfterStop::Stay(vec![reply]))
                }
                Phase::Stopping(running, AfterStop::Stay(mut replies)) => {
                    replies.push(reply);
                    state.phase = Phase::Stopping(running, AfterStop::Stay(replies));
                }
                Phase::Stopping(running, AfterStop::Restart(_)) => {
                    state.phase = Phase::Stopping(running, AfterStop::Stay(vec![reply]));
                }
                Phase::Waiting | Phase::Restarting { .. } | Phase::Done => {
                    let _ = reply.send(());
                }
            },
        }
        Ok(())
    }
}

fn on_environment(myself: &ActorRef<ChildMsg>, state: &mut ChildState) {
    match std::mem::replace(&mut state.phase, Phase::Done) {
        Phase::Waiting => {
            state.phase = Phase::Waiting;
            start(myself, state);
        }
        Phase::Running(running) => {
            let changed = state.env.as_deref() != Some(running.env.as_slice());
            if changed && state.args.spec.restart_on_change == RestartOnChange::Always {
                tracing::info!(
                    pid = running.pid.as_raw(),
                    "the child's environment changed; restarting it"
                );
                stop(
                    myself,
                    state,
                    running,
                    AfterStop::Restart(RestartReason::SecretChanged),
                );
            } else {
                if changed {
                    tracing::info!("the child's environment changed; restart-on-change is never, so it keeps running with the old one");
                }
                state.phase = Phase::Running(running);
            }
        }
        // A stop or restart already in flight starts the child with the latest environment.
        other => state.phase = other,
    }
}

/// Starts the child when everything it needs is there.
fn start(myself: &ActorRef<ChildMsg>, state: &mut ChildState) {
    let Some(env) = state.env.clone() else {
        state.phase = Phase::Waiting;
        return;
    };
    if !state.files_ready {
        state.phase = Phase::Waiting;
        return;
    }
    state.generation += 1;
    let generation = state.generation;
    let started = match process::start(&state.args.spec, EnvBlock(&env)) {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e.message, "the child could not be started");
            state.phase = Phase::Done;
            let _ = state
                .args
                .supervisor
                .send_message(SupervisorMsg::ChildExited {
                    code: e.code,
                    reason: e.message,
                });
            return;
        }
    };
    let pid = started.pid;
    let mut process = started.process;
    let me = myself.clone();
    let waiter = tokio::spawn(async move {
        let status = process.wait().await.ok();
        let _ = me.send_message(ChildMsg::Exited { generation, status });
    });
    tracing::info!(
        pid = pid.as_raw(),
        program = %state.args.spec.argv.first().map(String::as_str).unwrap_or_default(),
        variables = EnvBlock(&env).names().count(),
        "child started"
    );
    state.args.metrics.child_up.set(1);
    state.args.readiness.set_child_running(Some(true));
    state.phase = Phase::Running(Running {
        generation,
        pid,
        started: Instant::now(),
        env,
        group: started.group,
        _waiter: waiter,
        grace_timer: None,
    });
}

fn stop(
    myself: &ActorRef<ChildMsg>,
    state: &mut ChildState,
    mut running: Running,
    then: AfterStop,
) {
    let spec = &state.args.spec;
    process::ask_to_stop(running.pid, spec.stop_signal);
    let generation = running.generation;
    running.grace_timer =
        Some(myself.send_after(spec.stop_grace, move || ChildMsg::GraceOver { generation }));
    state.phase = Phase::Stopping(running, then);
}

fn on_exit(
    myself: &ActorRef<ChildMsg>,
    state: &mut ChildState,
    generation: u64,
    status: Option<ExitStatus>,
) {
    let how = status.map_or_else(|| "ended".to_string(), process::describe_exit);
    match std::mem::replace(&mut state.phase, Phase::Done) {
        Phase::Running(running) if running.generation == generation => {
            // Ended by itself: the agent ends with it.
            gone(state, running);
            let code = status.map_or(1, process::exit_code);
            tracing::info!(code, "the child {how}; the agent exits with its code");
            let _ = state
                .args
                .supervisor
                .send_message(SupervisorMsg::ChildExited {
                    code,
                    reason: format!("the child {how}"),
                });
        }
        Phase::Stopping(running, then) if running.generation == generation => {
            let lived = running.started.elapsed();
            gone(state, running);
            tracing::info!("the child {how} after the stop signal");
            match then {
                AfterStop::Stay(replies) => {
                    for r in replies {
                        let _ = r.send(());
                    }
                }
                AfterStop::Restart(reason) => {
                    state.args.metrics.child_restarted(reason.label());
                    let delay = state.pacing.next_delay(lived, rand::random::<f64>());
                    state.phase = Phase::Restarting { generation };
                    if delay.is_zero() {
                        start(myself, state);
                    } else {
                        tracing::info!(delay = ?delay, "the child was restarted moments ago; starting it again after a pause");
                        myself.send_after(delay, move || ChildMsg::Start { generation });
                    }
                }
            }
        }
        // The end of an earlier start (already handled): keep what is happening now.
        other => state.phase = other,
    }
}

/// The child's process has ended: what is left of its group goes, and it is no longer up.
fn gone(state: &mut ChildState, running: Running) {
    if let Some(t) = &running.grace_timer {
        t.abort();
    }
    drop(running); // its group guard kills what outlived the child
    state.args.metrics.child_up.set(0);
    state.args.readiness.set_child_running(Some(false));
}

/// How long a caller should wait for [`ChildMsg::Stop`]: the grace, plus time to kill and reap.
pub fn stop_budget(spec: &ChildSpec) -> Duration {
    spec.stop_grace + Duration::from_secs(2)
}
