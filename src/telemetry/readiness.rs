//! Readiness: the agent is ready once it holds a valid token, every template has rendered at
//! least once, and the `exec` child (when there is one) runs.

use std::collections::HashMap;
use std::sync::Mutex;

/// Shared readiness state, updated by the actors.
#[derive(Debug, Default)]
pub struct Readiness {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    has_token: bool,
    /// Template ids in configuration order, and whether each has rendered successfully at least
    /// once.
    templates: Vec<(String, bool)>,
    /// Position of each id in `templates`: every render of every template reports here, so
    /// finding the entry must not cost a scan (10,000 templates made that quadratic).
    index: HashMap<String, usize>,
    /// `None` without an `exec` child; else whether it runs.
    child_running: Option<bool>,
}

impl State {
    fn with_templates(has_token: bool, templates: Vec<(String, bool)>) -> State {
        let index = templates
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i))
            .collect();
        State {
            has_token,
            templates,
            index,
            child_running: None,
        }
    }
}

impl Readiness {
    pub fn new(template_ids: impl IntoIterator<Item = String>) -> Self {
        let templates = template_ids.into_iter().map(|id| (id, false)).collect();
        Self {
            inner: Mutex::new(State::with_templates(false, templates)),
        }
    }

    pub fn set_token(&self, valid: bool) {
        if let Ok(mut s) = self.inner.lock() {
            s.has_token = valid;
        }
    }

    /// Whether the `exec` child runs (`None`: there is none).
    pub fn set_child_running(&self, running: Option<bool>) {
        if let Ok(mut s) = self.inner.lock() {
            s.child_running = running;
        }
    }

    pub fn template_rendered(&self, id: &str) {
        if let Ok(mut s) = self.inner.lock() {
            if let Some(&i) = s.index.get(id) {
                s.templates[i].1 = true;
            }
        }
    }

    /// After a reload: the new set of templates; ones that already rendered keep their state.
    pub fn replace_templates(&self, ids: impl IntoIterator<Item = String>) {
        if let Ok(mut s) = self.inner.lock() {
            let templates = ids
                .into_iter()
                .map(|id| {
                    let done = s.index.get(&id).is_some_and(|&i| s.templates[i].1);
                    (id, done)
                })
                .collect();
            let child_running = s.child_running;
            *s = State {
                child_running,
                ..State::with_templates(s.has_token, templates)
            };
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
            match s.child_running {
                Some(false) => Err("the exec child is not running".into()),
                _ => Ok(()),
            }
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
        r.template_rendered("b");
        assert_eq!(r.check().unwrap_err(), "templates not rendered yet: a");
        r.template_rendered("a");
        r.template_rendered("unknown");
        assert!(r.check().is_ok());
    }

    #[test]
    fn with_an_exec_child_ready_only_while_it_runs() {
        let r = Readiness::new([]);
        r.set_token(true);
        r.set_child_running(Some(false));
        assert_eq!(r.check().unwrap_err(), "the exec child is not running");
        r.set_child_running(Some(true));
        r.replace_templates([]);
        assert!(r.check().is_ok());
        r.set_child_running(Some(false));
        assert!(r.check().is_err());
    }

    #[test]
    fn a_reload_keeps_the_state_of_templates_that_stay() {
        let r = Readiness::new(["a".to_string(), "b".to_string()]);
        r.set_token(true);
        r.template_rendered("a");
        r.replace_templates(["c".to_string(), "a".to_string()]);
        assert_eq!(r.check().unwrap_err(), "templates not rendered yet: c");
        r.template_rendered("c");
        assert!(r.check().is_ok());
    }
}
