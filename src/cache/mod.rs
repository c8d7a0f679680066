//! The encrypted persistent cache of dynamic-secret leases (docs/behaviour.md §5): a restarted
//! agent reuses its leases instead of creating new ones.
//!
//! - [`key`]: the cache key, derived with HKDF-SHA256 from the service-account token or a key
//!   file, with a fingerprint to notice rotation.
//! - [`format`]: one entry file, sealed with XChaCha20-Poly1305; keyed-hash file names.
//! - [`store`]: [`LeaseCache`], the directory of entries: load, put, remove, GC, reseal.
//! - [`gc`]: which entries garbage collection evicts.
//!
//! The actor that owns a `LeaseCache` at run time is `actors::cache::CacheActor`.

pub mod entry;
pub mod format;
pub mod gc;
pub mod key;
pub mod store;

pub use entry::{CachedLease, LeaseKey};
pub use key::{CacheKey, KeyError, KeyFingerprint, KeySource, MIN_KEY_FILE_LEN};
pub use store::{
    CacheError, DropReason, DroppedFile, GcReport, LeaseCache, LoadReport, ResealReport,
};

#[cfg(test)]
mod tests;
