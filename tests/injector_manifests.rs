//! The Kubernetes manifests (`deploy/kubernetes/`, `deploy/kubernetes/injector/`) and the
//! README's injector example: every document has the schema of its kind, the agent
//! configurations they carry are valid for the real `kms agent validate`, the webhook reaches
//! the injector, and a pod injected by the real patch has every file its configuration names.
//!
//! The schema check: each document is deserialized into the `k8s-openapi` type of its kind and
//! serialized back; the round trip must give the document again. A misspelt or misplaced field
//! is dropped by the typed deserializer, so the comparison fails and names it. With
//! `restartPolicy` misspelt `restartPolicyy` in deployment.yaml the check reports
//! `Deployment demo-app: not in its schema:
//! /spec/template/spec/initContainers/1/restartPolicyy dropped`
//! (planted in memory by `the_schema_check_catches_a_misspelt_or_misplaced_field`; checked by
//! hand once too, with `failureTreshold` planted in injector.yaml and `restartPolicyy` in the
//! README's injected pod: both tests failed, naming the field).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service, ServiceAccount};
use kms_agent::config::{self, AuthConfig, CacheKeySource, Credential};
use kms_agent::injector::review::{answer, Outcome};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use support::KMS;

/// The injector's default `--agent-image`.
const AGENT_IMAGE: &str = "ghcr.io/hanzoai/kms-agent:latest";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every document of a (multi-document) YAML text; comment-only documents are skipped.
fn documents(text: &str) -> Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).map_err(|e| e.to_string())?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The YAML files of both folders, relative to the repository, sorted.
fn manifest_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["deploy/kubernetes", "deploy/kubernetes/injector"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

/// The one document of `kind` in `file`.
fn doc_of(file: &str, kind: &str) -> Value {
    let docs: Vec<Value> = documents(&read(file))
        .unwrap()
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .collect();
    assert_eq!(docs.len(), 1, "{file}: one {kind} expected");
    docs.into_iter().next().unwrap()
}

/// The document deserialized as `T` and serialized again.
fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Where `theirs` (the typed round trip) differs from `ours` (the document), as JSON pointers.
fn differences(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(other) => differences(value, other, &format!("{path}/{key}"), out),
                    None => out.push(format!("{path}/{key} dropped")),
                }
            }
            out.extend(
                b.keys()
                    .filter(|k| !a.contains_key(*k))
                    .map(|k| format!("{path}/{k} added")),
            );
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}/{i}"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} became {b}")),
        _ => {}
    }
}

/// The keys cert-manager's `cert-manager.io/v1` API has where these manifests use it (its types
/// are not in k8s-openapi): a field outside them is a typo.
fn cert_manager_keys(path: &str) -> Option<&'static [&'static str]> {
    Some(match path {
        "" => &["apiVersion", "kind", "metadata", "spec"],
        "/metadata" => &["name", "namespace", "labels", "annotations"],
        "/spec" => &[
            // Issuer
            "selfSigned",
            "ca",
            "acme",
            "vault",
            "venafi",
            // Certificate
            "secretName",
            "secretTemplate",
            "commonName",
            "dnsNames",
            "ipAddresses",
            "uris",
            "emailAddresses",
            "otherNames",
            "subject",
            "literalSubject",
            "duration",
            "renewBefore",
            "renewBeforePercentage",
            "usages",
            "isCA",
            "privateKey",
            "issuerRef",
            "keystores",
            "revisionHistoryLimit",
            "signatureAlgorithm",
            "encodeUsagesInRequest",
            "nameConstraints",
        ],
        "/spec/selfSigned" => &["crlDistributionPoints"],
        "/spec/privateKey" => &["algorithm", "encoding", "size", "rotationPolicy"],
        "/spec/issuerRef" => &["name", "kind", "group"],
        _ => return None,
    })
}

