//! Text that came from outside the agent (command output, server messages, paths), made safe to
//! put in a log line: every control character, including newlines and ESC, is written as an escape
//! (`\n`, `\x1b`, `\u{85}`), so no outside text can forge a log line or drive a terminal; bytes
//! that are not UTF-8 become `\xNN`.

use std::fmt::Write as _;

/// `bytes` as one printable line: control and invalid bytes escaped, `\` doubled.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                // C1 controls, line/paragraph separators and bidi overrides can also reorder or
                // split what a reader sees.
                c if ('\u{80}'..='\u{9f}').contains(&c)
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
                {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_cannot_forge_a_line_or_reach_a_terminal() {
        assert_eq!(
            escape(b"ok\nlevel=ERROR fake\x1b[31m\r\t\\"),
            "ok\\nlevel=ERROR fake\\x1b[31m\\r\\t\\\\"
        );
        assert_eq!(
            escape("a\u{85}b\u{2028}c\u{202e}".as_bytes()),
            "a\\u{85}b\\u{2028}c\\u{202e}"
        );
    }

    #[test]
    fn invalid_utf8_is_shown_as_hex_and_unicode_is_kept() {
        assert_eq!(escape(b"caf\xc3\xa9 \xff\xfe!"), "café \\xff\\xfe!");
        assert_eq!(escape("ünï 🔑".as_bytes()), "ünï 🔑");
    }
}
