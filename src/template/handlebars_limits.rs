//! Static limits on a Handlebars template, checked when it is compiled (so `kms agent validate`
//! reports them too). The handlebars crate renders by recursion and has no depth limit of its
//! own: a partial that includes itself, directly or through others, or blocks nested thousands
//! deep, overflow the thread's stack, and a stack overflow aborts the whole process, which no
//! supervisor can catch. So the agent refuses, with an error naming the template:
//!
//! - blocks, `else` chains and partial calls nested deeper than [`MAX_NESTING`], counted through
//!   the partials a template calls (a partial's own nesting adds to its caller's);
//! - a partial that can reach itself;
//! - partial names computed at render time (`{{> (lookup ...)}}`), which cannot be checked, and
//!   calls to partials the template does not define (there is no other source of partials);
//! - more than [`MAX_PARTIAL_EXPANSIONS`] partial renders implied by the text alone (each level
//!   calling the next twice doubles them).
//!
//! Partial blocks (`{{#> p}}...{{/p}}`) and `{{> @partial-block}}` are counted conservatively: the
//! block's own calls are its caller's, and `@partial-block` stands for any block in the template.

use std::collections::HashMap;

use handlebars::template::{DecoratorTemplate, Parameter, Template, TemplateElement};

/// Deepest nesting of blocks and partial calls a template may have. A render at this depth
/// uses a small fraction of a runtime worker's 2 MiB stack, in a debug build too (unit test).
pub const MAX_NESTING: usize = 64;

/// Most partial renders a template's text may imply.
pub const MAX_PARTIAL_EXPANSIONS: u64 = 10_000;

/// The name `{{> @partial-block}}` calls.
const PARTIAL_BLOCK: &str = "@partial-block";

