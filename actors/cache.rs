//! CacheActor: owns the persistent lease cache. It serialises every cache operation, runs garbage
//! collection on a timer, and re-reads the key material on another timer to re-seal the entries
//! when the service-account token rotates. The current key stays in memory for the whole run.
//!
//! Disk work runs on the blocking pool while the handler awaits it: the mailbox waits (so a
//! `LoadAll` sent after a `Put` sees it) but the runtime's workers do not. Nothing here fails the
//! actor: an unusable cache is logged and retried on the next tick, and writes that failed are
//! kept in memory and retried then too (a `LoadAll` meanwhile includes them).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use ractor::{Actor, ActorProcessingErr, ActorRef, MessagingErr};
use tokio::task::JoinHandle;

use super::messages::CacheMsg;
pub use super::plan::CacheArgs;
pub use kms_agent::cache::KeySource;
use kms_agent::cache::{CacheKey, CachedLease, DroppedFile, LeaseCache, LeaseKey};

/// A write that has not reached the disk yet.
enum PendingWrite {
    Put(Box<CachedLease>),
    Remove,
}

type Timer = JoinHandle<Result<(), MessagingErr<CacheMsg>>>;

pub struct CacheState {
    args: CacheArgs,
    /// `None` until the key material could be read and the directory used.
    cache: Option<LeaseCache>,
    pending: BTreeMap<LeaseKey, PendingWrite>,
    gc_timer: Option<Timer>,
    key_timer: Option<Timer>,
}

pub struct CacheActor;

impl Actor for CacheActor {
    type Msg = CacheMsg;
    type State = CacheState;
    type Arguments = CacheArgs;

    async fn pre_start(
        &self,
        _: ActorRef<CacheMsg>,
        args: CacheArgs,
    ) -> Result<CacheState, ActorProcessingErr> {
        Ok(CacheState {
            args,
            cache: None,
            pending: BTreeMap::new(),
            gc_timer: None,
            key_timer: None,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<CacheMsg>,
        state: &mut CacheState,
    ) -> Result<(), ActorProcessingErr> {
        ensure_open(state).await;
        schedule_gc(&myself, state);
        schedule_key_check(&myself, state);
        Ok(())
    }

    async fn post_stop(
        &self,
        _: ActorRef<CacheMsg>,
        state: &mut CacheState,
    ) -> Result<(), ActorProcessingErr> {
        for timer in [state.gc_timer.take(), state.key_timer.take()]
            .into_iter()
            .flatten()
        {
            timer.abort();
        }
        if !state.pending.is_empty() {
            tracing::warn!(
                writes = state.pending.len(),
                "stopping with lease cache writes that never reached the disk"
            );
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<CacheMsg>,
        msg: CacheMsg,
        state: &mut CacheState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            CacheMsg::Put(lease) => {
                ensure_open(state).await;
                let key = lease.key.clone();
                // Pending until written: a later Put or Remove of the same key replaces it.
                state
                    .pending
                    .insert(key.clone(), PendingWrite::Put(Box::new(lease)));
                write_pending(state, &key).await;
            }
            CacheMsg::Remove(key) => {
                ensure_open(state).await;
                state.pending.insert(key.clone(), PendingWrite::Remove);
                write_pending(state, &key).await;
            }
            CacheMsg::LoadAll(reply) => {
                let entries = load_all(state).await;
                let _ = reply.send(entries);
            }
            CacheMsg::Gc => {
                collect_garbage(state).await;
                schedule_gc(&myself, state);
            }
            CacheMsg::CheckKey => {
                check_key(state).await;
                flush_pending(state).await;
                schedule_key_check(&myself, state);
            }
        }
        Ok(())
    }
}

/// Runs `work` on the cache on the blocking pool. `None` when there is no usable cache (or the
/// work panicked, in which case the cache is opened again next time).
async fn with_cache<R: Send + 'static>(
    state: &mut CacheState,
    work: impl FnOnce(&mut LeaseCache) -> R + Send + 'static,
) -> Option<R> {
    let mut cache = state.cache.take()?;
    match tokio::task::spawn_blocking(move || {
        let result = work(&mut cache);
        (cache, result)
    })
    .await
    {
        Ok((cache, result)) => {
            state.cache = Some(cache);
            Some(result)
        }
        Err(_) => {
            tracing::error!("a lease cache operation failed unexpectedly; reopening the cache");
            None
        }
    }
}

/// Reads the key material and opens the directory, unless that is done already.
async fn ensure_open(state: &mut CacheState) {
    if state.cache.is_some() {
        return;
    }
    let dir = state.args.dir.clone();
    let source = state.args.key_source.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let key = source.read_key().map_err(|e| e.to_string())?;
        LeaseCache::open(dir, key).map_err(|e| e.to_string())
    })
    .await;
    match opened {
        Ok(Ok(cache)) => {
            tracing::debug!(
                dir = %cache.dir().display(),
                key_fingerprint = %cache.key_fingerprint(),
                "lease cache opened"
            );
            state.cache = Some(cache);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the lease cache is unavailable; retrying later")
        }
        Err(_) => tracing::error!("opening the lease cache failed unexpectedly; retrying later"),
    }
}

