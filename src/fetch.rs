//! Fetching the data templates ask for: the interface the FetcherActor drives.

use futures::future::BoxFuture;

use crate::sensitive::Sensitive;
use crate::template::{DataRequest, DataValue};

/// Why a fetch failed. The message is safe to log and to show as the template function's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchFailure {
    pub message: String,
    /// 401, or 403 `TokenError`: the token is dead, log in again.
    pub token_rejected: bool,
}

/// Answers one [`DataRequest`] with one (retried) API call.
pub trait SecretFetcher: Send + Sync + 'static {
    fn fetch<'a>(
        &'a self,
        token: &'a Sensitive<String>,
        request: &'a DataRequest,
    ) -> BoxFuture<'a, Result<DataValue, FetchFailure>>;
}
