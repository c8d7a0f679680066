//! Template engines behind one interface.
//!
//! Rendering never does I/O. A template's functions (`secret`, `getSecretByName`,
//! `dynamic_secret`, ...) read from a [`DataSource`] the caller supplies (a snapshot of what was
//! fetched). A call whose data is not in the snapshot is recorded as a [`DataRequest`]; the render
//! then ends with [`RenderOutcome::NeedData`], the runtime fetches every distinct request once
//! (deduplicated across all templates) and renders again.

pub mod data;
pub mod functions;
pub mod go;
pub mod handlebars;
mod handlebars_limits;
pub mod load;
pub mod secret;

pub use data::{DataRequest, DataSource, DataValue, ProjectRef, Snapshot, WeakDataValue};
pub use secret::{Secret, SecretFields, SecretTooLarge, SharedSecret};

/// The stack of the threads renders run on. The engines' depth limits are measured against it:
/// at the Go engine's limit a render uses about 220 KB in release, 1.1 MB unoptimised.
pub const RENDER_STACK_BYTES: usize = 2 << 20;

/// Which engine a template uses (`templates[].engine`, or guessed from the source's extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// Go `text/template` syntax, rendered byte for byte as Go renders it.
    Go,
    /// Handlebars, with the same functions as helpers.
    Handlebars,
}

/// What one render produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderOutcome {
    /// Every function call found its data: the complete output.
    Done(Vec<u8>),
    /// Some calls had no data in the snapshot: fetch these (deduplicated, in first-call order), then
    /// render again.
    NeedData(Vec<DataRequest>),
}

/// A template that failed to parse. The message names the template, line and column, and never
/// holds a secret value (template text is configuration, not a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    /// 1-based line of the error in the template source, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

/// A render that failed at run time (wrong argument count, bad field, missing secret...). The
/// message names the template and position and never contains a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    pub message: String,
}

/// A parsed template, ready to render many times. Cheap to share between threads.
pub trait CompiledTemplate: Send + Sync + std::fmt::Debug {
    /// Renders with the data in `data`. See [`RenderOutcome`].
    fn render(&self, data: &dyn DataSource) -> Result<RenderOutcome, RenderError>;

    /// The data requests of the calls whose arguments are all literals, in source order and
    /// deduplicated, so the runtime can prefetch them before the first render.
    fn literal_requests(&self) -> Vec<DataRequest>;

    /// Whether the output is a function of the data alone: the same answers give the same
    /// bytes, so a round whose answers did not change need not render. False for a template
    /// that reads the clock, randomness or DNS; false unless an engine knows better.
    fn is_deterministic(&self) -> bool {
        false
    }
}

/// A template engine: turns source bytes into a [`CompiledTemplate`].
pub trait TemplateEngine: Send + Sync {
    fn compile(
        &self,
        name: &str,
        source: &[u8],
    ) -> Result<Box<dyn CompiledTemplate>, TemplateError>;
}
