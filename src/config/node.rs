//! A YAML document as a small tree whose every node carries its line and column, built from
//! yaml-rust2's marked event stream. serde-based loaders stop at the first error and lose
//! positions; this tree lets the reader report every error with its place.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::{ConfigError, ErrorKind, Location};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// A scalar's text. `plain` is false for quoted and block scalars (only a plain scalar can be
    /// null or a boolean).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub at: Location,
}

impl Node {
    /// A plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Parses the first document of `text`. An empty document gives `None`.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, ConfigError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        return Err(syntax_error(e.marker(), e.info()));
    }
    if let Some((mark, reason)) = builder.error {
        return Err(syntax_error(&mark, reason));
    }
    Ok(builder.root)
}

fn location(mark: &Marker) -> Location {
    // yaml-rust2 lines are 1-based and columns 0-based.
    Location {
        line: mark.line().max(1),
        column: mark.col() + 1,
    }
}

fn syntax_error(mark: &Marker, info: &str) -> ConfigError {
    // One scanner message quotes the offending character; keep only its fixed part.
    let reason = match info.find(':') {
        Some(i) if info.starts_with("unexpected character") => &info[..i],
        _ => info,
    };
    ConfigError::new(
        "",
        Some(location(mark)),
        ErrorKind::Syntax(reason.to_string()),
    )
}

enum Open {
    Seq(Node, usize),
    /// A mapping, its anchor, and a key waiting for its value.
    Map(Node, usize, Option<Node>),
}

/// Limits that keep a hostile document (deep nesting, an alias "billion laughs") from exhausting
/// the stack or memory. A real agent configuration is far below both.
const MAX_DEPTH: usize = 64;
// 1M nodes: room for tens of thousands of templates, still bounded for an alias bomb.
const MAX_NODES: usize = 1_000_000;
/// Bytes of scalar text in the document once aliases are expanded: a long string aliased many
/// times stays few nodes but many bytes. Four times the largest document file accepted.
pub const MAX_EXPANDED_BYTES: usize = 4 * super::defaults::MAX_CONFIG_BYTES;

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<(Marker, &'static str)>,
    /// Nodes built so far, alias copies included.
    nodes: usize,
    /// Scalar bytes so far, alias copies included.
    bytes: usize,
}

/// The nodes and scalar bytes of `node`.
fn size(node: &Node) -> (usize, usize) {
    match &node.kind {
        NodeKind::Scalar { text, .. } => (1, text.len()),
        NodeKind::Seq(items) => items.iter().map(size).fold((1, 0), add),
        NodeKind::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| add(size(k), size(v)))
            .fold((1, 0), add),
    }
}

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0.saturating_add(b.0), a.1.saturating_add(b.1))
}

impl TreeBuilder {
    fn fail(&mut self, mark: Marker, reason: &'static str) {
        if self.error.is_none() {
            self.error = Some((mark, reason));
        }
        self.stack.clear();
        self.anchors.clear();
        self.root = None;
    }

    fn finish_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Open::Seq(seq, _)) => {
                if let NodeKind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Open::Map(map, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let NodeKind::Map(entries) = &mut map.kind {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = location(&mark);
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return self.fail(mark, "document too large");
        }
        if self.stack.len() >= MAX_DEPTH
            && matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..))
        {
            return self.fail(mark, "document nested too deeply");
        }
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                self.bytes += text.len();
                if self.bytes > MAX_EXPANDED_BYTES {
                    return self.fail(mark, "document too large");
                }
                let plain = style == TScalarStyle::Plain;
                self.finish_node(
                    Node {
                        kind: NodeKind::Scalar { text, plain },
                        at,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq(
                Node {
                    kind: NodeKind::Seq(Vec::new()),
                    at,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Open::Map(
                Node {
                    kind: NodeKind::Map(Vec::new()),
                    at,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(Open::Seq(node, anchor) | Open::Map(node, anchor, _)) = self.stack.pop()
                {
                    self.finish_node(node, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let (nodes, bytes) = size(node);
                    self.nodes = self.nodes.saturating_add(nodes);
                    self.bytes = self.bytes.saturating_add(bytes);
                    if self.nodes > MAX_NODES || self.bytes > MAX_EXPANDED_BYTES {
                        return self.fail(mark, "document too large after alias expansion");
                    }
                    let node = node.clone();
                    self.finish_node(node, 0);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_entries(node: &Node) -> &[(Node, Node)] {
        match &node.kind {
            NodeKind::Map(e) => e,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn nodes_carry_one_based_lines_and_columns() {
        let root = parse("a: 1\nb:\n  - x\n  - y: z\n").unwrap().unwrap();
        let entries = map_entries(&root);
        assert_eq!(entries[0].0.at, Location { line: 1, column: 1 });
        assert_eq!(entries[0].1.at, Location { line: 1, column: 4 });
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!("not a seq")
        };
        assert_eq!(items[0].at, Location { line: 3, column: 5 });
        let inner = map_entries(&items[1]);
        assert_eq!(inner[0].1.at, Location { line: 4, column: 8 });
    }

    #[test]
    fn quoted_scalars_are_not_plain_and_nulls_are_recognised() {
        let root = parse("a: \"x\"\nb: ~\nc:\n").unwrap().unwrap();
        let e = map_entries(&root);
        assert_eq!(
            e[0].1.kind,
            NodeKind::Scalar {
                text: "x".into(),
                plain: false
            }
        );
        assert!(e[1].1.is_null());
        assert!(e[2].1.is_null());
    }

    #[test]
    fn a_long_string_aliased_many_times_is_refused_quickly() {
        let long = "x".repeat(4 << 20);
        let mut doc = format!("a: &s {long}\nb: [");
        doc.push_str(&vec!["*s"; 2000].join(", "));
        doc.push_str("]\n");
        let started = std::time::Instant::now();
        let err = parse(&doc).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(err.to_string().contains("too large"), "{err}");
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let root = parse("a: &x {k: v}\nb: *x\n").unwrap().unwrap();
        let e = map_entries(&root);
        assert_eq!(map_entries(&e[1].1).len(), 1);
    }

    #[test]
    fn syntax_errors_have_a_line_and_no_document_text() {
        let err = parse("a: 1\nb: [unclosed, sk-SECRET\nc: 2\n").unwrap_err();
        assert!(err.line().is_some());
        assert!(!err.to_string().contains("sk-SECRET"), "{err}");
        let err = parse("a: 1\nb: c: d\n").unwrap_err();
        assert_eq!(err.location, Some(Location { line: 2, column: 5 }), "{err}");
        let err = parse("a: @x\n").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax("unexpected character".into()));
    }

    #[test]
    fn empty_document_is_none() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }
}
