//! The JSONPatch (RFC 6902) that injects the agent into a pod (docs/injector.md, "The patch").
//! An array the pod does not have yet is added whole; one it has gets elements appended (`/-`)
//! or inserted at the front (`/0`), so the patch applies to any pod.

use serde_json::{json, Value};

use super::annotations::{Mode, Settings, INJECTED, PREFIX, STATUS};

/// Where the agent containers find their configuration (the ConfigMap's `config.yaml`).
pub const CONFIG_DIR: &str = "/kms/config";
pub const CONFIG_FILE: &str = "/kms/config/config.yaml";
/// Where the encrypted lease cache may live (`cache.persistent.path`).
pub const CACHE_DIR: &str = "/var/cache/kms-agent";
/// Where Kubernetes puts a pod's service-account token.
pub const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The user of the agent's image (`deploy/docker/Dockerfile`).
pub const AGENT_UID: i64 = 10001;

pub const SECRETS_VOLUME: &str = "kms-secrets";
pub const CONFIG_VOLUME: &str = "kms-agent-config";
pub const CACHE_VOLUME: &str = "kms-agent-cache";
pub const TOKEN_VOLUME: &str = "kms-agent-token";
pub const INIT_CONTAINER: &str = "kms-agent-init";
pub const SIDECAR_CONTAINER: &str = "kms-agent";

/// The patch for `pod` (its JSON as the API server sent it).
pub fn injection_patch(pod: &Value, settings: &Settings) -> Vec<Value> {
    let spec = &pod["spec"];
    let mut ops = Vec::new();

    // The pod's own token mount, copied into the agent; without one, a projected token.
    let token_mount = existing_token_mount(spec);
    let mut volumes = vec![
        json!({"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory"}}),
        // The whole ConfigMap: beside `config.yaml` it may hold the files the config names
        // (`identity-id: /kms/config/identity-id`).
        json!({"name": CONFIG_VOLUME, "configMap": {"name": settings.config_map}}),
        json!({"name": CACHE_VOLUME, "emptyDir": {}}),
    ];
    if token_mount.is_none() {
        volumes.push(json!({"name": TOKEN_VOLUME, "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        ]}}));
    }
    append_all(&mut ops, spec, "/spec/volumes", "volumes", volumes);

    // The app containers' mount of the shared volume.
    let app_mount =
        json!({"name": SECRETS_VOLUME, "mountPath": settings.mount_path, "readOnly": true});
    if let Some(containers) = spec["containers"].as_array() {
        for (i, container) in containers.iter().enumerate() {
            let name = container["name"].as_str().unwrap_or_default();
            let selected = settings
                .containers
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == name));
            let taken = container["volumeMounts"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|m| m["mountPath"] == settings.mount_path.as_str())
            });
            if selected && !taken {
                append_all(
                    &mut ops,
                    container,
                    &format!("/spec/containers/{i}/volumeMounts"),
                    "volumeMounts",
                    vec![app_mount.clone()],
                );
            }
        }
    }

    // The agent first among the init containers, so other init containers find the files.
    let mut agents = Vec::new();
    if settings.mode.has_init() {
        agents.push(agent_container(
            pod,
            settings,
            Mode::Init,
            token_mount.as_ref(),
        ));
    }
    if settings.mode.has_sidecar() {
        agents.push(agent_container(
            pod,
            settings,
            Mode::Sidecar,
            token_mount.as_ref(),
        ));
    }
    if spec["initContainers"].as_array().is_some() {
        for (offset, agent) in agents.into_iter().enumerate() {
            ops.push(json!({"op": "add", "path": format!("/spec/initContainers/{offset}"), "value": agent}));
        }
    } else {
        ops.push(json!({"op": "add", "path": "/spec/initContainers", "value": agents}));
    }

    // The marker.
    let marker = format!("{PREFIX}{STATUS}");
    if pod["metadata"]["annotations"].is_object() {
        ops.push(json!({"op": "add", "path": format!("/metadata/annotations/{}", escape(&marker)), "value": INJECTED}));
    } else {
        ops.push(
            json!({"op": "add", "path": "/metadata/annotations", "value": {marker: INJECTED}}),
        );
    }
    ops
}

