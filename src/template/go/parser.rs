//! The parser: a port of Go's `text/template/parse/parse.go` (Go 1.23), including its parse-time
//! checks (unknown functions even in dead branches, undefined variables, break/continue
//! placement, `else if`/`else with` rules, define/block clashes).

use std::collections::HashMap;

use super::ast::{
    is_empty_tree, shrink_list, Arg, Branch, Command, List, Node, Pipe, TemplateCall,
};
use super::lexer::{lex, Item, Kind};
use super::literal::{parse_number, unquote};

/// How deeply parentheses and control blocks may nest: keeps parsing and execution far from
/// the native stack's limit whatever the input.
pub const MAX_NESTING: usize = 100;

/// A parse failure: Go's message and the line it names.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    /// Byte offset of the token the error is about.
    pub pos: usize,
}

/// All templates of one source: the main one under the file's name plus every define/block.
pub type TreeSet = HashMap<Vec<u8>, List>;

enum Ctl {
    Node(Node),
    End,
    Else,
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    idx: usize,
    line: usize,
    pos: usize,
    has_function: &'a dyn Fn(&str) -> bool,
    trees: TreeSet,
    vars: Vec<String>,
    range_depth: usize,
    nesting: usize,
}

type PResult<T> = Result<T, ParseError>;

/// Parses `source` into its template set; the main template is stored under `name`.
pub fn parse(name: &str, source: &[u8], has_function: &dyn Fn(&str) -> bool) -> PResult<TreeSet> {
    let mut p = Parser {
        name,
        items: lex(source),
        idx: 0,
        line: 1,
        pos: 0,
        has_function,
        trees: HashMap::new(),
        vars: vec!["$".into()],
        range_depth: 0,
        nesting: 0,
    };
    let root = p.parse_top()?;
    p.add(name.as_bytes().to_vec(), root)?;
    let mut trees = p.trees;
    for list in trees.values_mut() {
        shrink_list(list);
    }
    trees.shrink_to_fit();
    Ok(trees)
}

