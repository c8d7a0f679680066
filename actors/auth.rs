//! AuthActor: logs in (with backoff until it succeeds), renews or logs in again before the token
//! expires, writes every new token to the sinks and publishes it to the other actors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::MessagingErr;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinHandle;

use super::directory::Directory;
use super::messages::{AuthMsg, SupervisorMsg};
use super::plan::SinkPlan;
use super::token::CurrentToken;
use kms_agent::auth::{AuthFailure, Authenticator, TokenGrant};
use kms_agent::fsutil::{empty_file, write_atomic};
use kms_agent::token_lifecycle::{login_backoff, NextStep, TokenTimes};

pub struct AuthArgs {
    pub authenticator: Arc<dyn Authenticator>,
    pub sinks: Vec<SinkPlan>,
    pub directory: Directory,
    pub supervisor: ActorRef<SupervisorMsg>,
    /// Give up after the first failed login (exit-after-auth).
    pub exit_after_auth: bool,
}

/// A message this actor sends itself later (`send_after`); aborted to cancel it.
type Timer = JoinHandle<Result<(), MessagingErr<AuthMsg>>>;

pub struct AuthState {
    args: AuthArgs,
    times: Option<TokenTimes>,
    generation: u64,
    login_in_flight: bool,
    renew_in_flight: bool,
    login_failures: u32,
    sink_failures: u32,
    timer: Option<Timer>,
    /// Set once the token was revoked for shutdown: nothing is scheduled after that.
    revoked: bool,
}

pub struct AuthActor;

impl Actor for AuthActor {
    type Msg = AuthMsg;
    type State = AuthState;
    type Arguments = AuthArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<AuthMsg>,
        args: AuthArgs,
    ) -> Result<AuthState, ActorProcessingErr> {
        // After a restart, keep generations increasing so stale timers stay stale.
        let generation = args.directory.token.current().map_or(0, |t| t.generation);
        myself.send_message(AuthMsg::Login)?;
        Ok(AuthState {
            args,
            times: None,
            generation,
            login_in_flight: false,
            renew_in_flight: false,
            login_failures: 0,
            sink_failures: 0,
            timer: None,
            revoked: false,
        })
    }

    async fn post_stop(
        &self,
        _: ActorRef<AuthMsg>,
        state: &mut AuthState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(t) = state.timer.take() {
            t.abort();
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<AuthMsg>,
        msg: AuthMsg,
        state: &mut AuthState,
    ) -> Result<(), ActorProcessingErr> {
        if state.revoked {
            if let AuthMsg::Revoke(reply) = msg {
                let _ = reply.send(true);
            }
            return Ok(());
        }
        match msg {
            AuthMsg::Revoke(reply) => revoke(state, reply),
            AuthMsg::SetSinks(sinks) => {
                state.args.sinks = sinks;
                state.sink_failures = 0;
                write_sinks(&myself, state);
            }
            AuthMsg::Login => start_login(&myself, state),
            AuthMsg::Relogin { generation } if generation == state.generation => {
                start_login(&myself, state)
            }
            AuthMsg::TokenRejected { generation } if generation == state.generation => {
                tracing::warn!("the server rejected the access token; logging in again");
                start_login(&myself, state)
            }
            AuthMsg::Renew { generation } if generation == state.generation => {
                start_renew(&myself, state)
            }
            AuthMsg::WriteSinks { generation } if generation == state.generation => {
                write_sinks(&myself, state)
            }
            AuthMsg::LoginFinished(result) => {
                state.login_in_flight = false;
                match result {
                    Ok(grant) => {
                        state.args.directory.metrics.auth_event("login_ok");
                        state.login_failures = 0;
                        let now = Instant::now();
                        accept_token(&myself, state, grant, now, now);
                        tracing::info!(
                            method = state.args.authenticator.method_name(),
                            "logged in"
                        );
                    }
                    Err(e) => login_failed(&myself, state, e),
                }
            }
            AuthMsg::RenewFinished { generation, result } => {
                state.renew_in_flight = false;
                if generation != state.generation {
                    return Ok(());
                }
                match (result, state.times) {
                    (Ok(grant), Some(times)) => {
                        state.args.directory.metrics.auth_event("renew_ok");
                        accept_token(&myself, state, grant, Instant::now(), times.session_start);
                        tracing::debug!("access token renewed");
                    }
                    (Ok(_), None) | (Err(_), None) => start_login(&myself, state),
                    (Err(e), Some(_)) => {
                        state.args.directory.metrics.auth_event("renew_error");
                        tracing::warn!(error = %e, "token renewal failed; logging in again");
                        start_login(&myself, state);
                    }
                }
            }
            // Stale timers and notices about an older token.
            AuthMsg::Relogin { .. }
            | AuthMsg::TokenRejected { .. }
            | AuthMsg::Renew { .. }
            | AuthMsg::WriteSinks { .. } => {}
        }
        Ok(())
    }
}

