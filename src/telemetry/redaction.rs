//! Every credential the agent holds (client secrets, tokens, lease credentials) is registered
//! here when it is wrapped in [`crate::sensitive::Sensitive`], and the log writer replaces each
//! occurrence in a finished log line with `<redacted>`: a server that echoes a client secret in an
//! error message, or a command that prints a token, cannot put it in the log.

use std::io::Write;
use std::sync::{Arc, RwLock};

use aho_corasick::AhoCorasick;

/// Shorter values are not redacted: they would hide ordinary words, and no credential is this short.
pub const MIN_REDACTED_LEN: usize = 6;

/// The newest values kept; older ones (long-rotated tokens) are forgotten first.
pub const MAX_REDACTED_VALUES: usize = 4096;

const REDACTED: &[u8] = b"<redacted>";

#[derive(Default)]
struct Registry {
    values: Vec<Box<str>>,
    /// Built on first use after a change.
    matcher: Option<Arc<AhoCorasick>>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    values: Vec::new(),
    matcher: None,
});

/// Remembers `value` as a credential to keep out of the log.
pub fn register(value: &str) {
    if value.len() < MIN_REDACTED_LEN {
        return;
    }
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if r.values.iter().any(|v| &**v == value) {
        return;
    }
    if r.values.len() >= MAX_REDACTED_VALUES {
        r.values.remove(0);
    }
    r.values.push(value.into());
    r.matcher = None;
}

fn matcher() -> Option<Arc<AhoCorasick>> {
    if let Some(m) = &REGISTRY.read().unwrap_or_else(|e| e.into_inner()).matcher {
        return Some(m.clone());
    }
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if r.values.is_empty() {
        return None;
    }
    if r.matcher.is_none() {
        r.matcher = AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(r.values.iter().map(|v| v.as_bytes()))
            .ok()
            .map(Arc::new);
    }
    r.matcher.clone()
}

/// `line` with every registered value replaced by `<redacted>`.
pub fn redact(line: &[u8]) -> Vec<u8> {
    match matcher() {
        Some(m) => {
            let mut out = Vec::with_capacity(line.len());
            m.replace_all_with_bytes(line, &mut out, |_, _, dst| {
                dst.extend_from_slice(REDACTED);
                true
            });
            out
        }
        None => line.to_vec(),
    }
}

/// The log's writer: collects one event's line, then writes it to stderr redacted.
#[derive(Default)]
pub struct RedactingStderr {
    line: Vec<u8>,
}

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            let out = redact(&self.line);
            self.line.clear();
            std::io::stderr().lock().write_all(&out)?;
        }
        Ok(())
    }
}

impl Drop for RedactingStderr {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_replaced_in_log_lines() {
        register("s3cr3t-client-value");
        register("tok.en.value-123");
        register("short");
        let out = redact(
            b"bad request: clientSecret s3cr3t-client-value rejected (tok.en.value-123); short",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "bad request: clientSecret <redacted> rejected (<redacted>); short"
        );
    }
}
