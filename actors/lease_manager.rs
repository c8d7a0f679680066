//! LeaseManagerActor: one lease per distinct `dynamic_secret` call, shared by every template that
//! makes it. Creates it on first use, renews it at about 2/3 of its TTL, replaces it before its max
//! TTL (the templates using it re-render at once and their commands run), and revokes every lease
//! on shutdown when asked. Lease work never blocks templates that do not use the lease.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ractor::MessagingErr;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, DerivedActorRef};
use tokio::task::JoinHandle;

use super::directory::Directory;
use super::messages::{CacheMsg, DataReply, LeaseMsg};
use kms_agent::cache::CachedLease;
use kms_agent::fetch::FetchFailure;
use kms_agent::leases::schedule::{
    after_failed_renewal, after_failed_replacement, dead_lease_delay, dead_on_arrival, next_step,
    reusable, LeaseStep,
};
use kms_agent::leases::{LeaseApi, LeaseFailure, LeaseGrant, LeaseInfo, LeaseSpec};
use kms_agent::sensitive::Sensitive;
use kms_agent::template::{DataRequest, DataValue};

pub struct LeaseManagerArgs {
    pub api: Arc<dyn LeaseApi>,
    pub directory: Directory,
}

struct Waiter {
    request: DataRequest,
    round: Instant,
    reply: DerivedActorRef<DataReply>,
}

#[derive(Default)]
struct Managed {
    current: Option<LeaseGrant>,
    creating: bool,
    waiters: Vec<Waiter>,
    /// Renderers that use this lease: re-rendered when it is replaced.
    users: HashMap<ActorId, DerivedActorRef<DataReply>>,
    failures: u32,
    /// Leases in a row that arrived dead (see `dead_on_arrival`).
    dead_in_a_row: u32,
    timer: Option<Timer>,
    /// The current lease's credentials as templates read them: one shared value per lease, so
    /// every template gets the same one and a renderer sees by pointer that its data did not
    /// change. Set with `current` (`set_current`).
    shared: Option<DataValue>,
}

impl Managed {
    /// Replaces the current lease (and the credentials templates are given); returns the old one.
    fn set_current(&mut self, grant: Option<LeaseGrant>) -> Option<LeaseGrant> {
        self.shared = grant
            .as_ref()
            .map(|g| DataValue::Credentials(Arc::new(g.credentials.expose().clone())));
        std::mem::replace(&mut self.current, grant)
    }
}

pub struct LeaseManagerState {
    args: LeaseManagerArgs,
    leases: HashMap<LeaseSpec, Managed>,
    /// While cached leases are checked at start, requests wait (so a cached lease is reused
    /// instead of a new one created).
    restoring: bool,
    held: Vec<Waiter>,
}

pub struct LeaseManagerActor;

impl Actor for LeaseManagerActor {
    type Msg = LeaseMsg;
    type State = LeaseManagerState;
    type Arguments = LeaseManagerArgs;

