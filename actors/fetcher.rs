//! FetcherActor: answers renderers' data requests, one fetch per distinct request per polling
//! round (the table that decides is `kms_agent::single_flight`; this actor performs the fetches and
//! sends the answers). Dynamic secrets go to the lease manager.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, DerivedActorRef};
use tokio::sync::Semaphore;

use super::directory::Directory;
use super::messages::{DataReply, FetchResult, FetcherMsg, LeaseMsg, ROUND_TIMEOUT};
use kms_agent::answer_reuse::AnswerReuse;
use kms_agent::fetch::{FetchFailure, SecretFetcher};
use kms_agent::single_flight::{Join, SingleFlight};
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

pub struct FetcherState {
    args: FetcherArgs,
    permits: Arc<Semaphore>,
    fetches: SingleFlight<DataRequest, Waiter, FetchResult>,
    /// An answer equal to the last one is handed out as the last one, so renderers see at a
    /// glance that their data did not change.
    reuse: AnswerReuse,
    /// When answers nobody can use any more were last dropped.
    swept: Instant,
}

/// How often answers nobody can use any more are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

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
            fetches: SingleFlight::default(),
            reuse: AnswerReuse::default(),
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
                    // A round that started longer than ROUND_TIMEOUT ago has failed: nobody
                    // asks for data that old (templates a reload removed, calls whose
                    // arguments change would otherwise keep secret values here for ever).
                    state.fetches.forget_older_than(now, ROUND_TIMEOUT);
                    state.reuse.sweep();
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
                let result = result.map(|answer| state.reuse.canonical(&request, answer));
                let waiters = state.fetches.complete(&request, started, &result);
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
    let round = waiter.round;
    let started = match state
        .fetches
        .join(request.clone(), round, waiter, Instant::now())
    {
        Join::Answered(waiter, result) => return answer(&waiter, &request, result),
        Join::Waiting => return,
        Join::Start(started) => started,
    };
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
