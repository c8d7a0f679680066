//! [`TokenHandle`]: the access token as every actor sees it. The AuthActor publishes each new
//! token here; callers wait for one, and report a rejected one so that the AuthActor logs in again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::messages::AuthMsg;
use super::slot::Slot;
use kms_agent::sensitive::Sensitive;

/// The current access token and a counter that changes with every new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentToken {
    pub token: Sensitive<String>,
    pub generation: u64,
}

/// How long a call waits for an access token (the first login, or a new one after a rejection).
const TOKEN_WAIT: Duration = Duration::from_secs(30);

/// Shared by every actor of one agent; survives the AuthActor's restarts.
#[derive(Clone)]
pub struct TokenHandle {
    current: Arc<watch::Sender<Option<CurrentToken>>>,
    /// Told when the server rejects the current token.
    auth: Slot<AuthMsg>,
}

impl TokenHandle {
    pub fn new(auth: Slot<AuthMsg>) -> Self {
        Self {
            current: Arc::new(watch::channel(None).0),
            auth,
        }
    }

    pub fn current(&self) -> Option<CurrentToken> {
        self.current.borrow().clone()
    }

    /// Publishes a new token (`None`: there is none, as after a revocation).
    pub fn publish(&self, token: Option<CurrentToken>) {
        self.current.send_replace(token);
    }

    /// Runs `call` with the current access token (waiting for the first one). When the server
    /// rejects the token (`rejected` says so), the AuthActor is told to log in again and the call
    /// is retried once with the new token.
    pub async fn with_token<T, E, F, Fut>(
        &self,
        rejected: impl Fn(&E) -> bool,
        no_token: impl Fn() -> E,
        call: F,
    ) -> Result<T, E>
    where
        F: Fn(Sensitive<String>) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut rx = self.current.subscribe();
        let first = match tokio::time::timeout(TOKEN_WAIT, rx.wait_for(|t| t.is_some())).await {
            Ok(Ok(t)) => t.clone(),
            _ => None,
        };
        let Some(current) = first else {
            return Err(no_token());
        };
        match call(current.token.clone()).await {
            Err(e) if rejected(&e) => {
                if let Some(auth) = self.auth.get() {
                    let _ = auth.send_message(AuthMsg::TokenRejected {
                        generation: current.generation,
                    });
                }
                let newer = match tokio::time::timeout(
                    TOKEN_WAIT,
                    rx.wait_for(|t| {
                        t.as_ref()
                            .is_some_and(|t| t.generation != current.generation)
                    }),
                )
                .await
                {
                    Ok(Ok(t)) => t.clone(),
                    _ => None,
                };
                match newer {
                    Some(fresh) => call(fresh.token).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}
