//! Secret reads (`docs/wire-contract.md` §8–§10): the secret object, the list and get answers, and
//! the query strings of v3 and v4 (every boolean sent explicitly, both spellings of the imports
//! flag on v4).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{SeqAccess, Visitor};
use serde::Deserialize;

use super::auth::sensitive_string;
use super::error::{ApiError, RequestContext};
use super::http::{Call, KmsClient, DETECTED_V3, DETECTED_V4};
use super::merge::{template_secrets, to_template_secret};
use super::retry::Idempotency;
use crate::sensitive::Sensitive;
use crate::template::functions::sort_secrets;
use crate::template::{DataRequest, ProjectRef, Secret, SecretTooLarge};
use reqwest::Method;
use std::sync::atomic::Ordering;

/// Which secret routes to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// Try v4; on the framework 404 of a server without v4 (D16) use v3, and remember which.
    #[default]
    Auto,
    V3,
    V4,
}

/// A tag on a secret.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SecretTag {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// The secret object of §8, decoded leniently (unknown fields ignored, optional fields defaulted).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RawSecret {
    #[serde(default)]
    pub id: String,
    /// Project id; `""` inside `imports[].secrets[]` on late-2024 servers.
    #[serde(default)]
    pub workspace: String,
    /// Environment slug (the import source's, for imported secrets).
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub version: Option<u64>,
    /// `shared` or `personal`.
    #[serde(default = "shared", rename = "type")]
    pub secret_type: String,
    pub secret_key: String,
    #[serde(deserialize_with = "sensitive_string")]
    pub secret_value: Sensitive<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub secret_comment: String,
    /// Absent inside imports and on late-2024 get-by-name answers.
    #[serde(default)]
    pub secret_path: Option<String>,
    /// Absent on late-2024 servers: `false`.
    #[serde(default, deserialize_with = "null_as_false")]
    pub secret_value_hidden: bool,
    #[serde(default, deserialize_with = "null_as_empty_vec")]
    pub tags: Vec<SecretTag>,
}

fn shared() -> String {
    "shared".into()
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn null_as_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn null_as_empty_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretTag>, D::Error> {
    Ok(Option::<Vec<SecretTag>>::deserialize(d)?.unwrap_or_default())
}

/// One `imports[]` block: the secrets of one imported (source) folder.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretImport {
    /// The source folder.
    #[serde(default)]
    pub secret_path: String,
    /// The source environment.
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub folder_id: Option<String>,
    #[serde(default)]
    pub secrets: PackedSecrets,
}

/// The answer to a list (v3 and v4 alike), its secrets in the template view.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SecretList {
    pub secrets: PackedSecrets,
    #[serde(default, deserialize_with = "null_as_empty_imports")]
    pub imports: Vec<SecretImport>,
}

fn null_as_empty_imports<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<SecretImport>, D::Error> {
    Ok(Option::<Vec<SecretImport>>::deserialize(d)?.unwrap_or_default())
}

/// The secrets of a list or of an import block, each decoded straight into the template view as
/// it is read: an answer may hold a million secrets, and no list of decoded records is built on
/// the way. A folder or project left out stays empty here (the merge fills it in,
/// [`super::merge::template_secrets`]); one text repeated across the list is kept once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedSecrets(pub Vec<Secret>);

impl<'de> Deserialize<'de> for PackedSecrets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> Visitor<'de> for Items {
            type Value = PackedSecrets;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of secrets")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PackedSecrets, A::Error> {
                let mut shared = SharedText::default();
                let mut out = Vec::new();
                while let Some(raw) = seq.next_element::<RawSecret>()? {
                    let folder = shared.get(raw.secret_path.as_deref().unwrap_or_default());
                    let project = shared.get(&raw.workspace);
                    let secret = raw
                        .into_template(project, folder)
                        .map_err(serde::de::Error::custom)?;
                    out.push(secret);
                }
                Ok(PackedSecrets(out))
            }
        }
        d.deserialize_seq(Items)
    }
}

/// Texts shared by the secrets of one list: its folders and projects.
#[derive(Default)]
struct SharedText(HashSet<Arc<str>>);

impl SharedText {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.0.get(text) {
            return known.clone();
        }
        let text: Arc<str> = text.into();
        self.0.insert(text.clone());
        text
    }
}

