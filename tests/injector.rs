//! `kms injector` end to end (issue "`kms injector`"): the real binary serves HTTPS on 127.0.0.1
//! with a certificate from a throwaway CA; real `AdmissionReview` JSON is posted to `/mutate`, and
//! each answer's JSONPatch is applied to the pod (the `json-patch` crate) to check the pod that
//! results.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use support::{wait_until, KMS};

/// A CA and a server certificate it signed for 127.0.0.1, as PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_pki(dir: &Path, tag: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("test CA {tag}"));
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(format!("{tag}-{name}"));
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        cert: write("cert.pem", cert.pem()),
        key: write("key.pem", key.serialize_pem()),
    }
}

struct Injector {
    child: Child,
    url: String,
}

impl Drop for Injector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_injector(pki: &Pki) -> Injector {
    let mut child = Command::new(KMS)
        .args([
            "injector",
            "--listen",
            "127.0.0.1:0",
            "--agent-image",
            "kms-agent:test",
        ])
        .arg("--tls-cert")
        .arg(&pki.cert)
        .arg("--tls-key")
        .arg(&pki.key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("injector listening on ")
        .unwrap_or_else(|| panic!("no ready line: {line:?}"))
        .to_string();
    Injector { child, url }
}

fn client(ca: &Path) -> reqwest::blocking::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn review(kind: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default",
            "operation": "CREATE",
            "object": object,
        }
    })
}

fn pod(annotations: Value, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "demo", "namespace": "default", "annotations": annotations},
           "spec": spec})
}

fn plain_spec() -> Value {
    json!({"containers": [{"name": "app", "image": "busybox"}]})
}

/// Posts `review` and returns the answer's `response`.
fn post(client: &reqwest::blocking::Client, url: &str, review: &Value) -> Value {
    let resp = client
        .post(format!("{url}/mutate"))
        .json(review)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().unwrap();
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    let response = answer["response"].clone();
    assert_eq!(response["uid"], review["request"]["uid"]);
    response
}

/// The pod after the answer's patch.
fn patched(pod: &Value, response: &Value) -> Value {
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(response["patchType"], "JSONPatch");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
    let mut doc = pod.clone();
    json_patch::patch(&mut doc, &patch)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    doc
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// What every injected agent container must be.
fn assert_hardened(agent: &Value) {
    let sc = &agent["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true, "{agent}");
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(agent["image"], "kms-agent:test");
    assert_eq!(
        agent["args"].as_array().unwrap()[0..3],
        [
            json!("agent"),
            json!("--config"),
            json!("/kms/config/config.yaml")
        ]
    );
    let mounts = &agent["volumeMounts"];
    assert_eq!(
        named(mounts, "kms-agent-config")["mountPath"],
        "/kms/config"
    );
    assert_eq!(named(mounts, "kms-agent-config")["readOnly"], true);
    assert!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"),
        "the service-account token: {mounts}"
    );
    assert!(agent["resources"]["limits"]["memory"].is_string());
}

#[test]
fn pods_are_injected_in_every_mode_and_the_patch_applies() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "a");
    let injector = start_injector(&pki);
    let http = client(&pki.ca);
    let ours = |mode: &str| {
        json!({"kms.hanzo.ai/inject": "true", "kms.hanzo.ai/inject-mode": mode,
               "kms.hanzo.ai/agent-config-map": "demo-app-kms"})
    };

    // A plain pod, init mode: every array is new.
    let plain = pod(ours("init"), plain_spec());
    let after = patched(
        &plain,
        &post(&http, &injector.url, &review("Pod", plain.clone())),
    );
    let spec = &after["spec"];
    assert_eq!(names(&spec["initContainers"]), ["kms-agent-init"]);
    let init = &spec["initContainers"][0];
    assert_hardened(init);
    assert_eq!(init["args"][3], "--exit-after-auth");
    assert!(init["restartPolicy"].is_null());
    assert_eq!(
        named(&spec["volumes"], "kms-secrets")["emptyDir"]["medium"],
        "Memory"
    );
    assert_eq!(
        named(&spec["volumes"], "kms-agent-config")["configMap"]["name"],
        "demo-app-kms"
    );
    let app_mount = named(&spec["containers"][0]["volumeMounts"], "kms-secrets");
    assert_eq!(app_mount["mountPath"], "/kms/secrets");
    assert_eq!(app_mount["readOnly"], true);
    assert_eq!(
        after["metadata"]["annotations"]["kms.hanzo.ai/agent-status"],
        "injected"
    );

    // Sent again, the injected pod is left alone.
    let again = post(&http, &injector.url, &review("Pod", after.clone()));
    assert_eq!(again["allowed"], true);
    assert!(again["patch"].is_null(), "{again}");

    // A pod with volumes, init containers, a token mount and two app containers, sidecar mode,
    // only one container selected.
    let mut annotations = ours("sidecar");
    annotations["kms.hanzo.ai/containers"] = json!("web");
    annotations["kms.hanzo.ai/agent-revoke-on-shutdown"] = json!("true");
    let busy = pod(
        annotations,
        json!({
            "volumes": [{"name": "data", "emptyDir": {}}],
            "initContainers": [{"name": "migrate", "image": "migrate"}],
            "containers": [
                {"name": "web", "image": "web", "volumeMounts": [
                    {"name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]},
                {"name": "worker", "image": "worker"},
            ],
        }),
    );
    let after = patched(
        &busy,
        &post(&http, &injector.url, &review("Pod", busy.clone())),
    );
    let spec = &after["spec"];
    assert_eq!(names(&spec["initContainers"]), ["kms-agent", "migrate"]);
    let sidecar = &spec["initContainers"][0];
    assert_hardened(sidecar);
    assert_eq!(sidecar["restartPolicy"], "Always");
    assert_eq!(sidecar["args"][3], "--revoke-credentials-on-shutdown");
    assert_eq!(
        named(&sidecar["volumeMounts"], "kube-api-access-x")["readOnly"],
        true
    );
    assert_eq!(
        names(&spec["volumes"]),
        ["data", "kms-secrets", "kms-agent-config", "kms-agent-cache"]
    );
    assert_eq!(
        names(&spec["containers"][0]["volumeMounts"]),
        ["kube-api-access-x", "kms-secrets"]
    );
    assert!(
        spec["containers"][1]["volumeMounts"].is_null(),
        "worker not selected"
    );

    // Both.
    let both = pod(ours("sidecar-init"), plain_spec());
    let after = patched(
        &both,
        &post(&http, &injector.url, &review("Pod", both.clone())),
    );
    assert_eq!(
        names(&after["spec"]["initContainers"]),
        ["kms-agent-init", "kms-agent"]
    );
    assert!(
        names(&after["spec"]["volumes"]).contains(&"kms-agent-token".to_string()),
        "a projected token without the pod's own"
    );
}

#[test]
fn a_pod_written_for_the_infisical_injector_is_injected_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "a");
    let injector = start_injector(&pki);
    let http = client(&pki.ca);
    let infisical = pod(
        json!({"org.infisical.com/inject": "true", "org.infisical.com/inject-mode": "sidecar",
               "org.infisical.com/agent-config-map": "infisical-agent-config",
               "org.infisical.com/agent-cache-enabled": "true"}),
        plain_spec(),
    );
    let response = post(&http, &injector.url, &review("Pod", infisical.clone()));
    assert!(
        response["warnings"][0]
            .as_str()
            .unwrap()
            .contains("org.infisical.com/agent-cache-enabled"),
        "{response}"
    );
    let after = patched(&infisical, &response);
    let spec = &after["spec"];
    assert_eq!(names(&spec["initContainers"]), ["kms-agent"]);
    assert_eq!(
        named(&spec["volumes"], "kms-agent-config")["configMap"]["name"],
        "infisical-agent-config"
    );
    assert_eq!(
        named(&spec["containers"][0]["volumeMounts"], "kms-secrets")["mountPath"],
        "/shared/infisical-secrets",
        "where the Infisical injector puts the files"
    );
}

