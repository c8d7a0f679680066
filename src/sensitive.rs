//! [`Sensitive`]: a value that must never reach a log line, an error message or a panic.

use std::fmt;

/// Holds a secret (an access token, a client secret, a credential). `Debug` and `Display` print
/// `<redacted>`; the only way to the value is [`Sensitive::expose`], which makes every use visible
/// in review.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Sensitive<T = String>(T);

/// What of a sensitive value the log must never show (see [`crate::telemetry::redaction`]).
pub trait Redact {
    fn each_text(&self, f: &mut dyn FnMut(&str));
}

impl Redact for String {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        f(self)
    }
}

impl Redact for serde_json::Value {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        match self {
            serde_json::Value::String(s) => f(s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| v.each_text(f)),
            serde_json::Value::Object(o) => o.values().for_each(|v| v.each_text(f)),
            _ => {}
        }
    }
}

impl Redact for serde_json::Map<String, serde_json::Value> {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        self.values().for_each(|v| v.each_text(f))
    }
}

impl<T: Redact> Sensitive<T> {
    /// Wraps `value` and registers its text for redaction from every log line.
    pub fn new(value: T) -> Self {
        value.each_text(&mut crate::telemetry::redaction::register);
        Self(value)
    }
}

impl<T> Sensitive<T> {
    /// The secret value. Never format it into a message.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Redact> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Sensitive::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }
}
