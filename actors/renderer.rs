//! RendererActor: keeps one template's destination up to date.
//!
//! Each round: ask the fetcher for the data the last render used, render, fetch whatever the
//! render found missing, render again; then write the file only if its bytes changed, and ask the
//! ExecActor to run the command. A failure keeps the last good file and retries with backoff; it
//! never affects other templates. Logs name the template and destination, never a value.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ractor::MessagingErr;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

use super::directory::Directory;
use super::messages::{
    ChildMsg, DataReply, ExecMsg, FetcherMsg, LeaseMsg, RendererMsg, SupervisorMsg, ROUND_TIMEOUT,
};
use super::plan::{TemplateOutput, TemplatePlan};
use kms_agent::backoff::Backoff;
use kms_agent::fsutil::{WriteError, WriteOutcome};
use kms_agent::last_write::LastWrite;
use kms_agent::round_alarm::{AlarmAction, RoundAlarm};
use kms_agent::round_grid::RoundGrid;
use kms_agent::telemetry::metrics::TemplateRenderMetrics;
use kms_agent::template::{DataRequest, DataSource, DataValue, RenderOutcome, Snapshot};

/// Render passes in one round before giving up (each pass may discover calls that depend on
/// data fetched by the previous one).
const MAX_PASSES: u32 = 10;
/// Retry delays after a failure: from this...
const RETRY_BASE: Duration = Duration::from_secs(1);
/// ...doubling up to this (and never longer than the polling interval).
const RETRY_MAX: Duration = Duration::from_secs(60);

pub struct RendererArgs {
    /// The supervisor's slot for this template.
    pub slot: usize,
    pub plan: TemplatePlan,
    /// Start of round 0, shared by every renderer so their rounds line up.
    pub epoch: Instant,
    pub directory: Directory,
    pub exec: Option<ActorRef<ExecMsg>>,
    pub supervisor: ActorRef<SupervisorMsg>,
    /// Render once and report, without polling (exit-after-auth).
    pub exit_after_auth: bool,
}

/// A message this actor sends itself later (`send_after`); aborted to cancel it.
type Timer = JoinHandle<Result<(), MessagingErr<RendererMsg>>>;

pub struct RendererState {
    args: RendererArgs,
    round: Option<Instant>,
    snapshot: Snapshot,
    pending: HashSet<DataRequest>,
    /// What the last successful render looked up: fetched up front next round.
    known: Vec<DataRequest>,
    /// The answers the last successful render read, in `known`'s order, when its output depends
    /// on them alone: a round handed the very same answers again is done without rendering.
    inputs: Option<Vec<DataValue>>,
    /// The template reads no clock, randomness or DNS (`CompiledTemplate::is_deterministic`).
    deterministic: bool,
    passes: u32,
    failures: u32,
    reported: bool,
    /// The first successful write (or environment delivery) was reported.
    reported_written: bool,
    /// For the child's environment: a digest of the block last delivered, so that only a change
    /// is sent (and the block itself is held once, by the ChildActor).
    delivered: Option<[u8; 32]>,
    /// What this renderer last wrote, so an unchanged render costs a `stat`, not a read.
    last_write: LastWrite,
    metrics: TemplateRenderMetrics,
    /// The one timer: it starts the next round and is the watchdog of the round in flight.
    timer: Option<Timer>,
    /// When `timer` must fire and what it means then.
    alarm: RoundAlarm,
}

pub struct RendererActor;

