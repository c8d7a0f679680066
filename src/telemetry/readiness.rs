//! Readiness: the agent is ready once it holds a valid token and every template has rendered at
//! least once.

use std::sync::Mutex;

/// Shared readiness state, updated by the actors.
#[derive(Debug, Default)]
pub struct Readiness {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    has_token: bool,
    /// Template ids, and whether each has rendered successfully at least once.
    templates: Vec<(String, bool)>,
}

impl Readiness {
    pub fn new(template_ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            inner: Mutex::new(State {
                has_token: false,
                templates: template_ids.into_iter().map(|id| (id, false)).collect(),
            }),
        }
    }

    pub fn set_token(&self, valid: bool) {
        if let Ok(mut s) = self.inner.lock() {
            s.has_token = valid;
        }
    }

    pub fn template_rendered(&self, id: &str) {
        if let Ok(mut s) = self.inner.lock() {
            for (t, done) in s.templates.iter_mut() {
                if t == id {
                    *done = true;
                }
            }
        }
    }

    /// After a reload: the new set of templates; ones that already rendered keep their state.
    pub fn replace_templates(&self, ids: impl IntoIterator<Item = String>) {
        if let Ok(mut s) = self.inner.lock() {
            let old = std::mem::take(&mut s.templates);
            s.templates = ids
                .into_iter()
                .map(|id| {
                    let done = old.iter().any(|(t, d)| *t == id && *d);
                    (id, done)
                })
                .collect();
        }
    }

    /// `Ok(())` when ready, else why not (names template ids only).
    pub fn check(&self) -> Result<(), String> {
        let s = self
            .inner
            .lock()
            .map_err(|_| "readiness state unavailable".to_string())?;
        if !s.has_token {
            return Err("no valid access token yet".into());
        }
        let waiting: Vec<&str> = s
            .templates
            .iter()
            .filter(|(_, done)| !done)
            .map(|(t, _)| t.as_str())
            .collect();
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "templates not rendered yet: {}",
                waiting.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_after_token_and_every_template() {
        let r = Readiness::new(["a".to_string(), "b".to_string()]);
        assert!(r.check().unwrap_err().contains("token"));
        r.set_token(true);
        assert_eq!(r.check().unwrap_err(), "templates not rendered yet: a, b");
        r.template_rendered("a");
        r.template_rendered("b");
        assert!(r.check().is_ok());
    }
}
