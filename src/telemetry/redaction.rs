//! Every credential the agent holds (client secrets, tokens, lease credentials) is registered
//! here when it is wrapped in [`crate::sensitive::Sensitive`], and the log writer replaces each
//! occurrence in a finished log line with `<redacted>`: a server that echoes a client secret in an
//! error message, or a command that prints a token, cannot put it in the log.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// Shorter values are not redacted: they would hide ordinary words, and no credential is this short.
pub const MIN_REDACTED_LEN: usize = 6;

/// The newest values kept; older ones (long-rotated tokens) are forgotten first.
pub const MAX_REDACTED_VALUES: usize = 4096;

/// The most bytes of values kept, so that a server sending large secrets cannot grow the registry
/// (or the time to build its matcher) without bound; the oldest are forgotten first.
pub const MAX_REDACTED_BYTES: usize = 4 * 1024 * 1024;

/// A value longer than this is registered as consecutive pieces of this length: the matcher
/// replaces each piece, so the whole value is still hidden, and no single pattern is huge.
const PIECE_LEN: usize = 4096;

const REDACTED: &[u8] = b"<redacted>";

struct Registry {
    /// Oldest first, for eviction; `known` answers "already registered?" in O(1) (every fetched
    /// secret value is registered, every round).
    order: VecDeque<Arc<str>>,
    known: Option<HashSet<Arc<str>>>,
    bytes: usize,
    /// Bumped on every change; a matcher is only stored for the generation it was built from.
    generation: u64,
    matcher: Option<(u64, Arc<AhoCorasick>)>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry::new());

impl Registry {
    const fn new() -> Registry {
        Registry {
            order: VecDeque::new(),
            known: None,
            bytes: 0,
            generation: 0,
            matcher: None,
        }
    }

    fn contains(&self, value: &str) -> bool {
        self.known.as_ref().is_some_and(|k| k.contains(value))
    }

    fn add(&mut self, value: &str) {
        for piece in pieces(value) {
            if self.contains(piece) {
                continue;
            }
            let piece: Arc<str> = piece.into();
            self.bytes += piece.len();
            self.known
                .get_or_insert_with(HashSet::new)
                .insert(piece.clone());
            self.order.push_back(piece);
            while self.order.len() > MAX_REDACTED_VALUES || self.bytes > MAX_REDACTED_BYTES {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                self.bytes -= old.len();
                if let Some(k) = &mut self.known {
                    k.remove(&old);
                }
            }
            self.generation += 1;
        }
    }
}

/// Remembers `value` as a credential to keep out of the log.
pub fn register(value: &str) {
    if value.len() < MIN_REDACTED_LEN {
        return;
    }
    if REGISTRY
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .contains(value)
    {
        return;
    }
    REGISTRY
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .add(value);
}

/// `value` whole, or in [`PIECE_LEN`] pieces cut at character boundaries.
fn pieces(value: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut rest = value;
    while rest.len() > PIECE_LEN {
        let mut cut = PIECE_LEN;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        out.push(piece);
        rest = tail;
    }
    // A short tail is not worth a pattern of its own only when the value was split; alone, a
    // value under the minimum was already skipped.
    if rest.len() >= MIN_REDACTED_LEN || out.is_empty() {
        out.push(rest);
    } else if let Some(last) = out.pop() {
        // Glue the short tail onto the previous piece so that it is hidden too.
        let start = last.as_ptr() as usize - value.as_ptr() as usize;
        out.push(&value[start..]);
    }
    out
}

fn matcher() -> Option<Arc<AhoCorasick>> {
    let (generation, values) = {
        let r = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
        if let Some((built_for, m)) = &r.matcher {
            if *built_for == r.generation {
                return Some(m.clone());
            }
        }
        if r.order.is_empty() {
            return None;
        }
        (r.generation, r.order.iter().cloned().collect::<Vec<_>>())
    };
    // Built without holding the lock, so logging and registering go on meanwhile.
    let m = Arc::new(build(&values)?);
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if r.generation == generation {
        r.matcher = Some((generation, m.clone()));
    }
    Some(m)
}

/// A contiguous NFA builds in time linear in the bytes of the values. The automatic choice picks
/// a DFA for few patterns, whose build is hundreds of times slower for long values: 30 secrets
/// of 2,000 bytes stalled a runtime worker for seconds, on every log line after a change.
fn build(values: &[Arc<str>]) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(values.iter().map(|v| v.as_bytes()))
        .ok()
}

fn replace(m: &AhoCorasick, line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    m.replace_all_with_bytes(line, &mut out, |_, _, dst| {
        dst.extend_from_slice(REDACTED);
        true
    });
    out
}

/// `line` with every registered value replaced by `<redacted>`.
pub fn redact(line: &[u8]) -> Vec<u8> {
    match matcher() {
        Some(m) => replace(&m, line),
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

    #[test]
    fn a_long_value_is_hidden_whole() {
        let long: String = (0..3 * PIECE_LEN + 3)
            .map(|i| (b'a' + (i % 7) as u8) as char)
            .collect();
        let mut r = Registry::new();
        r.add(&long);
        assert_eq!(
            r.order.len(),
            3,
            "the 3-byte tail is glued to the last piece"
        );
        let m = build(&r.order.iter().cloned().collect::<Vec<_>>()).unwrap();
        let out = String::from_utf8(replace(&m, format!("x {long} y").as_bytes())).unwrap();
        assert_eq!(out, "x <redacted><redacted><redacted> y");
    }

    #[test]
    fn the_registry_stays_within_its_bounds_forgetting_the_oldest() {
        let mut r = Registry::new();
        for i in 0..2 * MAX_REDACTED_BYTES / PIECE_LEN {
            r.add(&format!("{i:08}").repeat(PIECE_LEN / 8));
        }
        assert!(r.bytes <= MAX_REDACTED_BYTES);
        assert_eq!(r.bytes, r.order.iter().map(|v| v.len()).sum::<usize>());
        assert_eq!(r.known.as_ref().unwrap().len(), r.order.len());
        assert!(!r.contains(&format!("{:08}", 0).repeat(PIECE_LEN / 8)));
        let mut r = Registry::new();
        for i in 0..MAX_REDACTED_VALUES + 10 {
            r.add(&format!("value-{i}"));
        }
        assert_eq!(r.order.len(), MAX_REDACTED_VALUES);
        assert!(!r.contains("value-9") && r.contains("value-10"));
    }
}