impl Actor for RendererActor {
    type Msg = RendererMsg;
    type State = RendererState;
    type Arguments = RendererArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RendererMsg>,
        args: RendererArgs,
    ) -> Result<RendererState, ActorProcessingErr> {
        let known = args.plan.template.literal_requests();
        let deterministic = args.plan.template.is_deterministic();
        let metrics = args.directory.metrics.template_renders(&args.plan.id);
        myself.send_message(RendererMsg::Start)?;
        Ok(RendererState {
            args,
            round: None,
            snapshot: Snapshot::new(),
            pending: HashSet::new(),
            known,
            inputs: None,
            deterministic,
            passes: 0,
            failures: 0,
            reported: false,
            reported_written: false,
            delivered: None,
            last_write: LastWrite::default(),
            metrics,
            timer: None,
            alarm: RoundAlarm::new(ROUND_TIMEOUT),
        })
    }

    async fn post_stop(
        &self,
        myself: ActorRef<RendererMsg>,
        state: &mut RendererState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(t) = state.timer.take() {
            t.abort();
        }
        // So that a lease only this template used is not renewed for nobody.
        if let Some(leases) = state.args.directory.leases.get() {
            let _ = leases.send_message(LeaseMsg::UserGone(myself.get_id()));
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RendererMsg>,
        msg: RendererMsg,
        state: &mut RendererState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            // Boxed: the actor's message loop future is as large as the largest handler future
            // it awaits, and lives as long as the actor; 10,000 renderers paid for it at rest.
            RendererMsg::Start => Box::pin(start_round(&myself, state, false)).await,
            // New credentials: the files that use them are rendered again at once.
            RendererMsg::Reply(DataReply::LeaseReplaced) => {
                Box::pin(start_round(&myself, state, false)).await
            }
            RendererMsg::Alarm { at } => {
                let (action, rearm) = state.alarm.fired(at, Instant::now());
                arm(&myself, state, rearm);
                match action {
                    AlarmAction::StartRound { retry } => {
                        Box::pin(start_round(&myself, state, retry)).await
                    }
                    AlarmAction::TimeOutRound => {
                        state.pending.clear();
                        fail(&myself, state, "timed out waiting for secret data".into());
                    }
                    AlarmAction::Nothing => {}
                }
            }
            RendererMsg::Reply(DataReply::Data {
                round,
                request,
                result,
            }) => {
                if state.round != Some(round) || !state.pending.remove(&request) {
                    return Ok(()); // an answer for an earlier round
                }
                state
                    .snapshot
                    .insert(request, result.map_err(|e| e.message));
                if state.pending.is_empty() {
                    // Give its table back: between rounds, thousands of renderers would hold one.
                    state.pending = HashSet::new();
                    if !finish_unchanged_round(&myself, state) {
                        Box::pin(render(&myself, state)).await;
                    }
                }
            }
        }
        Ok(())
    }
}

async fn start_round(myself: &ActorRef<RendererMsg>, state: &mut RendererState, retry: bool) {
    let now = Instant::now();
    // Regular rounds start on the shared grid; retries want data fresher than the failure.
    let round = if retry { now } else { grid(state).current(now) };
    state.round = Some(round);
    let rearm = state.alarm.round_started(now, grid(state).next(now));
    arm(myself, state, rearm);
    state.snapshot = Snapshot::new();
    state.passes = 0;
    state.pending = state.known.iter().cloned().collect();
    if state.pending.is_empty() {
        if !finish_unchanged_round(myself, state) {
            render(myself, state).await;
        }
    } else {
        ask_fetcher(myself, state, state.known.clone(), round);
    }
}

fn ask_fetcher(
    myself: &ActorRef<RendererMsg>,
    state: &mut RendererState,
    requests: Vec<DataRequest>,
    round: Instant,
) {
    match state.args.directory.fetcher.get() {
        Some(f) => {
            let _ = f.send_message(FetcherMsg::Fetch {
                requests,
                round,
                reply: myself.get_derived(),
            });
        }
        None => fail(myself, state, "the fetcher is not running".into()),
    }
}

/// Records which requests a render looked up, so the next round can prefetch exactly those.
struct Recording<'a> {
    inner: &'a Snapshot,
    used: Mutex<Vec<DataRequest>>,
}

impl DataSource for Recording<'_> {
    fn lookup(&self, request: &DataRequest) -> Option<Result<DataValue, String>> {
        if let Ok(mut used) = self.used.lock() {
            if !used.contains(request) {
                used.push(request.clone());
            }
        }
        self.inner.lookup(request)
    }
}

