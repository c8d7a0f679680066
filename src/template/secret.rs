//! [`Secret`]: one secret as templates see it (`.Key`, `.Value`, ...), stored compactly.
//!
//! A list answer may hold a million secrets, each a few dozen bytes of JSON. Eight separate
//! strings per secret would cost about 200 bytes of headers and eight allocations before any
//! text; here a secret's own strings share one allocation, and the folder and project (the same
//! for most secrets of a list) are shared between secrets (RELIABILITY.md, "Attacks").

use std::fmt;
use std::sync::Arc;

/// The fields of a [`Secret`], as plain strings: what [`Secret::new`] packs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretFields {
    pub key: String,
    pub value: String,
    pub workspace_id: String,
    pub secret_path: String,
    /// `shared` or `personal`.
    pub r#type: String,
    pub id: String,
    pub comment: String,
    /// Tag slugs.
    pub tags: Vec<String>,
}

/// A secret's key, value, type, id and comment, one after the other in `text`; `ends` holds where
/// each of the first four ends (the comment runs to the end).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret {
    text: Box<str>,
    ends: [u32; 4],
    workspace_id: Arc<str>,
    secret_path: Arc<str>,
    tags: Box<[Box<str>]>,
}

/// A secret whose own strings total 4 GiB or more (no answer under the response cap can hold one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretTooLarge;

impl fmt::Display for SecretTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret's key, value, type, id and comment total 4 GiB or more")
    }
}

impl Secret {
    /// Packs the key, value, type, id and comment into one allocation; the folder and project are
    /// taken as given, so that a list's secrets can share them.
    pub fn pack(
        own: [&str; 5],
        workspace_id: Arc<str>,
        secret_path: Arc<str>,
        tags: Box<[Box<str>]>,
    ) -> Result<Secret, SecretTooLarge> {
        let mut text = String::with_capacity(own.iter().map(|s| s.len()).sum());
        let mut ends = [0u32; 4];
        for (i, part) in own.iter().enumerate() {
            text.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                *end = u32::try_from(text.len()).map_err(|_| SecretTooLarge)?;
            }
        }
        u32::try_from(text.len()).map_err(|_| SecretTooLarge)?;
        Ok(Secret {
            text: text.into_boxed_str(),
            ends,
            workspace_id,
            secret_path,
            tags,
        })
    }

    /// A secret from plain fields (tests, placeholders).
    pub fn new(f: SecretFields) -> Result<Secret, SecretTooLarge> {
        Secret::pack(
            [&f.key, &f.value, &f.r#type, &f.id, &f.comment],
            f.workspace_id.into(),
            f.secret_path.into(),
            f.tags.into_iter().map(String::into_boxed_str).collect(),
        )
    }

    /// The `i`th of the packed strings.
    fn part(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(0, |&e| e as usize),
        };
        let end = self.ends.get(i).map_or(self.text.len(), |&e| e as usize);
        self.text.get(start..end).unwrap_or_default()
    }

    pub fn key(&self) -> &str {
        self.part(0)
    }

    pub fn value(&self) -> &str {
        self.part(1)
    }

    /// `shared` or `personal`.
    pub fn secret_type(&self) -> &str {
        self.part(2)
    }

    pub fn id(&self) -> &str {
        self.part(3)
    }

    pub fn comment(&self) -> &str {
        self.part(4)
    }

    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    pub fn secret_path(&self) -> &str {
        &self.secret_path
    }

    /// Tag slugs.
    pub fn tags(&self) -> &[Box<str>] {
        &self.tags
    }

    /// Sets the folder (a list's secrets get theirs once the whole answer is read).
    pub fn set_secret_path(&mut self, path: Arc<str>) {
        self.secret_path = path;
    }

    /// Sets the project.
    pub fn set_workspace_id(&mut self, id: Arc<str>) {
        self.workspace_id = id;
    }
}

/// The value is never printed.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("key", &self.key())
            .field("value", &"<redacted>")
            .field("workspace_id", &self.workspace_id())
            .field("secret_path", &self.secret_path())
            .field("type", &self.secret_type())
            .field("id", &self.id())
            .field("comment", &self.comment())
            .field("tags", &self.tags())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_reads_back_as_packed() {
        let s = Secret::new(SecretFields {
            key: "DB_URL".into(),
            value: "postgres://u:p@h/db".into(),
            workspace_id: "proj-1".into(),
            secret_path: "/app".into(),
            r#type: "shared".into(),
            id: "id-1".into(),
            comment: "a comment é".into(),
            tags: vec!["prod".into(), "db".into()],
        })
        .unwrap();
        assert_eq!(s.key(), "DB_URL");
        assert_eq!(s.value(), "postgres://u:p@h/db");
        assert_eq!(s.secret_type(), "shared");
        assert_eq!(s.id(), "id-1");
        assert_eq!(s.comment(), "a comment é");
        assert_eq!(s.workspace_id(), "proj-1");
        assert_eq!(s.secret_path(), "/app");
        let tags: Vec<&str> = s.tags().iter().map(|t| &**t).collect();
        assert_eq!(tags, ["prod", "db"]);
    }

    #[test]
    fn empty_fields_stay_empty_and_the_default_is_all_empty() {
        let s = Secret::new(SecretFields {
            value: "v".into(),
            comment: "c".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((s.key(), s.value(), s.secret_type()), ("", "v", ""));
        assert_eq!((s.id(), s.comment()), ("", "c"));
        let d = Secret::default();
        assert_eq!((d.key(), d.value(), d.comment()), ("", "", ""));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new(SecretFields {
            key: "K".into(),
            value: "hunter2-value".into(),
            ..Default::default()
        })
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_secret_stays_small() {
        // Five pointers' worth: the headers of eight strings were 192 bytes.
        assert!(std::mem::size_of::<Secret>() <= 80);
    }
}
