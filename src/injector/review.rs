//! One `admission.k8s.io/v1` `AdmissionReview`: the request read, the pod decided on, the
//! answer written (docs/injector.md). A well-formed review always gets a well-formed answer
//! (allowed, with a warning, when it is not about a pod); only a body that is not a review at
//! all gets an HTTP error.

use base64::Engine as _;
use serde_json::{json, Value};

use super::annotations::{decide, Decision};
use super::patch::injection_patch;

/// What became of a review: the `outcome` label of `kms_injector_reviews_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Injected,
    Skipped,
    Refused,
    Invalid,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Injected => "injected",
            Outcome::Skipped => "skipped",
            Outcome::Refused => "refused",
            Outcome::Invalid => "invalid",
        }
    }
}

/// A body that is not an `AdmissionReview`: answered with HTTP 400 and this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAReview(pub String);

/// The answer to the review in `body`, and what became of it.
pub fn answer(body: &[u8], default_image: &str) -> Result<(Value, Outcome), NotAReview> {
    let review: Value = serde_json::from_slice(body)
        .map_err(|e| NotAReview(format!("the body is not JSON: {e}")))?;
    if review["kind"] != "AdmissionReview" || review["apiVersion"] != "admission.k8s.io/v1" {
        return Err(NotAReview(
            "expected an AdmissionReview of apiVersion admission.k8s.io/v1".into(),
        ));
    }
    let request = &review["request"];
    let Some(uid) = request["uid"].as_str() else {
        return Err(NotAReview("the review has no request.uid".into()));
    };
    let reply = |response: Value| {
        let mut response = response;
        response["uid"] = json!(uid);
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
    };
    let allowed_with = |warning: &str| reply(json!({"allowed": true, "warnings": [warning]}));

    if request["kind"]["kind"] != "Pod" {
        return Ok((
            allowed_with("the kms injector only mutates pods; this object is left as it is"),
            Outcome::Invalid,
        ));
    }
    match request["operation"].as_str() {
        Some("CREATE") => {}
        // A pod's containers cannot change once it exists.
        Some(_) => return Ok((reply(json!({"allowed": true})), Outcome::Skipped)),
        None => {
            return Ok((
                allowed_with("the review has no operation; the pod is left as it is"),
                Outcome::Invalid,
            ))
        }
    }
    let pod = &request["object"];
    if !pod.is_object() || !pod["spec"].is_object() {
        return Ok((
            allowed_with("the review holds no pod object; it is left as it is"),
            Outcome::Invalid,
        ));
    }
    let containers: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    match decide(
        pod["metadata"]["annotations"].as_object(),
        default_image,
        &containers,
    ) {
        Decision::Skip(_) => Ok((reply(json!({"allowed": true})), Outcome::Skipped)),
        Decision::Refuse(message) => Ok((
            reply(json!({"allowed": false, "status": {"code": 400, "message": message}})),
            Outcome::Refused,
        )),
        Decision::Inject { settings, warnings } => {
            let patch = injection_patch(pod, &settings);
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(serde_json::to_vec(&patch).unwrap_or_default());
            let mut response = json!({"allowed": true, "patchType": "JSONPatch", "patch": encoded});
            if !warnings.is_empty() {
                response["warnings"] = json!(warnings);
            }
            Ok((reply(response), Outcome::Injected))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(kind: &str, operation: &str, object: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": kind},
                        "operation": operation, "object": object}
        }))
        .unwrap()
    }

    #[test]
    fn answers_carry_the_uid_and_only_pods_on_create_are_patched() {
        let pod = json!({"metadata": {"annotations": {
            "kms.hanzo.ai/inject": "true", "kms.hanzo.ai/agent-config-map": "c"}},
            "spec": {"containers": [{"name": "app"}]}});
        let (a, o) = answer(&review("Pod", "CREATE", pod.clone()), "kms:1").unwrap();
        assert_eq!(o, Outcome::Injected);
        assert_eq!(a["response"]["uid"], "u-1");
        assert_eq!(a["response"]["patchType"], "JSONPatch");
        let (a, o) = answer(&review("Pod", "UPDATE", pod), "kms:1").unwrap();
        assert_eq!(
            (o, a["response"]["patch"].is_null()),
            (Outcome::Skipped, true)
        );
        let (a, o) = answer(&review("Secret", "CREATE", json!({})), "kms:1").unwrap();
        assert_eq!(o, Outcome::Invalid);
        assert_eq!(a["response"]["allowed"], true);
        assert!(a["response"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("only mutates pods"));
        assert!(answer(b"{not json", "kms:1").is_err());
        assert!(answer(b"{\"kind\": \"AdmissionReview\"}", "kms:1").is_err());
    }
}