/// What one render on the blocking pool gives back: the snapshot it read (handed back to the
/// actor), the requests it looked up, and its outcome (`Err` when the engine panicked).
type RenderRun = (
    Snapshot,
    Vec<DataRequest>,
    std::thread::Result<Result<RenderOutcome, kms_agent::template::RenderError>>,
);

/// Renders on tokio's blocking pool, a bounded number at a time (`Directory::render_slots`): a
/// heavy template (up to the engine's step and memory limits, seconds of CPU) then never holds
/// an async worker, so the listener, auth, the fetcher and the other templates keep running.
async fn render_off_runtime(state: &mut RendererState) -> Option<RenderRun> {
    let template = state.args.plan.template.clone();
    #[cfg(feature = "test-hooks")]
    let id = state.args.plan.id.clone();
    let snapshot = std::mem::take(&mut state.snapshot);
    let _slot = state.args.directory.render_slots.acquire().await;
    tokio::task::spawn_blocking(move || {
        let source = Recording {
            inner: &snapshot,
            used: Mutex::new(vec![]),
        };
        // A panic inside the engine (a bug: no input should reach one) is this template's
        // render error, not a crash of the actor: the last good file stays and the render is
        // retried with backoff, like any failure. Unwind safety: a render builds its state
        // afresh from `source` and the immutable compiled template, and the poisoned-or-not
        // `used` list is only read.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[cfg(feature = "test-hooks")]
            maybe_test_panic(&id);
            template.render(&source)
        }));
        let used = source
            .used
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (snapshot, used, outcome)
    })
    .await
    .ok()
}

async fn render(myself: &ActorRef<RendererMsg>, state: &mut RendererState) {
    state.passes += 1;
    maybe_test_crash(&state.args.plan.id);
    let Some((snapshot, used, outcome)) = render_off_runtime(state).await else {
        return fail(myself, state, "the render task failed; retrying".into());
    };
    state.snapshot = snapshot;
    let Ok(outcome) = outcome else {
        return fail(
            myself,
            state,
            "the template engine failed unexpectedly (an internal error, not the template's); \
             retrying"
                .into(),
        );
    };
    match outcome {
        Ok(RenderOutcome::Done(bytes)) => {
            state.inputs = state
                .deterministic
                .then(|| answers_read(&state.snapshot, &used))
                .flatten();
            state.known = used;
            // The data is fetched afresh next round; holding it until then only costs memory.
            state.snapshot = Snapshot::new();
            match state.args.plan.output {
                TemplateOutput::File { .. } => write(myself, state, bytes).await,
                TemplateOutput::ChildEnv => deliver_env(myself, state, bytes),
            }
        }
        Ok(RenderOutcome::NeedData(missing)) => {
            let missing: Vec<_> = missing
                .into_iter()
                .filter(|r| state.snapshot.lookup(r).is_none())
                .collect();
            if missing.is_empty() || state.passes >= MAX_PASSES {
                return fail(
                    myself,
                    state,
                    "the template keeps asking for data that cannot be fetched".into(),
                );
            }
            let Some(round) = state.round else { return };
            state.pending = missing.iter().cloned().collect();
            ask_fetcher(myself, state, missing, round);
        }
        Err(e) => fail(myself, state, e.message),
    }
}

/// The answers `used` were given in `snapshot`, in order; `None` if one was missing or failed.
fn answers_read(snapshot: &Snapshot, used: &[DataRequest]) -> Option<Vec<DataValue>> {
    used.iter()
        .map(|r| match snapshot.get(r) {
            Some(Ok(value)) => Some(value.clone()),
            _ => None,
        })
        .collect()
}