#[test]
fn requests_it_does_not_inject_get_well_formed_answers() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "a");
    let injector = start_injector(&pki);
    let http = client(&pki.ca);

    // No annotation: allowed, untouched.
    let r = post(
        &http,
        &injector.url,
        &review("Pod", pod(json!({}), plain_spec())),
    );
    assert_eq!(
        (r["allowed"].clone(), r["patch"].is_null()),
        (json!(true), true)
    );

    // A typo: refused, naming it.
    let typo = pod(json!({"kms.hanzo.ai/injet": "true"}), plain_spec());
    let r = post(&http, &injector.url, &review("Pod", typo));
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("kms.hanzo.ai/injet") && message.contains("kms.hanzo.ai/inject?"),
        "{message}"
    );

    // Not a pod: allowed, with a warning.
    let r = post(
        &http,
        &injector.url,
        &review("ConfigMap", json!({"metadata": {"name": "x"}})),
    );
    assert_eq!(r["allowed"], true);
    assert!(r["warnings"][0]
        .as_str()
        .unwrap()
        .contains("only mutates pods"));

    // Malformed JSON: 400 with the reason.
    let resp = http
        .post(format!("{}/mutate", injector.url))
        .body("{\"apiVersion\": ")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().unwrap().contains("not JSON"));

    // 10 MiB: refused quickly, and the injector still answers.
    let huge = vec![b' '; 10 << 20];
    let started = Instant::now();
    let resp = http
        .post(format!("{}/mutate", injector.url))
        .body(huge)
        .send();
    assert!(started.elapsed() < Duration::from_secs(5));
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    } // (the server may close the connection before the client has sent it all)
    let health = http
        .get(format!("{}/healthz", injector.url))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = http
        .get(format!("{}/metrics", injector.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("kms_injector_reviews_total{outcome=\"refused\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_rotated_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = make_pki(dir.path(), "a");
    let injector = start_injector(&first);
    assert_eq!(
        client(&first.ca)
            .get(format!("{}/healthz", injector.url))
            .send()
            .unwrap()
            .status(),
        200
    );
    // cert-manager writes the new pair in place.
    let second = make_pki(dir.path(), "b");
    std::fs::copy(&second.key, &first.key).unwrap();
    std::fs::copy(&second.cert, &first.cert).unwrap();
    let new_client = client(&second.ca);
    wait_until("the new certificate", Duration::from_secs(10), || {
        new_client
            .get(format!("{}/healthz", injector.url))
            .send()
            .is_ok()
    });
    assert!(client(&first.ca)
        .get(format!("{}/healthz", injector.url))
        .send()
        .is_err());
}

/// The injected init container's command: `--exit-after-auth` makes a sidecar's config render
/// once and exit, as the init container must.
#[test]
fn the_init_containers_flag_makes_the_agent_render_once_and_exit() {
    let dev = support::DevServer::start(&support::default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "kms:\n  address: {}\n{}templates:\n  - template-content: 'a={{{{ with getSecretByName \"proj-1\" \"dev\" \"/\" \"A\" }}}}{{{{ .Value }}}}{{{{ end }}}}'\n    destination-path: {{dir}}/app.env\n",
        dev.url(),
        support::universal_auth_block(dir.path())
    );
    let mut agent = support::Agent::start_with(dir.path(), &config, &["--exit-after-auth"], &[]);
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("exits by itself");
    assert_eq!(status.code(), Some(0), "{}", agent.logs());
    assert_eq!(agent.read("app.env"), "a=1");
}
