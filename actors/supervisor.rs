//! The root Supervisor: starts the children, restarts a crashed one with backoff (at most N times
//! within a window, then the agent exits non-zero), and shuts everything down in order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};
use tokio::sync::oneshot;

use super::auth::{AuthActor, AuthArgs};
use super::cache::CacheActor;
use super::child::{stop_budget, ChildActor, ChildArgs};
use super::directory::Directory;
use super::exec::{ExecActor, ExecArgs};
use super::fetcher::{FetcherActor, FetcherArgs};
use super::lease_manager::{LeaseManagerActor, LeaseManagerArgs};
use super::messages::{AuthMsg, Child, ChildMsg, ExecMsg, LeaseMsg, RendererMsg, SupervisorMsg};
use super::plan::{AgentPlan, ChildPlan, SinkPlan, TemplateOutput, TemplatePlan};
use super::renderer::{RendererActor, RendererArgs};
use kms_agent::exec::{signal_running_commands, DEFAULT_KILL_GRACE};
use kms_agent::reload_plan::plan_reload;
use kms_agent::restart_policy::{RestartDecision, RestartTracker};

/// How the agent ended: the process exit code and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentExit {
    pub code: u8,
    pub reason: String,
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
    /// The templates being kept rendered, by slot.
    templates: BTreeMap<usize, TemplatePlan>,
    next_slot: usize,
    execs: HashMap<usize, ActorRef<ExecMsg>>,
    trackers: HashMap<Child, RestartTracker>,
    epoch: Option<Instant>,
    first_results: HashMap<usize, bool>,
    /// Slots whose template has written its destination (or delivered its environment) once.
    written: HashSet<usize>,
    /// Every file template has been written once: the `exec` child may start.
    files_ready: bool,
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
        mut args: SupervisorArgs,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        // From here on the templates live in the state's slots (a reload changes them there),
        // not in the plan.
        let templates: BTreeMap<usize, TemplatePlan> = std::mem::take(&mut args.plan.templates)
            .into_iter()
            .enumerate()
            .collect();
        let directory = Directory::new(args.plan.metrics.clone(), args.plan.readiness.clone());
        Ok(SupervisorState {
            next_slot: templates.len(),
            templates,
            plan: args.plan,
            directory,
            exit: Some(args.exit),
            children: HashMap::new(),
            cells: HashMap::new(),
            execs: HashMap::new(),
            trackers: HashMap::new(),
            epoch: None,
            first_results: HashMap::new(),
            written: HashSet::new(),
            files_ready: false,
            shutting_down: false,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        // Slow work (spawning) happens after start, not inside the spawner's await.
        for child in [Child::Cache, Child::Fetcher, Child::Leases, Child::Auth] {
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
            SupervisorMsg::TemplateDone { slot, ok } => {
                state.first_results.entry(slot).or_insert(ok);
                if state.plan.exit_after_auth {
                    if !ok {
                        let id = state
                            .templates
                            .get(&slot)
                            .map(|t| t.id.clone())
                            .unwrap_or_default();
                        finish(&myself, state, 1, format!("template {id} failed to render")).await;
                    } else if state.first_results.len() >= state.templates.len()
                        && state
                            .templates
                            .keys()
                            .all(|s| state.first_results.get(s) == Some(&true))
                    {
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
            SupervisorMsg::TemplateWritten { slot } => {
                state.written.insert(slot);
                check_files_ready(state);
            }
            SupervisorMsg::ChildExited { code, reason } => {
                finish(&myself, state, code, reason).await;
            }
            SupervisorMsg::Reload {
                templates,
                sinks,
                child,
            } => reload(&myself, state, templates, sinks, child).await,
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
            // A template's own actors only ever fail that template: they are restarted, at the
            // longest backoff once they have used up the budget, for as long as the agent runs.
            RestartDecision::Escalate if child.is_per_template() => {
                let delay = policy.max_backoff;
                tracing::error!(child = ?child, reason = %why, restart_in = ?delay, "actor keeps crashing; it fails only its template, restarting it");
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
    if state.plan.child.is_some() {
        if let Err(e) = spawn_child(myself, state, Child::Process).await {
            return finish(
                myself,
                state,
                1,
                format!("cannot start the exec child's actor: {e}"),
            )
            .await;
        }
        check_files_ready(state);
    }
    if state.templates.is_empty() {
        if state.plan.exit_after_auth {
            finish(myself, state, 0, "exit-after-auth: token written".into()).await;
        }
        return;
    }
    let slots: Vec<usize> = state.templates.keys().copied().collect();
    for slot in slots {
        if let Err(e) = start_template(myself, state, slot).await {
            return finish(myself, state, 1, format!("cannot start a renderer: {e}")).await;
        }
    }
}

/// Tells the `exec` child's actor, once, that every file template has been written.
fn check_files_ready(state: &mut SupervisorState) {
    if state.files_ready || state.epoch.is_none() {
        return;
    }
    let all_written = state
        .templates
        .iter()
        .filter(|(_, t)| matches!(t.output, TemplateOutput::File { .. }))
        .all(|(slot, _)| state.written.contains(slot));
    if all_written {
        state.files_ready = true;
        if let Some(child) = state.directory.child.get() {
            let _ = child.send_message(ChildMsg::FilesReady);
        }
    }
}

/// The slot of the template that renders the child's environment.
fn env_slot(state: &SupervisorState) -> Option<usize> {
    state
        .templates
        .iter()
        .find(|(_, t)| t.output == TemplateOutput::ChildEnv)
        .map(|(slot, _)| *slot)
}

/// Stops the `exec` child (its stop signal, the grace, then its group killed) and its actor.
async fn stop_child_process(state: &mut SupervisorState, budget: Duration) {
    let Some(cell) = state.cells.remove(&Child::Process) else {
        return;
    };
    state.children.remove(&cell.get_id());
    if let Some(child) = state.directory.child.get() {
        if !matches!(
            child.call(ChildMsg::Stop, Some(budget)).await,
            Ok(ractor::rpc::CallResult::Success(()))
        ) {
            tracing::warn!("the exec child did not stop in time; its process group is killed");
        }
    }
    // Stopping the actor drops what it holds of the child: its group is killed if anything is left.
    let _ = cell.stop_and_wait(None, Some(Duration::from_secs(2))).await;
    state.directory.child.clear();
    state.trackers.remove(&Child::Process);
}

async fn start_template(
    myself: &ActorRef<SupervisorMsg>,
    state: &mut SupervisorState,
    slot: usize,
) -> Result<(), ractor::SpawnErr> {
    if state
        .templates
        .get(&slot)
        .is_some_and(|t| t.command.is_some())
    {
        spawn_child(myself, state, Child::Exec(slot)).await?;
    }
    spawn_child(myself, state, Child::Renderer(slot)).await
}

async fn stop_template(state: &mut SupervisorState, slot: usize) {
    for child in [Child::Renderer(slot), Child::Exec(slot)] {
        if let Some(cell) = state.cells.remove(&child) {
            state.children.remove(&cell.get_id());
            let _ = cell.stop_and_wait(None, Some(Duration::from_secs(5))).await;
        }
    }
    state.execs.remove(&slot);
    state.first_results.remove(&slot);
    state.written.remove(&slot);
    state.trackers.remove(&Child::Renderer(slot));
    state.trackers.remove(&Child::Exec(slot));
}

/// Applies a reloaded config: templates that did not change keep running untouched; removed
/// ones stop; new or changed ones start. Sinks are replaced and get the current token.
async fn reload(
    myself: &ActorRef<SupervisorMsg>,
    state: &mut SupervisorState,
    templates: Vec<TemplatePlan>,
    sinks: Vec<SinkPlan>,
    child: Option<ChildPlan>,
) {
    let running: Vec<(usize, u64)> = state
        .templates
        .iter()
        .map(|(slot, t)| (*slot, t.fingerprint))
        .collect();
    let fingerprints: Vec<u64> = templates.iter().map(|t| t.fingerprint).collect();
    let diff = plan_reload(&running, &fingerprints);
    let (kept, removed, added) = (diff.keep.len(), diff.stop.len(), diff.start.len());
    for slot in diff.stop {
        stop_template(state, slot).await;
        state.templates.remove(&slot);
    }
    // A changed `exec` section replaces the child; its environment's renderer was stopped above
    // (its fingerprint covers the section) and starts below, for the new child.
    if child != state.plan.child {
        let was_running = state.cells.contains_key(&Child::Process);
        if let Some(old) = &state.plan.child {
            stop_child_process(state, stop_budget(&old.spec)).await;
        }
        state.plan.child = child;
        if state.plan.child.is_some() && state.epoch.is_some() {
            if was_running {
                state.directory.metrics.child_restarted("config-reloaded");
            }
            if let Err(e) = spawn_child(myself, state, Child::Process).await {
                tracing::error!(error = %e, "cannot start the exec child's actor");
            }
        }
        if state.plan.child.is_none() {
            state.directory.readiness.set_child_running(None);
        }
    }
    let mut new: Vec<Option<TemplatePlan>> = templates.into_iter().map(Some).collect();
    for plan in diff.start.iter().filter_map(|&i| new.get_mut(i)?.take()) {
        let slot = state.next_slot;
        state.next_slot += 1;
        state.templates.insert(slot, plan);
        if state.epoch.is_some() {
            if let Err(e) = start_template(myself, state, slot).await {
                tracing::error!(error = %e, "cannot start a reloaded template");
            }
        }
    }
    state
        .directory
        .readiness
        .replace_templates(state.templates.values().map(|t| t.id.clone()));
    state.plan.sinks = sinks.clone();
    if let Some(auth) = state.directory.auth.get() {
        let _ = auth.send_message(AuthMsg::SetSinks(sinks));
    }
    tracing::info!(kept, added, removed, "configuration reloaded");
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
                exit_after_auth: state.plan.exit_after_auth,
            };
            let (r, _) = Actor::spawn_linked(None, AuthActor, args, sup).await?;
            state.directory.auth.set(r.clone());
            r.get_cell()
        }
        Child::Fetcher => {
            let args = FetcherArgs {
                fetcher: state.plan.fetcher.clone(),
                directory: state.directory.clone(),
                max_concurrent: state.plan.max_concurrent_fetches,
            };
            let (r, _) = Actor::spawn_linked(None, FetcherActor, args, sup).await?;
            state.directory.fetcher.set(r.clone());
            r.get_cell()
        }
        Child::Cache => {
            let Some(args) = state.plan.cache.clone() else {
                return Ok(());
            };
            let (r, _) = Actor::spawn_linked(None, CacheActor, args, sup).await?;
            state.directory.cache.set(r.clone());
            r.get_cell()
        }
        Child::Leases => {
            let args = LeaseManagerArgs {
                api: state.plan.leases.clone(),
                directory: state.directory.clone(),
            };
            let (r, _) = Actor::spawn_linked(None, LeaseManagerActor, args, sup).await?;
            state.directory.leases.set(r.clone());
            r.get_cell()
        }
        Child::Exec(i) => {
            let Some(plan) = state.templates.get(&i) else {
                return Ok(());
            };
            let Some(spec) = plan.command.clone() else {
                return Ok(());
            };
            let args = ExecArgs {
                template_id: plan.id.clone(),
                spec,
                metrics: state.plan.metrics.clone(),
            };
            let (r, _) = Actor::spawn_linked(None, ExecActor, args, sup).await?;
            state.execs.insert(i, r.clone());
            // A restarted command actor must be known to its renderer: restart that too.
            if let Some(renderer) = state.cells.get(&Child::Renderer(i)) {
                renderer.stop(Some("its command actor was restarted".into()));
            }
            r.get_cell()
        }
        Child::Process => {
            let Some(plan) = state.plan.child.clone() else {
                return Ok(());
            };
            let args = ChildArgs {
                spec: plan.spec,
                supervisor: myself.clone(),
                metrics: state.plan.metrics.clone(),
                readiness: state.plan.readiness.clone(),
                files_ready: state.files_ready,
            };
            let (r, _) = Actor::spawn_linked(None, ChildActor, args, sup).await?;
            state.directory.child.set(r.clone());
            // A restarted child actor needs the environment again: its renderer sends only
            // changes, so it starts over too.
            if let Some(renderer) =
                env_slot(state).and_then(|s| state.cells.get(&Child::Renderer(s)))
            {
                renderer.stop(Some("the exec child's actor was restarted".into()));
            }
            r.get_cell()
        }
        Child::Renderer(i) => {
            let Some(plan) = state.templates.get(&i) else {
                return Ok(());
            };
            let args = RendererArgs {
                slot: i,
                plan: plan.clone(),
                epoch: state.epoch.unwrap_or_else(Instant::now),
                directory: state.directory.clone(),
                exec: state.execs.get(&i).cloned(),
                supervisor: myself.clone(),
                exit_after_auth: state.plan.exit_after_auth,
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

/// What a shutdown keeps after the commands' share of the grace: revocation and stopping the
/// core children.
const AFTER_COMMANDS: Duration = Duration::from_secs(3);

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

    // The child first: the application stops before the secrets it uses are revoked.
    if let Some(child) = &state.plan.child {
        let budget = stop_budget(&child.spec).min(remaining());
        stop_child_process(state, budget).await;
    }
    let slots: Vec<usize> = state.templates.keys().copied().collect();
    for i in slots {
        if let Some(cell) = state.cells.remove(&Child::Renderer(i)) {
            let _ = cell.stop_and_wait(None, Some(remaining())).await;
        }
    }
    // Commands get the grace but the time the later steps need (killing them, revoking,
    // stopping), and at least half of it when the grace is short.
    let reserve = (DEFAULT_KILL_GRACE + AFTER_COMMANDS).min(state.plan.shutdown_timeout / 2);
    let commands_deadline = deadline.checked_sub(reserve).unwrap_or_else(Instant::now);
    let mut failed_commands = 0;
    let mut unfinished = Vec::new();
    for exec in state.execs.values() {
        let left = commands_deadline.saturating_duration_since(Instant::now());
        match exec.call(ExecMsg::Drain, Some(left)).await {
            Ok(ractor::rpc::CallResult::Success(failures)) => failed_commands += failures,
            _ => unfinished.push(exec.clone()),
        }
    }
    if !unfinished.is_empty() {
        failed_commands += unfinished.len() as u32;
        for exec in &unfinished {
            let _ = exec
                .call(ExecMsg::Abandon, Some(Duration::from_millis(500)))
                .await;
        }
        let groups = signal_running_commands(Signal::SIGTERM);
        tracing::warn!(commands = groups, grace = ?state.plan.shutdown_timeout, "commands still running as the shutdown grace runs out; terminating their process groups");
        let kill_at = Instant::now() + DEFAULT_KILL_GRACE;
        for exec in &unfinished {
            let left = kill_at.saturating_duration_since(Instant::now());
            let _ = exec.call(ExecMsg::Drain, Some(left)).await;
        }
        if signal_running_commands(Signal::SIGKILL) > 0 {
            tracing::warn!("commands ignored SIGTERM; killed their process groups");
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
    for child in [Child::Fetcher, Child::Leases, Child::Auth, Child::Cache] {
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
    if let Some(leases) = state.directory.leases.get() {
        match leases.call(LeaseMsg::RevokeAll, Some(budget)).await {
            Ok(ractor::rpc::CallResult::Success(n)) if n > 0 => {
                tracing::info!(leases = n, "leases revoked")
            }
            Ok(ractor::rpc::CallResult::Success(_)) => {}
            _ => tracing::warn!("lease revocation did not finish in time"),
        }
    }
    if let Some(auth) = state.directory.auth.get() {
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

/// Talks to a running agent: graceful shutdown, and reloading templates and sinks.
#[derive(Clone)]
pub struct AgentHandle(ActorRef<SupervisorMsg>);

impl AgentHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send_message(SupervisorMsg::Shutdown);
    }

    pub fn reload(
        &self,
        templates: Vec<TemplatePlan>,
        sinks: Vec<SinkPlan>,
        child: Option<ChildPlan>,
    ) {
        let _ = self.0.send_message(SupervisorMsg::Reload {
            templates,
            sinks,
            child,
        });
    }
}

/// A started agent.
pub struct RunningAgent {
    pub handle: AgentHandle,
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
        handle: AgentHandle(sup),
        exit: rx,
    })
}