impl Parser<'_> {
    fn error<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            message: format!("template: {}:{}: {}", self.name, self.line, msg.into()),
            line: self.line,
            pos: self.pos,
        })
    }

    fn next(&mut self) -> PResult<Item> {
        let item = self.items[self.idx.min(self.items.len() - 1)].clone();
        if self.idx < self.items.len() - 1 {
            self.idx += 1;
        }
        self.line = item.line;
        self.pos = item.pos;
        if item.kind == Kind::Error {
            return self.error(String::from_utf8_lossy(&item.val).into_owned());
        }
        Ok(item)
    }

    fn backup(&mut self) {
        self.idx = self.idx.saturating_sub(1);
    }

    fn peek(&mut self) -> PResult<Item> {
        let at = self.idx;
        let item = self.next()?;
        self.idx = at;
        Ok(item)
    }

    fn next_non_space(&mut self) -> PResult<Item> {
        loop {
            let item = self.next()?;
            if item.kind != Kind::Space {
                return Ok(item);
            }
        }
    }

    fn peek_non_space(&mut self) -> PResult<Item> {
        let item = self.next_non_space()?;
        self.backup();
        Ok(item)
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Item> {
        let item = self.next_non_space()?;
        if item.kind != kind {
            return self.unexpected(&item, context);
        }
        Ok(item)
    }

    fn unexpected<T>(&self, item: &Item, context: &str) -> PResult<T> {
        self.error(format!("unexpected {} in {}", item.describe(), context))
    }

    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return self.error(format!("nesting deeper than {MAX_NESTING} levels"));
        }
        Ok(())
    }

    /// Go's `Tree.add`: an empty redefinition is ignored; two non-empty ones clash.
    fn add(&mut self, name: Vec<u8>, root: List) -> PResult<()> {
        match self.trees.get(&name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !is_empty_tree(&root) {
                    return self.error(format!(
                        "template: multiple definition of template {:?}",
                        String::from_utf8_lossy(&name)
                    ));
                }
            }
            _ => {
                self.trees.insert(name, root);
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<List> {
        let mut root = Vec::new();
        while self.peek()?.kind != Kind::Eof {
            if self.peek()?.kind == Kind::LeftDelim {
                let at = self.idx;
                self.next()?;
                if self.next_non_space()?.kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = at;
            }
            match self.text_or_action()? {
                Ctl::Node(n) => root.push(n),
                Ctl::End => return self.error("unexpected {{end}}"),
                Ctl::Else => return self.error("unexpected {{else}}"),
            }
        }
        Ok(root)
    }

    /// Runs `f` as the body of a fresh tree (define/block): own variables and range depth.
    fn in_new_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = depth;
        r
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let item = self.next_non_space()?;
        if item.kind != Kind::String && item.kind != Kind::RawString {
            return self.unexpected(&item, context);
        }
        let name = match unquote(&item.val) {
            Ok(n) => n,
            Err(e) => return self.error(e),
        };
        self.expect(Kind::RightDelim, context)?;
        let (root, end) = self.in_new_tree(|p| p.item_list())?;
        if !matches!(end, Ctl::End) {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(name, root)
    }

    fn item_list(&mut self) -> PResult<(List, Ctl)> {
        let mut list = Vec::new();
        while self.peek_non_space()?.kind != Kind::Eof {
            match self.text_or_action()? {
                Ctl::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        self.error("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Ctl> {
        let item = self.next_non_space()?;
        match item.kind {
            Kind::Text => Ok(Ctl::Node(Node::Text(item.val))),
            Kind::LeftDelim => self.action(),
            Kind::Comment => self.text_or_action_after_comment(),
            _ => self.unexpected(&item, "input"),
        }
    }

    /// Comments produce no node; continue with whatever follows (or an empty text).
    fn text_or_action_after_comment(&mut self) -> PResult<Ctl> {
        Ok(Ctl::Node(Node::Text(Vec::new())))
    }

    fn action(&mut self) -> PResult<Ctl> {
        let item = self.next_non_space()?;
        match item.kind {
            Kind::Block => return self.block_control().map(Ctl::Node),
            Kind::Break | Kind::Continue => {
                let word = if item.kind == Kind::Break {
                    "break"
                } else {
                    "continue"
                };
                let t = self.next_non_space()?;
                if t.kind != Kind::RightDelim {
                    return self.unexpected(&t, &["{{", word, "}}"].concat());
                }
                if self.range_depth == 0 {
                    return self.error(["{{", word, "}} outside {{range}}"].concat());
                }
                return Ok(Ctl::Node(if item.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Kind::Else => {
                let peek = self.peek_non_space()?;
                if peek.kind != Kind::If && peek.kind != Kind::With {
                    self.expect(Kind::RightDelim, "else")?;
                }
                return Ok(Ctl::Else);
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Ctl::End);
            }
            Kind::If => return self.if_control().map(Ctl::Node),
            Kind::Range => return self.control("range").map(|b| Ctl::Node(Node::Range(b))),
            Kind::Template => return self.template_control().map(Ctl::Node),
            Kind::With => return self.with_control().map(Ctl::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Ctl::Node(Node::Action(pipe)))
    }

    fn if_control(&mut self) -> PResult<Node> {
        self.control("if").map(Node::If)
    }

    fn with_control(&mut self) -> PResult<Node> {
        self.control("with").map(Node::With)
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        self.enter()?;
        let mark = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(mark);
        self.nesting -= 1;
        r
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Ctl::Else = next {
            let peek = self.peek()?;
            if context == "if" && peek.kind == Kind::If {
                self.next()?;
                else_list = Some(vec![self.if_control()?]);
            } else if context == "with" && peek.kind == Kind::With {
                self.next()?;
                else_list = Some(vec![self.with_control()?]);
            } else {
                let (l, n) = self.item_list()?;
                if !matches!(n, Ctl::End) {
                    return self.error("expected end; found {{else}}");
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, item: &Item, context: &str) -> PResult<Vec<u8>> {
        match item.kind {
            Kind::String | Kind::RawString => match unquote(&item.val) {
                Ok(n) => Ok(n),
                Err(e) => self.error(e),
            },
            _ => self.unexpected(item, context),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let item = self.next_non_space()?;
        let name = self.template_name(&item, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let (root, end) = self.in_new_tree(|p| p.item_list())?;
        if !matches!(end, Ctl::End) {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(name.clone(), root)?;
        Ok(Node::Template(TemplateCall {
            pos: item.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let item = self.next_non_space()?;
        let name = self.template_name(&item, context)?;
        let pipe = if self.next_non_space()?.kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(context, Kind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template(TemplateCall {
            pos: item.pos,
            name,
            pipe,
        }))
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let first = self.peek_non_space()?;
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space()?;
            if v.kind != Kind::Variable {
                break;
            }
            let at = self.idx;
            self.next()?;
            let after = self.peek()?;
            let next = self.peek_non_space()?;
            let var_name = String::from_utf8_lossy(&v.val).into_owned();
            if next.kind == Kind::Assign || next.kind == Kind::Declare {
                pipe.is_assign = next.kind == Kind::Assign;
                self.next_non_space()?;
                pipe.decl.push((v.pos, var_name.clone()));
                self.vars.push(var_name);
                break;
            } else if next.kind == Kind::Char && next.val == b"," {
                self.next_non_space()?;
                pipe.decl.push((v.pos, var_name.clone()));
                self.vars.push(var_name);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space()?.kind {
                        Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                        _ => return self.error("range can only initialize variables"),
                    }
                }
                return self.error(format!("too many declarations in {context}"));
            } else {
                let _ = after;
                self.idx = at;
                break;
            }
        }
        loop {
            let item = self.next_non_space()?;
            if item.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match item.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&item, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.error(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str { .. }
            ) {
                return self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space()?.pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space()?;
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let item = self.next()?;
            match item.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(&item, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.error("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek()?.kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek()?.pos;
        let mut fields = Vec::new();
        while self.peek()?.kind == Kind::Field {
            let f = self.next()?;
            fields.push(String::from_utf8_lossy(&f.val[1..]).into_owned());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    idents,
                }
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.error(format!("unexpected . after term {:?}", node.to_string()));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let item = self.next_non_space()?;
        let pos = item.pos;
        let text = String::from_utf8_lossy(&item.val).into_owned();
        Ok(Some(match item.kind {
            Kind::Identifier => {
                if !(self.has_function)(&text) {
                    return self.error(format!("function {text:?} not defined"));
                }
                Arg::Identifier { pos, name: text }
            }
            Kind::Dot => Arg::Dot(pos),
            Kind::Nil => Arg::Nil(pos),
            Kind::Variable => {
                let idents: Vec<String> = text.split('.').map(String::from).collect();
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return self.error(format!("undefined variable {:?}", idents[0]));
                }
                Arg::Variable { pos, idents }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: text[1..].split('.').map(String::from).collect(),
            },
            Kind::Bool => Arg::Bool(pos, text == "true"),
            Kind::CharConstant | Kind::Complex | Kind::Number => {
                match parse_number(
                    &item.val,
                    item.kind == Kind::CharConstant,
                    item.kind == Kind::Complex,
                ) {
                    Ok(n) => Arg::Number(pos, Box::new(n)),
                    Err(e) => return self.error(e),
                }
            }
            Kind::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", Kind::RightParen);
                self.nesting -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Kind::String | Kind::RawString => match unquote(&item.val) {
                Ok(s) => Arg::Str {
                    pos,
                    quoted: item.val,
                    text: s,
                },
                Err(e) => return self.error(e),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> bool {
        matches!(name, "printf" | "len" | "eq" | "secret")
    }

    fn err(src: &str) -> String {
        parse("t", src.as_bytes(), &known).unwrap_err().message
    }

    #[test]
    fn parses_nested_control() {
        let trees = parse(
            "t",
            b"{{ if .A }}{{ range $i, $e := .B }}{{ $e }}{{ end }}{{ else if .C }}x{{ end }}",
            &known,
        )
        .unwrap();
        let root = &trees[b"t".as_slice()];
        assert!(matches!(root[0], Node::If(_)));
    }

    #[test]
    fn parse_time_errors() {
        assert_eq!(
            err("{{ nosuch 1 }}"),
            "template: t:1: function \"nosuch\" not defined"
        );
        assert!(err("{{ if false }}{{ nosuch }}{{ end }}").contains("not defined"));
        assert!(err("{{ if true }}x").contains("unexpected EOF"));
        assert!(err("{{ end }}").contains("unexpected {{end}}"));
        assert!(err("{{ break }}").contains("{{break}} outside {{range}}"));
        assert!(err("{{ range .X }}{{ else }}{{ break }}{{ end }}").contains("outside"));
        assert!(err("{{ with 1 }}{{ else if 2 }}{{ end }}").contains("unexpected"));
        assert!(err("{{ $x }}").contains("undefined variable \"$x\""));
        assert!(err("{{ }}").contains("missing value for command"));
        assert!(err("{{ \"x\" | \"y\" }}").contains("non executable command in pipeline stage 2"));
        assert!(
            err("{{ define \"T\" }}a{{ end }}{{ define \"T\" }}b{{ end }}")
                .contains("multiple definition")
        );
        assert!(err("{{ \"abc\".Len }}").contains("unexpected . after term"));
        assert!(err("{{ range $a, $b, $c := 1 }}{{ end }}").contains("too many declarations"));
    }

    #[test]
    fn empty_redefinition_is_ignored() {
        let trees = parse(
            "t",
            b"{{ define \"T\" }}a{{ end }}{{ define \"T\" }} {{/* c */}} {{ end }}",
            &known,
        )
        .unwrap();
        assert!(matches!(&trees[b"T".as_slice()][0], Node::Text(t) if t == b"a"));
    }

    #[test]
    fn chained_field_position_is_last_field() {
        let trees = parse("t", b"{{ .Value.Foo }}", &known).unwrap();
        let Node::Action(p) = &trees[b"t".as_slice()][0] else {
            panic!()
        };
        assert_eq!(p.cmds[0].args[0].pos(), 9);
        assert_eq!(p.to_string(), ".Value.Foo");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        assert!(err(&src).contains("nesting"));
    }
}