    async fn pre_start(
        &self,
        _: ActorRef<LeaseMsg>,
        args: LeaseManagerArgs,
    ) -> Result<LeaseManagerState, ActorProcessingErr> {
        Ok(LeaseManagerState {
            args,
            leases: HashMap::new(),
            restoring: false,
            held: Vec::new(),
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<LeaseMsg>,
        state: &mut LeaseManagerState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(cache) = state.args.directory.cache.get() {
            state.restoring = true;
            let api = state.args.api.clone();
            let directory = state.args.directory.clone();
            tokio::spawn(restore(myself, cache, api, directory));
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _: ActorRef<LeaseMsg>,
        state: &mut LeaseManagerState,
    ) -> Result<(), ActorProcessingErr> {
        for m in state.leases.values_mut() {
            if let Some(t) = m.timer.take() {
                t.abort();
            }
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<LeaseMsg>,
        msg: LeaseMsg,
        state: &mut LeaseManagerState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            LeaseMsg::Get {
                request,
                round,
                reply,
            } if state.restoring => state.held.push(Waiter {
                request,
                round,
                reply,
            }),
            LeaseMsg::Get {
                request,
                round,
                reply,
            } => get(&myself, state, request, round, reply),
            LeaseMsg::Restored {
                spec,
                grant: Some(grant),
            } => {
                tracing::info!(dynamic_secret = %spec.name, lease_id = %grant.info.lease_id, "reusing a cached lease");
                let info = grant.info.clone();
                state
                    .leases
                    .entry(spec.clone())
                    .or_default()
                    .set_current(Some(grant));
                schedule(&myself, state, &spec, &info);
            }
            LeaseMsg::Restored { spec, grant: None } => {
                if let Some(cache) = state.args.directory.cache.get() {
                    let _ = cache.send_message(CacheMsg::Remove(spec));
                }
            }
            LeaseMsg::RestoreDone => {
                state.restoring = false;
                for w in std::mem::take(&mut state.held) {
                    get(&myself, state, w.request, w.round, w.reply);
                }
            }
            LeaseMsg::Created { spec, result } => created(&myself, state, spec, result),
            LeaseMsg::Renewed {
                spec,
                lease_id,
                result,
            } => renewed(&myself, state, spec, lease_id, result),
            LeaseMsg::Due {
                spec,
                lease_id,
                replace,
            } => {
                let Some(m) = state.leases.get(&spec) else {
                    return Ok(());
                };
                let Some(current) = &m.current else {
                    return Ok(());
                };
                if current.info.lease_id != lease_id {
                    return Ok(());
                }
                if m.users.is_empty() && m.waiters.is_empty() {
                    retire_unused(state, &spec);
                    return Ok(());
                }
                if replace {
                    start_create(&myself, state, spec);
                } else {
                    start_renew(&myself, state, spec, current.info.clone());
                }
            }
            LeaseMsg::UserGone(id) => {
                for m in state.leases.values_mut() {
                    m.users.remove(&id);
                }
            }
            LeaseMsg::RevokeAll(reply) => {
                let all: Vec<(LeaseSpec, String)> = state
                    .leases
                    .iter_mut()
                    .filter_map(|(spec, m)| {
                        if let Some(t) = m.timer.take() {
                            t.abort();
                        }
                        m.set_current(None).map(|g| (spec.clone(), g.info.lease_id))
                    })
                    .collect();
                state.args.directory.metrics.leases_active.set(0);
                if let Some(cache) = state.args.directory.cache.get() {
                    for (spec, _) in &all {
                        let _ = cache.send_message(CacheMsg::Remove(spec.clone()));
                    }
                }
                let api = state.args.api.clone();
                let directory = state.args.directory.clone();
                // Revoke in parallel off the mailbox; the caller bounds the wait.
                tokio::spawn(async move {
                    let n = revoke_all(&*api, &directory, all).await;
                    let _ = reply.send(n);
                });
            }
        }
        Ok(())
    }
}

fn answer(w: &Waiter, result: Result<DataValue, FetchFailure>) {
    let _ = w.reply.send_message(DataReply::Data {
        round: w.round,
        request: w.request.clone(),
        result,
    });
}

fn get(
    myself: &ActorRef<LeaseMsg>,
    state: &mut LeaseManagerState,
    request: DataRequest,
    round: Instant,
    reply: DerivedActorRef<DataReply>,
) {
    let Some(spec) = LeaseSpec::from_request(&request) else {
        return answer(
            &Waiter {
                request,
                round,
                reply,
            },
            Err(FetchFailure {
                message: "not a dynamic secret request".into(),
                token_rejected: false,
            }),
        );
    };
    // Every round asks again: look the lease up before cloning its key, and its user only once.
    let m = match state.leases.get_mut(&spec) {
        Some(m) => m,
        None => state.leases.entry(spec.clone()).or_default(),
    };
    m.users
        .entry(reply.get_id())
        .or_insert_with(|| reply.clone());
    let waiter = Waiter {
        request,
        round,
        reply,
    };
    // While a dead-on-arrival lease waits out its backoff, templates keep its credentials
    // rather than asking for another one at once.
    let usable = m
        .current
        .as_ref()
        .is_some_and(|g| g.info.expire_at > SystemTime::now() || m.dead_in_a_row > 0);
    match m.shared.clone() {
        Some(value) if usable => answer(&waiter, Ok(value)),
        _ => {
            m.waiters.push(waiter);
            if !m.creating {
                start_create(myself, state, spec);
            }
        }
    }
}

fn start_create(myself: &ActorRef<LeaseMsg>, state: &mut LeaseManagerState, spec: LeaseSpec) {
    let m = state.leases.entry(spec.clone()).or_default();
    if m.creating {
        return;
    }
    m.creating = true;
    let api = state.args.api.clone();
    let directory = state.args.directory.clone();
    let me = myself.clone();
    tokio::spawn(async move {
        let result = with_token(&directory, |token| {
            let api = api.clone();
            let spec = spec.clone();
            async move { api.create(&token, &spec).await }
        })
        .await;
        let _ = me.send_message(LeaseMsg::Created { spec, result });
    });
}

fn start_renew(
    myself: &ActorRef<LeaseMsg>,
    state: &mut LeaseManagerState,
    spec: LeaseSpec,
    lease: LeaseInfo,
) {
    let api = state.args.api.clone();
    let directory = state.args.directory.clone();
    let me = myself.clone();
    tokio::spawn(async move {
        let lease_id = lease.lease_id.clone();
        let result = with_token(&directory, |token| {
            let api = api.clone();
            let spec = spec.clone();
            let lease = lease.clone();
            async move { api.renew(&token, &spec, &lease).await }
        })
        .await;
        let _ = me.send_message(LeaseMsg::Renewed {
            spec,
            lease_id,
            result,
        });
    });
}

fn created(
    myself: &ActorRef<LeaseMsg>,
    state: &mut LeaseManagerState,
    spec: LeaseSpec,
    result: Result<LeaseGrant, LeaseFailure>,
) {
    let Some(m) = state.leases.get_mut(&spec) else {
        return;
    };
    m.creating = false;
    match result {
        Ok(grant) => {
            let replaced = m.current.is_some();
            tracing::info!(dynamic_secret = %spec.name, environment = %spec.environment, path = %spec.path, lease_id = %grant.info.lease_id, replaced, "lease created");
            let info = grant.info.clone();
            cache_put(&state.args.directory, &spec, &grant);
            m.set_current(Some(grant));
            if let Some(value) = m.shared.clone() {
                for w in m.waiters.drain(..) {
                    answer(&w, Ok(value.clone()));
                }
            }
            m.failures = 0;
            let metrics = &state.args.directory.metrics;
            metrics.leases_created.inc();
            if replaced {
                metrics.leases_replaced.inc();
            }
            if replaced {
                // The old lease runs out by itself shortly; every template using it re-renders now
                // with the new credentials (and their commands run).
                for user in m.users.values() {
                    let _ = user.send_message(DataReply::LeaseReplaced);
                }
            }
            publish_active_count(state);
            let now = SystemTime::now();
            let Some(m) = state.leases.get_mut(&spec) else {
                return;
            };
            if dead_on_arrival(&info, now) {
                m.dead_in_a_row += 1;
                let delay = dead_lease_delay(m.dead_in_a_row, rand::random::<f64>());
                let lived = info.expire_at.duration_since(now).unwrap_or_default();
                tracing::warn!(dynamic_secret = %spec.name, lease_id = %info.lease_id, lives = ?lived, replace_in = ?delay, "the server granted a lease that is already (nearly) expired: a TTL of 0, or the server's clock is ahead of the agent's by about the lease TTL; replacing it after a backoff");
                if let Some(t) = m.timer.take() {
                    t.abort();
                }
                m.timer = Some(send_later(
                    myself,
                    delay,
                    LeaseMsg::Due {
                        spec,
                        lease_id: info.lease_id,
                        replace: true,
                    },
                ));
                return;
            }
            m.dead_in_a_row = 0;
            schedule(myself, state, &spec, &info);
        }
        Err(e) => {
            tracing::warn!(dynamic_secret = %spec.name, environment = %spec.environment, path = %spec.path, error = %e, "lease creation failed");
            m.failures += 1;
            let failure = FetchFailure {
                message: format!("dynamic secret {}: {}", spec.name, e.message),
                token_rejected: e.token_rejected,
            };
            for w in m.waiters.drain(..) {
                answer(&w, Err(failure.clone()));
            }
            // A replacement that failed is tried again while the current lease lasts.
            if let Some(current) = m.current.as_ref() {
                let retry = after_failed_replacement(
                    m.failures,
                    current.info.expire_at,
                    SystemTime::now(),
                    rand::random::<f64>(),
                );
                if let Some(delay) = retry {
                    let id = current.info.lease_id.clone();
                    m.timer = Some(send_later(
                        myself,
                        delay,
                        LeaseMsg::Due {
                            spec,
                            lease_id: id,
                            replace: true,
                        },
                    ));
                }
            }
        }
    }
}

/// No template uses the lease any more: it is neither renewed nor replaced, and lapses at the end
/// of its current TTL. Not revoked: the file a removed template left behind may still be in use
/// until its application moves on, and a template that asks again before then would have
/// reused it.
fn retire_unused(state: &mut LeaseManagerState, spec: &LeaseSpec) {
    let Some(mut m) = state.leases.remove(spec) else {
        return;
    };
    if let Some(t) = m.timer.take() {
        t.abort();
    }
    if let Some(g) = &m.current {
        tracing::info!(dynamic_secret = %spec.name, environment = %spec.environment, path = %spec.path, lease_id = %g.info.lease_id, "lease no longer used by any template; left to expire");
    }
    if let Some(cache) = state.args.directory.cache.get() {
        let _ = cache.send_message(CacheMsg::Remove(spec.clone()));
    }
    publish_active_count(state);
}

/// The `leases_active` gauge: leases currently held.
fn publish_active_count(state: &LeaseManagerState) {
    let active = state
        .leases
        .values()
        .filter(|m| m.current.is_some())
        .count();
    state
        .args
        .directory
        .metrics
        .leases_active
        .set(active as i64);
}

fn renewed(
    myself: &ActorRef<LeaseMsg>,
    state: &mut LeaseManagerState,
    spec: LeaseSpec,
    lease_id: String,
    result: Result<LeaseInfo, LeaseFailure>,
) {
    let Some(m) = state.leases.get_mut(&spec) else {
        return;
    };
    let Some(current) = m.current.as_mut() else {
        return;
    };
    if current.info.lease_id != lease_id {
        return;
    }
    match result {
        Ok(info) => {
            tracing::debug!(dynamic_secret = %spec.name, lease_id = %lease_id, "lease renewed");
            current.info = info.clone();
            cache_put(&state.args.directory, &spec, current);
            m.failures = 0;
            state.args.directory.metrics.leases_renewed.inc();
            schedule(myself, state, &spec, &info);
        }
        Err(e) if e.not_found || e.cannot_extend => {
            tracing::info!(dynamic_secret = %spec.name, lease_id = %lease_id, error = %e, "lease cannot be renewed; replacing it");
            start_create(myself, state, spec);
        }
        Err(e) => {
            m.failures += 1;
            // Retry the renewal while there is time; near expiry, replace.
            let (delay, replace) = match after_failed_renewal(
                m.failures,
                current.info.expire_at,
                SystemTime::now(),
                rand::random::<f64>(),
            ) {
                LeaseStep::Renew { after } => (after, false),
                LeaseStep::Replace { after } => (after, true),
            };
            tracing::warn!(dynamic_secret = %spec.name, lease_id = %lease_id, error = %e, retry_in = ?delay, "lease renewal failed");
            m.timer = Some(send_later(
                myself,
                delay,
                LeaseMsg::Due {
                    spec,
                    lease_id,
                    replace,
                },
            ));
        }
    }
}

fn schedule(
    myself: &ActorRef<LeaseMsg>,
    state: &mut LeaseManagerState,
    spec: &LeaseSpec,
    info: &LeaseInfo,
) {
    let Some(m) = state.leases.get_mut(spec) else {
        return;
    };
    if let Some(t) = m.timer.take() {
        t.abort();
    }
    let (after, replace) = match next_step(info, SystemTime::now()) {
        LeaseStep::Renew { after } => (after, false),
        LeaseStep::Replace { after } => (after, true),
    };
    m.timer = Some(send_later(
        myself,
        after,
        LeaseMsg::Due {
            spec: spec.clone(),
            lease_id: info.lease_id.clone(),
            replace,
        },
    ));
}

/// A message this actor sends itself later; aborted to cancel it.
type Timer = JoinHandle<Result<(), MessagingErr<LeaseMsg>>>;

fn send_later(myself: &ActorRef<LeaseMsg>, delay: Duration, msg: LeaseMsg) -> Timer {
    myself.send_after(delay, move || msg)
}

async fn with_token<T, F, Fut>(directory: &Directory, call: F) -> Result<T, LeaseFailure>
where
    F: Fn(kms_agent::sensitive::Sensitive<String>) -> Fut,
    Fut: std::future::Future<Output = Result<T, LeaseFailure>>,
{
    directory
        .token
        .with_token(
            |e: &LeaseFailure| e.token_rejected,
            || LeaseFailure::other("no access token available"),
            call,
        )
        .await
}

async fn revoke_all(
    api: &dyn LeaseApi,
    directory: &Directory,
    leases: Vec<(LeaseSpec, String)>,
) -> usize {
    let Some(current) = directory.token.current() else {
        return 0;
    };
    let calls = leases.iter().map(|(spec, id)| {
        let token = current.token.clone();
        async move {
            match api.revoke(&token, spec, id).await {
                Ok(()) => true,
                Err(e) if e.not_found => true,
                Err(e) => {
                    tracing::warn!(dynamic_secret = %spec.name, lease_id = %id, error = %e, "lease revocation failed");
                    false
                }
            }
        }
    });
    futures::future::join_all(calls)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count()
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn from_unix_ms(ms: i64) -> SystemTime {
    std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// Keeps the lease in the persistent cache (when configured) so a restarted agent reuses it.
fn cache_put(directory: &Directory, spec: &LeaseSpec, grant: &LeaseGrant) {
    if let Some(cache) = directory.cache.get() {
        let _ = cache.send_message(CacheMsg::Put(CachedLease {
            key: spec.clone(),
            lease_id: grant.info.lease_id.clone(),
            expire_at_unix_ms: unix_ms(grant.info.expire_at),
            max_expire_at_unix_ms: grant.info.max_expire_at.map(unix_ms),
            created_at_unix_ms: unix_ms(grant.info.created_at),
            credentials: grant.credentials.expose().clone(),
        }));
    }
}

/// Checks every cached lease with the server: one that still exists with more than 30s left is
/// reused; any other is revoked (best effort) and forgotten.
async fn restore(
    myself: ActorRef<LeaseMsg>,
    cache: ActorRef<CacheMsg>,
    api: Arc<dyn LeaseApi>,
    directory: Directory,
) {
    let entries = match cache
        .call(CacheMsg::LoadAll, Some(Duration::from_secs(30)))
        .await
    {
        Ok(ractor::rpc::CallResult::Success(entries)) => entries,
        _ => {
            tracing::warn!("the lease cache did not answer; starting without cached leases");
            Vec::new()
        }
    };
    for entry in entries {
        let spec = entry.key.clone();
        let looked_up = with_token(&directory, |token| {
            let api = api.clone();
            let spec = spec.clone();
            let id = entry.lease_id.clone();
            async move { api.get(&token, &spec, &id).await }
        })
        .await;
        let grant = match looked_up {
            Ok(Some(info)) if reusable(&info, SystemTime::now()) => Some(LeaseGrant {
                info: LeaseInfo {
                    // The server's answer wins; the cache fills what it may lack.
                    max_expire_at: info
                        .max_expire_at
                        .or(entry.max_expire_at_unix_ms.map(from_unix_ms)),
                    ..info
                },
                credentials: Sensitive::new(entry.credentials.clone()),
            }),
            Ok(Some(_)) => {
                tracing::info!(dynamic_secret = %spec.name, "a cached lease is about to expire; revoking it and leasing anew");
                let _ = with_token(&directory, |token| {
                    let api = api.clone();
                    let spec = spec.clone();
                    let id = entry.lease_id.clone();
                    async move { api.revoke(&token, &spec, &id).await }
                })
                .await;
                None
            }
            Ok(None) => {
                tracing::info!(dynamic_secret = %spec.name, "a cached lease no longer exists on the server");
                None
            }
            Err(e) => {
                tracing::warn!(dynamic_secret = %spec.name, error = %e, "cannot check a cached lease; leasing anew");
                None
            }
        };
        let _ = myself.send_message(LeaseMsg::Restored { spec, grant });
    }
    let _ = myself.send_message(LeaseMsg::RestoreDone);
}