/// Writes the pending write of `key`; it stays pending if that fails.
async fn write_pending(state: &mut CacheState, key: &LeaseKey) {
    let write = match state.pending.get(key) {
        Some(PendingWrite::Put(lease)) => PendingWrite::Put(lease.clone()),
        Some(PendingWrite::Remove) => PendingWrite::Remove,
        None => return,
    };
    let k = key.clone();
    let result = with_cache(state, move |c| {
        match write {
            PendingWrite::Put(lease) => c.put(&lease),
            PendingWrite::Remove => c.remove(&k).map(|_| ()),
        }
        .map_err(|e| e.to_string())
    })
    .await;
    match result {
        Some(Ok(())) => {
            state.pending.remove(key);
        }
        Some(Err(e)) => {
            tracing::warn!(lease = %key, error = %e, "cannot update the lease cache; will retry")
        }
        None => {} // no usable cache yet: stays pending
    }
}

async fn flush_pending(state: &mut CacheState) {
    if state.pending.is_empty() {
        return;
    }
    ensure_open(state).await;
    let keys: Vec<LeaseKey> = state.pending.keys().cloned().collect();
    for key in keys {
        write_pending(state, &key).await;
    }
}

async fn load_all(state: &mut CacheState) -> Vec<CachedLease> {
    ensure_open(state).await;
    flush_pending(state).await;
    let mut entries: BTreeMap<LeaseKey, CachedLease> = BTreeMap::new();
    match with_cache(state, |c| c.load_all().map_err(|e| e.to_string())).await {
        Some(Ok(report)) => {
            log_dropped(&report.dropped);
            entries.extend(report.entries.into_iter().map(|e| (e.key.clone(), e)));
        }
        Some(Err(e)) => tracing::warn!(error = %e, "cannot read the lease cache"),
        None => {}
    }
    for (key, write) in &state.pending {
        match write {
            PendingWrite::Put(lease) => entries.insert(key.clone(), (**lease).clone()),
            PendingWrite::Remove => entries.remove(key),
        };
    }
    entries.into_values().collect()
}

async fn collect_garbage(state: &mut CacheState) {
    ensure_open(state).await;
    flush_pending(state).await;
    let now = now_unix_ms();
    let (margin, max) = (state.args.stale_margin, state.args.max_entries);
    match with_cache(state, move |c| {
        c.gc(now, margin, max).map_err(|e| e.to_string())
    })
    .await
    {
        Some(Ok(report)) => {
            log_dropped(&report.dropped);
            for key in &report.stale {
                tracing::debug!(lease = %key, "evicted a stale lease from the cache");
            }
            for key in &report.over_limit {
                tracing::info!(lease = %key, "evicted a lease: the cache is over its size limit");
            }
            tracing::debug!(
                stale = report.stale.len(),
                over_limit = report.over_limit.len(),
                remaining = report.remaining,
                "lease cache garbage collection"
            );
        }
        Some(Err(e)) => tracing::warn!(error = %e, "lease cache garbage collection failed"),
        None => {}
    }
}

