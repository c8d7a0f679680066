//! The executor: walks a parsed template set the way Go's `text/template/exec.go` does
//! (variable scoping, range/with/if, template calls, pipelines with the pipeline value as the
//! last argument, field chains, Go's argument typing and error messages).

use std::collections::HashMap;
use std::rc::Rc;

use super::ast::{Branch, List, Node, Pipe, TemplateCall};
use super::fmt::{sprint, PrintMode};
use super::parser::TreeSet;
use super::value::{ElemType, MapRef, Value};
use crate::template::data::{DataRequest, DataSource};

/// Nested template calls, control blocks and parenthesised pipelines share this depth budget,
/// which keeps execution well inside the native stack whatever the template does.
pub const MAX_DEPTH: usize = 200;
/// Largest output a render may produce.
pub const MAX_OUTPUT: usize = 64 << 20;
/// Most nodes one render may evaluate (stops runaway loops such as `range 1000000000`).
pub const MAX_STEPS: u64 = 10_000_000;

/// Most bytes of new values (strings, lists, maps) the functions of one render may build, in
/// all: stops growth bombs (a string doubled by `print` in a loop, `splitList` of a `repeat`)
/// that stay under the step and output limits but would take gigabytes. Values a function
/// returns unchanged (an argument, a field, fetched data) are shared, not built, and not counted.
pub const MAX_BUILT_BYTES: u64 = 256 << 20;

/// An execution error carrying Go's full message.
#[derive(Debug)]
pub struct ExecError(pub String);

pub(super) type EResult<T> = Result<T, ExecError>;

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
    /// Bytes of new values built so far (see [`MAX_BUILT_BYTES`]).
    built: u64,
    /// The spare capacity of lists made by `slice` in this render (see [`super::builtins`]).
    pub(super) spare: super::builtins::SpareCapacity,
    pub out: Vec<u8>,
    pub data: &'a dyn DataSource,
    pub missing: Vec<DataRequest>,
    /// Secret lists and secrets already converted in this render, by request: a call inside a
    /// loop converts (and sorts) its answer once. Only immutable values: the credentials map of
    /// `dynamic_secret` can be changed by Sprig's `set`, so each call gets its own.
    pub converted: HashMap<DataRequest, Value>,
    /// Maps that `set` or `merge` wrote into during this render (see [`State::wrote_into`]).
    written: HashMap<*const (), MapRef>,
}

/// A map that holds itself (`set $m "self" $m`, or through a list or another map) is a cycle of
/// `Rc`s that would never be freed: every render would leak it. No value outlives its render, so
/// at the end the maps written into are emptied, which breaks every such cycle.
impl Drop for State<'_> {
    fn drop(&mut self) {
        for map in std::mem::take(&mut self.written).into_values() {
            // Taken out first and dropped after the borrow ends: their drop may reach `map`.
            let entries = map.try_borrow_mut().map(|mut m| std::mem::take(&mut *m));
            drop(entries);
        }
    }
}

/// A node position plus its text, for `at <...>` in messages.
pub(super) struct At<'n>(pub usize, pub &'n dyn std::fmt::Display);

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
            built: 0,
            out: Vec::new(),
            data,
            missing: Vec::new(),
            spare: Default::default(),
            converted: HashMap::new(),
            written: HashMap::new(),
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

    pub(super) fn err<T>(&self, at: At<'_>, msg: impl AsRef<str>) -> EResult<T> {
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

    pub(super) fn step(&mut self, pos: usize) -> EResult<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return self.err(
                At(pos, &"..."),
                format!("template evaluates more than {MAX_STEPS} nodes"),
            );
        }
        Ok(())
    }

    /// Notes that a function stored values into `map`, an existing map (emptied when the render
    /// ends). Once per map: a `set` in a loop adds nothing after the first.
    pub(super) fn wrote_into(&mut self, map: &MapRef) {
        self.written
            .entry(Rc::as_ptr(map).cast())
            .or_insert_with(|| map.clone());
    }

    /// Counts what a function returned against [`MAX_BUILT_BYTES`].
    pub(super) fn charge(&mut self, value: &Value) -> Result<(), String> {
        self.charge_bytes(value.new_bytes())
    }

    /// Counts bytes a function added in place (a new entry `set` put in an existing map).
    pub(super) fn charge_bytes(&mut self, bytes: u64) -> Result<(), String> {
        self.built = self.built.saturating_add(bytes);
        if self.built > MAX_BUILT_BYTES {
            return Err(format!(
                "the template's functions built more than {} MiB of values in one render",
                MAX_BUILT_BYTES >> 20
            ));
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
            Value::Map(m) | Value::StrMap(m) => {
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
            // Go 1.23 cannot range over an integer (that came with Go 1.24).
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

    pub(super) fn var_value(&self, pos: usize, name: &str) -> EResult<Value> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Snapshot;

    /// The maps the template left in its top-level variables, held weakly.
    fn maps_left_by(src: &str) -> Vec<std::rc::Weak<<MapRef as std::ops::Deref>::Target>> {
        let trees =
            super::super::parser::parse("t", src.as_bytes(), &super::super::builtins::has_function)
                .unwrap();
        let data = Snapshot::new();
        let mut state = State::new(&trees, "t", src.as_bytes(), &data);
        state.run().unwrap();
        let maps = state
            .vars
            .iter()
            .filter_map(|(_, v)| match v {
                Value::Map(m) => Some(Rc::downgrade(m)),
                _ => None,
            })
            .collect();
        drop(state);
        maps
    }

    #[test]
    fn maps_that_hold_themselves_are_freed_when_the_render_ends() {
        for src in [
            r#"{{ $m := dict }}{{ $_ := set $m "self" $m }}"#,
            r#"{{ $m := dict }}{{ $_ := set $m "l" (list 1 $m) }}"#,
            r#"{{ $m := dict }}{{ $n := dict "m" $m }}{{ $_ := set $m "n" $n }}"#,
            r#"{{ $m := dict }}{{ $_ := merge $m (dict "self" $m) }}"#,
            r#"{{ $m := dict }}{{ $_ := mergeOverwrite $m (dict "self" $m) }}"#,
        ] {
            let maps = maps_left_by(src);
            assert!(!maps.is_empty(), "{src}");
            assert!(
                maps.iter().all(|m| m.upgrade().is_none()),
                "leaked by {src}"
            );
        }
    }
}
