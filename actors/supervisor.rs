//! The root Supervisor: starts the children, restarts a crashed one with backoff (at most N times
//! within a window, then the agent exits non-zero), and shuts everything down in order.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::oneshot;

use super::auth::AuthMsg;
use super::auth::{AuthActor, AuthArgs};
use super::directory::Directory;
use super::exec::{ExecActor, ExecArgs, ExecMsg};
use super::fetcher::{FetcherActor, FetcherArgs};
use super::lease_manager::{LeaseManagerActor, LeaseManagerArgs, LeaseMsg};
use super::plan::AgentPlan;
use super::renderer::{RendererActor, RendererArgs, RendererMsg};
use crate::restart_policy::{RestartDecision, RestartTracker};

/// How the agent ended: the process exit code and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentExit {
    pub code: u8,
    pub reason: String,
}

pub enum SupervisorMsg {
    /// Graceful shutdown (SIGTERM/SIGINT).
    Shutdown,
    /// The sinks hold a (new) token.
    TokenReady,
    /// A login failed and the agent must not retry (exit-after-auth).
    LoginFailed(String),
    /// A template's first render finished.
    TemplateDone { index: usize, ok: bool },
    /// Start a crashed child again.
    Respawn(Child),
}

/// The children, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Child {
    Auth,
    Fetcher,
    Leases,
    Renderer(usize),
    Exec(usize),
}

pub struct SupervisorArgs {
    pub plan: AgentPlan,
    pub exit: oneshot::Sender<AgentExit>,
}

pub struct SupervisorState {
    plan: AgentPlan,
    directory: Directory,
    exit: Option<oneshot::Sender<AgentExit>>,
    children: HashMap<ActorId, Child>,
    cells: HashMap<Child, ActorCell>,
    execs: Vec<Option<ActorRef<ExecMsg>>>,
    trackers: HashMap<Child, RestartTracker>,
    epoch: Option<Instant>,
    first_results: Vec<Option<bool>>,
    shutting_down: bool,
}