fn unknown_cert_manager_keys(doc: &Value, path: &str, out: &mut Vec<String>) {
    if let (Some(map), Some(known)) = (doc.as_object(), cert_manager_keys(path)) {
        for (key, value) in map {
            if known.contains(&key.as_str()) {
                unknown_cert_manager_keys(value, &format!("{path}/{key}"), out);
            } else {
                out.push(format!("{path}/{key} unknown"));
            }
        }
    }
}

/// The schema check of one document (see the module comment).
fn schema_check(doc: &Value) -> Result<(), String> {
    let kind = doc["kind"].as_str().ok_or("a document without kind")?;
    let name = doc["metadata"]["name"].as_str().unwrap_or("(no name)");
    let back = match kind {
        "Namespace" => round_trip::<Namespace>(doc),
        "ServiceAccount" => round_trip::<ServiceAccount>(doc),
        "Deployment" => round_trip::<Deployment>(doc),
        "Service" => round_trip::<Service>(doc),
        "ConfigMap" => round_trip::<ConfigMap>(doc),
        "MutatingWebhookConfiguration" => round_trip::<MutatingWebhookConfiguration>(doc),
        "Pod" => round_trip::<Pod>(doc),
        "Issuer" | "Certificate" => {
            if doc["apiVersion"] != "cert-manager.io/v1" {
                return Err(format!(
                    "{kind} {name}: apiVersion is not cert-manager.io/v1"
                ));
            }
            let mut unknown = Vec::new();
            unknown_cert_manager_keys(doc, "", &mut unknown);
            return match unknown.is_empty() {
                true => Ok(()),
                false => Err(format!(
                    "{kind} {name}: not in its schema: {}",
                    unknown.join(", ")
                )),
            };
        }
        other => return Err(format!("{other} {name}: no schema for this kind")),
    }
    .map_err(|e| format!("{kind} {name}: {e}"))?;
    let mut diffs = Vec::new();
    differences(doc, &back, "", &mut diffs);
    match diffs.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{kind} {name}: not in its schema: {}",
            diffs.join(", ")
        )),
    }
}

