//! glibc's allocator gives each thread that allocates its own arena, up to 8 per core: on a
//! 64-core node the agent's 64 runtime workers each fragment an arena of their own, and every
//! template costs about 6 KiB more than on 2 cores (measured: 3,000 templates, 70.8 MiB private
//! with 64 workers, 56.1 MiB with at most 2 arenas, 51.9 MiB with 2 workers). The agent allocates
//! little at once, so two arenas are plenty: [`limit`] sets `M_ARENA_MAX` before any thread
//! exists. `MALLOC_ARENA_MAX` in the environment still wins (glibc reads it itself).

/// At most this many malloc arenas.
pub const MAX_ARENAS: i32 = 2;

/// Limits glibc's malloc arenas (a no-op elsewhere). Call before any thread is started.
pub fn limit() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's parameters; called while the process has
        // one thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS);
        }
    }
}
