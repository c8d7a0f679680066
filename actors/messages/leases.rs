//! To the LeaseManagerActor: credentials wanted, leases restored, created, renewed and due.

use std::time::Instant;

use ractor::{ActorId, DerivedActorRef, RpcReplyPort};

use super::renderer::DataReply;
use kms_agent::leases::{LeaseFailure, LeaseGrant, LeaseInfo, LeaseSpec};
use kms_agent::template::DataRequest;

pub enum LeaseMsg {
    /// A cached lease checked with the server at start: reuse it (`Some`) or forget it.
    Restored {
        spec: LeaseSpec,
        grant: Option<LeaseGrant>,
    },
    /// Every cached lease has been checked: answer the requests held meanwhile.
    RestoreDone,
    /// A renderer needs the credentials of `request` (a `DataRequest::DynamicSecret`); they are
    /// sent to `reply`, and it is told again ([`DataReply::LeaseReplaced`]) whenever the lease
    /// is replaced.
    Get {
        request: DataRequest,
        round: Instant,
        reply: DerivedActorRef<DataReply>,
    },
    Created {
        spec: LeaseSpec,
        result: Result<LeaseGrant, LeaseFailure>,
    },
    Renewed {
        spec: LeaseSpec,
        lease_id: String,
        result: Result<LeaseInfo, LeaseFailure>,
    },
    /// Scheduled work on the lease `lease_id` of `spec`.
    Due {
        spec: LeaseSpec,
        lease_id: String,
        replace: bool,
    },
    /// A renderer stopped (its template left the configuration on reload, or the agent is
    /// stopping): it no longer uses any lease.
    UserGone(ActorId),
    /// Revoke every lease (shutdown); replies with the number revoked.
    RevokeAll(RpcReplyPort<usize>),
}