#[test]
fn every_manifest_parses_and_passes_the_schema_of_its_kind() {
    let files = manifest_files();
    for expected in [
        "deploy/kubernetes/configmap.yaml",
        "deploy/kubernetes/deployment.yaml",
        "deploy/kubernetes/injector/certificate.yaml",
        "deploy/kubernetes/injector/example-app.yaml",
        "deploy/kubernetes/injector/injector.yaml",
        "deploy/kubernetes/injector/webhook.yaml",
    ] {
        assert!(files.iter().any(|f| f == expected), "{expected} is missing");
    }
    let mut kinds = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for file in &files {
        let docs = documents(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!docs.is_empty(), "{file}: no document");
        for doc in &docs {
            kinds.insert(doc["kind"].as_str().unwrap_or_default().to_string());
            if let Err(e) = schema_check(doc) {
                errors.push(format!("{file}: {e}"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "ConfigMap",
        "MutatingWebhookConfiguration",
        "Issuer",
        "Certificate",
    ] {
        assert!(kinds.contains(kind), "no {kind} was checked");
    }
}

#[test]
fn the_schema_check_catches_a_misspelt_or_misplaced_field() {
    let plant = |file: &str, from: &str, to: &str| {
        let text = read(file);
        assert_eq!(text.matches(from).count(), 1, "{file}: {from}");
        let errors: Vec<String> = documents(&text.replace(from, to))
            .unwrap()
            .iter()
            .filter_map(|d| schema_check(d).err())
            .collect();
        assert_eq!(errors.len(), 1, "{file}: {from} -> {to}: {errors:?}");
        errors.into_iter().next().unwrap()
    };
    // Misspelt.
    let e = plant(
        "deploy/kubernetes/deployment.yaml",
        "restartPolicy: Always",
        "restartPolicyy: Always",
    );
    assert!(
        e.contains("/spec/template/spec/initContainers/1/restartPolicyy dropped"),
        "{e}"
    );
    let e = plant(
        "deploy/kubernetes/injector/injector.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFileSystem: true",
    );
    assert!(e.contains("readOnlyRootFileSystem dropped"), "{e}");
    // Misplaced: the webhook's timeout inside its clientConfig.
    let e = plant(
        "deploy/kubernetes/injector/webhook.yaml",
        "        path: /mutate\n",
        "        path: /mutate\n        timeoutSeconds: 5\n",
    );
    assert!(
        e.contains("/webhooks/0/clientConfig/service/timeoutSeconds dropped"),
        "{e}"
    );
    // cert-manager's kinds, checked against their field names.
    let e = plant(
        "deploy/kubernetes/injector/certificate.yaml",
        "secretName:",
        "secretname:",
    );
    assert!(e.contains("/spec/secretname unknown"), "{e}");
}

/// `KMS_*`/`INFISICAL_*` variables of the test's environment must not fill in the configs.
fn agent_command() -> Command {
    let mut cmd = Command::new(KMS);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("KMS_") || name.starts_with("INFISICAL_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn the_agent_configs_in_the_manifests_are_valid() {
    let configs = [
        ("deploy/kubernetes/injector/example-app.yaml", "config.yaml"),
        ("deploy/kubernetes/configmap.yaml", "agent-init.yaml"),
        ("deploy/kubernetes/configmap.yaml", "agent.yaml"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, key)) in configs.iter().enumerate() {
        let text = doc_of(file, "ConfigMap")["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no data.{key}"))
            .to_string();
        let path = dir.path().join(format!("{i}-{key}"));
        std::fs::write(&path, text).unwrap();
        let out = agent_command()
            .args(["agent", "validate", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file} data.{key}: kms agent validate exited {:?}\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid"));
    }
}

#[test]
fn the_webhook_reaches_the_injector_through_its_service() {
    let file = "deploy/kubernetes/injector/injector.yaml";
    let namespace = doc_of(file, "Namespace");
    let service = doc_of(file, "Service");
    let deployment = doc_of(file, "Deployment");
    let ns = namespace["metadata"]["name"].as_str().unwrap();
    let svc = service["metadata"]["name"].as_str().unwrap();
    assert_eq!(service["metadata"]["namespace"], ns);
    assert_eq!(deployment["metadata"]["namespace"], ns);
    assert_eq!(doc_of(file, "ServiceAccount")["metadata"]["namespace"], ns);

    // The webhook calls the Service at /mutate, on one of its ports, and spares the
    // injector's own namespace and kube-system.
    let config = doc_of(
        "deploy/kubernetes/injector/webhook.yaml",
        "MutatingWebhookConfiguration",
    );
    let webhooks = config["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), 1);
    let webhook = &webhooks[0];
    assert_eq!(webhook["name"], "pods.kms.hanzo.ai");
    let target = &webhook["clientConfig"]["service"];
    assert_eq!(
        (target["name"].as_str(), target["namespace"].as_str()),
        (Some(svc), Some(ns))
    );
    assert_eq!(target["path"], "/mutate");
    let port = target["port"].as_i64().unwrap_or(443);
    let ports = service["spec"]["ports"].as_array().unwrap();
    let service_port = ports
        .iter()
        .find(|p| p["port"] == port)
        .unwrap_or_else(|| panic!("the Service has no port {port}"));
    assert_eq!(
        webhook["rules"],
        json!([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                "resources": ["pods"], "scope": "Namespaced"}])
    );
    assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["reinvocationPolicy"], "Never");
    let timeout = webhook["timeoutSeconds"].as_i64().unwrap();
    assert!(
        (5..=30).contains(&timeout),
        "the injector gives each request 5 s"
    );
    let spared: Vec<&Value> = webhook["namespaceSelector"]["matchExpressions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
        .flat_map(|e| e["values"].as_array().unwrap())
        .collect();
    for name in ["kube-system", ns] {
        assert!(spared.contains(&&json!(name)), "{name} is not spared");
    }

    // The Service selects the Deployment's pods and targets its container's port.
    let template = &deployment["spec"]["template"];
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(
            &template["metadata"]["labels"][key], value,
            "selector {key}"
        );
        assert_eq!(&deployment["spec"]["selector"]["matchLabels"][key], value);
    }
    let containers = template["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let container = &containers[0];
    let target_port = &service_port["targetPort"];
    let container_port = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["containerPort"] == *target_port || p["name"] == *target_port)
        .unwrap_or_else(|| panic!("no container port {target_port}"));
    let number = &container_port["containerPort"];
    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(
            (&get["path"], &get["scheme"]),
            (&json!("/healthz"), &json!("HTTPS")),
            "{probe}"
        );
        assert!(
            get["port"] == *number || get["port"] == container_port["name"],
            "{probe}"
        );
    }
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "injector",
            "--tls-cert",
            "/tls/tls.crt",
            "--tls-key",
            "/tls/tls.key",
            "--listen",
            "0.0.0.0:8443"
        ]
    );
    assert_eq!(number.as_i64(), Some(8443), "--listen's port");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let security = &container["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(template["spec"]["securityContext"]["runAsNonRoot"], true);

    // The TLS Secret at /tls is the one the Certificate produces, for the Service's names.
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/tls")
        .expect("the TLS mount");
    let volume = template["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the TLS volume");
    let secret = volume["secret"]["secretName"].as_str().unwrap();
    assert_eq!(secret, "kms-injector-tls");

    let file = "deploy/kubernetes/injector/certificate.yaml";
    let issuer = doc_of(file, "Issuer");
    let certificate = doc_of(file, "Certificate");
    for doc in [&issuer, &certificate] {
        assert_eq!(doc["apiVersion"], "cert-manager.io/v1");
        assert_eq!(
            doc["metadata"]["namespace"], ns,
            "a namespaced Issuer beside the Secret"
        );
    }
    assert!(issuer["spec"]["selfSigned"].is_object());
    let spec = &certificate["spec"];
    assert_eq!(spec["secretName"], secret);
    assert_eq!(
        spec["dnsNames"],
        json!([
            format!("{svc}.{ns}.svc"),
            format!("{svc}.{ns}.svc.cluster.local")
        ])
    );
    assert_eq!(spec["issuerRef"]["name"], issuer["metadata"]["name"]);
    assert_eq!(spec["issuerRef"]["kind"], "Issuer");
    assert_eq!(
        config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!("{ns}/{}", certificate["metadata"]["name"].as_str().unwrap())
    );

    // self-signed.sh makes the same Secret for the same names and patches the same webhook.
    let script = read("deploy/kubernetes/injector/self-signed.sh");
    assert!(script.starts_with("#!/bin/sh\n") && script.contains("\nset -eu\n"));
    assert!(script.contains(&format!("ns={ns}\n")) && script.contains(&format!("service={svc}\n")));
    assert!(script.contains(&format!("create secret tls {secret} ")));
    assert!(script.contains("DNS:$service.$ns.svc, DNS:$service.$ns.svc.cluster.local"));
    assert!(script.contains(&format!(
        "kubectl patch mutatingwebhookconfiguration {} ",
        config["metadata"]["name"].as_str().unwrap()
    )));
}

/// `pod` as the API server stores it once the injector (the real review code) answered.
fn inject(pod: &Value) -> Value {
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0b5c6f3e-0000-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE", "namespace": "default", "object": pod,
        }
    });
    let (answer, outcome) = answer(&serde_json::to_vec(&review).unwrap(), AGENT_IMAGE).unwrap();
    assert_eq!(outcome, Outcome::Injected, "{answer}");
    let response = &answer["response"];
    assert_eq!(response["allowed"], true);
    assert!(response["warnings"].is_null(), "{response}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(response["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
    let mut injected = pod.clone();
    json_patch::patch(&mut injected, &patch).unwrap();
    injected
}

