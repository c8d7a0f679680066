//! FetcherActor: answers renderers' data requests with single flight per polling round.
//!
//! Renderers tick on rounds aligned to one shared epoch, so templates with the same interval ask
//! with the same `round` instant. A request is fetched again only when nobody fetched it since
//! that round began; everyone else joins the fetch in flight or reuses its answer. N templates
//! over K distinct sources therefore cost K requests per round.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, DerivedActorRef};
use tokio::sync::Semaphore;

use super::directory::Directory;
use super::messages::{DataReply, FetchResult, FetcherMsg, LeaseMsg, ROUND_TIMEOUT};
use kms_agent::fetch::{FetchFailure, SecretFetcher};
use kms_agent::template::DataRequest;

pub struct FetcherArgs {
    pub fetcher: Arc<dyn SecretFetcher>,
    pub directory: Directory,
    pub max_concurrent: usize,
}

struct Waiter {
    reply: DerivedActorRef<DataReply>,
    round: Instant,
}

enum EntryState {
    InFlight(Vec<Waiter>),
    Done(FetchResult),
}

struct Entry {
    started: Instant,
    state: EntryState,
}

pub struct FetcherState {
    args: FetcherArgs,
    permits: Arc<Semaphore>,
    entries: HashMap<DataRequest, Entry>,
    /// When [`forget_unusable`] last ran.
    swept: Instant,
}

/// How often answers nobody can use any more are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Drops the answers fetched before the oldest round anyone may still be in: a round that
/// started longer than [`ROUND_TIMEOUT`] ago has failed, so nobody asks for data that old. Without
/// this the table would keep, for ever, the secret values of templates a reload removed and of
/// calls whose arguments change (a secret's name computed from another secret).
fn forget_unusable(entries: &mut HashMap<DataRequest, Entry>, now: Instant) {
    entries.retain(|_, e| {
        matches!(e.state, EntryState::InFlight(_))
            || now.saturating_duration_since(e.started) <= ROUND_TIMEOUT
    });
}

pub struct FetcherActor;

impl Actor for FetcherActor {
    type Msg = FetcherMsg;
    type State = FetcherState;
    type Arguments = FetcherArgs;