impl RawSecret {
    /// The template view of this secret, its folder and project as given.
    pub fn into_template(
        self,
        workspace_id: Arc<str>,
        secret_path: Arc<str>,
    ) -> Result<Secret, SecretTooLarge> {
        Secret::pack(
            [
                &self.secret_key,
                self.secret_value.expose(),
                &self.secret_type,
                &self.id,
                &self.secret_comment,
            ],
            workspace_id,
            secret_path,
            self.tags
                .into_iter()
                .map(|t| t.slug.into_boxed_str())
                .collect(),
        )
    }
}

/// Hanzo's AI-access hold on a get-by-name (`aiAccess`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct AiAccess {
    pub status: String,
    pub request_id: Option<String>,
}

/// The answer to get-by-name: `{"secret": …}`, or Hanzo's `{"secret": null, "aiAccess": …}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretEnvelope {
    #[serde(default)]
    pub secret: Option<RawSecret>,
    #[serde(default)]
    pub ai_access: Option<AiAccess>,
}

impl SecretEnvelope {
    /// The secret, with a missing `secretPath` set to the requested folder (D17). `secret: null`
    /// is Hanzo's approval hold ([`ApiError::ApprovalPending`]), or undecodable without `aiAccess`.
    pub fn into_secret(
        self,
        requested_path: &str,
        ctx: RequestContext,
    ) -> Result<RawSecret, ApiError> {
        match (self.secret, self.ai_access) {
            (Some(mut secret), _) => {
                if secret.secret_path.is_none() {
                    secret.secret_path = Some(normalize_secret_path(requested_path));
                }
                Ok(secret)
            }
            (None, Some(access)) => Err(ApiError::ApprovalPending {
                ctx: Box::new(ctx),
                status: access.status,
                request_id: access.request_id,
            }),
            (None, None) => Err(ApiError::Decode {
                ctx: Box::new(ctx),
                detail: "`secret` is null".into(),
            }),
        }
    }
}

/// What to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSecretsQuery {
    /// A slug forces v3 (`workspaceSlug`): v4 has no slug parameter.
    pub project: ProjectRef,
    pub environment: String,
    pub secret_path: String,
    pub recursive: bool,
    pub expand_references: bool,
    pub include_imports: bool,
}

/// What to get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetSecretQuery {
    /// A slug forces v3 (`workspaceSlug`).
    pub project: ProjectRef,
    pub environment: String,
    pub secret_path: String,
    pub name: String,
    pub expand_references: bool,
    pub include_imports: bool,
}

impl ListSecretsQuery {
    /// The list a template's `secret` / `listSecrets` / `listSecretsByProjectSlug` call needs.
    /// Imports are included (the Infisical agent's behaviour); `None` for other requests.
    pub fn from_data_request(request: &DataRequest) -> Option<Self> {
        match request {
            DataRequest::ListSecrets {
                project,
                environment,
                path,
                recursive,
                expand_references,
            } => Some(Self {
                project: project.clone(),
                environment: environment.clone(),
                secret_path: path.clone(),
                recursive: *recursive,
                expand_references: *expand_references,
                include_imports: true,
            }),
            _ => None,
        }
    }
}

impl GetSecretQuery {
    /// The read a template's `getSecretByName` call needs: references expanded and imports
    /// searched (the current server defaults); `None` for other requests.
    pub fn from_data_request(request: &DataRequest) -> Option<Self> {
        match request {
            DataRequest::GetSecret {
                project_id,
                environment,
                path,
                name,
            } => Some(Self {
                project: ProjectRef::Id(project_id.clone()),
                environment: environment.clone(),
                secret_path: path.clone(),
                name: name.clone(),
                expand_references: true,
                include_imports: true,
            }),
            _ => None,
        }
    }
}

/// A folder path as the server stores it: trimmed, leading `/`, no trailing `/` (except root).
pub fn normalize_secret_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else if trimmed.starts_with('/') {
        trimmed.into()
    } else {
        format!("/{trimmed}")
    }
}

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

fn project_pairs(project: &ProjectRef, version: ApiVersion) -> Vec<(&'static str, String)> {
    match (project, version) {
        (ProjectRef::Id(id), ApiVersion::V4) => vec![("projectId", id.clone())],
        (ProjectRef::Id(id), _) => vec![("workspaceId", id.clone())],
        (ProjectRef::Slug(slug), _) => vec![("workspaceSlug", slug.clone())],
    }
}

