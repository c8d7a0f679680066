//! To the AuthActor: logins, renewals, rejected tokens and sinks.

use ractor::RpcReplyPort;

use crate::plan::SinkPlan;
use kms_agent::auth::{AuthFailure, TokenGrant};

pub enum AuthMsg {
    /// Log in now (at start, after a failure's backoff, or when renewal is not possible).
    Login,
    /// Scheduled renewal of the token of this generation.
    Renew {
        generation: u64,
    },
    /// Scheduled re-login for the token of this generation (max TTL reached).
    Relogin {
        generation: u64,
    },
    /// A call was refused with 401/403 token errors while using this generation's token.
    TokenRejected {
        generation: u64,
    },
    /// Retry writing the sinks (a previous write failed).
    WriteSinks {
        generation: u64,
    },
    LoginFinished(Result<TokenGrant, AuthFailure>),
    RenewFinished {
        generation: u64,
        result: Result<TokenGrant, AuthFailure>,
    },
    /// A reloaded config's sinks: write the current token to them from now on.
    SetSinks(Vec<SinkPlan>),
    /// Shutdown with revocation: revoke the token, empty the sinks, stop scheduling; replies
    /// whether the server confirmed the revocation.
    Revoke(RpcReplyPort<bool>),
}