/// One agent container: the init container (`Mode::Init`) or the sidecar.
fn agent_container(
    pod: &Value,
    settings: &Settings,
    role: Mode,
    token_mount: Option<&Value>,
) -> Value {
    let mut args = vec!["agent", "--config", CONFIG_FILE];
    if role == Mode::Init {
        args.push("--exit-after-auth");
    } else if settings.revoke_on_shutdown {
        args.push("--revoke-credentials-on-shutdown");
    }
    let token = token_mount
        .cloned()
        .unwrap_or_else(|| json!({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": true}));
    let mut security = json!({
        "runAsNonRoot": true,
        "readOnlyRootFilesystem": true,
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
    });
    // The pod's own user, when it sets one, applies to the agent too: the files it writes are
    // then the app's.
    if pod["spec"]["securityContext"]["runAsUser"].is_null() {
        security["runAsUser"] = json!(AGENT_UID);
    }
    let r = &settings.resources;
    let mut resources = json!({});
    for (section, key, value) in [
        ("requests", "cpu", &r.requests_cpu),
        ("requests", "memory", &r.requests_memory),
        ("limits", "cpu", &r.limits_cpu),
        ("limits", "memory", &r.limits_memory),
    ] {
        if let Some(v) = value {
            resources[section][key] = json!(v);
        }
    }
    let mut container = json!({
        "name": if role == Mode::Init { INIT_CONTAINER } else { SIDECAR_CONTAINER },
        "image": settings.image,
        "args": args,
        "volumeMounts": [
            {"name": SECRETS_VOLUME, "mountPath": settings.mount_path},
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": true},
            {"name": CACHE_VOLUME, "mountPath": CACHE_DIR},
            token,
        ],
        "securityContext": security,
        "resources": resources,
    });
    if role == Mode::Sidecar {
        container["restartPolicy"] = json!("Always");
    }
    container
}

/// The service-account token mount of the pod's first container that has one.
fn existing_token_mount(spec: &Value) -> Option<Value> {
    spec["containers"]
        .as_array()?
        .iter()
        .filter_map(|c| c["volumeMounts"].as_array())
        .flatten()
        .find(|m| m["mountPath"] == TOKEN_DIR)
        .cloned()
}

/// `add` operations that put `items` into the array `parent[key]` at `path`: the whole array
/// when it does not exist yet, else one element appended at a time.
fn append_all(ops: &mut Vec<Value>, parent: &Value, path: &str, key: &str, items: Vec<Value>) {
    if parent[key].is_array() {
        for item in items {
            ops.push(json!({"op": "add", "path": format!("{path}/-"), "value": item}));
        }
    } else {
        ops.push(json!({"op": "add", "path": path, "value": items}));
    }
}

/// A JSON-pointer token (RFC 6901): `~` as `~0`, `/` as `~1`.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injector::annotations::Resources;

    fn settings(mode: Mode) -> Settings {
        Settings {
            mode,
            config_map: "cfg".into(),
            mount_path: "/kms/secrets".into(),
            containers: None,
            image: "kms:1".into(),
            resources: Resources {
                requests_cpu: Some("10m".into()),
                requests_memory: None,
                limits_cpu: None,
                limits_memory: Some("64Mi".into()),
            },
            revoke_on_shutdown: true,
        }
    }

    #[test]
    fn a_bare_pod_gets_whole_arrays_and_an_existing_one_appended_elements() {
        let bare = json!({"metadata": {}, "spec": {"containers": [{"name": "app"}]}});
        let ops = injection_patch(&bare, &settings(Mode::SidecarInit));
        let paths: Vec<&str> = ops.iter().map(|o| o["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "/spec/volumes",
                "/spec/containers/0/volumeMounts",
                "/spec/initContainers",
                "/metadata/annotations"
            ]
        );
        let agents = ops[2]["value"].as_array().unwrap();
        assert_eq!(agents[0]["name"], INIT_CONTAINER);
        assert_eq!(agents[1]["restartPolicy"], "Always");
        assert_eq!(agents[1]["args"][3], "--revoke-credentials-on-shutdown");
        assert_eq!(agents[0]["securityContext"]["runAsUser"], AGENT_UID);

        let full = json!({"metadata": {"annotations": {"a": "b"}}, "spec": {
            "securityContext": {"runAsUser": 1234},
            "volumes": [{"name": "x", "emptyDir": {}}],
            "initContainers": [{"name": "migrate"}],
            "containers": [{"name": "app", "volumeMounts": [{"name": "tok", "mountPath": TOKEN_DIR}]}],
        }});
        let ops = injection_patch(&full, &settings(Mode::Init));
        let paths: Vec<&str> = ops.iter().map(|o| o["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "/spec/volumes/-",
                "/spec/volumes/-",
                "/spec/volumes/-",
                "/spec/containers/0/volumeMounts/-",
                "/spec/initContainers/0",
                "/metadata/annotations/kms.hanzo.ai~1agent-status",
            ]
        );
        let agent = &ops[4]["value"];
        assert!(
            agent["securityContext"]["runAsUser"].is_null(),
            "the pod's user applies"
        );
        assert_eq!(
            agent["volumeMounts"][3]["name"], "tok",
            "the pod's token mount is reused"
        );
    }
}
