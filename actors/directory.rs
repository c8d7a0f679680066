//! Where actors find each other. The supervisor updates an entry when it restarts a child, so
//! nobody holds a stale reference for long.

use std::sync::{Arc, RwLock};

use ractor::ActorRef;
use tokio::sync::watch;

use super::auth::AuthMsg;
use super::fetcher::FetcherMsg;
use crate::sensitive::Sensitive;

/// The current access token and a counter that changes with every new token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentToken {
    pub token: Sensitive<String>,
    pub generation: u64,
}

/// Shared by every actor of one agent.
#[derive(Clone)]
pub struct Directory {
    auth: Arc<RwLock<Option<ActorRef<AuthMsg>>>>,
    fetcher: Arc<RwLock<Option<ActorRef<FetcherMsg>>>>,
    /// Published by the AuthActor; survives its restarts.
    pub token: Arc<watch::Sender<Option<CurrentToken>>>,
}

impl Default for Directory {
    fn default() -> Self {
        Self::new()
    }
}

impl Directory {
    pub fn new() -> Self {
        Self {
            auth: Arc::default(),
            fetcher: Arc::default(),
            token: Arc::new(watch::channel(None).0),
        }
    }

    pub fn auth(&self) -> Option<ActorRef<AuthMsg>> {
        self.auth.read().ok().and_then(|g| g.clone())
    }

    pub fn set_auth(&self, r: ActorRef<AuthMsg>) {
        if let Ok(mut g) = self.auth.write() {
            *g = Some(r);
        }
    }

    pub fn fetcher(&self) -> Option<ActorRef<FetcherMsg>> {
        self.fetcher.read().ok().and_then(|g| g.clone())
    }

    pub fn set_fetcher(&self, r: ActorRef<FetcherMsg>) {
        if let Ok(mut g) = self.fetcher.write() {
            *g = Some(r);
        }
    }

    pub fn current_token(&self) -> Option<CurrentToken> {
        self.token.borrow().clone()
    }
}
