//! Where actors find each other. The supervisor updates an entry when it restarts a child, so
//! nobody holds a stale reference for long.

use std::sync::{Arc, RwLock};

use ractor::ActorRef;
use tokio::sync::{watch, Semaphore};

use super::auth::AuthMsg;
use super::cache::CacheMsg;
use super::fetcher::FetcherMsg;
use super::lease_manager::LeaseMsg;
use crate::sensitive::Sensitive;
use crate::telemetry::{Metrics, Readiness};

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
    leases: Arc<RwLock<Option<ActorRef<LeaseMsg>>>>,
    cache: Arc<RwLock<Option<ActorRef<CacheMsg>>>>,
    /// Published by the AuthActor; survives its restarts.
    pub token: Arc<watch::Sender<Option<CurrentToken>>>,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// Destination writes in flight at once (each ends with `fsync`s on the blocking pool).
    pub write_slots: Arc<Semaphore>,
    /// Renders in flight at once (each on the blocking pool, off the async workers).
    pub render_slots: Arc<Semaphore>,
}

/// Enough parallel writes to hide `fsync` latency at start-up with thousands of templates, few
/// enough to keep the blocking pool (and its threads' memory) small.
const PARALLEL_WRITES: usize = 16;

/// One render per core: renders are CPU work, and more at once would only add threads.
fn parallel_renders() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Directory {
    pub fn new(metrics: Arc<Metrics>, readiness: Arc<Readiness>) -> Self {
        Self {
            metrics,
            readiness,
            auth: Arc::default(),
            fetcher: Arc::default(),
            leases: Arc::default(),
            cache: Arc::default(),
            token: Arc::new(watch::channel(None).0),
            write_slots: Arc::new(Semaphore::new(PARALLEL_WRITES)),
            render_slots: Arc::new(Semaphore::new(parallel_renders())),
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

    pub fn leases(&self) -> Option<ActorRef<LeaseMsg>> {
        self.leases.read().ok().and_then(|g| g.clone())
    }

    pub fn set_leases(&self, r: ActorRef<LeaseMsg>) {
        if let Ok(mut g) = self.leases.write() {
            *g = Some(r);
        }
    }

    /// The persistent lease cache, when configured.
    pub fn cache(&self) -> Option<ActorRef<CacheMsg>> {
        self.cache.read().ok().and_then(|g| g.clone())
    }

    pub fn set_cache(&self, r: ActorRef<CacheMsg>) {
        if let Ok(mut g) = self.cache.write() {
            *g = Some(r);
        }
    }

    pub fn current_token(&self) -> Option<CurrentToken> {
        self.token.borrow().clone()
    }
}

/// How long a call waits for an access token (the first login, or a new one after a rejection).
const TOKEN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Directory {
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
        let mut rx = self.token.subscribe();
        let first = match tokio::time::timeout(TOKEN_WAIT, rx.wait_for(|t| t.is_some())).await {
            Ok(Ok(t)) => t.clone(),
            _ => None,
        };
        let Some(current) = first else {
            return Err(no_token());
        };
        match call(current.token.clone()).await {
            Err(e) if rejected(&e) => {
                if let Some(auth) = self.auth() {
                    let _ = auth.send_message(super::auth::AuthMsg::TokenRejected {
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
