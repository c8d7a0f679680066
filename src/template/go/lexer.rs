//! The lexer: a port of Go's `text/template/parse/lex.go` (Go 1.23) over raw bytes.
//! It produces the whole token stream up front; a lexing error becomes an `Error` item that
//! ends the stream, so the parser reports it exactly when it reaches it, as Go's does.

use super::unicode::{decode_rune, is_alphanumeric};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: Kind,
    /// Byte offset of the item in the source.
    pub pos: usize,
    pub val: Vec<u8>,
    /// 1-based line where the item starts.
    pub line: usize,
}

impl Item {
    /// How Go's parser names a token in "unexpected X" messages.
    pub fn describe(&self) -> String {
        let v = String::from_utf8_lossy(&self.val);
        match self.kind {
            Kind::Eof => "EOF".into(),
            Kind::Error => v.into_owned(),
            Kind::Block
            | Kind::Break
            | Kind::Continue
            | Kind::Dot
            | Kind::Define
            | Kind::Else
            | Kind::End
            | Kind::If
            | Kind::Nil
            | Kind::Range
            | Kind::Template
            | Kind::With => format!("<{v}>"),
            _ if self.val.len() > 10 => format!("{:?}...", v.chars().take(10).collect::<String>()),
            _ => format!("{v:?}"),
        }
    }
}

const LEFT: &[u8] = b"{{";
const RIGHT: &[u8] = b"}}";
const TRIM_LEN: usize = 2;

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn has_left_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space(s[1])
}

fn has_right_trim_marker(s: &[u8]) -> bool {
    s.len() >= 2 && is_space(s[0]) && s[1] == b'-'
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: i32,
    items: Vec<Item>,
}

/// Lexes `input` into items, ending with `Eof` or `Error`.
pub fn lex(input: &[u8]) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        items: Vec::new(),
    };
    l.run();
    l.items
}

