//! [`Env`]: where the auth methods read environment variables, injectable for tests.

use std::collections::HashMap;

/// A source of environment variables. Empty values count as unset, as in the AWS and Google
/// SDKs, so `FOO=` never selects an empty endpoint or profile.
pub trait Env: Send + Sync {
    /// The raw value of `name`, if set.
    fn raw(&self, name: &str) -> Option<String>;

    /// The value of `name` with surrounding whitespace removed; `None` when unset or blank.
    fn var(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set.
    fn first_of(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|name| self.var(name))
    }
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn raw(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables (tests, or an environment captured once at start).
#[derive(Debug, Clone, Default)]
pub struct MapEnv(HashMap<String, String>);

impl MapEnv {
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }
}

impl Env for MapEnv {
    fn raw(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

impl<F> Env for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn raw(&self, name: &str) -> Option<String> {
        self(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_unset_and_first_of_takes_the_first_set() {
        let env = MapEnv::new([("A", "  "), ("B", " b "), ("C", "c")]);
        assert_eq!(env.var("A"), None);
        assert_eq!(env.var("B").as_deref(), Some("b"));
        assert_eq!(
            env.first_of(&["A", "MISSING", "C", "B"]).as_deref(),
            Some("c")
        );
        let closure = |name: &str| (name == "X").then(|| "x".to_string());
        assert_eq!(closure.var("X").as_deref(), Some("x"));
        assert_eq!(closure.var("Y"), None);
    }
}
