//! The executor: walks a parsed template set the way Go's `text/template/exec.go` does
//! (variable scoping, range/with/if, template calls, pipelines with the pipeline value as the
//! last argument, field chains, Go's argument typing and error messages).

use std::rc::Rc;

use super::ast::{Arg, Branch, Command, List, Node, Number, Pipe, TemplateCall};
use super::builtins::{self, Builtin, Param, Sig};
use super::fmt::{sprint, PrintMode};
use super::parser::TreeSet;
use super::value::{ElemType, Value, SECRET_TYPE};
use crate::template::data::{DataRequest, DataSource};

/// Nested template calls, control blocks and parenthesised pipelines share this depth budget,
/// which keeps execution well inside the native stack whatever the template does.
pub const MAX_DEPTH: usize = 200;
/// Largest output a render may produce.
pub const MAX_OUTPUT: usize = 64 << 20;
/// Most nodes one render may evaluate (stops runaway loops such as `range 1000000000`).
pub const MAX_STEPS: u64 = 10_000_000;

/// An execution error carrying Go's full message.
#[derive(Debug)]
pub struct ExecError(pub String);

type EResult<T> = Result<T, ExecError>;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct State<'a> {
    trees: &'a TreeSet,
    file: &'a str,
    source: &'a [u8],
    tmpl: Vec<u8>,
    vars: Vec<(String, Value)>,
    depth: usize,
    steps: u64,
    pub out: Vec<u8>,
    pub data: &'a dyn DataSource,
    pub missing: Vec<DataRequest>,
}

/// A node position plus its text, for `at <...>` in messages.
struct At<'n>(usize, &'n dyn std::fmt::Display);

impl<'a> State<'a> {
    pub fn new(
        trees: &'a TreeSet,
        file: &'a str,
        source: &'a [u8],
        data: &'a dyn DataSource,
    ) -> Self {
        State {
            trees,
            file,
            source,
            tmpl: file.as_bytes().to_vec(),
            vars: vec![("$".into(), Value::Nil)],
            depth: 0,
            steps: 0,
            out: Vec::new(),
            data,
            missing: Vec::new(),
        }
    }

    /// Renders the template named after the file.
    pub fn run(&mut self) -> EResult<()> {
        let Some(root) = self.trees.get(self.file.as_bytes()) else {
            return Err(ExecError(format!(
                "template: {}: incomplete or empty template",
                self.file
            )));
        };
        self.walk_list(&Value::Nil, root).map(|_| ())
    }

