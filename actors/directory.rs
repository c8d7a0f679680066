//! Where actors find each other ([`Slot`]s the supervisor sets as it starts and restarts them),
//! the token ([`TokenHandle`]), and what every actor of one agent shares.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::messages::{AuthMsg, CacheMsg, ChildMsg, FetcherMsg, LeaseMsg};
use super::slot::Slot;
use super::token::TokenHandle;
use kms_agent::telemetry::{Metrics, Readiness};

/// Shared by every actor of one agent.
#[derive(Clone)]
pub struct Directory {
    pub auth: Slot<AuthMsg>,
    pub fetcher: Slot<FetcherMsg>,
    pub leases: Slot<LeaseMsg>,
    /// The persistent lease cache, when configured.
    pub cache: Slot<CacheMsg>,
    /// The `exec` child's actor, when configured: the renderer of its environment sends there.
    pub child: Slot<ChildMsg>,
    /// Published by the AuthActor; survives its restarts.
    pub token: TokenHandle,
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
        let auth = Slot::default();
        Self {
            token: TokenHandle::new(auth.clone()),
            auth,
            fetcher: Slot::default(),
            leases: Slot::default(),
            cache: Slot::default(),
            child: Slot::default(),
            metrics,
            readiness,
            write_slots: Arc::new(Semaphore::new(PARALLEL_WRITES)),
            render_slots: Arc::new(Semaphore::new(parallel_renders())),
        }
    }
}
