//! Logging in, renewing and revoking access tokens: the interface the AuthActor drives.
//!
//! Each auth method (universal-auth, kubernetes, cloud identities) produces a login request; the
//! [`Authenticator`] sends it and turns answers into [`TokenGrant`]s. The actor decides *when*
//! (see [`crate::token_lifecycle`]); this module only knows *how*.

pub mod methods;

use std::time::Duration;

use futures::future::BoxFuture;

use crate::sensitive::Sensitive;

/// A token answer from login or renew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access_token: Sensitive<String>,
    /// Lifetime of this token from now; zero = does not expire.
    pub expires_in: Duration,
    /// Total lifetime budget from the first login; zero = unbounded.
    pub max_ttl: Duration,
}

/// Why a login, renewal or revocation failed. The message is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthFailure {
    pub message: String,
}

impl AuthFailure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Talks to the server for the AuthActor.
pub trait Authenticator: Send + Sync + 'static {
    /// The method's name for logs (`universal-auth`, ...).
    fn method_name(&self) -> &str;
    /// Logs in with the configured machine identity (reading credential files now).
    fn login(&self) -> BoxFuture<'_, Result<TokenGrant, AuthFailure>>;
    /// Renews `token`; the answer carries the token to use from now on.
    fn renew<'a>(
        &'a self,
        token: &'a Sensitive<String>,
    ) -> BoxFuture<'a, Result<TokenGrant, AuthFailure>>;
    /// Revokes `token`.
    fn revoke<'a>(&'a self, token: &'a Sensitive<String>)
        -> BoxFuture<'a, Result<(), AuthFailure>>;
}
