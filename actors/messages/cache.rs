//! To the CacheActor: the persistent lease cache's operations and timers.

use ractor::RpcReplyPort;

use kms_agent::cache::{CachedLease, LeaseKey};

pub enum CacheMsg {
    /// Store or replace the entry of `lease.key`.
    Put(CachedLease),
    /// Forget the entry of this lease.
    Remove(LeaseKey),
    /// Every entry (sorted by key), including writes not yet on disk.
    LoadAll(RpcReplyPort<Vec<CachedLease>>),
    /// Timer: garbage collection, then the next one is scheduled.
    Gc,
    /// Timer: re-read the key material (re-seal if it changed), retry failed writes.
    CheckKey,
}