/// The pod a Deployment's template makes (what the webhook is sent).
fn pod_of(deployment: &Value) -> Value {
    let template = &deployment["spec"]["template"];
    json!({"metadata": template["metadata"], "spec": template["spec"]})
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// The mount of `container` that holds `path` (the deepest one), and the path inside it.
fn mount_of<'a>(container: &'a Value, path: &Path) -> Option<(&'a Value, PathBuf)> {
    container["volumeMounts"]
        .as_array()?
        .iter()
        .filter_map(|m| {
            let inside = path.strip_prefix(m["mountPath"].as_str()?).ok()?;
            Some((m, inside.to_path_buf()))
        })
        .max_by_key(|(m, _)| m["mountPath"].as_str().map(str::len))
}

/// Whether the volume puts a file at `inside`: a projected or ConfigMap item, a projected
/// service-account token.
fn provides(volume: &Value, inside: &Path, config_map: &Value) -> bool {
    let items_have = |source: &Value| {
        // A ConfigMap source without items provides every key of the ConfigMap (of this file).
        if source["items"].is_null()
            && source["configMap"].is_null()
            && source["name"] == config_map["metadata"]["name"]
        {
            let key = inside.to_str().unwrap_or_default();
            assert!(
                config_map["data"][key].is_string(),
                "the ConfigMap has no key {key}"
            );
            return true;
        }
        let have = source["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|i| Path::new(i["path"].as_str().unwrap()) == inside)
        });
        // An item of the ConfigMap in this file must name one of its keys.
        if have && source["name"] == config_map["metadata"]["name"] {
            let key = source["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| Path::new(i["path"].as_str().unwrap()) == inside)
                .unwrap()["key"]
                .as_str()
                .unwrap();
            assert!(
                config_map["data"][key].is_string(),
                "the ConfigMap has no key {key}"
            );
        }
        have
    };
    if volume["configMap"].is_object() {
        return items_have(&volume["configMap"]);
    }
    volume["projected"]["sources"]
        .as_array()
        .is_some_and(|sources| {
            sources.iter().any(|s| {
                items_have(&s["configMap"])
                    || items_have(&s["downwardAPI"])
                    || items_have(&s["secret"])
                    || s["serviceAccountToken"]["path"].as_str().map(Path::new) == Some(inside)
            })
        })
}