/// A round whose every answer is the very one the last successful render read (the fetcher
/// hands out the previous answer when a new one equals it) would render the same bytes: when
/// the destination is untouched since (one `stat`), the round is done without rendering.
/// Returns whether it was.
fn finish_unchanged_round(myself: &ActorRef<RendererMsg>, state: &mut RendererState) -> bool {
    let Some(inputs) = &state.inputs else {
        return false;
    };
    let same_answers = state.passes == 0
        && inputs.len() == state.known.len()
        && state.known.iter().zip(inputs).all(|(request, last)| {
            matches!(state.snapshot.get(request), Some(Ok(now)) if now.is_same(last))
        });
    let output_current = same_answers
        && match &state.args.plan.output {
            TemplateOutput::File { destination, mode } => {
                state.last_write.is_untouched(destination, *mode)
            }
            TemplateOutput::ChildEnv => state.delivered.is_some(),
        };
    if !output_current {
        return false;
    }
    state.snapshot = Snapshot::new();
    state.metrics.unchanged();
    let plan = &state.args.plan;
    state.args.directory.readiness.template_rendered(&plan.id);
    tracing::debug!(template = %plan.id, destination = %plan.output, "data unchanged; not rendered");
    succeeded(myself, state);
    true
}

/// Writes on tokio's blocking pool (a write ends with `fsync`s), a bounded number at a time, so
/// thousands of renderers write in parallel at start-up without stalling the runtime's workers.
/// An unchanged file is recognised here, without leaving the task.
async fn write_off_runtime(
    state: &mut RendererState,
    bytes: Vec<u8>,
) -> Result<WriteOutcome, String> {
    let TemplateOutput::File { destination, mode } = &state.args.plan.output else {
        return Err("this template has no destination file".into());
    };
    let (path, mode) = (destination.clone(), *mode);
    // The common case, nothing changed, costs one `stat`: not worth a trip to another thread.
    if state.last_write.is_current(&path, &bytes, mode) {
        return Ok(WriteOutcome::Unchanged);
    }
    let _slot = state.args.directory.write_slots.acquire().await;
    let mut last_write = std::mem::take(&mut state.last_write);
    let (last_write, result) = tokio::task::spawn_blocking(move || {
        let result = last_write.write_if_changed(&path, &bytes, mode);
        (last_write, result)
    })
    .await
    .map_err(|e| format!("the write task failed: {e}"))?;
    state.last_write = last_write;
    result.map_err(|e: WriteError| e.to_string())
}

async fn write(myself: &ActorRef<RendererMsg>, state: &mut RendererState, bytes: Vec<u8>) {
    let len = bytes.len();
    let outcome = write_off_runtime(state, bytes).await;
    let plan = &state.args.plan;
    match outcome {
        Ok(WriteOutcome::Written) => {
            state.metrics.written();
            state.args.directory.readiness.template_rendered(&plan.id);
            tracing::info!(template = %plan.id, destination = %plan.output, bytes = len, "rendered; file updated");
            if let Some(exec) = &state.args.exec {
                let _ = exec.send_message(ExecMsg::Run);
            }
            succeeded(myself, state);
        }
        Ok(WriteOutcome::Unchanged) => {
            state.metrics.unchanged();
            state.args.directory.readiness.template_rendered(&plan.id);
            tracing::debug!(template = %plan.id, destination = %plan.output, "rendered; no change");
            succeeded(myself, state);
        }
        Err(e) => fail(myself, state, e),
    }
}

/// The child's environment: handed to the ChildActor when it changed.
fn deliver_env(myself: &ActorRef<RendererMsg>, state: &mut RendererState, block: Vec<u8>) {
    let digest = kms_agent::child::env::EnvBlock(&block).digest();
    if state.delivered == Some(digest) {
        state.metrics.unchanged();
    } else {
        let Some(child) = state.args.directory.child.get() else {
            return fail(
                myself,
                state,
                "the exec child's actor is not running".into(),
            );
        };
        let variables = kms_agent::child::env::EnvBlock(&block).names().count();
        if child.send_message(ChildMsg::Environment(block)).is_err() {
            return fail(
                myself,
                state,
                "the exec child's actor is not running".into(),
            );
        }
        state.delivered = Some(digest);
        state.metrics.written();
        tracing::info!(template = %state.args.plan.id, variables, "rendered; the child's environment changed");
    }
    state
        .args
        .directory
        .readiness
        .template_rendered(&state.args.plan.id);
    succeeded(myself, state);
}