/// Imports flag: v3 knows `include_imports`; v4 builds know either spelling, so send both.
fn imports_pairs(include: bool, version: ApiVersion) -> Vec<(&'static str, String)> {
    match version {
        ApiVersion::V4 => vec![
            ("includeImports", flag(include)),
            ("include_imports", flag(include)),
        ],
        _ => vec![("include_imports", flag(include))],
    }
}

/// The query of a list request for `version` (`V3` or `V4`; `Auto` is treated as `V3`).
pub fn list_query_pairs(q: &ListSecretsQuery, version: ApiVersion) -> Vec<(&'static str, String)> {
    let mut pairs = project_pairs(&q.project, version);
    pairs.push(("environment", q.environment.clone()));
    pairs.push(("secretPath", normalize_secret_path(&q.secret_path)));
    pairs.push(("expandSecretReferences", flag(q.expand_references)));
    pairs.push(("recursive", flag(q.recursive)));
    pairs.extend(imports_pairs(q.include_imports, version));
    if version == ApiVersion::V4 {
        pairs.push(("includePersonalOverrides", flag(false)));
    }
    pairs.push(("viewSecretValue", flag(true)));
    pairs
}

/// The query of a get-by-name request for `version`.
pub fn get_query_pairs(q: &GetSecretQuery, version: ApiVersion) -> Vec<(&'static str, String)> {
    let mut pairs = project_pairs(&q.project, version);
    pairs.push(("environment", q.environment.clone()));
    pairs.push(("secretPath", normalize_secret_path(&q.secret_path)));
    pairs.push(("type", "shared".into()));
    pairs.push(("expandSecretReferences", flag(q.expand_references)));
    pairs.extend(imports_pairs(q.include_imports, version));
    pairs.push(("viewSecretValue", flag(true)));
    pairs
}

// ---- the secret endpoints of [`KmsClient`] -------------------------------------------

impl KmsClient {
    fn version_for(&self, project: &ProjectRef) -> ApiVersion {
        match project {
            // v4 has no slug parameter and the contract has no slug → id lookup.
            ProjectRef::Slug(_) => ApiVersion::V3,
            ProjectRef::Id(_) => self.resolved_api_version(),
        }
    }

