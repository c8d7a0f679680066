//! Arbitrary server answers through the client's decoders, with success and error statuses.
#![no_main]
use kms_agent::client::{decode_response, AccessToken, CreatedLease, RequestContext, SecretList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&status_byte, body)) = data.split_first() else { return };
    let status = [200u16, 201, 400, 401, 403, 404, 422, 429, 500, 503][status_byte as usize % 10];
    let ctx = || RequestContext::new("GET", "/api/v3/secrets/raw");
    let _ = decode_response::<SecretList>(ctx(), status, None, body);
    let _ = decode_response::<AccessToken>(ctx(), status, None, body);
    let _ = decode_response::<CreatedLease>(ctx(), status, None, body);
});