fn succeeded(myself: &ActorRef<RendererMsg>, state: &mut RendererState) {
    state.failures = 0;
    report(state, true);
    if !state.reported_written {
        state.reported_written = true;
        let _ = state
            .args
            .supervisor
            .send_message(SupervisorMsg::TemplateWritten {
                slot: state.args.slot,
            });
    }
    if state.args.exit_after_auth {
        return state.alarm.stop();
    }
    let now = Instant::now();
    let rearm = state.alarm.round_ended(now, grid(state).next(now), false);
    arm(myself, state, rearm);
}

/// This template's rounds, on the grid every renderer shares.
fn grid(state: &RendererState) -> RoundGrid {
    RoundGrid::new(state.args.epoch, state.args.plan.polling_interval)
}

fn fail(myself: &ActorRef<RendererMsg>, state: &mut RendererState, message: String) {
    state.failures += 1;
    state.snapshot = Snapshot::new();
    state.inputs = None;
    let plan = &state.args.plan;
    state.metrics.error();
    let delay = Backoff::new(
        RETRY_BASE,
        RETRY_MAX.min(plan.polling_interval.max(RETRY_BASE)),
    )
    .delay(state.failures - 1, rand::random::<f64>());
    let kept = match plan.output {
        TemplateOutput::File { .. } => "keeping the last good file",
        TemplateOutput::ChildEnv => "the child keeps the environment it has (or waits for one)",
    };
    tracing::warn!(
        template = %plan.id,
        destination = %plan.output,
        error = %message,
        retry_in = ?delay,
        "render failed; {kept}"
    );
    report(state, false);
    if state.args.exit_after_auth {
        return state.alarm.stop();
    }
    let now = Instant::now();
    let rearm = state.alarm.round_ended(now, now + delay, true);
    arm(myself, state, rearm);
}

fn report(state: &mut RendererState, ok: bool) {
    if !state.reported {
        state.reported = true;
        let _ = state
            .args
            .supervisor
            .send_message(SupervisorMsg::TemplateDone {
                slot: state.args.slot,
                ok,
            });
    }
}

/// Replaces the timer with one that fires at `at`, when the alarm asks for it.
fn arm(myself: &ActorRef<RendererMsg>, state: &mut RendererState, at: Option<Instant>) {
    let Some(at) = at else { return };
    if let Some(t) = state.timer.take() {
        t.abort();
    }
    let delay = at.saturating_duration_since(Instant::now());
    state.timer = Some(myself.send_after(delay, move || RendererMsg::Alarm { at }));
}

/// Test-only fault hooks, `<VAR>=<id>:<n>`: the first `n` renders of that template panic
/// (counted across restarts). `KMS_TEST_PANIC_TEMPLATE` panics inside the engine call (an engine
/// bug), `KMS_TEST_CRASH_TEMPLATE` in the actor itself, outside it (a crash of the renderer).
#[cfg(feature = "test-hooks")]
fn test_hook(var: &str, id: &str, count: &std::sync::atomic::AtomicU32) {
    if let Ok(spec) = std::env::var(var) {
        if let Some((target, n)) = spec.rsplit_once(':') {
            let n: u32 = n.parse().unwrap_or(0);
            if target == id && count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < n {
                panic!("test hook {var}: renderer {id} panics on purpose");
            }
        }
    }
}

#[cfg(feature = "test-hooks")]
fn maybe_test_panic(id: &str) {
    static PANICS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    test_hook("KMS_TEST_PANIC_TEMPLATE", id, &PANICS);
}

#[cfg(feature = "test-hooks")]
fn maybe_test_crash(id: &str) {
    static CRASHES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    test_hook("KMS_TEST_CRASH_TEMPLATE", id, &CRASHES);
}

#[cfg(not(feature = "test-hooks"))]
fn maybe_test_crash(_: &str) {}