/// Checks the raw text before parsing: the parser recurses once per nested block, so a source of
/// 100,000 nested `{{#if}}` would overflow the stack inside `Template::compile` itself. Counts
/// block openings against closings, and parentheses within one `{{ }}` (nested subexpressions);
/// over-counts rather than under-counts (`{{#` inside a raw block counts too).
pub fn check_source(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while let Some(at) = find(bytes, i, b"{{") {
        let mut j = at + 2;
        while j < bytes.len() && matches!(bytes[j], b'{' | b'~') {
            j += 1;
        }
        match bytes.get(j) {
            Some(b'#') => depth += 1,
            // `{{^name}}` opens an inverted block; a bare `{{^}}` is an `else`.
            Some(b'^') if !matches!(next_non_space(bytes, j + 1), Some(b'}' | b'~')) => depth += 1,
            Some(b'/') => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(format!(
                "blocks nested deeper than {MAX_NESTING} (line {})",
                line_of(bytes, at)
            ));
        }
        let end = find(bytes, j, b"}}").unwrap_or(bytes.len());
        let (mut parens, mut deepest) = (0usize, 0usize);
        for &b in &bytes[j..end] {
            match b {
                b'(' => {
                    parens += 1;
                    deepest = deepest.max(parens);
                }
                b')' => parens = parens.saturating_sub(1),
                _ => {}
            }
        }
        if deepest > MAX_NESTING {
            return Err(format!(
                "subexpressions nested deeper than {MAX_NESTING} (line {})",
                line_of(bytes, at)
            ));
        }
        i = end;
    }
    Ok(())
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn next_non_space(bytes: &[u8], from: usize) -> Option<u8> {
    bytes
        .get(from..)?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

fn line_of(bytes: &[u8], at: usize) -> usize {
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count()
}

/// What one body (the template's top level, or one inline partial) does, statically.
#[derive(Default)]
struct Body {
    /// Partial calls, each with the block nesting it sits at within the body.
    calls: Vec<(String, usize)>,
    /// Deepest block nesting within the body, not counting partials.
    nesting: usize,
}

/// Checks the parsed template's partials and nesting (see the module documentation).
pub fn check_template(template: &Template) -> Result<(), String> {
    let mut bodies: HashMap<String, Body> = HashMap::new();
    let mut root = Body::default();
    collect(template, 0, &mut root, &mut bodies)?;
    // Every block passed to a partial is rendered where `@partial-block` is called: stand for
    // all of them by one body holding all their calls (already counted in their callers too).
    if let Some(blocks) = bodies.get(PARTIAL_BLOCK) {
        if blocks.calls.iter().any(|(name, _)| name == PARTIAL_BLOCK) {
            return Err("a partial block that renders `@partial-block` can include itself".into());
        }
    }
    let mut memo: HashMap<String, (usize, u64)> = HashMap::new();
    let mut path = vec![];
    let (depth, expansions) = measure(&root, &bodies, &mut memo, &mut path)?;
    if depth > MAX_NESTING {
        return Err(format!(
            "blocks and partial calls nested deeper than {MAX_NESTING}"
        ));
    }
    if expansions > MAX_PARTIAL_EXPANSIONS {
        return Err(format!(
            "the partials would be rendered more than {MAX_PARTIAL_EXPANSIONS} times"
        ));
    }
    Ok(())
}

/// Walks `template` at block `depth`, recording calls and nesting in `body` and inline partial
/// definitions in `bodies`. The walk's own recursion is bounded by [`check_source`].
fn collect(
    template: &Template,
    depth: usize,
    body: &mut Body,
    bodies: &mut HashMap<String, Body>,
) -> Result<(), String> {
    body.nesting = body.nesting.max(depth);
    for element in &template.elements {
        match element {
            TemplateElement::HelperBlock(h) => {
                for t in [&h.template, &h.inverse].into_iter().flatten() {
                    collect(t, depth + 1, body, bodies)?;
                }
            }
            TemplateElement::DecoratorBlock(d) | TemplateElement::DecoratorExpression(d) => {
                if decorator_name(d).as_deref() == Some("inline") {
                    let name = inline_name(d)?;
                    let mut inline = bodies.remove(&name).unwrap_or_default();
                    if let Some(t) = &d.template {
                        collect(t, 0, &mut inline, bodies)?;
                    }
                    bodies.insert(name, inline);
                } else if let Some(t) = &d.template {
                    collect(t, depth + 1, body, bodies)?;
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let name = partial_name(d)?;
                body.calls.push((name, depth));
                if let Some(t) = &d.template {
                    // The block is rendered inside the partial: its calls count here (one level
                    // deeper) and wherever `@partial-block` is rendered.
                    collect(t, depth + 1, body, bodies)?;
                    let mut blocks = bodies.remove(PARTIAL_BLOCK).unwrap_or_default();
                    collect(t, 0, &mut blocks, bodies)?;
                    bodies.insert(PARTIAL_BLOCK.into(), blocks);
                }
            }
            // Text, expressions and comments call no partials (subexpressions are helpers).
            _ => {}
        }
    }
    Ok(())
}

/// The deepest nesting and the number of partial renders of `body`, through the partials it
/// calls; `path` holds the partials being measured, so a cycle is found.
fn measure(
    body: &Body,
    bodies: &HashMap<String, Body>,
    memo: &mut HashMap<String, (usize, u64)>,
    path: &mut Vec<String>,
) -> Result<(usize, u64), String> {
    let (mut depth, mut expansions) = (body.nesting, 0u64);
    for (name, at) in &body.calls {
        let (inner_depth, inner_expansions) = match memo.get(name) {
            Some(known) => *known,
            None => {
                if path.contains(name) {
                    return Err(format!("partial \"{name}\" can include itself"));
                }
                let Some(inner) = bodies.get(name) else {
                    // `@partial-block` with no block anywhere renders nothing.
                    if name == PARTIAL_BLOCK {
                        continue;
                    }
                    return Err(format!(
                        "partial \"{name}\" is not defined in the template (only inline \
                         partials can be used)"
                    ));
                };
                if path.len() > MAX_NESTING {
                    return Err(format!("partial calls nested deeper than {MAX_NESTING}"));
                }
                path.push(name.clone());
                let measured = measure(inner, bodies, memo, path)?;
                path.pop();
                memo.insert(name.clone(), measured);
                measured
            }
        };
        depth = depth.max(at + 1 + inner_depth);
        expansions = expansions
            .saturating_add(1)
            .saturating_add(inner_expansions);
    }
    Ok((depth, expansions))
}

fn decorator_name(d: &DecoratorTemplate) -> Option<String> {
    match &d.name {
        Parameter::Name(n) => Some(n.clone()),
        _ => None,
    }
}

/// The name an `{{#*inline "name"}}` defines: it must be a literal, to be checked.
fn inline_name(d: &DecoratorTemplate) -> Result<String, String> {
    match d.params.first() {
        Some(Parameter::Literal(serde_json::Value::String(s))) => Ok(s.clone()),
        _ => Err("an inline partial's name must be a literal string".into()),
    }
}

/// The name a partial call uses: a literal, to be checked.
fn partial_name(d: &DecoratorTemplate) -> Result<String, String> {
    match &d.name {
        Parameter::Name(n) => Ok(unquote(n).to_string()),
        Parameter::Literal(serde_json::Value::String(s)) => Ok(s.clone()),
        _ => Err("a partial's name must be written in the template, not computed".into()),
    }
}

/// `[name]` and `'name'` spell `name`.
fn unquote(n: &str) -> &str {
    n.strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .or_else(|| n.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::handlebars::HandlebarsEngine;
    use crate::template::{RenderOutcome, Snapshot, TemplateEngine};

    fn compile_error(src: &str) -> String {
        match HandlebarsEngine.compile("t.hbs", src.as_bytes()) {
            Ok(_) => panic!("compiled: {src:.80}"),
            Err(e) => e.message,
        }
    }

    fn rendered(src: &str) -> String {
        let t = HandlebarsEngine.compile("t.hbs", src.as_bytes()).unwrap();
        match t.render(&Snapshot::new()).unwrap() {
            RenderOutcome::Done(b) => String::from_utf8(b).unwrap(),
            RenderOutcome::NeedData(_) => panic!("needs data"),
        }
    }

    #[test]
    fn partials_that_can_include_themselves_are_refused() {
        for src in [
            r#"{{#*inline "p"}}x{{> p}}{{/inline}}{{> p}}"#,
            r#"{{#*inline "p"}}{{#if true}}{{> q}}{{/if}}{{/inline}}{{#*inline "q"}}{{> p}}{{/inline}}{{> q}}"#,
            r#"{{#*inline "w"}}{{> @partial-block}}{{/inline}}{{#> w}}{{#> w}}{{> @partial-block}}{{/w}}{{/w}}"#,
        ] {
            let e = compile_error(src);
            assert!(
                e.contains("t.hbs") && e.contains("include itself"),
                "{src}: {e}"
            );
        }
    }

    #[test]
    fn partials_without_cycles_render() {
        assert_eq!(
            rendered(
                r#"{{#*inline "p"}}[{{> q}}]{{/inline}}{{#*inline "q"}}q{{/inline}}{{> p}}{{> p}}"#
            ),
            "[q][q]"
        );
        assert_eq!(
            rendered(r#"{{#*inline "w"}}<{{> @partial-block}}>{{/inline}}{{#> w}}in{{/w}}"#),
            "<in>"
        );
    }

    #[test]
    fn unknown_and_computed_partial_names_are_refused() {
        assert!(compile_error("{{> nowhere}}").contains("not defined"));
        let e = compile_error(r#"{{> (lookup this "x")}}"#);
        assert!(e.contains("computed"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing_and_the_limit_itself_renders() {
        let deep = |n: usize| "{{#if true}}".repeat(n) + "x" + &"{{/if}}".repeat(n);
        // 100,000 levels overflowed the stack inside the parser (an abort, not an error).
        assert!(compile_error(&deep(100_000)).contains("nested deeper than 64"));
        let parens = format!("{{{{{}x{}}}}}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(compile_error(&parens).contains("subexpressions nested deeper"));
        assert!(compile_error(&"{{^x}}".repeat(65)).contains("nested deeper"));
        // At the limit, rendering fits on a small thread stack, in a debug build too.
        let at_limit = deep(MAX_NESTING);
        let out = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || rendered(&at_limit))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(out, "x");
    }

    #[test]
    fn partial_chains_count_toward_nesting_and_expansions() {
        // p0 calls p1 ... each partial nests one block: 40 partials are 80 levels.
        let mut src = String::new();
        for i in 0..40 {
            src += &format!(
                r#"{{{{#*inline "p{i}"}}}}{{{{#if true}}}}{{{{> p{}}}}}{{{{/if}}}}{{{{/inline}}}}"#,
                i + 1
            );
        }
        src += r#"{{#*inline "p40"}}x{{/inline}}{{> p0}}"#;
        assert!(
            compile_error(&src).contains("nested deeper than 64"),
            "{}",
            compile_error(&src)
        );
        // Each of 20 levels calls the next twice: 2^20 renders from a few hundred bytes.
        let mut src = String::new();
        for i in 0..20 {
            src += &format!(
                r#"{{{{#*inline "d{i}"}}}}{{{{> d{n}}}}}{{{{> d{n}}}}}{{{{/inline}}}}"#,
                n = i + 1
            );
        }
        src += r#"{{#*inline "d20"}}x{{/inline}}{{> d0}}"#;
        assert!(compile_error(&src).contains("more than 10000 times"));
    }
}
