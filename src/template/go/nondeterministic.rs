//! The functions whose result is not a function of their arguments: they read the clock, a
//! random generator or DNS. A template that calls none of them renders the same bytes from the
//! same data, so a round whose data did not change need not render it again
//! (docs/behaviour.md, "Templates").
//!
//! Keep this list complete: a function added here late only costs renders, one missing from it
//! leaves a file stale. Every use of `chrono::Local::now`, `rand::rng`, `fill_random`,
//! `ring::rand`, `uuid` and name resolution in the Sprig modules belongs to a function below.

use super::ast::{Arg, List, Node, Pipe};

const NONDETERMINISTIC: &[&str] = &[
    // The clock (`now`, or now in place of an argument that is not a time).
    "now",
    "date",
    "dateInZone",
    "date_in_zone",
    "htmlDate",
    "htmlDateInZone",
    "ago",
    "durationRound",
    // Random generators.
    "uuidv4",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "randBytes",
    "randInt",
    "shuffle",
    "bcrypt",
    "htpasswd",
    "encryptAES",
    // Keys and certificates: random keys and serial numbers, validity from now.
    "genPrivateKey",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    // DNS.
    "getHostByName",
];

/// Whether any action in `list` (or in anything it contains) calls one of the functions above.
pub fn calls_any(list: &List) -> bool {
    list.iter().any(|node| match node {
        Node::Action(p) => pipe_calls_any(p),
        Node::If(b) | Node::With(b) | Node::Range(b) => {
            pipe_calls_any(&b.pipe)
                || calls_any(&b.list)
                || b.else_list.as_ref().is_some_and(calls_any)
        }
        Node::Template(t) => t.pipe.as_ref().is_some_and(pipe_calls_any),
        Node::Text(_) | Node::Break | Node::Continue => false,
    })
}

fn pipe_calls_any(pipe: &Pipe) -> bool {
    pipe.cmds.iter().flat_map(|c| &c.args).any(arg_calls_any)
}

fn arg_calls_any(arg: &Arg) -> bool {
    match arg {
        Arg::Identifier { name, .. } => NONDETERMINISTIC.contains(&name.as_str()),
        Arg::Pipe(p) => pipe_calls_any(p),
        Arg::Chain { node, .. } => arg_calls_any(node),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::template::go::GoTemplate;
    use crate::template::CompiledTemplate;

    fn deterministic(source: &str) -> bool {
        GoTemplate::parse("t", source.as_bytes())
            .unwrap()
            .is_deterministic()
    }

    #[test]
    fn a_template_reading_only_data_is_deterministic() {
        assert!(deterministic(
            r#"{{ range secret "p" "dev" "/" }}{{ .Key | upper }}={{ .Value | b64enc }}{{ end }}"#
        ));
        assert!(deterministic(
            r#"{{ toDate "2006-01-02" "2024-05-01" | unixEpoch }}"#
        ));
    }

    #[test]
    fn the_clock_randomness_and_dns_are_found_wherever_they_are_called() {
        for source in [
            "{{ now }}",
            r#"{{ if true }}{{ else }}{{ randAlphaNum 8 }}{{ end }}"#,
            r#"{{ range $i, $s := list 1 2 }}{{ (printf "%s" (uuidv4)) }}{{ end }}"#,
            r#"{{ define "x" }}{{ getHostByName "localhost" }}{{ end }}{{ template "x" }}"#,
            r#"{{ with secret "p" "dev" "/" }}{{ . | len | date "2006" }}{{ end }}"#,
            r#"{{ template "y" (genPrivateKey "ecdsa") }}{{ define "y" }}{{ end }}"#,
            r#"{{ (list (encryptAES "k" "v")).x }}"#,
        ] {
            assert!(
                !deterministic(source),
                "{source} was taken for deterministic"
            );
        }
    }

    #[test]
    fn every_name_listed_is_a_function_the_engine_has() {
        for name in NONDETERMINISTIC {
            assert!(
                super::super::builtins::has_function(name),
                "{name} is listed as nondeterministic but is not a function"
            );
        }
    }
}
