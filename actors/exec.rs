//! ExecActor: runs one template's reload command. Runs never overlap; a request during a run
//! causes exactly one more run after it.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::messages::ExecMsg;
use kms_agent::exec::{run_command, CommandSpec, ExecOutcome};

pub struct ExecArgs {
    pub template_id: String,
    pub spec: CommandSpec,
    pub metrics: std::sync::Arc<kms_agent::telemetry::Metrics>,
}

pub struct ExecState {
    args: ExecArgs,
    running: bool,
    rerun: bool,
    failures: u32,
    drains: Vec<RpcReplyPort<u32>>,
}

pub struct ExecActor;

impl Actor for ExecActor {
    type Msg = ExecMsg;
    type State = ExecState;
    type Arguments = ExecArgs;

    async fn pre_start(
        &self,
        _: ActorRef<ExecMsg>,
        args: ExecArgs,
    ) -> Result<ExecState, ActorProcessingErr> {
        Ok(ExecState {
            args,
            running: false,
            rerun: false,
            failures: 0,
            drains: vec![],
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<ExecMsg>,
        msg: ExecMsg,
        state: &mut ExecState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            ExecMsg::Run if state.running => state.rerun = true,
            ExecMsg::Run => start(&myself, state),
            ExecMsg::Finished(outcome) => {
                state.running = false;
                let id = &state.args.template_id;
                let label = match &outcome {
                    ExecOutcome::Exited(0) => "ok",
                    ExecOutcome::TimedOut => "timeout",
                    _ => "failed",
                };
                state.args.metrics.command_event(id, label);
                match &outcome {
                    ExecOutcome::Exited(0) => tracing::info!(template = %id, "command finished"),
                    other => {
                        state.failures += 1;
                        tracing::warn!(template = %id, outcome = ?other, "command failed");
                    }
                }
                if std::mem::take(&mut state.rerun) {
                    start(&myself, state);
                } else {
                    for d in state.drains.drain(..) {
                        let _ = d.send(state.failures);
                    }
                }
            }
            ExecMsg::Drain(reply) if state.running => state.drains.push(reply),
            ExecMsg::Drain(reply) => {
                let _ = reply.send(state.failures);
            }
            ExecMsg::Abandon(reply) => {
                state.rerun = false;
                let _ = reply.send(());
            }
        }
        Ok(())
    }
}

fn start(myself: &ActorRef<ExecMsg>, state: &mut ExecState) {
    state.running = true;
    let spec = state.args.spec.clone();
    let id = state.args.template_id.clone();
    let me = myself.clone();
    tracing::info!(template = %id, "running command");
    tokio::spawn(async move {
        let outcome = run_command(&spec, &id).await;
        let _ = me.send_message(ExecMsg::Finished(outcome));
    });
}
