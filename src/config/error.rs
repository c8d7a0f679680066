//! Configuration errors. Each names the field path and its line and column, never the value
//! found there: a value may be a secret (a client secret pasted into the wrong field).

use std::fmt;

/// A 1-based position in the configuration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What is wrong. Every message is written from constants and key names only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The document is not valid YAML. The reason comes from the YAML scanner and holds no
    /// document text.
    #[error("YAML syntax error: {0}")]
    Syntax(String),
    /// The configuration could not be read at all (missing file, bad base64...).
    #[error("{0}")]
    Source(String),
    #[error("unknown key{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownKey { suggestion: Option<&'static str> },
    #[error("key given twice")]
    DuplicateKey,
    #[error("required field is missing{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
    Missing { hint: Option<&'static str> },
    #[error("wrong type: expected {expected}")]
    WrongType { expected: &'static str },
    /// A value of the right type that does not fit (bad duration, unknown enum variant...). The
    /// reason says what is expected, never what was found.
    #[error("{0}")]
    Invalid(String),
    /// Two fields that cannot go together (two template sources, a destination that is also a
    /// sink...).
    #[error("{0}")]
    Conflict(String),
}

/// One configuration error: where (field path and position) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted field path such as `templates[1].config.polling-interval`; empty for the whole
    /// document.
    pub path: String,
    /// Position in the document; `None` when the error is not inside the document (a missing
    /// file).
    pub location: Option<Location>,
    pub kind: ErrorKind,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, location: Option<Location>, kind: ErrorKind) -> Self {
        Self {
            path: path.into(),
            location,
            kind,
        }
    }

    /// 1-based line, when the error is inside the document.
    pub fn line(&self) -> Option<usize> {
        self.location.map(|l| l.line)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location {
            write!(f, "{loc}: ")?;
        }
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.kind)
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one configuration, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} configuration error(s):\n{}", .0.len(), render_list(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn render_list(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigErrors {
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by position (errors without a position first) and keeps each error once.
    pub(crate) fn sorted(mut errors: Vec<ConfigError>) -> Self {
        errors.sort_by(|a, b| {
            (a.location, &a.path, a.kind.to_string()).cmp(&(
                b.location,
                &b.path,
                b.kind.to_string(),
            ))
        });
        errors.dedup();
        Self(errors)
    }
}

/// Collects errors while a configuration is read, so that all are reported at once.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<ConfigError>);

impl Errors {
    pub fn push(&mut self, path: impl Into<String>, location: Location, kind: ErrorKind) {
        self.0.push(ConfigError::new(path, Some(location), kind));
    }

    pub fn invalid(
        &mut self,
        path: impl Into<String>,
        location: Location,
        reason: impl Into<String>,
    ) {
        self.push(path, location, ErrorKind::Invalid(reason.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_position_path_and_reason() {
        let e = ConfigError::new(
            "templates[1].config.polling-interval",
            Some(Location {
                line: 12,
                column: 7,
            }),
            ErrorKind::Invalid("not a duration".into()),
        );
        assert_eq!(
            e.to_string(),
            "12:7: templates[1].config.polling-interval: not a duration"
        );
        let unknown = ErrorKind::UnknownKey {
            suggestion: Some("address"),
        };
        assert_eq!(unknown.to_string(), "unknown key (did you mean `address`?)");
    }

    #[test]
    fn sorted_orders_by_position() {
        let at = |line| Some(Location { line, column: 1 });
        let list = ConfigErrors::sorted(vec![
            ConfigError::new("b", at(5), ErrorKind::DuplicateKey),
            ConfigError::new("a", at(2), ErrorKind::DuplicateKey),
            ConfigError::new("a", at(2), ErrorKind::DuplicateKey),
        ]);
        assert_eq!(list.len(), 2);
        assert_eq!(list.errors()[0].path, "a");
    }
}