type Step = Result<(), String>;

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        if self.pos >= self.input.len() {
            None
        } else {
            Some(decode_rune(&self.input[self.pos..]).0)
        }
    }

    fn next(&mut self) -> Option<(char, usize)> {
        if self.pos >= self.input.len() {
            return None;
        }
        let (r, w) = decode_rune(&self.input[self.pos..]);
        self.pos += w;
        Some((r, w))
    }

    fn backup(&mut self, w: usize) {
        self.pos -= w;
    }

    fn emit(&mut self, kind: Kind) {
        self.items.push(Item {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_vec(),
            line: self.start_line,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
        }
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &[u8]) -> bool {
        if self.pos < self.input.len() && valid.contains(&self.input[self.pos]) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn accept_run(&mut self, valid: &[u8]) {
        while self.accept(valid) {}
    }

    fn run(&mut self) {
        if let Err(msg) = self.lex_all() {
            self.items.push(Item {
                kind: Kind::Error,
                pos: self.start,
                val: msg.into_bytes(),
                line: self.start_line,
            });
        } else {
            let line = self.line;
            self.items.push(Item {
                kind: Kind::Eof,
                pos: self.pos,
                val: b"EOF".to_vec(),
                line,
            });
        }
    }

    fn lex_all(&mut self) -> Step {
        loop {
            // Text up to the next left delimiter.
            match find(&self.input[self.pos..], LEFT) {
                Some(x) => {
                    self.pos += x;
                    let delim_end = self.pos + LEFT.len();
                    let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                        let text = &self.input[self.start..self.pos];
                        text.len()
                            - text
                                .iter()
                                .rposition(|&c| !is_space(c))
                                .map_or(0, |i| i + 1)
                    } else {
                        0
                    };
                    self.pos -= trim;
                    if self.pos > self.start {
                        self.emit(Kind::Text);
                    }
                    self.pos += trim;
                    self.ignore();
                    self.lex_left_delim()?;
                }
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        self.emit(Kind::Text);
                    }
                    return Ok(());
                }
            }
        }
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.input[self.pos..];
        if has_right_trim_marker(rest) && rest[TRIM_LEN..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn skip_leading_space(&mut self) {
        while self.pos < self.input.len() && is_space(self.input[self.pos]) {
            self.pos += 1;
        }
        self.ignore();
    }

    fn lex_left_delim(&mut self) -> Step {
        self.pos += LEFT.len();
        let trim = has_left_trim_marker(&self.input[self.pos..]);
        let after = if trim { TRIM_LEN } else { 0 };
        if self.input[self.pos + after..].starts_with(b"/*") {
            self.pos += after;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Kind::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> Step {
        self.pos += 2;
        let Some(x) = find(&self.input[self.pos..], b"*/") else {
            return Err("unclosed comment".into());
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return Err("comment ends before closing delimiter".into());
        }
        self.emit(Kind::Comment);
        if trim {
            self.pos += TRIM_LEN;
        }
        self.pos += RIGHT.len();
        self.ignore();
        if trim {
            self.skip_leading_space();
        }
        Ok(())
    }

    fn lex_right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += TRIM_LEN;
            self.ignore();
        }
        self.pos += RIGHT.len();
        self.emit(Kind::RightDelim);
        if trim {
            self.skip_leading_space();
        }
    }

    fn lex_inside_action(&mut self) -> Step {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim(trim);
                    return Ok(());
                }
                return Err("unclosed left paren".into());
            }
            let Some((r, w)) = self.next() else {
                return Err("unclosed action".into());
            };
            match r {
                ' ' | '\t' | '\r' | '\n' => {
                    self.backup(w);
                    self.lex_space();
                }
                '=' => self.emit(Kind::Assign),
                ':' => {
                    if self.next().map(|x| x.0) != Some('=') {
                        return Err("expected :=".into());
                    }
                    self.emit(Kind::Declare);
                }
                '|' => self.emit(Kind::Pipe),
                '"' => self.lex_quote(b'"', "unterminated quoted string", Kind::String)?,
                '`' => self.lex_raw_quote()?,
                '$' => self.lex_field_or_variable(Kind::Variable)?,
                '\'' => {
                    self.lex_quote(b'\'', "unterminated character constant", Kind::CharConstant)?
                }
                '.' if self.pos < self.input.len() && !self.input[self.pos].is_ascii_digit() => {
                    self.lex_field_or_variable(Kind::Field)?
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.backup(w);
                    self.lex_number()?;
                }
                '(' => {
                    self.emit(Kind::LeftParen);
                    self.paren_depth += 1;
                }
                ')' => {
                    self.emit(Kind::RightParen);
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        return Err("unexpected right paren".into());
                    }
                }
                _ if is_alphanumeric(r) => {
                    self.backup(w);
                    self.lex_identifier()?;
                }
                _ if r.is_ascii() && !r.is_ascii_control() => self.emit(Kind::Char),
                _ => {
                    return Err(format!(
                        "unrecognized character in action: U+{:04X}",
                        r as u32
                    ))
                }
            }
        }
    }

    fn lex_space(&mut self) {
        let mut n = 0;
        while self.pos < self.input.len() && is_space(self.input[self.pos]) {
            self.pos += 1;
            n += 1;
        }
        // A space before a trim-marked closing delimiter belongs to the marker.
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[TRIM_LEN..].starts_with(RIGHT) {
            self.pos -= 1;
            if n == 1 {
                return;
            }
        }
        self.emit(Kind::Space);
    }

    fn at_terminator(&self) -> bool {
        match self.input.get(self.pos) {
            None => true,
            Some(&c) if is_space(c) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            _ => self.input[self.pos..].starts_with(RIGHT),
        }
    }

    fn lex_identifier(&mut self) -> Step {
        loop {
            match self.next() {
                Some((r, _)) if is_alphanumeric(r) => {}
                other => {
                    if let Some((_, w)) = other {
                        self.backup(w);
                    }
                    if !self.at_terminator() {
                        let r = self.peek().unwrap_or(' ');
                        return Err(format!("bad character U+{:04X}", r as u32));
                    }
                    let kind = match &self.input[self.start..self.pos] {
                        b"block" => Kind::Block,
                        b"break" => Kind::Break,
                        b"continue" => Kind::Continue,
                        b"define" => Kind::Define,
                        b"else" => Kind::Else,
                        b"end" => Kind::End,
                        b"if" => Kind::If,
                        b"range" => Kind::Range,
                        b"nil" => Kind::Nil,
                        b"template" => Kind::Template,
                        b"with" => Kind::With,
                        b"true" | b"false" => Kind::Bool,
                        _ => Kind::Identifier,
                    };
                    self.emit(kind);
                    return Ok(());
                }
            }
        }
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> Step {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return Ok(());
        }
        while let Some((r, w)) = self.next() {
            if !is_alphanumeric(r) {
                self.backup(w);
                break;
            }
        }
        if !self.at_terminator() {
            let r = self.peek().unwrap_or(' ');
            return Err(format!("bad character U+{:04X}", r as u32));
        }
        self.emit(kind);
        Ok(())
    }

    fn lex_quote(&mut self, quote: u8, unterminated: &str, kind: Kind) -> Step {
        loop {
            let Some(&c) = self.input.get(self.pos) else {
                return Err(unterminated.into());
            };
            self.pos += 1;
            if c == b'\\' {
                match self.input.get(self.pos) {
                    None | Some(b'\n') => return Err(unterminated.into()),
                    Some(_) => {
                        let (_, w) = decode_rune(&self.input[self.pos..]);
                        self.pos += w;
                    }
                }
            } else if c == b'\n' {
                return Err(unterminated.into());
            } else if c == quote {
                break;
            }
        }
        self.emit(kind);
        Ok(())
    }

    fn lex_raw_quote(&mut self) -> Step {
        match find(&self.input[self.pos..], b"`") {
            Some(x) => {
                self.pos += x + 1;
                self.emit(Kind::RawString);
                Ok(())
            }
            None => Err("unterminated raw quoted string".into()),
        }
    }

    fn lex_number(&mut self) -> Step {
        if !self.scan_number() {
            return Err(self.bad_number());
        }
        if matches!(self.input.get(self.pos), Some(b'+' | b'-')) {
            if !self.scan_number() || self.input[self.pos - 1] != b'i' {
                return Err(self.bad_number());
            }
            self.emit(Kind::Complex);
        } else {
            self.emit(Kind::Number);
        }
        Ok(())
    }

    fn bad_number(&self) -> String {
        format!(
            "bad number syntax: {:?}",
            String::from_utf8_lossy(&self.input[self.start..self.pos])
        )
    }

    fn scan_number(&mut self) -> bool {
        self.accept(b"+-");
        let mut digits: &[u8] = b"0123456789_";
        if self.accept(b"0") {
            if self.accept(b"xX") {
                digits = b"0123456789abcdefABCDEF_";
            } else if self.accept(b"oO") {
                digits = b"01234567_";
            } else if self.accept(b"bB") {
                digits = b"01_";
            }
        }
        self.accept_run(digits);
        if self.accept(b".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept(b"eE") {
            self.accept(b"+-");
            self.accept_run(b"0123456789_");
        }
        if digits.len() == 23 && self.accept(b"pP") {
            self.accept(b"+-");
            self.accept_run(b"0123456789_");
        }
        self.accept(b"i");
        if let Some(r) = self.peek() {
            if is_alphanumeric(r) {
                self.next();
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        lex(src.as_bytes())
            .into_iter()
            .map(|i| (i.kind, String::from_utf8_lossy(&i.val).into_owned()))
            .collect()
    }

    #[test]
    fn lexes_text_and_actions() {
        let k = kinds("a {{ .X | printf \"%s\" }} b");
        let names: Vec<Kind> = k.iter().map(|x| x.0).collect();
        assert_eq!(
            names,
            vec![
                Kind::Text,
                Kind::LeftDelim,
                Kind::Space,
                Kind::Field,
                Kind::Space,
                Kind::Pipe,
                Kind::Space,
                Kind::Identifier,
                Kind::Space,
                Kind::String,
                Kind::Space,
                Kind::RightDelim,
                Kind::Text,
                Kind::Eof
            ]
        );
    }

    #[test]
    fn trim_markers_remove_ascii_space_only() {
        let k = kinds("a \u{a0} \n{{- 1 -}}\n\t b");
        assert_eq!(k[0], (Kind::Text, "a \u{a0}".into()));
        assert_eq!(k.last().unwrap().0, Kind::Eof);
        assert_eq!(k[k.len() - 2], (Kind::Text, "b".into()));
    }

    #[test]
    fn negative_number_is_not_a_trim_marker() {
        let k = kinds("x {{-3}}");
        assert_eq!(k[0], (Kind::Text, "x ".into()));
        assert_eq!(k[2], (Kind::Number, "-3".into()));
    }

    #[test]
    fn comment_rules() {
        assert_eq!(kinds("{{/* c */}}x")[0].0, Kind::Comment);
        assert_eq!(kinds("{{- /* c */ -}} x")[1], (Kind::Text, "x".into()));
        assert_eq!(
            kinds("{{/* c */ }}").last().unwrap().1,
            "comment ends before closing delimiter"
        );
        assert_eq!(kinds("{{/* c }}").last().unwrap().1, "unclosed comment");
        assert_eq!(kinds("{{/* }} */}}")[0].0, Kind::Comment);
    }

    #[test]
    fn numbers_and_errors() {
        assert_eq!(
            kinds("{{3-}}").last().unwrap().1,
            "bad number syntax: \"3-\""
        );
        assert_eq!(kinds("{{ 1+2i }}")[2], (Kind::Complex, "1+2i".into()));
        assert_eq!(kinds("{{ 0x1F }}")[2], (Kind::Number, "0x1F".into()));
        assert_eq!(
            kinds("{{ \"abc }}").last().unwrap().1,
            "unterminated quoted string"
        );
        assert_eq!(
            kinds("{{ 'a }}").last().unwrap().1,
            "unterminated character constant"
        );
        assert_eq!(kinds("{{ x").last().unwrap().1, "unclosed action");
    }

    #[test]
    fn keywords_fields_variables() {
        let k = kinds("{{range $i, $e := .A.B}}{{end}}");
        assert_eq!(k[1].0, Kind::Range);
        assert_eq!(k[3], (Kind::Variable, "$i".into()));
        assert_eq!(k[4], (Kind::Char, ",".into()));
        assert!(k.contains(&(Kind::Field, ".A".into())));
        assert!(k.contains(&(Kind::Field, ".B".into())));
        assert!(k.contains(&(Kind::End, "end".into())));
    }

    #[test]
    fn lines_are_tracked() {
        let items = lex(b"a\nb{{\n.X}}");
        let field = items.iter().find(|i| i.kind == Kind::Field).unwrap();
        assert_eq!(field.line, 3);
    }
}