    fn err<T>(&self, at: At<'_>, msg: impl AsRef<str>) -> EResult<T> {
        let pos = at.0.min(self.source.len());
        let text = &self.source[..pos];
        let line = 1 + text.iter().filter(|&&c| c == b'\n').count();
        let col = match text.iter().rposition(|&c| c == b'\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        Err(ExecError(format!(
            "template: {}:{}:{}: executing {:?} at <{}>: {}",
            self.file,
            line,
            col,
            String::from_utf8_lossy(&self.tmpl),
            at.1,
            msg.as_ref()
        )))
    }

    fn step(&mut self, pos: usize) -> EResult<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return self.err(
                At(pos, &"..."),
                format!("template evaluates more than {MAX_STEPS} nodes"),
            );
        }
        Ok(())
    }

    fn enter(&mut self, pos: usize, what: &dyn std::fmt::Display) -> EResult<()> {
        if self.depth >= MAX_DEPTH {
            return self.err(
                At(pos, what),
                format!("exceeded maximum template depth ({MAX_DEPTH})"),
            );
        }
        self.depth += 1;
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], pos: usize) -> EResult<()> {
        if self.out.len() + bytes.len() > MAX_OUTPUT {
            return self.err(
                At(pos, &"..."),
                format!("output exceeds {MAX_OUTPUT} bytes"),
            );
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &List) -> EResult<Flow> {
        for node in list {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> EResult<Flow> {
        match node {
            Node::Text(t) => {
                self.write(t, 0)?;
            }
            Node::Action(pipe) => {
                self.step(pipe.pos)?;
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let text = printable(&v);
                    self.write(&text, pipe.pos)?;
                }
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::If(b) => return self.walk_if_with(dot, b, false),
            Node::With(b) => return self.walk_if_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template(t) => self.walk_template(dot, t)?,
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, dot: &Value, b: &Branch, with: bool) -> EResult<Flow> {
        self.step(b.pos)?;
        self.enter(b.pos, &b.pipe)?;
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.truth() {
                if with {
                    self.walk_list(&val, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        self.depth -= 1;
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch) -> EResult<Flow> {
        self.step(b.pos)?;
        self.enter(b.pos, &b.pipe)?;
        let mark = self.vars.len();
        let r = self.walk_range_inner(dot, b);
        self.vars.truncate(mark);
        self.depth -= 1;
        r.map(|_| Flow::Normal)
    }

    fn walk_range_inner(&mut self, dot: &Value, b: &Branch) -> EResult<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let mut ran = false;
        match &val {
            Value::List(items, _) => {
                for (i, elem) in items.iter().enumerate() {
                    ran = true;
                    if self.one_iteration(b, Value::Int(i as i64), elem.clone(), mark)? {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                let entries: Vec<(Vec<u8>, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in entries {
                    ran = true;
                    if self.one_iteration(b, Value::str(k), v, mark)? {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return self.err(
                        At(b.pos, &b.pipe),
                        "can't use int to iterate over more than one variable",
                    );
                }
                for i in 0..*n {
                    ran = true;
                    if self.one_iteration(b, Value::Nil, Value::Int(i), mark)? {
                        break;
                    }
                }
            }
            Value::Uint8(n) => {
                if b.pipe.decl.len() > 1 {
                    return self.err(
                        At(b.pos, &b.pipe),
                        "can't use uint8 to iterate over more than one variable",
                    );
                }
                for i in 0..*n {
                    ran = true;
                    if self.one_iteration(b, Value::Nil, Value::Uint8(i), mark)? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                let at = b.pipe.cmds.last().map_or(b.pos, |c| c.pos);
                return self.err(
                    At(at, &b.pipe),
                    format!(
                        "range can't iterate over value of type {}",
                        other.type_name()
                    ),
                );
            }
        }
        if !ran {
            if let Some(e) = &b.else_list {
                self.walk_list(dot, e)?;
            }
        }
        Ok(())
    }

    /// One pass of a range body; returns true on `break`.
    fn one_iteration(
        &mut self,
        b: &Branch,
        index: Value,
        elem: Value,
        mark: usize,
    ) -> EResult<bool> {
        self.step(b.pos)?;
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                let n = self.vars.len();
                self.vars[n - 2].1 = index;
            }
        }
        let r = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        Ok(matches!(r?, Flow::Break))
    }

    fn walk_template(&mut self, dot: &Value, t: &TemplateCall) -> EResult<()> {
        self.step(t.pos)?;
        let Some(root) = self.trees.get(&t.name) else {
            return self.err(
                At(t.pos, t),
                format!(
                    "template {:?} not defined",
                    String::from_utf8_lossy(&t.name)
                ),
            );
        };
        if self.depth >= MAX_DEPTH {
            return self.err(
                At(t.pos, t),
                format!("exceeded maximum template depth ({MAX_DEPTH})"),
            );
        }
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        self.depth += 1;
        let vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let name = std::mem::replace(&mut self.tmpl, t.name.clone());
        let r = self.walk_list(&new_dot, root);
        self.tmpl = name;
        self.vars = vars;
        self.depth -= 1;
        r.map(|_| ())
    }

    fn set_var(&mut self, decl: &(usize, String), v: Value) -> EResult<()> {
        for slot in self.vars.iter_mut().rev() {
            if slot.0 == decl.1 {
                slot.1 = v;
                return Ok(());
            }
        }
        self.err(
            At(decl.0, &decl.1),
            format!("undefined variable: {}", decl.1),
        )
    }

    fn var_value(&self, pos: usize, name: &str) -> EResult<Value> {
        for slot in self.vars.iter().rev() {
            if slot.0 == name {
                return Ok(slot.1.clone());
            }
        }
        self.err(At(pos, &name), format!("undefined variable: {name}"))
    }

    pub fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> EResult<Value> {
        self.enter(pipe.pos, pipe)?;
        let r = self.eval_pipeline_inner(dot, pipe);
        self.depth -= 1;
        r
    }

    fn eval_pipeline_inner(&mut self, dot: &Value, pipe: &Pipe) -> EResult<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for decl in &pipe.decl {
            if pipe.is_assign {
                // Go reports an assignment to an undeclared variable at the pipeline's value.
                let at = pipe.cmds.last().map_or(pipe.pos, |c| c.pos);
                if !self.vars.iter().any(|s| s.0 == decl.1) {
                    let last = pipe.cmds.last().map(|c| c.to_string()).unwrap_or_default();
                    return self.err(At(at, &last), format!("undefined variable: {}", decl.1));
                }
                self.set_var(decl, value.clone())?;
            } else {
                self.vars.push((decl.1.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value>) -> EResult<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let first = &cmd.args[0];
            return self.err(
                At(first.pos(), first),
                format!("can't give argument to non-function {first}"),
            );
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &Command,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.step(cmd.pos)?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { pos, idents } => {
                return self.eval_field_chain(
                    dot,
                    dot.clone(),
                    *pos,
                    first,
                    idents,
                    &cmd.args,
                    final_,
                );
            }
            Arg::Chain { pos, node, fields } => {
                let recv = self.eval_arg(dot, Param::Value, node)?;
                return self.eval_field_chain(dot, recv, *pos, first, fields, &cmd.args, final_);
            }
            Arg::Identifier { pos, name } => {
                return self.eval_function(dot, *pos, name, cmd, final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { pos, idents } => {
                let v = self.var_value(*pos, &idents[0])?;
                if idents.len() == 1 {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                return self.eval_field_chain(dot, v, *pos, first, &idents[1..], &cmd.args, final_);
            }
            _ => {}
        }
        self.not_a_function(cmd, &final_)?;
        match first {
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(pos) => self.err(At(*pos, first), "nil is not a command"),
            Arg::Number(pos, n) => self.ideal_constant(*pos, n),
            Arg::Str { text, .. } => Ok(Value::str(text)),
            _ => self.err(
                At(first.pos(), first),
                format!("can't evaluate command {first}"),
            ),
        }
    }

    fn ideal_constant(&self, pos: usize, n: &Number) -> EResult<Value> {
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        if n.is_complex {
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float
            && !is_hex_int
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return self.err(At(pos, &t), format!("{t} overflows int"));
        }
        Ok(Value::Nil)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        pos: usize,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> EResult<Value> {
        let mut recv = receiver;
        let mut null_iface = false;
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            let last = i == n - 1;
            let has_args = last && (args.len() > 1 || final_.is_some());
            let _ = dot;
            let (v, null) = self.eval_field(pos, node, name, has_args, &recv, null_iface)?;
            recv = v;
            null_iface = null;
        }
        Ok(recv)
    }

    /// One field step. Returns the value and whether it is a nil held in a map (Go's nil
    /// interface, on which a further field access is an error, unlike a missing key).
    fn eval_field(
        &self,
        pos: usize,
        node: &Arg,
        name: &str,
        has_args: bool,
        recv: &Value,
        recv_null_iface: bool,
    ) -> EResult<(Value, bool)> {
        match recv {
            Value::Nil if recv_null_iface => self.err(
                At(pos, node),
                format!("nil pointer evaluating interface {{}}.{name}"),
            ),
            Value::Nil => Ok((Value::Nil, false)),
            Value::Secret(s) => match Value::secret_field(s, name) {
                Some(v) => {
                    if has_args {
                        return self.err(
                            At(pos, node),
                            format!("{name} has arguments but cannot be invoked as function"),
                        );
                    }
                    Ok((v, false))
                }
                None => self.err(
                    At(pos, node),
                    format!("can't evaluate field {name} in type {SECRET_TYPE}"),
                ),
            },
            Value::Map(m) => {
                if has_args {
                    return self.err(
                        At(pos, node),
                        format!("{name} is not a method but has arguments"),
                    );
                }
                let found = m.borrow().get(name.as_bytes()).cloned();
                match found {
                    Some(v) => {
                        let null = v.is_nil();
                        Ok((v, null))
                    }
                    None => Ok((Value::Nil, false)),
                }
            }
            other => self.err(
                At(pos, node),
                format!("can't evaluate field {name} in type {}", other.type_name()),
            ),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        cmd: &Command,
        final_: Option<Value>,
    ) -> EResult<Value> {
        let ident = &cmd.args[0];
        let Some((sig, f)) = builtins::lookup(name) else {
            return self.err(
                At(pos, ident),
                format!("{name:?} is not a defined function"),
            );
        };
        let args = &cmd.args[1..];
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = sig.fixed.len();
        if sig.variadic.is_some() {
            if num_in < fixed {
                return self.err(
                    At(pos, ident),
                    format!(
                        "wrong number of args for {name}: want at least {fixed} got {}",
                        args.len()
                    ),
                );
            }
        } else if num_in != fixed {
            return self.err(
                At(pos, ident),
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            );
        }
        if matches!(f, Builtin::And | Builtin::Or) {
            let want = matches!(f, Builtin::Or);
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, Param::Value, a)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(fv) = final_ {
                return Ok(fv);
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param_at(&sig, i), a)?);
        }
        if let Some(fv) = final_ {
            let p = param_at(&sig, num_in - 1);
            argv.push(self.validate(pos, cmd, fv, p)?);
        }
        if matches!(f, Builtin::Call) {
            let callee = args.first().map(|a| a.to_string()).unwrap_or_default();
            let t = argv.first().map_or("<nil>", |v| v.type_name());
            return self.err(
                At(cmd.pos, cmd),
                format!("error calling call: non-function {callee} of type {t}"),
            );
        }
        match builtins::call(f, name, &argv, self) {
            Ok(v) => Ok(v),
            Err(e) => self.err(At(cmd.pos, cmd), format!("error calling {name}: {e}")),
        }
    }

    fn validate(
        &self,
        pos: usize,
        node: &dyn std::fmt::Display,
        v: Value,
        p: Param,
    ) -> EResult<Value> {
        match (p, &v) {
            (Param::Str, Value::Nil) => self.err(At(pos, node), "invalid value; expected string"),
            (Param::Str, Value::Str(_)) => Ok(v),
            (Param::Int, Value::Int(_))
            | (Param::Bool, Value::Bool(_))
            | (Param::Map, Value::Map(_)) => Ok(v),
            (Param::Map, Value::Nil) => Ok(Value::map(Default::default())),
            (Param::Int | Param::Bool, Value::Nil) => self.err(
                At(pos, node),
                format!("invalid value; expected {}", param_type(p)),
            ),
            (Param::Int | Param::Bool | Param::Map, other) => self.err(
                At(pos, node),
                format!(
                    "wrong type for value; expected {}; got {}",
                    param_type(p),
                    other.type_name()
                ),
            ),
            (Param::Str, other) => self.err(
                At(pos, node),
                format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                ),
            ),
            _ => Ok(v),
        }
    }

    fn eval_arg(&mut self, dot: &Value, p: Param, n: &Arg) -> EResult<Value> {
        let pos = n.pos();
        match n {
            Arg::Dot(_) => return self.validate(pos, n, dot.clone(), p),
            Arg::Nil(_) => {
                if matches!(p, Param::Str | Param::Int | Param::Bool) {
                    return self.err(
                        At(pos, n),
                        format!("cannot assign nil to {}", param_type(p)),
                    );
                }
                return Ok(Value::Nil);
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    pos,
                    n,
                    idents,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(pos, n, v, p);
            }
            Arg::Variable { idents, .. } => {
                let v = self.var_value(pos, &idents[0])?;
                let v = if idents.len() > 1 {
                    self.eval_field_chain(
                        dot,
                        v,
                        pos,
                        n,
                        &idents[1..],
                        std::slice::from_ref(n),
                        None,
                    )?
                } else {
                    v
                };
                return self.validate(pos, n, v, p);
            }
            Arg::Pipe(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                return self.validate(pos, n, v, p);
            }
            Arg::Identifier { name, .. } => {
                let cmd = Command {
                    pos,
                    args: vec![n.clone()],
                };
                let v = self.eval_function(dot, pos, name, &cmd, None)?;
                return self.validate(pos, n, v, p);
            }
            Arg::Chain { node, fields, .. } => {
                let recv = self.eval_arg(dot, Param::Value, node)?;
                let v = self.eval_field_chain(
                    dot,
                    recv,
                    pos,
                    n,
                    fields,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(pos, n, v, p);
            }
            _ => {}
        }
        match (p, n) {
            (Param::Str, Arg::Str { text, .. }) => Ok(Value::str(text)),
            (Param::Str, _) => self.err(At(pos, n), format!("expected string; found {n}")),
            (Param::Int, Arg::Number(_, num)) if num.is_int => Ok(Value::Int(num.int)),
            (Param::Int, _) => self.err(At(pos, n), format!("expected integer; found {n}")),
            (Param::Bool, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Param::Bool, _) => self.err(At(pos, n), format!("expected bool; found {n}")),
            (Param::Map, _) => self.err(
                At(pos, n),
                format!("can't handle {n} for arg of type map[string]interface {{}}"),
            ),
            (_, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (_, Arg::Number(_, num)) => self.ideal_constant(pos, num),
            (_, Arg::Str { text, .. }) => Ok(Value::str(text)),
            _ => self.err(At(pos, n), format!("can't handle {n} for arg")),
        }
    }
}

fn param_type(p: Param) -> &'static str {
    match p {
        Param::Str => "string",
        Param::Int => "int",
        Param::Bool => "bool",
        Param::Map => "map[string]interface {}",
        Param::Value => "reflect.Value",
        Param::Any => "interface {}",
    }
}

fn param_at(sig: &Sig, i: usize) -> Param {
    if i < sig.fixed.len() {
        sig.fixed[i]
    } else {
        sig.variadic.unwrap_or(Param::Value)
    }
}

/// How an action prints its value: Go's `printableValue` then `fmt.Fprint`.
pub fn printable(v: &Value) -> Vec<u8> {
    match v {
        Value::Nil => b"<no value>".to_vec(),
        other => sprint(std::slice::from_ref(other), PrintMode::Print),
    }
}

/// An empty list of secrets, as a placeholder.
pub fn empty_secrets() -> Value {
    Value::List(Rc::new(Vec::new()), ElemType::Secret)
}