#[test]
fn the_example_app_injected_by_the_real_patch_has_every_file_its_config_names() {
    let file = "deploy/kubernetes/injector/example-app.yaml";
    let deployment = doc_of(file, "Deployment");
    let config_map = doc_of(file, "ConfigMap");
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["kms.hanzo.ai/inject"], "true");
    assert_eq!(annotations["kms.hanzo.ai/inject-mode"], "sidecar-init");
    assert_eq!(
        annotations["kms.hanzo.ai/agent-config-map"],
        config_map["metadata"]["name"]
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        doc_of(file, "ServiceAccount")["metadata"]["name"]
    );

    let mut pod = pod_of(&deployment);
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod["metadata"]["name"] = json!("demo-app-5d8f7c9b4-x2x7q");
    let injected = inject(&pod);
    schema_check(&injected).unwrap_or_else(|e| panic!("the injected pod: {e}"));
    let spec = &injected["spec"];
    let text = config_map["data"]["config.yaml"].as_str().unwrap();
    let cfg = config::parse_str(text, &config::EmptyEnv).unwrap();

    // What the agent reads, and what it writes (on a writable shared volume).
    let AuthConfig::Kubernetes(auth) = &cfg.auth else {
        panic!("auth is not kubernetes")
    };
    let Credential::File(identity) = &auth.identity_id else {
        panic!("identity-id is not a file")
    };
    let cache = cfg.cache.as_ref().expect("a persistent cache");
    let CacheKeySource::Kubernetes {
        service_account_token_path,
    } = &cache.key
    else {
        panic!("the cache key is not the service-account token")
    };
    let reads = [
        Path::new("/kms/config/config.yaml"),
        identity,
        &auth.service_account_token,
        service_account_token_path,
    ];
    let mut writes: Vec<&Path> = cfg.sinks.iter().map(|s| s.path.as_path()).collect();
    writes.extend(cfg.templates.iter().map(|t| t.destination.as_path()));
    writes.push(&cache.path);

    let agents: Vec<&Value> = spec["initContainers"].as_array().unwrap().iter().collect();
    let names: Vec<&str> = agents.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["kms-agent-init", "kms-agent"]);
    assert_eq!(agents[1]["restartPolicy"], "Always");
    for agent in agents {
        let name = agent["name"].as_str().unwrap();
        assert_eq!(agent["args"][2], "/kms/config/config.yaml", "{name}");
        for path in reads {
            let (mount, inside) =
                mount_of(agent, path).unwrap_or_else(|| panic!("{name}: {path:?} is not mounted"));
            let volume = by_name(&spec["volumes"], mount["name"].as_str().unwrap());
            assert!(
                provides(volume, &inside, &config_map),
                "{name}: {path:?}: the volume {} has no {inside:?}",
                volume["name"]
            );
        }
        for path in &writes {
            let (mount, _) =
                mount_of(agent, path).unwrap_or_else(|| panic!("{name}: {path:?} is not mounted"));
            assert!(mount["readOnly"] != true, "{name}: {path:?} is read-only");
            let volume = by_name(&spec["volumes"], mount["name"].as_str().unwrap());
            assert!(
                volume["emptyDir"].is_object(),
                "{name}: {path:?} is not on an emptyDir"
            );
        }
        // The files (mode 0600) are written as the pod's user, the app's.
        assert!(agent["securityContext"]["runAsUser"].is_null(), "{name}");
    }
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);

    // The app reads /kms/secrets/app.env, a template's destination, from its read-only mount.
    let app = by_name(&spec["containers"], "app");
    assert!(app["command"][2]
        .as_str()
        .unwrap()
        .contains("/kms/secrets/app.env"));
    assert!(cfg
        .templates
        .iter()
        .any(|t| t.destination == Path::new("/kms/secrets/app.env")));
    let (mount, _) = mount_of(app, Path::new("/kms/secrets/app.env")).unwrap();
    assert_eq!(
        (&mount["name"], &mount["readOnly"]),
        (&json!("kms-secrets"), &json!(true))
    );
    assert_eq!(
        injected["metadata"]["annotations"]["kms.hanzo.ai/agent-status"],
        "injected"
    );
}

