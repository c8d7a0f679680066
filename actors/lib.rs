//! The agent runtime: a supervisor and its actors (ractor). Actors own state and talk by messages;
//! the work itself is done by the plain functions in `src/`.
//!
//! ```text
//! Supervisor ─┬─ AuthActor        logs in, renews, writes sinks, publishes the token
//!             ├─ FetcherActor     one request per distinct DataRequest per round (single flight)
//!             ├─ LeaseManagerActor one shared lease per distinct dynamic_secret call
//!             ├─ RendererActor ×N one per template: render, fetch what is missing, write
//!             ├─ ExecActor     ×M one per template with a command: runs never overlap
//!             └─ ChildActor       the `exec` child: started, restarted on change, stopped
//! ```

pub mod auth;
pub mod cache;
pub mod child;
pub mod directory;
pub mod exec;
pub mod fetcher;
pub mod lease_manager;
pub mod messages;
pub mod plan;
pub mod renderer;
pub mod slot;
pub mod supervisor;
pub mod token;

pub use plan::{AgentPlan, ChildPlan, TemplateOutput, TemplatePlan};
pub use supervisor::{run_agent, AgentExit, AgentHandle, RunningAgent};

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
