//! A Go `text/template` engine written in Rust, rendering byte for byte as Go 1.23 does for the
//! agent's templates (see `tests/fixtures/gotemplate/`, the golden corpus that specifies it).
//!
//! Pipeline: [`lexer`] → [`parser`] (with Go's parse-time checks) → [`exec`] over [`value`]s,
//! printing through a port of Go's [`fmt`]. The agent's functions live in [`agent`], the common
//! Sprig functions in [`sprig`].
//!
//! Limits (Go has none of these but its 100000-deep `template` recursion): parentheses and
//! control blocks nest at most [`parser::MAX_NESTING`] deep in one template, template calls plus
//! nested blocks and pipelines at most [`MAX_DEPTH`] deep at run time (inside the render threads'
//! [`crate::template::RENDER_STACK_BYTES`] even in debug builds), output is capped at [`MAX_OUTPUT`] bytes and a render evaluates at most
//! [`exec::MAX_STEPS`] nodes.

pub(crate) mod agent;
mod ast;
mod builtins;
mod capacity;
mod eval;
mod exec;
mod fmt;
mod fmt_number;
mod lexer;
mod literal;
mod nondeterministic;
mod parser;
mod sprig;
mod sprig_crypto;
mod sprig_dates;
mod sprig_dicts;
mod sprig_encoding;
mod sprig_json;
mod sprig_lists;
mod sprig_numbers;
mod sprig_regex;
mod sprig_semver;
mod sprig_strings;
mod sprig_time;
mod strconv;
mod unicode;
mod unicode_tables;
mod value;

use std::sync::Arc;

use self::ast::{Arg, List, Node, Pipe};
use self::parser::TreeSet;
use self::value::Value;
use super::{
    CompiledTemplate, DataRequest, DataSource, RenderError, RenderOutcome, TemplateEngine,
    TemplateError,
};

pub use self::exec::{MAX_DEPTH, MAX_OUTPUT};

/// The Go-template engine.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoEngine;

impl TemplateEngine for GoEngine {
    fn compile(
        &self,
        name: &str,
        source: &[u8],
    ) -> Result<Box<dyn CompiledTemplate>, TemplateError> {
        Ok(Box::new(GoTemplate::parse(name, source)?))
    }
}

/// A parsed Go template set (the main template plus its `define`s and `block`s).
#[derive(Debug, Clone)]
pub struct GoTemplate {
    name: String,
    source: Arc<[u8]>,
    trees: Arc<TreeSet>,
}

impl GoTemplate {
    /// Parses `source`; `name` is the template's name in messages (Go uses the file's base name).
    pub fn parse(name: &str, source: &[u8]) -> Result<Self, TemplateError> {
        let trees = parser::parse(name, source, &builtins::has_function).map_err(|e| {
            // Go's message has no column; the field still gets the token's (1-based) column.
            let pos = e.pos.min(source.len());
            let line_start = source[..pos]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| i + 1);
            TemplateError {
                message: e.message,
                line: Some(e.line),
                column: Some(pos - line_start + 1),
            }
        })?;
        Ok(GoTemplate {
            name: name.to_string(),
            source: Arc::from(source),
            trees: Arc::new(trees),
        })
    }
}

impl CompiledTemplate for GoTemplate {
    fn render(&self, data: &dyn DataSource) -> Result<RenderOutcome, RenderError> {
        let mut state = exec::State::new(&self.trees, &self.name, &self.source, data);
        let result = state.run();
        if !state.missing.is_empty() {
            // Errors may come from placeholders standing in for missing data: fetch first.
            return Ok(RenderOutcome::NeedData(std::mem::take(&mut state.missing)));
        }
        match result {
            Ok(()) => Ok(RenderOutcome::Done(std::mem::take(&mut state.out))),
            Err(e) => Err(RenderError { message: e.0 }),
        }
    }

    fn is_deterministic(&self) -> bool {
        !self.trees.values().any(nondeterministic::calls_any)
    }

    fn literal_requests(&self) -> Vec<DataRequest> {
        let mut found: Vec<(usize, DataRequest)> = Vec::new();
        for list in self.trees.values() {
            collect_list(list, &mut found);
        }
        found.sort_by_key(|(pos, _)| *pos);
        let mut out: Vec<DataRequest> = Vec::new();
        for (_, r) in found {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

fn collect_list(list: &List, found: &mut Vec<(usize, DataRequest)>) {
    for node in list {
        match node {
            Node::Action(p) => collect_pipe(p, found),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                collect_pipe(&b.pipe, found);
                collect_list(&b.list, found);
                if let Some(e) = &b.else_list {
                    collect_list(e, found);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    collect_pipe(p, found);
                }
            }
            Node::Text(_) | Node::Break | Node::Continue => {}
        }
    }
}

fn collect_pipe(pipe: &Pipe, found: &mut Vec<(usize, DataRequest)>) {
    for (i, cmd) in pipe.cmds.iter().enumerate() {
        for arg in &cmd.args {
            collect_arg(arg, found);
        }
        // A later pipeline stage also receives the previous value: not all-literal.
        if i > 0 {
            continue;
        }
        let Some(Arg::Identifier { pos, name }) = cmd.args.first() else {
            continue;
        };
        let Some(f) = agent::lookup(name) else {
            continue;
        };
        let mut values = Vec::new();
        for a in &cmd.args[1..] {
            match a {
                Arg::Str { text, .. } => values.push(Value::str(text)),
                _ => break,
            }
        }
        if values.len() != cmd.args.len() - 1 {
            continue;
        }
        let Some((sig, _)) = builtins::lookup(name) else {
            continue;
        };
        let count_ok = if sig.variadic.is_some() {
            values.len() >= sig.fixed.len()
        } else {
            values.len() == sig.fixed.len()
        };
        if !count_ok {
            continue;
        }
        if let Ok(r) = agent::request_for(f, &values) {
            found.push((*pos, r));
        }
    }
}

fn collect_arg(arg: &Arg, found: &mut Vec<(usize, DataRequest)>) {
    match arg {
        Arg::Pipe(p) => collect_pipe(p, found),
        Arg::Chain { node, .. } => collect_arg(node, found),
        _ => {}
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sprig_tests;
