//! [`AnswerReuse`]: when a new answer equals the previous one, hand out the previous one again.
//!
//! Every polling round fetches each distinct request once and answers every template that asks
//! with the same shared value. If the new answer equals the last round's (the usual case: secrets
//! rarely change), the fetcher hands out last round's value instead, so a renderer tells that its
//! data did not change by comparing pointers ([`DataValue::is_same`]) and skips the render. One
//! deep comparison per distinct request per round replaces one render per template per round
//! (docs/behaviour.md, "Templates").
//!
//! The previous answer is remembered weakly: it is reused only while some renderer still holds
//! it, so this table never keeps secret values alive by itself.

use std::collections::HashMap;

use crate::template::{DataRequest, DataValue, WeakDataValue};

#[derive(Default)]
pub struct AnswerReuse {
    previous: HashMap<DataRequest, WeakDataValue>,
}

impl AnswerReuse {
    /// The value to hand out for `answer`, the newly fetched answer to `request`: the previous
    /// answer if it is still held and equal, else `answer` (remembered for next time).
    pub fn canonical(&mut self, request: &DataRequest, answer: DataValue) -> DataValue {
        if let Some(previous) = self.previous.get(request).and_then(WeakDataValue::upgrade) {
            if previous == answer {
                return previous;
            }
        }
        self.previous.insert(request.clone(), answer.downgrade());
        answer
    }

    /// Forgets the answers nobody holds any more (the requests of removed templates).
    pub fn sweep(&mut self) {
        self.previous.retain(|_, weak| weak.upgrade().is_some());
    }

    /// Requests remembered.
    pub fn len(&self) -> usize {
        self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.previous.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{ProjectRef, Secret, SecretFields};
    use std::sync::Arc;

    fn request(path: &str) -> DataRequest {
        DataRequest::ListSecrets {
            project: ProjectRef::Id("p".into()),
            environment: "dev".into(),
            path: path.into(),
            recursive: false,
            expand_references: true,
        }
    }

    fn answer(value: &str) -> DataValue {
        let secret = Secret::new(SecretFields {
            key: "K".into(),
            value: value.into(),
            ..Default::default()
        })
        .unwrap();
        DataValue::Secrets(Arc::new(vec![secret]))
    }

    #[test]
    fn an_equal_answer_is_replaced_by_the_one_still_held() {
        let mut reuse = AnswerReuse::default();
        let first = reuse.canonical(&request("/"), answer("v1"));
        let second = reuse.canonical(&request("/"), answer("v1"));
        assert!(second.is_same(&first));
        // Another request with an equal answer is its own.
        let other = reuse.canonical(&request("/other"), answer("v1"));
        assert!(!other.is_same(&first));
    }

    #[test]
    fn a_changed_answer_is_new_and_becomes_the_one_remembered() {
        let mut reuse = AnswerReuse::default();
        let first = reuse.canonical(&request("/"), answer("v1"));
        let changed = reuse.canonical(&request("/"), answer("v2"));
        assert!(!changed.is_same(&first));
        let again = reuse.canonical(&request("/"), answer("v2"));
        assert!(again.is_same(&changed));
    }

    #[test]
    fn an_answer_nobody_holds_is_not_kept_alive() {
        let mut reuse = AnswerReuse::default();
        let first = reuse.canonical(&request("/"), answer("v1"));
        let DataValue::Secrets(list) = &first else {
            unreachable!()
        };
        let weak = Arc::downgrade(list);
        drop(first);
        assert!(weak.upgrade().is_none(), "the table kept the answer alive");
        let next = reuse.canonical(&request("/"), answer("v1"));
        assert_eq!(reuse.len(), 1);
        drop(next);
        reuse.sweep();
        assert!(reuse.is_empty());
    }
}
