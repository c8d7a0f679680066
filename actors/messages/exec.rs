//! To an ExecActor: run one template's command, drain, abandon.

use ractor::RpcReplyPort;

use kms_agent::exec::ExecOutcome;

pub enum ExecMsg {
    /// The destination changed: run the command (now, or once after the current run).
    Run,
    Finished(ExecOutcome),
    /// Reply once no command is running or queued, with the number of failed runs so far.
    Drain(RpcReplyPort<u32>),
    /// The shutdown grace is running out: drop the queued re-run (the running command is about
    /// to be killed) and reply.
    Abandon(RpcReplyPort<()>),
}
