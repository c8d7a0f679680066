//! The small hand-written `FromNode` layer: reads [`Node`]s as mappings, lists and scalars,
//! reporting unknown, duplicate and wrongly-typed keys as it goes instead of stopping at the first.

use super::error::{ErrorKind, Errors, Location};
use super::node::{Node, NodeKind};

/// Where a field is: its dotted path and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    pub path: String,
    pub at: Location,
}

/// A scalar field as written, with its place. Interpreting the text (a bool, a duration...) is
/// the validating stage's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub text: String,
    /// False for quoted and block scalars.
    pub plain: bool,
    pub path: String,
    pub at: Location,
    /// The key held a list or mapping (already reported). Such a leaf counts as given, so that
    /// it is not reported a second time as missing, but has no usable text.
    pub wrong_type: bool,
}

impl Leaf {
    /// A plain `~`, `null` or nothing at all.
    pub fn is_null(&self) -> bool {
        self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

pub(crate) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A mapping whose keys have been checked against the allowed set.
pub(crate) struct MapReader<'a> {
    pub site: Site,
    entries: Vec<(&'a str, Location, &'a Node)>,
}

impl<'a> MapReader<'a> {
    /// Reads `node` as a mapping that may hold only `allowed` keys. Unknown, duplicate and
    /// non-scalar keys are reported and skipped. `None` (after an error) when `node` is not a
    /// mapping; a null node reads as an empty mapping.
    pub fn new(
        node: &'a Node,
        path: String,
        allowed: &[&'static str],
        errs: &mut Errors,
    ) -> Option<Self> {
        Self::new_at(node, path, node.at, allowed, errs)
    }

    /// Like [`MapReader::new`], with the mapping located at `at` (the key that introduces it: a
    /// block mapping's own position is that of its first entry, one line too late).
    pub fn new_at(
        node: &'a Node,
        path: String,
        at: Location,
        allowed: &[&'static str],
        errs: &mut Errors,
    ) -> Option<Self> {
        let site = Site { path, at };
        let pairs: &[(Node, Node)] = match &node.kind {
            NodeKind::Map(pairs) => pairs,
            _ if node.is_null() => &[],
            _ => {
                errs.push(
                    &site.path,
                    at,
                    ErrorKind::WrongType {
                        expected: "a mapping",
                    },
                );
                return None;
            }
        };
        let mut entries: Vec<(&'a str, Location, &'a Node)> = Vec::new();
        for (key, value) in pairs {
            let NodeKind::Scalar { text, .. } = &key.kind else {
                errs.push(
                    &site.path,
                    key.at,
                    ErrorKind::WrongType {
                        expected: "text keys",
                    },
                );
                continue;
            };
            let key_path = child_path(&site.path, text);
            if !allowed.contains(&text.as_str()) {
                let suggestion = suggest(text, allowed);
                errs.push(key_path, key.at, ErrorKind::UnknownKey { suggestion });
            } else if entries.iter().any(|(k, _, _)| k == text) {
                errs.push(key_path, key.at, ErrorKind::DuplicateKey);
            } else {
                entries.push((text.as_str(), key.at, value));
            }
        }
        Some(Self { site, entries })
    }

    pub fn path_of(&self, key: &str) -> String {
        child_path(&self.site.path, key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key's position and its value.
    pub fn entry(&self, key: &str) -> Option<(Location, &'a Node)> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, at, v)| (*at, *v))
    }

    /// A scalar field, nulls included (callers decide what a null means). A list or mapping is
    /// reported and read as a `wrong_type` leaf.
    pub fn leaf(&self, key: &str, errs: &mut Errors) -> Option<Leaf> {
        let (key_at, node) = self.entry(key)?;
        match &node.kind {
            NodeKind::Scalar { text, plain } => Some(Leaf {
                text: text.clone(),
                plain: *plain,
                path: self.path_of(key),
                // A null value is positioned at the next token, maybe lines later.
                at: if node.is_null() { key_at } else { node.at },
                wrong_type: false,
            }),
            _ => {
                errs.push(
                    self.path_of(key),
                    key_at,
                    ErrorKind::WrongType {
                        expected: "a single value, not a list or mapping",
                    },
                );
                Some(Leaf {
                    text: String::new(),
                    plain: false,
                    path: self.path_of(key),
                    at: key_at,
                    wrong_type: true,
                })
            }
        }
    }

    /// A nested mapping; `None` when absent, null, or not a mapping (reported).
    pub fn map(
        &self,
        key: &str,
        allowed: &[&'static str],
        errs: &mut Errors,
    ) -> Option<MapReader<'a>> {
        let (key_at, node) = self.entry(key)?;
        if node.is_null() {
            return None;
        }
        MapReader::new_at(node, self.path_of(key), key_at, allowed, errs)
    }

    /// A list field as `(path, item)` pairs; empty when absent or null, reported when not a list.
    pub fn list(&self, key: &str, errs: &mut Errors) -> Vec<(String, &'a Node)> {
        let Some((key_at, node)) = self.entry(key) else {
            return Vec::new();
        };
        match &node.kind {
            NodeKind::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{}[{i}]", self.path_of(key)), item))
                .collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                errs.push(
                    self.path_of(key),
                    key_at,
                    ErrorKind::WrongType { expected: "a list" },
                );
                Vec::new()
            }
        }
    }

    /// A list of scalars: the key's site and one leaf per item (paths `key[0]`, `key[1]`...).
    /// `None` when absent or null, and (reported as `WrongType { expected }`) when the value is
    /// not a list. An item that is a list or mapping is reported and read as a `wrong_type` leaf.
    pub fn scalar_list(
        &self,
        key: &str,
        expected: &'static str,
        errs: &mut Errors,
    ) -> Option<(Site, Vec<Leaf>)> {
        let (key_at, node) = self.entry(key)?;
        let site = Site {
            path: self.path_of(key),
            at: key_at,
        };
        let items = match &node.kind {
            NodeKind::Seq(items) => items,
            _ if node.is_null() => return None,
            _ => {
                errs.push(&site.path, key_at, ErrorKind::WrongType { expected });
                return None;
            }
        };
        let leaves = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{}[{i}]", site.path);
                match &item.kind {
                    NodeKind::Scalar { text, plain } => Leaf {
                        text: text.clone(),
                        plain: *plain,
                        path,
                        at: item.at,
                        wrong_type: false,
                    },
                    _ => {
                        errs.push(
                            &path,
                            item.at,
                            ErrorKind::WrongType {
                                expected: "a single value, not a list or mapping",
                            },
                        );
                        Leaf {
                            text: String::new(),
                            plain: false,
                            path,
                            at: item.at,
                            wrong_type: true,
                        }
                    }
                }
            })
            .collect();
        Some((site, leaves))
    }
}

/// The allowed key closest to a misspelt one: same letters up to case and `_`/`-`, or at most two
/// edits away.
pub fn suggest(key: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let key_norm = norm(key);
    if let Some(same) = allowed.iter().find(|a| norm(a) == key_norm) {
        return Some(same);
    }
    allowed
        .iter()
        .map(|a| (edit_distance(&key_norm, &norm(a)), *a))
        .filter(|(d, a)| *d <= 2.min(a.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node;

    #[test]
    fn suggestions_find_near_misses_only() {
        let keys = &["polling-interval", "permissions", "execute"];
        assert_eq!(suggest("poling-interval", keys), Some("polling-interval"));
        assert_eq!(suggest("polling_interval", keys), Some("polling-interval"));
        assert_eq!(suggest("Permissions", keys), Some("permissions"));
        assert_eq!(suggest("command", keys), None);
        assert_eq!(suggest("x", &["a", "bb"]), Some("a"));
    }

    #[test]
    fn reader_reports_unknown_and_duplicate_keys_and_keeps_going() {
        let root = node::parse("a: 1\nb: 2\na: 3\nzz: 4\n").unwrap().unwrap();
        let mut errs = Errors::default();
        let map = MapReader::new(&root, String::new(), &["a", "b"], &mut errs).unwrap();
        assert_eq!(map.leaf("a", &mut errs).unwrap().text, "1");
        assert_eq!(map.leaf("b", &mut errs).unwrap().at.line, 2);
        let kinds: Vec<_> = errs.0.iter().map(|e| (e.path.as_str(), e.line())).collect();
        assert_eq!(kinds, vec![("a", Some(3)), ("zz", Some(4))]);
    }

    #[test]
    fn lists_get_indexed_paths() {
        let root = node::parse("t:\n  - x: 1\n  - x: 2\n").unwrap().unwrap();
        let mut errs = Errors::default();
        let map = MapReader::new(&root, String::new(), &["t"], &mut errs).unwrap();
        let items = map.list("t", &mut errs);
        assert_eq!(items[1].0, "t[1]");
        let inner = MapReader::new(items[1].1, items[1].0.clone(), &["x"], &mut errs).unwrap();
        assert_eq!(inner.path_of("x"), "t[1].x");
        assert!(errs.0.is_empty());
    }

    #[test]
    fn scalar_lists_give_indexed_leaves_and_report_non_scalars() {
        let text = "c: [a, \"\", [x], {k: v}]\nd: one\ne:\n";
        let root = node::parse(text).unwrap().unwrap();
        let mut errs = Errors::default();
        let map = MapReader::new(&root, "x".into(), &["c", "d", "e"], &mut errs).unwrap();
        let (site, items) = map.scalar_list("c", "a list", &mut errs).unwrap();
        assert_eq!((site.path.as_str(), site.at.line), ("x.c", 1));
        let got: Vec<_> = items
            .iter()
            .map(|l| (l.path.as_str(), l.text.as_str(), l.wrong_type))
            .collect();
        assert_eq!(
            got,
            vec![
                ("x.c[0]", "a", false),
                ("x.c[1]", "", false),
                ("x.c[2]", "", true),
                ("x.c[3]", "", true),
            ]
        );
        assert!(map.scalar_list("d", "a list", &mut errs).is_none());
        assert!(map.scalar_list("e", "a list", &mut errs).is_none());
        assert!(map.scalar_list("absent", "a list", &mut errs).is_none());
        let paths: Vec<_> = errs.0.iter().map(|e| (e.path.as_str(), e.line())).collect();
        assert_eq!(
            paths,
            vec![("x.c[2]", Some(1)), ("x.c[3]", Some(1)), ("x.d", Some(2))]
        );
        assert_eq!(
            errs.0[2].to_string(),
            "2:1: x.d: wrong type: expected a list"
        );
    }
}
