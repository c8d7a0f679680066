//! To the ChildActor (`exec`): its environment, when it may start, and its process's end.

use std::process::ExitStatus;

use ractor::RpcReplyPort;

pub enum ChildMsg {
    /// The environment block rendered afresh (`NAME=VALUE\0`...), sent when it changed.
    Environment(Vec<u8>),
    /// Every file template has been written once: the application will find its files.
    FilesReady,
    /// The process of this start ended (`None`: it could not be waited for).
    Exited {
        generation: u64,
        status: Option<ExitStatus>,
    },
    /// The restart delay of this start passed.
    Start { generation: u64 },
    /// The stop grace of this start ran out: kill its process group.
    GraceOver { generation: u64 },
    /// Stop the child (shutdown, or a reload that replaces it) and reply once it has gone.
    Stop(RpcReplyPort<()>),
}
