//! Random Go templates for the differential harness.
//!
//! A template is a list of [`Segment`]s, each complete on its own (its variables, `define`s and
//! blocks do not reach into other segments), so a difference can be traced to the segment that
//! shows it alone. Numbers stay small: the aim is to reach every branch of the two engines, not
//! their limits (those are tested in `make test`).

use rand::rngs::StdRng;
use rand::{Rng, RngCore};

/// One self-contained piece of a template and the construct it exercises.
pub struct Segment {
    pub text: String,
    pub class: String,
}

/// What a function's argument should be (a wrong kind is sometimes given on purpose).
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Float,
    Bool,
    List,
    Map,
    Any,
    /// A regular expression.
    Regex,
    /// A version or a semver constraint.
    Version,
    /// A date layout or value.
    Date,
}

use Kind::*;

/// Deterministic functions the templates call: a name and its parameters (`None` after the
/// fixed ones means "variadic over Any").
const FUNCTIONS: &[(&str, &[Kind], bool)] = &[
    // Go's builtins.
    ("print", &[], true),
    ("println", &[], true),
    ("len", &[Any], false),
    ("index", &[Any, Int], false),
    ("slice", &[Any, Int, Int], false),
    ("not", &[Any], false),
    ("html", &[Any], true),
    ("js", &[Any], true),
    ("urlquery", &[Any], true),
    // Sprig strings.
    ("upper", &[Str], false),
    ("lower", &[Str], false),
    ("title", &[Str], false),
    ("untitle", &[Str], false),
    ("trim", &[Str], false),
    ("trimAll", &[Str, Str], false),
    ("trimPrefix", &[Str, Str], false),
    ("trimSuffix", &[Str, Str], false),
    ("trimall", &[Str, Str], false),
    ("contains", &[Str, Str], false),
    ("hasPrefix", &[Str, Str], false),
    ("hasSuffix", &[Str, Str], false),
    ("repeat", &[Int, Str], false),
    ("substr", &[Int, Int, Str], false),
    ("trunc", &[Int, Str], false),
    ("abbrev", &[Int, Str], false),
    ("abbrevboth", &[Int, Int, Str], false),
    ("initials", &[Str], false),
    ("swapcase", &[Str], false),
    ("snakecase", &[Str], false),
    ("camelcase", &[Str], false),
    ("kebabcase", &[Str], false),
    ("wrap", &[Int, Str], false),
    ("wrapWith", &[Int, Str, Str], false),
    ("nospace", &[Str], false),
    ("replace", &[Str, Str, Str], false),
    ("plural", &[Str, Str, Int], false),
    ("quote", &[], true),
    ("squote", &[], true),
    ("cat", &[], true),
    ("indent", &[Int, Str], false),
    ("nindent", &[Int, Str], false),
    ("split", &[Str, Str], false),
    ("splitList", &[Str, Str], false),
    ("splitn", &[Str, Int, Str], false),
    ("join", &[Str, Any], false),
    ("toString", &[Any], false),
    ("toStrings", &[Any], false),
    ("toJson", &[Any], false),
    ("toPrettyJson", &[Any], false),
    ("toRawJson", &[Any], false),
    ("fromJson", &[Str], false),
    ("b64enc", &[Str], false),
    ("b64dec", &[Str], false),
    ("b32enc", &[Str], false),
    ("b32dec", &[Str], false),
    ("sha1sum", &[Str], false),
    ("sha256sum", &[Str], false),
    ("adler32sum", &[Str], false),
    // Regular expressions.
    ("regexMatch", &[Regex, Str], false),
    ("mustRegexMatch", &[Regex, Str], false),
    ("regexFind", &[Regex, Str], false),
    ("mustRegexFind", &[Regex, Str], false),
    ("regexFindAll", &[Regex, Str, Int], false),
    ("regexReplaceAll", &[Regex, Str, Str], false),
    ("regexReplaceAllLiteral", &[Regex, Str, Str], false),
    ("regexSplit", &[Regex, Str, Int], false),
    ("regexQuoteMeta", &[Str], false),
    // Numbers.
    ("add", &[Any, Any], true),
    ("add1", &[Any], false),
    ("sub", &[Any, Any], false),
    ("mul", &[Any, Any], true),
    ("div", &[Any, Any], false),
    ("mod", &[Any, Any], false),
    ("max", &[Any], true),
    ("min", &[Any], true),
    ("addf", &[Any, Any], true),
    ("subf", &[Any, Any], true),
    ("mulf", &[Any, Any], true),
    ("divf", &[Any, Any], true),
    ("maxf", &[Any], true),
    ("minf", &[Any], true),
    ("floor", &[Any], false),
    ("ceil", &[Any], false),
    ("round", &[Any, Int], false),
    ("int", &[Any], false),
    ("int64", &[Any], false),
    ("float64", &[Any], false),
    ("atoi", &[Str], false),
    ("toDecimal", &[Any], false),
    ("until", &[Int], false),
    ("untilStep", &[Int, Int, Int], false),
    ("seq", &[Int], true),
    // Defaults and logic.
    ("default", &[Any, Any], false),
    ("empty", &[Any], false),
    ("coalesce", &[], true),
    ("ternary", &[Any, Any, Bool], false),
    ("all", &[], true),
    ("any", &[], true),
    ("typeOf", &[Any], false),
    ("kindOf", &[Any], false),
    ("kindIs", &[Str, Any], false),
    ("typeIs", &[Str, Any], false),
    ("deepEqual", &[Any, Any], false),
    // Lists.
    ("list", &[], true),
    ("first", &[List], false),
    ("last", &[List], false),
    ("rest", &[List], false),
    ("initial", &[List], false),
    ("append", &[List, Any], false),
    ("prepend", &[List, Any], false),
    ("concat", &[List], true),
    ("reverse", &[List], false),
    ("uniq", &[List], false),
    ("compact", &[List], false),
    ("without", &[List], true),
    ("has", &[Any, List], false),
    ("sortAlpha", &[List], false),
    ("chunk", &[Int, List], false),
    ("mustFirst", &[List], false),
    ("mustLast", &[List], false),
    // Dictionaries.
    ("dict", &[], true),
    // `keys` and `values` come in Go's random map order: only sorted.
    ("keys | sortAlpha", &[Map], false),
    ("values | sortAlpha", &[Map], false),
    ("pick", &[Map, Str], true),
    ("omit", &[Map, Str], true),
    ("hasKey", &[Map, Str], false),
    ("get", &[Map, Str], false),
    ("pluck", &[Str, Map], true),
    ("merge", &[Map, Map], true),
    ("dig", &[Str, Any, Map], false),
    ("deepCopy", &[Any], false),
    // Versions and dates (fixed inputs only: `now` and friends are not deterministic).
    ("semver", &[Version], false),
    ("semverCompare", &[Version, Version], false),
    ("toDate", &[Date, Date], false),
    ("date", &[Date, Int], false),
    ("dateInZone", &[Date, Int, Str], false),
    ("duration", &[Any], false),
    ("durationRound", &[Any], false),
    ("unixEpoch", &[Any], false),
];