    async fn pre_start(
        &self,
        _: ActorRef<FetcherMsg>,
        args: FetcherArgs,
    ) -> Result<FetcherState, ActorProcessingErr> {
        Ok(FetcherState {
            permits: Arc::new(Semaphore::new(args.max_concurrent.max(1))),
            args,
            entries: HashMap::new(),
            swept: Instant::now(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<FetcherMsg>,
        msg: FetcherMsg,
        state: &mut FetcherState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            FetcherMsg::Fetch {
                requests,
                round,
                reply,
            } => {
                let now = Instant::now();
                if now.saturating_duration_since(state.swept) >= SWEEP_EVERY {
                    forget_unusable(&mut state.entries, now);
                    state.swept = now;
                }
                for request in requests {
                    // Leases are answered by the LeaseManager from its current lease: never
                    // cached here, never fetched per round.
                    if matches!(request, DataRequest::DynamicSecret { .. }) {
                        forward_to_leases(&state.args.directory, request, round, reply.clone());
                        continue;
                    }
                    request_one(
                        &myself,
                        state,
                        request,
                        Waiter {
                            reply: reply.clone(),
                            round,
                        },
                    );
                }
            }
            FetcherMsg::Completed {
                request,
                started,
                result,
            } => {
                let Some(entry) = state.entries.get_mut(&request) else {
                    return Ok(());
                };
                if entry.started != started {
                    return Ok(()); // superseded by a newer fetch, which carries the waiters
                }
                let waiters =
                    match std::mem::replace(&mut entry.state, EntryState::Done(result.clone())) {
                        EntryState::InFlight(w) => w,
                        EntryState::Done(_) => vec![],
                    };
                for w in waiters {
                    answer(&w, &request, result.clone());
                }
            }
        }
        Ok(())
    }
}

fn request_one(
    myself: &ActorRef<FetcherMsg>,
    state: &mut FetcherState,
    request: DataRequest,
    waiter: Waiter,
) {
    let mut carried = vec![];
    if let Some(entry) = state.entries.get_mut(&request) {
        if entry.started >= waiter.round {
            match &mut entry.state {
                EntryState::InFlight(waiters) => waiters.push(waiter),
                EntryState::Done(result) => answer(&waiter, &request, result.clone()),
            }
            return;
        }
        // Too old for this round. Waiters of an older fetch still in flight move to the new one.
        if let EntryState::InFlight(waiters) = &mut entry.state {
            carried = std::mem::take(waiters);
        }
    }
    carried.push(waiter);
    let started = Instant::now();
    state.entries.insert(
        request.clone(),
        Entry {
            started,
            state: EntryState::InFlight(carried),
        },
    );
    let fetcher = state.args.fetcher.clone();
    let directory = state.args.directory.clone();
    let permits = state.permits.clone();
    let me = myself.clone();
    tokio::spawn(async move {
        let result = match permits.acquire_owned().await {
            Ok(_permit) => fetch_with_token(&*fetcher, &directory, &request).await,
            Err(_) => Err(FetchFailure {
                message: "fetcher is shutting down".into(),
                token_rejected: false,
            }),
        };
        let _ = me.send_message(FetcherMsg::Completed {
            request,
            started,
            result,
        });
    });
}

fn forward_to_leases(
    directory: &Directory,
    request: DataRequest,
    round: Instant,
    reply: DerivedActorRef<DataReply>,
) {
    match directory.leases.get() {
        Some(leases) => {
            let _ = leases.send_message(LeaseMsg::Get {
                request,
                round,
                reply,
            });
        }
        None => answer(
            &Waiter { reply, round },
            &request,
            Err(FetchFailure {
                message: "dynamic secrets are not available (no lease manager)".into(),
                token_rejected: false,
            }),
        ),
    }
}

fn answer(waiter: &Waiter, request: &DataRequest, result: FetchResult) {
    let _ = waiter.reply.send_message(DataReply::Data {
        round: waiter.round,
        request: request.clone(),
        result,
    });
}

/// One fetch with the current token (retried once with a new token if it was rejected).
async fn fetch_with_token(
    fetcher: &dyn SecretFetcher,
    directory: &Directory,
    request: &DataRequest,
) -> FetchResult {
    directory
        .token
        .with_token(
            |e: &FetchFailure| e.token_rejected,
            || FetchFailure {
                message: "no access token available (login has not succeeded yet)".into(),
                token_rejected: false,
            },
            |token| async move { fetcher.fetch(&token, request).await },
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use kms_agent::template::DataValue;

    fn request(name: &str) -> DataRequest {
        DataRequest::GetSecret {
            project_id: "p".into(),
            environment: "dev".into(),
            path: "/".into(),
            name: name.into(),
        }
    }

    #[test]
    fn answers_older_than_any_live_round_are_forgotten() {
        let now = Instant::now() + ROUND_TIMEOUT * 2;
        let done = |started| Entry {
            started,
            state: EntryState::Done(Ok(DataValue::Secrets(Arc::default()))),
        };
        let mut entries = HashMap::from([
            (
                request("old"),
                done(now - ROUND_TIMEOUT - Duration::from_secs(1)),
            ),
            (request("recent"), done(now - ROUND_TIMEOUT / 2)),
            (
                request("in-flight"),
                Entry {
                    started: now - ROUND_TIMEOUT * 2,
                    state: EntryState::InFlight(vec![]),
                },
            ),
        ]);
        forget_unusable(&mut entries, now);
        assert!(!entries.contains_key(&request("old")));
        assert!(entries.contains_key(&request("recent")));
        assert!(entries.contains_key(&request("in-flight")));
    }
}
