//! Bad input never panics: the property-test side of the fuzz targets in `fuzz/` (which run for
//! minutes outside CI; these run in `make test`). Each feeds generated input to the same public
//! entry points as its fuzz target, and checks that an error, when there is one, is a value.

use kms_agent::client::{decode_response, AccessToken, CreatedLease, RequestContext, SecretList};
use kms_agent::template::handlebars::HandlebarsEngine;
use kms_agent::template::{Snapshot, TemplateEngine};
use proptest::prelude::*;

/// Statuses the client meets: successes, client errors, rate limits, server errors.
const STATUSES: [u16; 10] = [200, 201, 400, 401, 403, 404, 422, 429, 500, 503];

/// JSON-ish text: mostly the characters JSON is made of, so many inputs get deep into the
/// decoders rather than failing at the first byte.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[\\[\\]{}\",:0-9a-zA-Z.eE+\\- \ntrufalsn]{0,200}".prop_map(String::into_bytes),
        // A real answer's shape with a value slot that may hold anything.
        "[\\[\\]{}\",:0-9a-z ]{0,40}".prop_map(|v| {
            format!(r#"{{"secrets":[{{"secretKey":"A","secretValue":{v}}}],"imports":[]}}"#)
                .into_bytes()
        }),
    ]
}

proptest! {
    #[test]
    fn server_answers_never_panic_the_decoders(status in 0usize..STATUSES.len(), body in jsonish()) {
        let status = STATUSES[status];
        let ctx = || RequestContext::new("GET", "/api/v3/secrets/raw");
        let errors = [
            decode_response::<SecretList>(ctx(), status, None, &body).err(),
            decode_response::<AccessToken>(ctx(), status, None, &body).err(),
            decode_response::<CreatedLease>(ctx(), status, None, &body).err(),
        ];
        for e in errors.into_iter().flatten() {
            // Errors say which request failed.
            let message = e.to_string();
            prop_assert!(message.contains("/api/v3/secrets/raw"), "{}", message);
        }
    }

    #[test]
    fn handlebars_templates_never_panic(text in "[{}#/a-z \"().@^~>!\\-\n]{0,120}") {
        if let Ok(t) = HandlebarsEngine.compile("prop", text.as_bytes()) {
            let _ = t.render(&Snapshot::new());
        }
    }
}

/// A printf directive: flags, a width and a precision (literal or `*`, from small to beyond Go's
/// 1e6 cap), an optional argument index and a verb.
fn directive() -> impl Strategy<Value = String> {
    let num = prop_oneof![
        Just(String::new()),
        (0u64..20).prop_map(|n| n.to_string()),
        Just("*".to_string()),
        prop_oneof![
            Just("999999"),
            Just("1000000"),
            Just("1000001"),
            Just("65536"),
            Just("99999999999999999999")
        ]
        .prop_map(str::to_string),
    ];
    (
        "[-+# 0]{0,3}",
        num.clone(),
        proptest::option::of(num),
        proptest::option::of("\\[[0-9]{1,2}\\]"),
        "[vdsqxXoObBcUeEfFgGtTpwz%!]",
    )
        .prop_map(|(flags, wid, prec, index, verb)| {
            let prec = prec.map(|p| format!(".{p}")).unwrap_or_default();
            format!("%{flags}{}{wid}{prec}{verb}", index.unwrap_or_default())
        })
}

/// A printf argument literal of any kind the engine has.
fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        prop_oneof![
            Just("-1"),
            Just("0"),
            Just("1000000"),
            Just("-1000001"),
            Just("65536")
        ]
        .prop_map(str::to_string),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        Just("5e-324".to_string()),
        Just("1.7976931348623157e308".to_string()),
        "[a-z\\\\u{1F600}\\n]{0,5}".prop_map(|s| format!("{s:?}")),
        Just("nil".to_string()),
        Just("true".to_string()),
        Just("(list 1 \"x\")".to_string()),
        Just("(dict \"k\" 1)".to_string()),
        Just("(index \"Z\" 0)".to_string()),
        Just("'a'".to_string()),
        Just("2i".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn printf_never_panics_whatever_its_widths_and_precisions(
        directives in proptest::collection::vec(directive(), 1..4),
        args in proptest::collection::vec(argument(), 0..4),
    ) {
        let format = directives.concat();
        let src = format!("{{{{ printf {format:?} {} }}}}", args.join(" "));
        let engine = kms_agent::template::go::GoEngine;
        let outcome = std::panic::catch_unwind(|| {
            engine.compile("p", src.as_bytes()).map(|t| t.render(&Snapshot::new()).is_ok())
        });
        prop_assert!(outcome.is_ok(), "{} panicked", src);
    }
}
