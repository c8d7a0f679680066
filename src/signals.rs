//! Turns OS signals into what they mean for the agent.

use futures::stream::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalEvent {
    /// SIGTERM or SIGINT: stop gracefully (a second one: stop at once).
    Shutdown,
    /// SIGHUP: reload the configuration.
    Reload,
}

/// A stream of [`SignalEvent`]s. Installing the handlers replaces the default actions, so the
/// process no longer dies on these signals by itself.
pub fn signal_events() -> std::io::Result<impl futures::Stream<Item = SignalEvent>> {
    let signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    Ok(signals.map(|sig| match sig {
        SIGHUP => SignalEvent::Reload,
        _ => SignalEvent::Shutdown,
    }))
}
