//! To the FetcherActor: what renderers need from the server, and its own fetches finishing.

use std::time::Instant;

use ractor::DerivedActorRef;

use super::renderer::DataReply;
use kms_agent::fetch::FetchFailure;
use kms_agent::template::{DataRequest, DataValue};

/// The answer to one request.
pub type FetchResult = Result<DataValue, FetchFailure>;

pub enum FetcherMsg {
    /// Answer each request with data fetched at or after `round`, by sending
    /// [`DataReply::Data`] to `reply`.
    Fetch {
        requests: Vec<DataRequest>,
        round: Instant,
        reply: DerivedActorRef<DataReply>,
    },
    /// A fetch task finished.
    Completed {
        request: DataRequest,
        started: Instant,
        result: FetchResult,
    },
}
