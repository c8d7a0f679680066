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