fn revoke(state: &mut AuthState, reply: RpcReplyPort<bool>) {
    state.revoked = true;
    cancel_timer(state);
    let token = state.args.directory.token.current();
    state.args.directory.token.publish(None);
    state.args.directory.readiness.set_token(false);
    let auth = state.args.authenticator.clone();
    let sinks = state.args.sinks.clone();
    tokio::spawn(async move {
        let revoked = match &token {
            Some(t) => match auth.revoke(&t.token).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "access token revocation failed");
                    false
                }
            },
            None => true,
        };
        for sink in &sinks {
            if let Err(e) = empty_file(&sink.path, sink.mode) {
                tracing::warn!(sink = %sink.path.display(), error = %e, "cannot empty the token sink");
            }
        }
        if revoked {
            tracing::info!("access token revoked; sinks emptied");
        }
        let _ = reply.send(revoked);
    });
}

fn start_login(myself: &ActorRef<AuthMsg>, state: &mut AuthState) {
    if state.login_in_flight {
        return;
    }
    cancel_timer(state);
    state.login_in_flight = true;
    let auth = state.args.authenticator.clone();
    let me = myself.clone();
    tokio::spawn(async move {
        let result = auth.login().await;
        let _ = me.send_message(AuthMsg::LoginFinished(result));
    });
}

fn start_renew(myself: &ActorRef<AuthMsg>, state: &mut AuthState) {
    if state.renew_in_flight || state.login_in_flight {
        return;
    }
    let Some(current) = state.args.directory.token.current() else {
        return start_login(myself, state);
    };
    state.renew_in_flight = true;
    let auth = state.args.authenticator.clone();
    let me = myself.clone();
    let generation = state.generation;
    tokio::spawn(async move {
        let result = auth.renew(&current.token).await;
        let _ = me.send_message(AuthMsg::RenewFinished { generation, result });
    });
}

fn login_failed(myself: &ActorRef<AuthMsg>, state: &mut AuthState, error: AuthFailure) {
    state.login_failures += 1;
    state.args.directory.metrics.auth_event("login_error");
    if state.args.exit_after_auth {
        tracing::error!(error = %error, "login failed");
        let _ = state
            .args
            .supervisor
            .send_message(SupervisorMsg::LoginFailed(error.message));
        return;
    }
    let delay = login_backoff(state.login_failures, rand::random::<f64>());
    tracing::warn!(
        error = %error,
        attempt = state.login_failures,
        retry_in = ?delay,
        "login failed; retrying"
    );
    schedule(myself, state, delay, AuthMsg::Login);
}

/// Stores a new token, writes the sinks, publishes it and schedules what comes next.
fn accept_token(
    myself: &ActorRef<AuthMsg>,
    state: &mut AuthState,
    grant: TokenGrant,
    now: Instant,
    session_start: Instant,
) {
    state.generation += 1;
    let times = TokenTimes {
        obtained_at: now,
        ttl: grant.expires_in,
        max_ttl: grant.max_ttl,
        session_start,
    };
    state.times = Some(times);
    state.args.directory.token.publish(Some(CurrentToken {
        token: grant.access_token,
        generation: state.generation,
    }));
    state.sink_failures = 0;
    let expiry = times.hard_expiry().map_or(0.0, |at| {
        kms_agent::telemetry::metrics::unix_now() + at.saturating_duration_since(now).as_secs_f64()
    });
    state.args.directory.metrics.token_expiry.set(expiry);
    state.args.directory.readiness.set_token(true);
    write_sinks(myself, state);
    let generation = state.generation;
    match times.next_step() {
        NextStep::Renew { at } => schedule(
            myself,
            state,
            at.saturating_duration_since(now),
            AuthMsg::Renew { generation },
        ),
        NextStep::Relogin { at } => schedule(
            myself,
            state,
            at.saturating_duration_since(now),
            AuthMsg::Relogin { generation },
        ),
        NextStep::Nothing => cancel_timer(state),
    }
}

fn write_sinks(myself: &ActorRef<AuthMsg>, state: &mut AuthState) {
    let Some(current) = state.args.directory.token.current() else {
        return;
    };
    let mut failed = false;
    for sink in &state.args.sinks {
        if let Err(e) = write_atomic(&sink.path, current.token.expose().as_bytes(), sink.mode) {
            tracing::error!(sink = %sink.path.display(), error = %e, "cannot write the token sink");
            failed = true;
        }
    }
    if failed {
        state.sink_failures += 1;
        let delay =
            login_backoff(state.sink_failures, rand::random::<f64>()).min(Duration::from_secs(30));
        let generation = state.generation;
        // Retry on its own timer: the renewal timer keeps running.
        myself.send_after(delay, move || AuthMsg::WriteSinks { generation });
    } else {
        let _ = state
            .args
            .supervisor
            .send_message(SupervisorMsg::TokenReady);
    }
}

fn schedule(myself: &ActorRef<AuthMsg>, state: &mut AuthState, delay: Duration, msg: AuthMsg) {
    cancel_timer(state);
    state.timer = Some(myself.send_after(delay, move || msg));
}

fn cancel_timer(state: &mut AuthState) {
    if let Some(t) = state.timer.take() {
        t.abort();
    }
}
