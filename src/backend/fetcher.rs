//! Fetching what templates ask for, with the KMS client.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::describe;
use crate::client::{GetSecretQuery, KmsClient, ListSecretsQuery};
use crate::fetch::{FetchFailure, SecretFetcher};
use crate::sensitive::Sensitive;
use crate::template::{DataRequest, DataValue, ProjectRef};

/// Answers `secret`, `listSecretsByProjectSlug` and `getSecretByName` requests. Imports are always
/// included and merged with the server's precedence (PRODUCT.md §3).
pub struct KmsFetcher {
    client: Arc<KmsClient>,
}

impl KmsFetcher {
    pub fn new(client: Arc<KmsClient>) -> Self {
        Self { client }
    }
}

impl SecretFetcher for KmsFetcher {
    fn fetch<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        request: &'a DataRequest,
    ) -> BoxFuture<'a, Result<DataValue, FetchFailure>> {
        Box::pin(async move {
            let result = match request {
                DataRequest::ListSecrets {
                    project,
                    environment,
                    path,
                    recursive,
                    expand_references,
                } => {
                    let query = ListSecretsQuery {
                        project: project.clone(),
                        environment: environment.clone(),
                        secret_path: path.clone(),
                        recursive: *recursive,
                        expand_references: *expand_references,
                        include_imports: true,
                    };
                    self.client
                        .list_template_secrets(token, &query)
                        .await
                        .map(|list| DataValue::Secrets(Arc::new(list)))
                }
                DataRequest::GetSecret {
                    project_id,
                    environment,
                    path,
                    name,
                } => {
                    let query = GetSecretQuery {
                        project: ProjectRef::Id(project_id.clone()),
                        environment: environment.clone(),
                        secret_path: path.clone(),
                        name: name.clone(),
                        expand_references: true,
                        include_imports: true,
                    };
                    self.client
                        .get_template_secret(token, &query)
                        .await
                        .map(|s| DataValue::Secret(Arc::new(s)))
                }
                DataRequest::DynamicSecret { name, .. } => {
                    return Err(FetchFailure {
                        message: format!("dynamic secret {name} must be leased, not fetched"),
                        token_rejected: false,
                    })
                }
            };
            result.map_err(|e| FetchFailure {
                message: describe(&e),
                token_rejected: e.is_auth_failure(),
            })
        })
    }
}
