//! What the process does about its own memory before it holds any secret: on Linux it marks
//! itself non-dumpable (`PR_SET_DUMPABLE` 0), so no other process of the same user can read
//! `/proc/PID/mem` or attach a debugger, and `/proc/PID/*` belongs to root; and it sets its core
//! file size limit to 0, so a crash never writes tokens or secrets to disk.

/// Applies both settings; a failure is returned for the caller to log (the agent still runs).
pub fn protect_process_memory() -> Result<(), String> {
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
        .map_err(|e| format!("setting the core file size limit to 0: {e}"))?;
    #[cfg(target_os = "linux")]
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| format!("marking the process non-dumpable: {e}"))?;
    Ok(())
}

/// Replaces the default panic report (which prints the panic's message, and a backtrace with
/// `RUST_BACKTRACE`, to stderr past the log's redaction) with a log line naming only where it
/// happened: a message could hold a secret value.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(location = %at, "internal error (a panic; its message is not logged, as it could hold a secret value)");
    }));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_becomes_non_dumpable_with_no_core_files() {
        super::protect_process_memory().unwrap();
        #[cfg(target_os = "linux")]
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
        assert_eq!((soft, hard), (0, 0));
    }
}
