//! [`Secret`]: one secret as templates see it (`.Key`, `.Value`, ...), stored compactly.
//!
//! A list answer may hold a million secrets, each a few dozen bytes of JSON. Eight separate
//! strings per secret would cost about 200 bytes of headers and eight allocations before any
//! text; here a secret is one 80-byte record: its own strings share one string (inline up to 24
//! bytes, so a short secret allocates nothing), and the folder and project (the same for most
//! secrets of a list) are shared between secrets. Templates hold a [`SharedSecret`]: the list and
//! a position in it (RELIABILITY.md, "Attacks").

use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;

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

/// A secret's key, value, type, id and comment, one after the other in `text` (kept inline up to
/// 24 bytes); `ends` holds where each of the first four ends (the comment runs to the end). Tags
/// are rare: a pointer, with no allocation when there are none.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret {
    text: CompactString,
    ends: [u32; 4],
    workspace_id: Arc<str>,
    secret_path: Arc<str>,
    tags: Option<Box<Tags>>,
}

/// Tag slugs, behind one thin pointer in [`Secret`] (8 bytes, where a slice would take 16): most
/// secrets have none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tags(Vec<Box<str>>);

/// A secret whose own strings total 4 GiB or more (no answer under the response cap can hold one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretTooLarge;

impl fmt::Display for SecretTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret's key, value, type, id and comment total 4 GiB or more")
    }
}

impl Secret {
    /// Packs the key, value, type, id and comment into one string (inline up to 24 bytes); the
    /// folder and project are taken as given, so that a list's secrets can share them.
    pub fn pack(
        own: [&str; 5],
        workspace_id: Arc<str>,
        secret_path: Arc<str>,
        tags: Box<[Box<str>]>,
    ) -> Result<Secret, SecretTooLarge> {
        let mut text = CompactString::with_capacity(own.iter().map(|s| s.len()).sum());
        let mut ends = [0u32; 4];
        for (i, part) in own.iter().enumerate() {
            text.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                *end = u32::try_from(text.len()).map_err(|_| SecretTooLarge)?;
            }
        }
        u32::try_from(text.len()).map_err(|_| SecretTooLarge)?;
        Ok(Secret {
            text,
            ends,
            workspace_id,
            secret_path,
            tags: (!tags.is_empty()).then(|| Box::new(Tags(tags.into_vec()))),
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
        self.tags.as_deref().map_or(&[], |t| t.0.as_slice())
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

/// One secret of a shared list, as a template value: the list and a position in it, so a million
/// secrets need no allocation each (`Deref` gives the secret).
#[derive(Clone)]
pub struct SharedSecret {
    list: Arc<Vec<Secret>>,
    index: u32,
}

impl SharedSecret {
    /// The secret at `index` of `list`; `None` past its end.
    pub fn in_list(list: &Arc<Vec<Secret>>, index: usize) -> Option<SharedSecret> {
        let index = u32::try_from(index).ok()?;
        list.get(index as usize)?;
        Some(SharedSecret {
            list: list.clone(),
            index,
        })
    }

    /// The list this secret is part of, and its position in it.
    pub(super) fn parts(&self) -> (&Arc<Vec<Secret>>, u32) {
        (&self.list, self.index)
    }

    /// A secret of its own (a `getSecretByName` answer).
    pub fn single(secret: Secret) -> SharedSecret {
        SharedSecret {
            list: Arc::new(vec![secret]),
            index: 0,
        }
    }
}

impl std::ops::Deref for SharedSecret {
    type Target = Secret;

    fn deref(&self) -> &Secret {
        static NONE: std::sync::OnceLock<Secret> = std::sync::OnceLock::new();
        // `in_list` and `single` only make positions inside the list.
        self.list
            .get(self.index as usize)
            .unwrap_or_else(|| NONE.get_or_init(Secret::default))
    }
}

impl PartialEq for SharedSecret {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
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
    fn a_shared_secret_points_into_its_list() {
        let list = Arc::new(vec![
            Secret::new(SecretFields {
                key: "A".into(),
                ..Default::default()
            })
            .unwrap(),
            Secret::new(SecretFields {
                key: "B".into(),
                ..Default::default()
            })
            .unwrap(),
        ]);
        let b = SharedSecret::in_list(&list, 1).unwrap();
        assert_eq!(b.key(), "B");
        assert!(SharedSecret::in_list(&list, 2).is_none());
        assert_eq!(SharedSecret::single(list[1].clone()), b);
        // Small enough for a template value of three words.
        assert!(std::mem::size_of::<SharedSecret>() <= 16);
    }

    #[test]
    fn a_secret_stays_small() {
        // The headers of eight strings were 192 bytes.
        assert!(std::mem::size_of::<Secret>() <= 80);
    }
}
