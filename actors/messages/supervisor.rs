//! To the Supervisor: shutdown, reload, first renders, tokens, and its own restarts.

use crate::plan::{ChildPlan, SinkPlan, TemplatePlan};

pub enum SupervisorMsg {
    /// Graceful shutdown (SIGTERM/SIGINT).
    Shutdown,
    /// The sinks hold a (new) token.
    TokenReady,
    /// A login failed and the agent must not retry (exit-after-auth).
    LoginFailed(String),
    /// A template's first render finished (`slot` names the renderer).
    TemplateDone { slot: usize, ok: bool },
    /// A template wrote its destination (or delivered the child's environment) for the first
    /// time.
    TemplateWritten { slot: usize },
    /// The `exec` child ended by itself, or could not start: the agent exits with `code`.
    ChildExited { code: u8, reason: String },
    /// SIGHUP with a valid new config: apply its templates and sinks. Unchanged templates keep
    /// running; no new login, and leases of unchanged calls are kept.
    Reload {
        templates: Vec<TemplatePlan>,
        sinks: Vec<SinkPlan>,
        child: Option<ChildPlan>,
    },
    /// Start a crashed child again.
    Respawn(Child),
}

/// The children, by role. Templates live in numbered slots (stable across reloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Child {
    Cache,
    Auth,
    Fetcher,
    Leases,
    Renderer(usize),
    Exec(usize),
    /// The `exec` child's supervisor.
    Process,
}

impl Child {
    /// A renderer or a command runner: one template's, whose failure is that template's alone.
    /// The others (cache, auth, fetcher, leases) serve every template: past the restart budget
    /// the agent stops, so that the service manager restarts it whole.
    pub fn is_per_template(&self) -> bool {
        matches!(self, Child::Renderer(_) | Child::Exec(_))
    }
}