/// Re-reads the key material; if it changed, re-seals every entry with the new key. If the
/// material cannot be read (or the reseal fails), the current key stays in use.
async fn check_key(state: &mut CacheState) {
    let Some(current) = state.cache.as_ref().map(LeaseCache::key_fingerprint) else {
        ensure_open(state).await;
        return;
    };
    let source = state.args.key_source.clone();
    let read = tokio::task::spawn_blocking(move || source.read_key()).await;
    let new_key: CacheKey = match read {
        Ok(Ok(key)) if key.fingerprint() == current => return,
        Ok(Ok(key)) => key,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot re-read the cache key material; keeping the current key");
            return;
        }
        Err(_) => return,
    };
    let new_fp = new_key.fingerprint();
    match with_cache(state, move |c| c.reseal(new_key).map_err(|e| e.to_string())).await {
        Some(Ok(report)) => {
            log_dropped(&report.dropped);
            tracing::info!(
                resealed = report.resealed,
                old_key = %current,
                new_key = %new_fp,
                "the cache key material changed; lease cache re-sealed with the new key"
            );
        }
        Some(Err(e)) => tracing::warn!(
            error = %e,
            "cannot re-seal the lease cache with the new key; keeping the current key, will retry"
        ),
        None => {}
    }
}

fn log_dropped(dropped: &[DroppedFile]) {
    for d in dropped {
        tracing::warn!(
            file = %d.file_name,
            reason = %d.reason,
            removed = d.removed,
            "dropped a lease cache entry"
        );
    }
}

fn schedule_gc(myself: &ActorRef<CacheMsg>, state: &mut CacheState) {
    if let Some(t) = state.gc_timer.take() {
        t.abort();
    }
    state.gc_timer = Some(myself.send_after(state.args.gc_interval, || CacheMsg::Gc));
}

fn schedule_key_check(myself: &ActorRef<CacheMsg>, state: &mut CacheState) {
    if let Some(t) = state.key_timer.take() {
        t.abort();
    }
    state.key_timer = Some(myself.send_after(state.args.key_check_interval, || CacheMsg::CheckKey));
}

fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;
    use std::time::Instant;

    use ractor::{call_t, Actor, ActorRef};

    use super::*;
    use kms_agent::cache::format;
    use std::time::Duration;

    const PASSWORD: &str = "Pw-actor-5be0c2d1-DISTINCTIVE";
    const WAIT: Duration = Duration::from_secs(5);
    const HOUR: Duration = Duration::from_secs(3600);

    fn lease(name: &str, expire_at: i64) -> CachedLease {
        let mut credentials = serde_json::Map::new();
        credentials.insert("DB_PASSWORD".into(), PASSWORD.into());
        CachedLease {
            key: LeaseKey {
                project_slug: "shop".into(),
                environment: "prod".into(),
                path: "/".into(),
                name: name.into(),
                ttl: None,
            },
            lease_id: format!("lease-{name}"),
            expire_at_unix_ms: expire_at,
            max_expire_at_unix_ms: None,
            created_at_unix_ms: now_unix_ms(),
            credentials,
        }
    }

    fn args(dir: &Path, source: KeySource) -> CacheArgs {
        CacheArgs {
            gc_interval: HOUR,
            key_check_interval: HOUR,
            ..CacheArgs::new(dir.join("cache"), source)
        }
    }

    fn key_file(dir: &Path, material: &str) -> KeySource {
        let path = dir.join("cache.key");
        fs::write(&path, material).unwrap();
        KeySource::KeyFile(path)
    }

    async fn start(args: CacheArgs) -> ActorRef<CacheMsg> {
        let (actor, _) = Actor::spawn(None, CacheActor, args).await.unwrap();
        actor
    }

    async fn load_all(actor: &ActorRef<CacheMsg>) -> Vec<CachedLease> {
        call_t!(actor, CacheMsg::LoadAll, 2000).unwrap()
    }

    fn names(entries: &[CachedLease]) -> Vec<&str> {
        entries.iter().map(|e| e.key.name.as_str()).collect()
    }

    fn entry_files(dir: &Path) -> Vec<Vec<u8>> {
        fs::read_dir(dir)
            .map(|it| {
                it.map(|e| e.unwrap())
                    .filter(|e| format::is_entry_file_name(&e.file_name().to_string_lossy()))
                    .map(|e| fs::read(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls `check` until it holds, for at most `WAIT`.
    async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let start = Instant::now();
        while !check().await {
            assert!(start.elapsed() < WAIT, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn put_then_load_all_returns_the_entry_and_the_disk_holds_ciphertext() {
        let tmp = tempfile::tempdir().unwrap();
        let actor = start(args(tmp.path(), key_file(tmp.path(), &"k".repeat(40)))).await;
        let l = lease("pg", now_unix_ms() + 3_600_000);
        actor.send_message(CacheMsg::Put(l.clone())).unwrap();
        assert_eq!(load_all(&actor).await, vec![l.clone()]);

        let files = entry_files(&tmp.path().join("cache"));
        assert_eq!(files.len(), 1);
        assert!(!String::from_utf8_lossy(&files[0]).contains(PASSWORD));

        actor.send_message(CacheMsg::Remove(l.key.clone())).unwrap();
        assert!(load_all(&actor).await.is_empty());
        assert!(entry_files(&tmp.path().join("cache")).is_empty());
        actor.stop(None);
    }

    #[tokio::test]
    async fn a_gc_tick_evicts_an_expired_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let actor = start(CacheArgs {
            gc_interval: Duration::from_millis(20),
            ..args(tmp.path(), key_file(tmp.path(), &"k".repeat(40)))
        })
        .await;
        let live = lease("live", now_unix_ms() + 3_600_000);
        actor.send_message(CacheMsg::Put(live.clone())).unwrap();
        actor
            .send_message(CacheMsg::Put(lease("expired", now_unix_ms() - 1)))
            .unwrap();
        eventually("the expired entry is evicted", async || {
            names(&load_all(&actor).await) == ["live"]
        })
        .await;
        assert_eq!(entry_files(&tmp.path().join("cache")).len(), 1);
        actor.stop(None);
    }

    #[tokio::test]
    async fn a_rotated_token_reseals_the_entries_with_the_new_key() {
        let tmp = tempfile::tempdir().unwrap();
        let token = tmp.path().join("token");
        fs::write(&token, "token-v1\n").unwrap();
        let actor = start(CacheArgs {
            key_check_interval: Duration::from_millis(20),
            ..args(tmp.path(), KeySource::KubernetesToken(token.clone()))
        })
        .await;
        let l = lease("pg", now_unix_ms() + 3_600_000);
        actor.send_message(CacheMsg::Put(l.clone())).unwrap();
        assert_eq!(load_all(&actor).await.len(), 1);

        fs::write(&token, "token-v2\n").unwrap();
        let new_key = CacheKey::derive(b"token-v2");
        let dir = tmp.path().join("cache");
        eventually("the entry is sealed with the new key", async || {
            let files = entry_files(&dir);
            files.len() == 1
                && format::read_header(&files[0])
                    .is_ok_and(|h| h.fingerprint == new_key.fingerprint())
        })
        .await;
        assert_eq!(load_all(&actor).await, vec![l.clone()]);
        // A restarted agent (new key material read from the file) finds the entry.
        let restarted =
            LeaseCache::open(&dir, KeySource::KubernetesToken(token).read_key().unwrap()).unwrap();
        assert_eq!(restarted.load_all().unwrap().entries, vec![l]);
        actor.stop(None);
    }

    #[tokio::test]
    async fn without_key_material_writes_wait_in_memory_until_it_appears() {
        let tmp = tempfile::tempdir().unwrap();
        let key_path = tmp.path().join("cache.key");
        let actor = start(CacheArgs {
            key_check_interval: Duration::from_millis(20),
            ..args(tmp.path(), KeySource::KeyFile(key_path.clone()))
        })
        .await;
        let l = lease("pg", now_unix_ms() + 3_600_000);
        actor.send_message(CacheMsg::Put(l.clone())).unwrap();
        assert_eq!(
            load_all(&actor).await,
            vec![l.clone()],
            "served from memory"
        );
        let dir = tmp.path().join("cache");
        assert!(entry_files(&dir).is_empty());

        fs::write(&key_path, "x".repeat(32)).unwrap();
        eventually("the pending entry reaches the disk", async || {
            entry_files(&dir).len() == 1
        })
        .await;
        let on_disk = LeaseCache::open(&dir, CacheKey::derive("x".repeat(32).as_bytes())).unwrap();
        assert_eq!(on_disk.load_all().unwrap().entries, vec![l]);
        actor.stop(None);
    }
}
