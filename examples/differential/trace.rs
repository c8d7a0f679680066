//! Sub-expressions of a template segment, for tracing a difference that a function hides: `len`
//! of a differing string, or a hash of it, differs in a way that no longer says why. Rendering
//! each parenthesised argument and each pipeline's leading commands on its own finds the part
//! where the difference shows as what it is.

/// The parenthesised sub-expressions of `segment`, innermost first, then the leading commands
/// of each pipeline with more than one (`a | b | c` gives `a | b` and `a`), each as an action
/// (`{{ ... }}`) ready to render. Quoted text (`"..."`, `'...'`, `` `...` ``) is skipped.
pub fn sub_expressions(segment: &str) -> Vec<String> {
    let b = segment.as_bytes();
    let mut opened = Vec::new();
    // Where each pipe sits, with the paren depth and where its pipeline starts.
    let mut starts = vec![0usize];
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if q != b'`' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' if b[i..].starts_with(b"{{") => {
                i += 1;
                let skip_trim = b[i + 1..].starts_with(b"- ");
                starts.push(i + 1 + if skip_trim { 1 } else { 0 });
            }
            b'}' if b[i..].starts_with(b"}}") => {
                i += 1;
                starts.pop();
            }
            b'(' => {
                opened.push(i);
                starts.push(i + 1);
            }
            b')' => {
                if let Some(open) = opened.pop() {
                    found.push(segment[open + 1..i].to_string());
                }
                starts.pop();
            }
            b'|' => {
                if let Some(&start) = starts.last() {
                    found.push(segment[start..i].to_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
        .into_iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .map(|e| format!("{{{{ {e} }}}}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sub_expressions;

    #[test]
    fn finds_arguments_and_pipeline_heads() {
        assert_eq!(
            sub_expressions(r#"{{- len (printf "%d)" (toDate "a" "b") | upper) }}"#),
            [
                r#"{{ toDate "a" "b" }}"#,
                r#"{{ printf "%d)" (toDate "a" "b") }}"#,
                r#"{{ printf "%d)" (toDate "a" "b") | upper }}"#,
            ]
        );
        assert_eq!(
            sub_expressions("{{ list 1 | toJson | len }}"),
            ["{{ list 1 }}", "{{ list 1 | toJson }}"]
        );
    }
}