/// printf verbs, with how often each flag and width applies.
const VERBS: &[char] = &[
    'v', 'd', 's', 'q', 'x', 'X', 'o', 'O', 'b', 'e', 'E', 'f', 'F', 'g', 'G', 't', 'c', 'U', 'T',
    'w', 'z', '%',
];
const FLAGS: &[char] = &['+', '-', '#', ' ', '0'];

const WORDS: &[&str] = &[
    "",
    "a",
    "abc",
    "Hello World",
    "hello_world",
    "HelloWorld",
    "  padded  ",
    "x-y-z",
    "a,b,,c",
    "ÄÖü",
    "日本語",
    "tab\\there",
    "line\\nnext",
    "42",
    "-7",
    "3.25",
    "1e3",
    "0x1F",
    "true",
    "nil",
    "a.b.c",
    "é",
    "\\u00e9\\u0301",
    "\\x00",
    "\\xff",
    "{\\\"k\\\":1}",
    "[1,2]",
    "1.2.3",
    "v2.0.0-rc.1",
    "snake_case_word",
    "camelCaseWord",
    "ALL CAPS",
    "with space",
    "$1 and ${2}",
    "\\\\d+",
];

const REGEXES: &[&str] = &[
    "a",
    "[a-z]+",
    "\\\\d+",
    "^a",
    "b$",
    "(a)(b)?",
    "(?P<x>\\\\w)",
    "x*",
    "",
    "[",
    "(?i)HELLO",
    ".",
    "\\\\s+",
    "é|ü",
    "(a|b)+",
    "a{2,3}",
    "\\\\b",
    "[^,]*",
    "(?s).",
    "\\\\pL+",
    "a{1001}",
    "(?U)a+",
    "\\\\C",
    "\\\\z",
];

