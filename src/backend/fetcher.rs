//! Fetching what templates ask for, with the KMS client.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::describe;
use crate::client::{GetSecretQuery, KmsClient, ListSecretsQuery};
use crate::fetch::{FetchFailure, SecretFetcher};
use crate::sensitive::Sensitive;
use crate::template::{DataRequest, DataValue, SharedSecret};

/// Answers `secret`, `listSecretsByProjectSlug` and `getSecretByName` requests. Imports are always
/// included and merged with the server's precedence (docs/behaviour.md §3).
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
            let result = if let Some(query) = ListSecretsQuery::from_data_request(request) {
                self.client
                    .list_template_secrets(token, &query)
                    .await
                    .map(|list| DataValue::Secrets(Arc::new(list)))
            } else if let Some(query) = GetSecretQuery::from_data_request(request) {
                self.client
                    .get_template_secret(token, &query)
                    .await
                    .map(|s| DataValue::Secret(SharedSecret::single(s)))
            } else {
                return Err(FetchFailure {
                    message: "dynamic secrets are leased, not fetched".into(),
                    token_rejected: false,
                });
            };
            result.map_err(|e| FetchFailure {
                message: describe(&e),
                token_rejected: e.is_auth_failure(),
            })
        })
    }
}
