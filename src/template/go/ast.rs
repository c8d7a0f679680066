//! The parse tree, shaped like Go's `text/template/parse` nodes. `Display` reproduces Go's
//! `String()` of a node, which exec errors quote as `at <...>`.

use std::fmt;

/// A list of nodes (a template body, an `if` branch...).
pub type List = Vec<Node>;

#[derive(Debug, Clone)]
pub enum Node {
    Text(Vec<u8>),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template(TemplateCall),
    Break,
    Continue,
}

/// The shared shape of `if`, `with` and `range`.
#[derive(Debug, Clone)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug, Clone)]
pub struct TemplateCall {
    pub pos: usize,
    pub name: Vec<u8>,
    pub pipe: Option<Pipe>,
}

#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    /// Declared or assigned variables, with their positions.
    pub decl: Vec<(usize, String)>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    Identifier {
        pos: usize,
        name: String,
    },
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    Number(usize, Box<Number>),
    /// `quoted` is the literal as written, `text` its value.
    Str {
        pos: usize,
        quoted: Vec<u8>,
        text: Vec<u8>,
    },
    /// `.A.B`: the field names.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.A.B`: the variable name (with `$`) then the field names.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    Pipe(Box<Pipe>),
    /// `(pipe).A.B`.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

/// A numeric literal with every interpretation Go's parser finds for it.
#[derive(Debug, Clone, Default)]
pub struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
    pub complex: (f64, f64),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Dot(pos)
            | Arg::Nil(pos)
            | Arg::Bool(pos, _)
            | Arg::Number(pos, _)
            | Arg::Str { pos, .. }
            | Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::Str { quoted, .. } => f.write_str(&String::from_utf8_lossy(quoted)),
            Arg::Field { idents, .. } => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Pipe(p) => write!(f, "({p})"),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            let names: Vec<&str> = self.decl.iter().map(|d| d.1.as_str()).collect();
            f.write_str(&names.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TemplateCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = String::from_utf8_lossy(&self.name);
        match &self.pipe {
            Some(p) => write!(f, "{{{{template {name:?} {p}}}}}"),
            None => write!(f, "{{{{template {name:?}}}}}"),
        }
    }
}

/// Go's `parse.IsEmptyTree`: only blank text and comments (comments are not kept in the tree).
pub fn is_empty_tree(list: &List) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => String::from_utf8_lossy(t).trim().is_empty(),
        _ => false,
    })
}

/// Gives back the spare capacity the parser's growing vectors left in a finished tree: a parsed
/// template lives as long as the agent, once per template (thousands of them).
pub fn shrink_list(list: &mut List) {
    for node in list.iter_mut() {
        shrink_node(node);
    }
    list.shrink_to_fit();
}

fn shrink_node(node: &mut Node) {
    match node {
        Node::Text(text) => text.shrink_to_fit(),
        Node::Action(pipe) => shrink_pipe(pipe),
        Node::If(b) | Node::With(b) | Node::Range(b) => {
            shrink_pipe(&mut b.pipe);
            shrink_list(&mut b.list);
            if let Some(list) = &mut b.else_list {
                shrink_list(list);
            }
        }
        Node::Template(call) => {
            if let Some(pipe) = &mut call.pipe {
                shrink_pipe(pipe);
            }
        }
        Node::Break | Node::Continue => {}
    }
}

fn shrink_pipe(pipe: &mut Pipe) {
    pipe.decl.shrink_to_fit();
    for cmd in pipe.cmds.iter_mut() {
        for arg in cmd.args.iter_mut() {
            shrink_arg(arg);
        }
        cmd.args.shrink_to_fit();
    }
    pipe.cmds.shrink_to_fit();
}

fn shrink_arg(arg: &mut Arg) {
    match arg {
        Arg::Str { quoted, text, .. } => {
            quoted.shrink_to_fit();
            text.shrink_to_fit();
        }
        Arg::Field { idents, .. } | Arg::Variable { idents, .. } => idents.shrink_to_fit(),
        Arg::Pipe(pipe) => shrink_pipe(pipe),
        Arg::Chain { node, fields, .. } => {
            shrink_arg(node);
            fields.shrink_to_fit();
        }
        Arg::Identifier { .. } | Arg::Dot(_) | Arg::Nil(_) | Arg::Bool(..) | Arg::Number(..) => {}
    }
}