const VERSIONS: &[&str] = &[
    "1.2.3",
    "v1.2",
    "1.0.0-alpha",
    "2.0.0+build.1",
    "0.0.1",
    "bad",
    "",
    ">=1.0.0",
    "^1.2.0",
    "~1.2.3",
    "1.x",
    ">1, <2",
    "<1.0 || >=2.0",
    "*",
    "=1.2.3",
    "!=1.2.3",
    "1.2.3 - 2.0.0",
];

const DATES: &[&str] = &[
    "2006-01-02",
    "2006-01-02 15:04:05",
    "Jan 2, 2006",
    "2024-02-29",
    "2023-13-01",
    "15:04",
    "2021-06-15 08:30:00",
    "Mon Jan _2 15:04:05 MST 2006",
    "02/01/06",
    "",
];

/// Draws templates from one seeded generator.
pub struct Generator {
    rng: StdRng,
    depth: u32,
    next_define: u32,
}

impl Generator {
    pub fn new(rng: StdRng) -> Generator {
        Generator {
            rng,
            depth: 0,
            next_define: 0,
        }
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.random_range(0..100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// One template: one to six segments.
    pub fn template(&mut self) -> Vec<Segment> {
        self.next_define = 0;
        let n = self.rng.random_range(1..=4);
        (0..n).map(|_| self.segment()).collect()
    }

    fn segment(&mut self) -> Segment {
        self.depth = 0;
        let (text, class) = match self.rng.random_range(0..100) {
            0..=9 => (self.text(), "text".to_string()),
            10..=54 => {
                let (p, class) = self.pipeline();
                (self.action(&p), class)
            }
            55..=64 => self.if_block(),
            65..=74 => self.range_block(),
            75..=79 => self.with_block(),
            80..=89 => self.variables(),
            90..=94 => self.define_block(),
            _ => self.comment(),
        };
        Segment { text, class }
    }

    fn text(&mut self) -> String {
        let pieces = ["a", " ", "\n", "x y", "  \n ", "\t", "{", "}", "-"];
        let n = self.rng.random_range(1..4);
        (0..n).map(|_| *self.pick(&pieces)).collect()
    }

    /// `{{ p }}` with trim markers now and then.
    fn action(&mut self, p: &str) -> String {
        let left = if self.chance(15) { "{{- " } else { "{{ " };
        let right = if self.chance(15) { " -}}" } else { " }}" };
        format!("{left}{p}{right}")
    }

    fn comment(&mut self) -> (String, String) {
        let t = self.text();
        let c = if self.chance(50) {
            "{{/* a comment */}}".to_string()
        } else {
            "{{- /* trimmed */ -}}".to_string()
        };
        (format!("{t}{c}{t}"), "comment".into())
    }

    /// A body inside a block: text and actions over `.` and the given variables.
    fn body(&mut self, vars: &[&str]) -> String {
        let n = self.rng.random_range(1..3);
        let mut out = String::new();
        for _ in 0..n {
            match self.rng.random_range(0..10) {
                0..=2 => out.push_str(&self.text()),
                3..=4 => out.push_str("{{ . }}"),
                5..=6 if !vars.is_empty() => {
                    let v = *self.pick(vars);
                    out.push_str(&format!("{{{{ {v} }}}}"));
                }
                7 if self.depth < 2 => {
                    self.depth += 1;
                    let (b, _) = self.if_block();
                    self.depth -= 1;
                    out.push_str(&b);
                }
                _ => {
                    let (p, _) = self.pipeline();
                    out.push_str(&self.action(&p));
                }
            }
        }
        out
    }

    fn if_block(&mut self) -> (String, String) {
        let (cond, class) = self.condition();
        let mut s = format!("{{{{ if {cond} }}}}{}", self.body(&[]));
        if self.chance(30) {
            let (c2, _) = self.condition();
            s.push_str(&format!("{{{{ else if {c2} }}}}{}", self.body(&[])));
        }
        if self.chance(50) {
            s.push_str(&format!("{{{{ else }}}}{}", self.body(&[])));
        }
        s.push_str("{{ end }}");
        (s, format!("if {class}"))
    }

    fn with_block(&mut self) -> (String, String) {
        let (p, class) = self.pipeline();
        let mut s = format!("{{{{ with {p} }}}}{}", self.body(&[]));
        if self.chance(25) {
            let (p2, _) = self.pipeline();
            s.push_str(&format!("{{{{ else with {p2} }}}}{}", self.body(&[])));
        }
        if self.chance(40) {
            s.push_str(&format!("{{{{ else }}}}{}", self.body(&[])));
        }
        s.push_str("{{ end }}");
        (s, format!("with {class}"))
    }

    fn range_block(&mut self) -> (String, String) {
        let (over, class) = match self.rng.random_range(0..8) {
            0 => (
                format!("{}", self.rng.random_range(-2..6)),
                "int".to_string(),
            ),
            1 => (self.map_expr(), "map".into()),
            2 => (
                "secret \"6553ccb2b7da580d7f6e7260\" \"dev\" \"/\"".into(),
                "secret".into(),
            ),
            3 => (
                format!("(until {})", self.rng.random_range(0..5)),
                "until".into(),
            ),
            4 => (self.literal(Str), "string".into()),
            _ => (self.list_expr(), "list".into()),
        };
        let (head, vars): (String, Vec<&str>) = match self.rng.random_range(0..3) {
            0 => (String::new(), vec![]),
            1 => ("$v := ".into(), vec!["$v"]),
            _ => ("$i, $v := ".into(), vec!["$i", "$v"]),
        };
        let mut body = self.body(&vars);
        if self.chance(15) {
            let stop = if self.chance(50) { "break" } else { "continue" };
            body = format!("{body}{{{{ if eq 1 1 }}}}{{{{ {stop} }}}}{{{{ end }}}}{body}");
        }
        let mut s = format!("{{{{ range {head}{over} }}}}{body}");
        if self.chance(30) {
            s.push_str(&format!("{{{{ else }}}}{}", self.text()));
        }
        s.push_str("{{ end }}");
        (s, format!("range over {class}"))
    }

    fn variables(&mut self) -> (String, String) {
        let (p, class) = self.pipeline();
        let mut s = format!("{{{{ $x := {p} }}}}");
        if self.chance(40) {
            let (q, _) = self.pipeline();
            s.push_str(&format!("{{{{ $x = {q} }}}}"));
        }
        if self.chance(30) {
            s.push_str("{{ with 5 }}{{ $x = . }}{{ end }}");
        }
        s.push_str(if self.chance(50) {
            "{{ $x }}"
        } else {
            "{{ printf \"%v|%T\" $x $x }}"
        });
        (s, format!("variable from {class}"))
    }

    fn define_block(&mut self) -> (String, String) {
        let name = format!("d{}", self.next_define);
        self.next_define += 1;
        let body = self.body(&[]);
        let (arg, class) = self.pipeline();
        if self.chance(30) {
            return (
                format!("{{{{ block \"{name}\" {arg} }}}}{body}{{{{ end }}}}"),
                format!("block with {class}"),
            );
        }
        (
            format!(
                "{{{{ define \"{name}\" }}}}{body}{{{{ end }}}}{{{{ template \"{name}\" {arg} }}}}"
            ),
            format!("template with {class}"),
        )
    }

    fn condition(&mut self) -> (String, String) {
        match self.rng.random_range(0..4) {
            0 => {
                let ops = ["eq", "ne", "lt", "le", "gt", "ge"];
                let op = *self.pick(&ops);
                let a = self.scalar();
                let b = self.scalar();
                let extra = if op == "eq" && self.chance(30) {
                    format!(" {}", self.scalar())
                } else {
                    String::new()
                };
                (format!("{op} {a} {b}{extra}"), op.to_string())
            }
            1 => {
                let op = if self.chance(50) { "and" } else { "or" };
                let a = self.arg(Any);
                let b = self.arg(Any);
                (format!("{op} {a} {b}"), op.to_string())
            }
            2 => (format!("not {}", self.arg(Any)), "not".into()),
            _ => self.pipeline(),
        }
    }

    /// A pipeline: one command, or several joined by `|` (each later one gets the value last).
    fn pipeline(&mut self) -> (String, String) {
        let (first, class) = self.command();
        if self.depth < 2 && self.chance(20) {
            let tail = [
                "upper",
                "len",
                "quote",
                "print",
                "printf \"%v\"",
                "toJson",
                "trim",
            ];
            let t = *self.pick(&tail);
            return (format!("{first} | {t}"), format!("{class} | {t}"));
        }
        (first, class)
    }

    fn command(&mut self) -> (String, String) {
        match self.rng.random_range(0..100) {
            0..=24 => self.printf(),
            25..=34 => {
                let (c, class) = self.condition();
                (c, class)
            }
            35..=44 => {
                let k = *self.pick(&[Str, Int, Float, Bool, List, Map]);
                (self.arg(k), "literal".into())
            }
            45..=49 => self.secret_access(),
            50..=53 => self.slicing(),
            _ => self.call(),
        }
    }

    fn call(&mut self) -> (String, String) {
        let (name, params, variadic) = *self.pick(FUNCTIONS);
        if name == "date" || name == "dateInZone" {
            // Anything but an integer or a time is "now" to Sprig: literals only.
            let mut call = format!("{name} {} {}", self.literal(Date), self.literal(Int));
            if name == "dateInZone" {
                let zone = *self.pick(&[
                    "\"UTC\"",
                    "\"Local\"",
                    "\"\"",
                    "\"Europe/Paris\"",
                    "\"bad\"",
                ]);
                call = format!("{call} {zone}");
            }
            return (call, name.to_string());
        }
        let mut args: Vec<String> = params.iter().map(|k| self.arg(*k)).collect();
        if variadic {
            for _ in 0..self.rng.random_range(0..3) {
                let k = *self.pick(&[Str, Int, Float, List, Any]);
                args.push(self.arg(k));
            }
        }
        // Now and then one argument too few or too many.
        if self.chance(2) {
            args.pop();
        } else if self.chance(2) {
            args.push(self.arg(Any));
        }
        let (head, tail) = name.split_once(" | ").unwrap_or((name, ""));
        let mut call = std::iter::once(head.to_string())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        if !tail.is_empty() {
            call = format!("{call} | {tail}");
        }
        (call, head.to_string())
    }

    /// `index` and `slice` where Go's types show: bytes of a string, a list re-sliced within its
    /// capacity.
    fn slicing(&mut self) -> (String, String) {
        let (a, b, c) = (
            self.rng.random_range(-1..5),
            self.rng.random_range(0..6),
            self.rng.random_range(0..6),
        );
        match self.rng.random_range(0..5) {
            4 => {
                // A list `append` grew, sliced into its spare capacity.
                let grown = [
                    "compact (list 1 0 2 3 4)",
                    "uniq (list 1 2 2 3)",
                    "without (list 1 2 3) 2",
                    "concat (list 1 2) (list 3)",
                    "pluck \"a\" (dict \"a\" 1) (dict \"a\" 2) (dict \"a\" 3)",
                    "until 3",
                    "regexFindAll \"a\" \"aaa\" -1",
                    "regexSplit \"a\" \"bab\" -1",
                    "fromJson \"[1,2,3]\"",
                ];
                let g = *self.pick(&grown);
                (
                    format!("slice ({g}) {a} {} | printf \"%#v\"", b + c + 1),
                    "slice into appended capacity".into(),
                )
            }
            0 => {
                let w = self.literal(Str);
                (
                    format!("index {w} {a} | printf \"%#v %T\" ."),
                    "index string".into(),
                )
            }
            1 => (
                format!("slice (slice (list 1 2 3 4 5) 0 {b}) {a} {c}"),
                "slice within capacity".into(),
            ),
            2 => {
                let w = self.literal(Str);
                (
                    format!("slice {w} {a} {b} | printf \"%q\""),
                    "slice string".into(),
                )
            }
            _ => (
                format!("index (list (list 1 2) (dict \"a\" 3)) {b} {a}"),
                "index nested".into(),
            ),
        }
    }

    fn secret_access(&mut self) -> (String, String) {
        let fields = [
            "Key",
            "Value",
            "SecretPath",
            "Type",
            "ID",
            "WorkspaceId",
            "Comment",
            "Nope",
        ];
        let f = *self.pick(&fields);
        match self.rng.random_range(0..3) {
            0 => (
                format!(
                    "(getSecretByName \"6553ccb2b7da580d7f6e7260\" \"dev\" \"/\" \"API_KEY\").{f}"
                ),
                format!("getSecretByName .{f}"),
            ),
            1 => (
                format!(
                    "(index (secret \"6553ccb2b7da580d7f6e7260\" \"dev\" \"/\") {}).{f}",
                    self.rng.random_range(0..4)
                ),
                format!("secret .{f}"),
            ),
            _ => (
                "printf \"%v\" (secret \"6553ccb2b7da580d7f6e7260\" \"dev\" \"/app\")".into(),
                "secret %v".into(),
            ),
        }
    }

    fn printf(&mut self) -> (String, String) {
        let n = self.rng.random_range(1..4);
        let mut format = String::new();
        let mut first_verb = None;
        let mut wanted = 0usize;
        for _ in 0..n {
            if self.chance(30) {
                let lit = *self.pick(&["a", " ", "=", ":"]);
                format.push_str(lit);
            }
            format.push('%');
            for _ in 0..self.rng.random_range(0..3) {
                if self.chance(40) {
                    format.push(*self.pick(FLAGS));
                }
            }
            if self.chance(10) {
                format.push_str(&format!("[{}]", self.rng.random_range(0..4)));
            }
            if self.chance(25) {
                if self.chance(15) {
                    format.push('*');
                    wanted += 1;
                } else {
                    format.push_str(&self.rng.random_range(0..12).to_string());
                }
            }
            if self.chance(25) {
                format.push('.');
                if self.chance(15) {
                    format.push('*');
                    wanted += 1;
                } else if self.chance(85) {
                    format.push_str(&self.rng.random_range(0..8).to_string());
                }
            }
            let v = *self.pick(VERBS);
            format.push(v);
            first_verb.get_or_insert(v);
            if v != '%' {
                wanted += 1;
            }
        }
        // Sometimes too few or too many arguments.
        let count = match self.rng.random_range(0..10) {
            0 => wanted.saturating_sub(1),
            1 => wanted + 1,
            _ => wanted,
        };
        let mut s = format!("printf {:?}", format);
        for _ in 0..count {
            let k = *self.pick(&[Str, Int, Float, Bool, List, Map, Any]);
            s.push(' ');
            s.push_str(&self.arg(k));
        }
        (s, format!("printf %{}", first_verb.unwrap_or('v')))
    }

    /// An argument of (usually) the wanted kind.
    fn arg(&mut self, kind: Kind) -> String {
        if self.depth < 2 && self.chance(18) {
            self.depth += 1;
            let (p, _) = self.pipeline();
            self.depth -= 1;
            return format!("({p})");
        }
        if self.chance(3) {
            let wrong = *self.pick(&[Str, Int, Float, Bool, List, Map]);
            return self.literal(wrong);
        }
        match kind {
            List => self.list_expr(),
            Map => self.map_expr(),
            Any => {
                let k = *self.pick(&[Str, Int, Float, Bool, List, Map]);
                if self.chance(5) {
                    return "nil".into();
                }
                if self.chance(8) {
                    return ".".into();
                }
                self.arg(k)
            }
            k => self.literal(k),
        }
    }

    fn scalar(&mut self) -> String {
        let k = *self.pick(&[Str, Int, Float, Bool, Int]);
        if self.chance(5) {
            return "nil".into();
        }
        self.literal(k)
    }

    fn list_expr(&mut self) -> String {
        if self.depth >= 2 {
            return "(list 1 2)".into();
        }
        self.depth += 1;
        let n = self.rng.random_range(0..4);
        let mut s = "(list".to_string();
        for _ in 0..n {
            let k = *self.pick(&[Str, Int, Float, Bool, Str]);
            s.push(' ');
            s.push_str(&self.literal(k));
        }
        s.push(')');
        self.depth -= 1;
        s
    }

    fn map_expr(&mut self) -> String {
        if self.depth >= 2 {
            return "(dict \"a\" 1)".into();
        }
        self.depth += 1;
        let n = self.rng.random_range(0..3);
        let mut s = "(dict".to_string();
        for i in 0..n {
            let keys = ["a", "b", "Key", "zz", ""];
            s.push_str(&format!(" \"{}{}\" ", self.pick(&keys), i));
            let k = *self.pick(&[Str, Int, Float, Bool, List]);
            s.push_str(&self.literal(k));
        }
        s.push(')');
        self.depth -= 1;
        s
    }

    fn literal(&mut self, kind: Kind) -> String {
        match kind {
            Str => {
                let w = *self.pick(WORDS);
                if self.chance(10) && !w.contains('\\') {
                    format!("`{w}`")
                } else {
                    format!("\"{w}\"")
                }
            }
            Int => match self.rng.random_range(0..12) {
                0 => "0".into(),
                1 => "-1".into(),
                2 => "0x1F".into(),
                3 => "'a'".into(),
                4 => "1_000".into(),
                5 => "077".into(),
                6 => "0b101".into(),
                7 => "-0".into(),
                _ => self.rng.random_range(-3..20).to_string(),
            },
            Float => (*self.pick(&[
                "1.5",
                "-0.0",
                "1e3",
                "2.50",
                ".5",
                "0.1",
                "3.0",
                "1e-7",
                "123456789.0",
                "0x1p-2",
                "-2.5",
                "1e21",
            ]))
            .to_string(),
            Bool => if self.chance(50) { "true" } else { "false" }.to_string(),
            Regex => format!("\"{}\"", self.pick(REGEXES)),
            Version => format!("\"{}\"", self.pick(VERSIONS)),
            Date => format!("\"{}\"", self.pick(DATES)),
            List => self.list_expr(),
            Map => self.map_expr(),
            Any => {
                let r = self.rng.next_u32() % 3;
                self.literal([Str, Int, Float][r as usize])
            }
        }
    }
}