    /// Runs `op` on the version to use; under `Auto`, tries v4 and falls back to v3 on the
    /// framework 404 (D16), remembering the answer.
    async fn with_version<T, F, Fut>(&self, project: &ProjectRef, op: F) -> Result<T, ApiError>
    where
        F: Fn(ApiVersion) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        match self.version_for(project) {
            ApiVersion::Auto => match op(ApiVersion::V4).await {
                Ok(value) => {
                    self.detected.store(DETECTED_V4, Ordering::Relaxed);
                    Ok(value)
                }
                Err(e) if e.is_route_not_found() => {
                    tracing::info!("the KMS serves no v4 secret routes; using v3 from now on");
                    self.detected.store(DETECTED_V3, Ordering::Relaxed);
                    op(ApiVersion::V3).await
                }
                Err(e) => Err(e),
            },
            version => op(version).await,
        }
    }

    /// Lists a folder (v3 `/secrets/raw` or v4 `/secrets`), imports in separate blocks.
    pub async fn list_secrets(
        &self,
        token: &Sensitive<String>,
        query: &ListSecretsQuery,
    ) -> Result<SecretList, ApiError> {
        self.with_version(&query.project, |version| {
            let segments: &[&str] = match version {
                ApiVersion::V4 => &["v4", "secrets"],
                _ => &["v3", "secrets", "raw"],
            };
            self.call(Call {
                method: Method::GET,
                url: self.url(segments, &list_query_pairs(query, version)),
                token: Some(token),
                body: None,
                idempotency: Idempotency::Repeatable,
            })
        })
        .await
    }

    /// Gets one secret by name. A missing `secretPath` in the answer is set to the requested
    /// folder (D17); Hanzo's approval hold is [`ApiError::ApprovalPending`].
    pub async fn get_secret(
        &self,
        token: &Sensitive<String>,
        query: &GetSecretQuery,
    ) -> Result<RawSecret, ApiError> {
        if query.name.trim().is_empty() {
            let url = self.url(&["v3", "secrets", "raw"], &[]);
            return Err(self.invalid("GET", &url, "empty secret name"));
        }
        let (envelope, url) = self
            .with_version(&query.project, |version| {
                let name = query.name.trim();
                let segments: Vec<&str> = match version {
                    ApiVersion::V4 => vec!["v4", "secrets", name],
                    _ => vec!["v3", "secrets", "raw", name],
                };
                let url = self.url(&segments, &get_query_pairs(query, version));
                async move {
                    let envelope: SecretEnvelope = self
                        .call(Call {
                            method: Method::GET,
                            url: url.clone(),
                            token: Some(token),
                            body: None,
                            idempotency: Idempotency::Repeatable,
                        })
                        .await?;
                    Ok((envelope, url))
                }
            })
            .await?;
        envelope.into_secret(&query.secret_path, RequestContext::new("GET", url.path()))
    }

    /// [`Self::list_secrets`] merged (§12.3) into the template view.
    pub async fn list_template_secrets(
        &self,
        token: &Sensitive<String>,
        query: &ListSecretsQuery,
    ) -> Result<Vec<Secret>, ApiError> {
        let list = self.list_secrets(token, query).await?;
        let project_id = match &query.project {
            ProjectRef::Id(id) => id.clone(),
            ProjectRef::Slug(_) => list
                .secrets
                .0
                .iter()
                .map(|s| s.workspace_id())
                .find(|w| !w.is_empty())
                .unwrap_or_default()
                .to_string(),
        };
        let mut secrets = template_secrets(list, &query.secret_path, &project_id);
        // In the order templates see them, once per fetch rather than once per render.
        sort_secrets(&mut secrets);
        Ok(secrets)
    }

    /// [`Self::get_secret`] in the template view.
    pub async fn get_template_secret(
        &self,
        token: &Sensitive<String>,
        query: &GetSecretQuery,
    ) -> Result<Secret, ApiError> {
        let secret = self.get_secret(token, query).await?;
        let path = secret.secret_path.clone().unwrap_or_default();
        let project_id = match &query.project {
            ProjectRef::Id(id) => id.as_str(),
            ProjectRef::Slug(_) => "",
        };
        to_template_secret(secret, &path, project_id).map_err(|e| ApiError::Decode {
            ctx: Box::new(RequestContext::new(
                "GET",
                format!("/secrets/{}", query.name.trim()),
            )),
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(project: ProjectRef) -> ListSecretsQuery {
        ListSecretsQuery {
            project,
            environment: "dev".into(),
            secret_path: "/app/".into(),
            recursive: false,
            expand_references: true,
            include_imports: true,
        }
    }

    #[test]
    fn v3_list_query_sends_every_flag_with_snake_case_imports() {
        let pairs = list_query_pairs(&list(ProjectRef::Id("p1".into())), ApiVersion::V3);
        let expected: Vec<(&str, String)> = vec![
            ("workspaceId", "p1".into()),
            ("environment", "dev".into()),
            ("secretPath", "/app".into()),
            ("expandSecretReferences", "true".into()),
            ("recursive", "false".into()),
            ("include_imports", "true".into()),
            ("viewSecretValue", "true".into()),
        ];
        assert_eq!(pairs, expected);
    }

    #[test]
    fn v4_list_query_sends_both_import_spellings() {
        let pairs = list_query_pairs(&list(ProjectRef::Id("p1".into())), ApiVersion::V4);
        let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("projectId"), Some("p1"));
        assert_eq!(get("workspaceId"), None);
        assert_eq!(get("includeImports"), Some("true"));
        assert_eq!(get("include_imports"), Some("true"));
        assert_eq!(get("includePersonalOverrides"), Some("false"));
        assert_eq!(get("recursive"), Some("false"));
        assert_eq!(get("expandSecretReferences"), Some("true"));
    }

    #[test]
    fn slug_projects_use_workspace_slug() {
        let pairs = list_query_pairs(&list(ProjectRef::Slug("demo".into())), ApiVersion::V3);
        assert_eq!(pairs[0], ("workspaceSlug", "demo".to_string()));
    }

    #[test]
    fn get_query_pins_type_and_flags() {
        let q = GetSecretQuery {
            project: ProjectRef::Id("p".into()),
            environment: "dev".into(),
            secret_path: "".into(),
            name: "DB".into(),
            expand_references: false,
            include_imports: false,
        };
        let pairs = get_query_pairs(&q, ApiVersion::V4);
        assert!(pairs.contains(&("type", "shared".into())));
        assert!(pairs.contains(&("secretPath", "/".into())));
        assert!(pairs.contains(&("expandSecretReferences", "false".into())));
        assert!(pairs.contains(&("includeImports", "false".into())));
        assert!(pairs.contains(&("include_imports", "false".into())));
    }

    #[test]
    fn data_requests_convert_to_queries() {
        let list = DataRequest::ListSecrets {
            project: ProjectRef::Slug("demo".into()),
            environment: "dev".into(),
            path: "/a".into(),
            recursive: true,
            expand_references: false,
        };
        let q = ListSecretsQuery::from_data_request(&list).unwrap();
        assert!(q.recursive && !q.expand_references && q.include_imports);
        assert_eq!(q.project, ProjectRef::Slug("demo".into()));
        assert!(GetSecretQuery::from_data_request(&list).is_none());
        let get = DataRequest::GetSecret {
            project_id: "p".into(),
            environment: "dev".into(),
            path: "/".into(),
            name: "K".into(),
        };
        let q = GetSecretQuery::from_data_request(&get).unwrap();
        assert_eq!(
            (q.project, q.name.as_str()),
            (ProjectRef::Id("p".into()), "K")
        );
        assert!(ListSecretsQuery::from_data_request(&get).is_none());
    }

    #[test]
    fn paths_normalize_like_the_server() {
        assert_eq!(normalize_secret_path("/"), "/");
        assert_eq!(normalize_secret_path(""), "/");
        assert_eq!(normalize_secret_path(" /a/b/ "), "/a/b");
        assert_eq!(normalize_secret_path("a"), "/a");
    }

    #[test]
    fn secret_objects_decode_old_and_new_shapes() {
        let old = r#"{"id":"1","_id":"1","workspace":"w","environment":"dev","version":1,"type":"shared",
            "secretKey":"K","secretValue":"v","secretComment":"","secretReminderNote":null,
            "skipMultilineEncoding":false,"metadata":null,"createdAt":"x","updatedAt":"y"}"#;
        let s: RawSecret = serde_json::from_str(old).unwrap();
        assert_eq!(
            (s.secret_key.as_str(), s.secret_value.expose().as_str()),
            ("K", "v")
        );
        assert!(!s.secret_value_hidden);
        assert_eq!(s.secret_path, None);
        assert!(s.tags.is_empty());
        let new = r#"{"id":"1","workspace":"w","environment":"dev","version":3,"type":"shared",
            "secretKey":"K","secretValue":"<hidden-by-infisical>","secretComment":null,"secretPath":"/b",
            "secretValueHidden":true,"actor":{"actorId":null},"tags":[{"id":"t","slug":"db","name":"db","color":null}],
            "secretMetadata":[{"key":"o","value":"a","isEncrypted":false}]}"#;
        let s: RawSecret = serde_json::from_str(new).unwrap();
        assert!(s.secret_value_hidden);
        assert_eq!(s.secret_path.as_deref(), Some("/b"));
        assert_eq!(s.tags[0].slug, "db");
        assert!(!format!("{s:?}").contains("hidden-by"));
    }

    #[test]
    fn hanzo_pending_envelope_decodes() {
        let e: SecretEnvelope = serde_json::from_str(
            r#"{"secret":null,"aiAccess":{"status":"pending","requestId":"r1"}}"#,
        )
        .unwrap();
        assert!(e.secret.is_none());
        assert_eq!(
            e.ai_access.as_ref().unwrap().request_id.as_deref(),
            Some("r1")
        );
        let err = e
            .into_secret("/", RequestContext::new("GET", "/api/v4/secrets/K"))
            .unwrap_err();
        assert!(
            matches!(&err, ApiError::ApprovalPending { status, .. } if status == "pending"),
            "{err:?}"
        );
        let null: SecretEnvelope = serde_json::from_str(r#"{"secret":null}"#).unwrap();
        let err = null
            .into_secret("/", RequestContext::new("GET", "/x"))
            .unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    }

    #[test]
    fn missing_get_path_is_the_requested_folder() {
        let e: SecretEnvelope = serde_json::from_str(
            r#"{"secret":{"secretKey":"K","secretValue":"v","environment":"dev"}}"#,
        )
        .unwrap();
        let s = e
            .into_secret("/app/", RequestContext::new("GET", "/x"))
            .unwrap();
        assert_eq!(s.secret_path.as_deref(), Some("/app"));
    }
}
