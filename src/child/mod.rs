//! Process supervisor mode (`exec`, `kms run`): one child process that gets secrets in its
//! environment and is restarted when they change (docs/behaviour.md §8).
//!
//! - [`env`]: the child's environment as one template the renderers keep fresh.
//! - [`pacing`]: how soon a child the agent restarted starts again.
//! - [`process`]: starting the child in its own process group, stopping it, its exit status.

pub mod env;
pub mod pacing;
pub mod process;