/// The YAML blocks of the README's `### Kubernetes` section.
fn readme_yaml_blocks() -> Vec<String> {
    let readme = read("README.md");
    let start = readme
        .find("\n### Kubernetes\n")
        .expect("README: ### Kubernetes");
    let section = &readme[start + 1..];
    let end = ["\n## ", "\n### "]
        .iter()
        .filter_map(|h| section[1..].find(h).map(|e| e + 1))
        .min()
        .unwrap_or(section.len());
    let section = &section[..end];
    section
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest[..rest.find("```").unwrap()].to_string())
        .collect()
}

#[test]
fn the_readme_shows_its_deployment_as_the_injector_changes_it() {
    let blocks = readme_yaml_blocks();
    assert_eq!(
        blocks.len(),
        2,
        "README ### Kubernetes: a before and an after block"
    );
    let before = documents(&blocks[0]).unwrap();
    assert_eq!(before.len(), 1);
    let before = &before[0];
    assert_eq!(before["kind"], "Deployment");
    schema_check(before).unwrap_or_else(|e| panic!("README, before: {e}"));
    let after = documents(&blocks[1]).unwrap();
    assert_eq!(after.len(), 1);
    let after = &after[0];

    let injected = inject(&pod_of(before));
    let mut diffs = Vec::new();
    differences(after, &injected, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "README, after: not what the injector makes of before ('dropped': only in the README, \
         'added': only in the injected pod): {}\nthe injected pod:\n{}",
        diffs.join(", "),
        yaml_serde::to_string(&injected).unwrap()
    );
    let mut pod = after.clone();
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    schema_check(&pod).unwrap_or_else(|e| panic!("README, after: {e}"));

    // The README's app is the example app.
    let example = doc_of("deploy/kubernetes/injector/example-app.yaml", "Deployment");
    assert_eq!(
        before["spec"], example["spec"],
        "README, before: not example-app.yaml's"
    );
}