pub struct Supervisor;

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorArgs;

    async fn pre_start(
        &self,
        _: ActorRef<SupervisorMsg>,
        args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let n = args.plan.templates.len();
        let directory = Directory::new(args.plan.metrics.clone(), args.plan.readiness.clone());
        Ok(SupervisorState {
            plan: args.plan,
            directory,
            exit: Some(args.exit),
            children: HashMap::new(),
            cells: HashMap::new(),
            execs: vec![None; n],
            trackers: HashMap::new(),
            epoch: None,
            first_results: vec![None; n],
            shutting_down: false,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Slow work (spawning) happens after start, not inside the spawner's await.
        for child in [Child::Fetcher, Child::Leases, Child::Auth] {
            if let Err(e) = spawn_child(&myself, state, child).await {
                finish(
                    &myself,
                    state,
                    1,
                    format!("cannot start the {child:?} actor: {e}"),
                )
                .await;
                return Ok(());
            }
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        if state.shutting_down {
            return Ok(());
        }
        match msg {
            SupervisorMsg::Shutdown => {
                tracing::info!("shutting down");
                finish(&myself, state, 0, "shutdown requested".into()).await;
            }
            SupervisorMsg::TokenReady => on_token_ready(&myself, state).await,
            SupervisorMsg::LoginFailed(reason) => {
                finish(&myself, state, 1, format!("login failed: {reason}")).await;
            }
            SupervisorMsg::TemplateDone { index, ok } => {
                if let Some(slot) = state.first_results.get_mut(index) {
                    slot.get_or_insert(ok);
                }
                if state.plan.exit_after_auth {
                    if !ok {
                        let id = state.plan.templates[index].id.clone();
                        finish(&myself, state, 1, format!("template {id} failed to render")).await;
                    } else if state.first_results.iter().all(|r| r == &Some(true)) {
                        finish(
                            &myself,
                            state,
                            0,
                            "exit-after-auth: every template rendered".into(),
                        )
                        .await;
                    }
                }
            }
            SupervisorMsg::Respawn(child) => {
                if let Err(e) = spawn_child(&myself, state, child).await {
                    finish(
                        &myself,
                        state,
                        1,
                        format!("cannot restart the {child:?} actor: {e}"),
                    )
                    .await;
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Never ractor's default (which stops the supervisor when any child ends).
        let (cell, why) = match event {
            SupervisionEvent::ActorFailed(cell, err) => (cell, format!("crashed: {err}")),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, format!("stopped: {}", reason.unwrap_or_default()))
            }
            _ => return Ok(()),
        };
        let Some(child) = state.children.remove(&cell.get_id()) else {
            return Ok(());
        };
        state.cells.remove(&child);
        if state.shutting_down {
            return Ok(());
        }
        let policy = state.plan.restart_policy;
        let decision = state.trackers.entry(child).or_default().on_crash(
            &policy,
            Instant::now(),
            rand::random::<f64>(),
        );
        match decision {
            RestartDecision::RestartAfter(delay) => {
                tracing::error!(child = ?child, reason = %why, restart_in = ?delay, "actor ended unexpectedly; restarting");
                myself.send_after(delay, move || SupervisorMsg::Respawn(child));
            }
            RestartDecision::Escalate => {
                tracing::error!(child = ?child, reason = %why, "actor keeps crashing; stopping the agent");
                finish(
                    &myself,
                    state,
                    1,
                    format!(
                        "{child:?} crashed more than {} times in {:?}",
                        policy.max_restarts, policy.window
                    ),
                )
                .await;
            }
        }
        Ok(())
    }
}

async fn on_token_ready(myself: &ActorRef<SupervisorMsg>, state: &mut SupervisorState) {
    if state.epoch.is_some() {
        return;
    }
    state.epoch = Some(Instant::now());
    if state.plan.templates.is_empty() {
        if state.plan.exit_after_auth {
            finish(myself, state, 0, "exit-after-auth: token written".into()).await;
        }
        return;
    }
    for i in 0..state.plan.templates.len() {
        if state.plan.templates[i].command.is_some() {
            if let Err(e) = spawn_child(myself, state, Child::Exec(i)).await {
                return finish(
                    myself,
                    state,
                    1,
                    format!("cannot start a command actor: {e}"),
                )
                .await;
            }
        }
        if let Err(e) = spawn_child(myself, state, Child::Renderer(i)).await {
            return finish(myself, state, 1, format!("cannot start a renderer: {e}")).await;
        }
    }
}

async fn spawn_child(
    myself: &ActorRef<SupervisorMsg>,
    state: &mut SupervisorState,
    child: Child,
) -> Result<(), ractor::SpawnErr> {
    let sup = myself.get_cell();
    let cell = match child {
        Child::Auth => {
            let args = AuthArgs {
                authenticator: state.plan.authenticator.clone(),
                sinks: state.plan.sinks.clone(),
                directory: state.directory.clone(),
                supervisor: myself.clone(),
                fail_fast: state.plan.exit_after_auth,
            };
            let (r, _) = Actor::spawn_linked(None, AuthActor, args, sup).await?;
            state.directory.set_auth(r.clone());
            r.get_cell()
        }
        Child::Fetcher => {
            let args = FetcherArgs {
                fetcher: state.plan.fetcher.clone(),
                directory: state.directory.clone(),
                max_concurrent: state.plan.max_concurrent_fetches,
            };
            let (r, _) = Actor::spawn_linked(None, FetcherActor, args, sup).await?;
            state.directory.set_fetcher(r.clone());
            r.get_cell()
        }
        Child::Leases => {
            let args = LeaseManagerArgs {
                api: state.plan.leases.clone(),
                directory: state.directory.clone(),
            };
            let (r, _) = Actor::spawn_linked(None, LeaseManagerActor, args, sup).await?;
            state.directory.set_leases(r.clone());
            r.get_cell()
        }
        Child::Exec(i) => {
            let plan = &state.plan.templates[i];
            let Some(spec) = plan.command.clone() else {
                return Ok(());
            };
            let args = ExecArgs {
                template_id: plan.id.clone(),
                spec,
                metrics: state.plan.metrics.clone(),
            };
            let (r, _) = Actor::spawn_linked(None, ExecActor, args, sup).await?;
            state.execs[i] = Some(r.clone());
            // A restarted command actor must be known to its renderer: restart that too.
            if let Some(renderer) = state.cells.get(&Child::Renderer(i)) {
                renderer.stop(Some("its command actor was restarted".into()));
            }
            r.get_cell()
        }
        Child::Renderer(i) => {
            let args = RendererArgs {
                index: i,
                plan: state.plan.templates[i].clone(),
                epoch: state.epoch.unwrap_or_else(Instant::now),
                directory: state.directory.clone(),
                exec: state.execs[i].clone(),
                supervisor: myself.clone(),
                once: state.plan.exit_after_auth,
            };
            let (r, _): (ActorRef<RendererMsg>, _) =
                Actor::spawn_linked(None, RendererActor, args, sup).await?;
            r.get_cell()
        }
    };
    state.children.insert(cell.get_id(), child);
    state.cells.insert(child, cell);
    Ok(())
}

/// Stops the children in order (renderers, then commands after they finish, then the fetcher and
/// auth), reports the exit, and stops the supervisor.
async fn finish(
    myself: &ActorRef<SupervisorMsg>,
    state: &mut SupervisorState,
    mut code: u8,
    mut reason: String,
) {
    state.shutting_down = true;
    let deadline = Instant::now() + state.plan.shutdown_timeout;
    let remaining = || deadline.saturating_duration_since(Instant::now());

    for i in 0..state.plan.templates.len() {
        if let Some(cell) = state.cells.remove(&Child::Renderer(i)) {
            let _ = cell.stop_and_wait(None, Some(remaining())).await;
        }
    }
    let mut failed_commands = 0;
    for exec in state.execs.iter().flatten() {
        match exec.call(ExecMsg::Drain, Some(remaining())).await {
            Ok(ractor::rpc::CallResult::Success(failures)) => failed_commands += failures,
            _ => tracing::warn!("a command was still running at the end of the shutdown timeout"),
        }
    }
    if state.plan.exit_after_auth && code == 0 && failed_commands > 0 {
        code = 1;
        reason = format!("{failed_commands} command run(s) failed");
    }
    for child in state
        .cells
        .keys()
        .copied()
        .filter(|c| matches!(c, Child::Exec(_)))
        .collect::<Vec<_>>()
    {
        if let Some(cell) = state.cells.remove(&child) {
            let _ = cell
                .stop_and_wait(None, Some(remaining().max(Duration::from_millis(100))))
                .await;
        }
    }
    if state.plan.revoke_on_shutdown && !state.plan.exit_after_auth {
        revoke_credentials(state, remaining()).await;
    }
    for child in [Child::Fetcher, Child::Leases, Child::Auth] {
        if let Some(cell) = state.cells.remove(&child) {
            let _ = cell
                .stop_and_wait(None, Some(remaining().max(Duration::from_millis(100))))
                .await;
        }
    }
    if code == 0 {
        tracing::info!(reason = %reason, "agent stopped");
    } else {
        tracing::error!(reason = %reason, "agent stopped with an error");
    }
    if let Some(tx) = state.exit.take() {
        let _ = tx.send(AgentExit { code, reason });
    }
    myself.stop(None);
}

/// Revokes every lease (in parallel), then the access token, and empties the sinks, within
/// `budget`. With nothing to revoke this returns at once.
async fn revoke_credentials(state: &SupervisorState, budget: Duration) {
    let deadline = Instant::now() + budget;
    if let Some(leases) = state.directory.leases() {
        match leases.call(LeaseMsg::RevokeAll, Some(budget)).await {
            Ok(ractor::rpc::CallResult::Success(n)) if n > 0 => {
                tracing::info!(leases = n, "leases revoked")
            }
            Ok(ractor::rpc::CallResult::Success(_)) => {}
            _ => tracing::warn!("lease revocation did not finish in time"),
        }
    }
    if let Some(auth) = state.directory.auth() {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(500));
        if !matches!(
            auth.call(AuthMsg::Revoke, Some(left)).await,
            Ok(ractor::rpc::CallResult::Success(_))
        ) {
            tracing::warn!("token revocation did not finish in time");
        }
    }
}

/// Asks a running agent to shut down gracefully.
#[derive(Clone)]
pub struct ShutdownHandle(ActorRef<SupervisorMsg>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send_message(SupervisorMsg::Shutdown);
    }
}

/// A started agent.
pub struct RunningAgent {
    pub shutdown: ShutdownHandle,
    exit: oneshot::Receiver<AgentExit>,
}

impl RunningAgent {
    /// Waits until the agent stops.
    pub async fn wait(self) -> AgentExit {
        self.exit.await.unwrap_or(AgentExit {
            code: 1,
            reason: "the supervisor stopped unexpectedly".into(),
        })
    }
}

/// Starts the supervisor (and through it every actor) for `plan`.
pub async fn run_agent(plan: AgentPlan) -> Result<RunningAgent, ractor::SpawnErr> {
    let (tx, rx) = oneshot::channel();
    let (sup, _) = Actor::spawn(None, Supervisor, SupervisorArgs { plan, exit: tx }).await?;
    Ok(RunningAgent {
        shutdown: ShutdownHandle(sup),
        exit: rx,
    })
}
