//! To a RendererActor: its rounds, and the answers to what it asked for.

use std::time::{Duration, Instant};

use super::fetcher::FetchResult;
use kms_agent::template::DataRequest;

/// A round whose data has not all arrived by then fails (and is retried): covers a fetcher or
/// lease manager that crashed with our request in flight. Longer than a request with all its
/// retries. Nobody asks for data older than this.
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(180);

pub enum RendererMsg {
    /// Start the first round.
    Start,
    /// The renderer's one timer, armed for this instant, fired (`kms_agent::round_alarm`): start
    /// the next round, or fail the one still waiting for data.
    Alarm { at: Instant },
    /// From the fetcher or the lease manager.
    Reply(DataReply),
}

/// What the fetcher and the lease manager may tell a renderer: all they know of it (they hold a
/// `DerivedActorRef<DataReply>`).
pub enum DataReply {
    /// An answer for the round that asked.
    Data {
        round: Instant,
        request: DataRequest,
        result: FetchResult,
    },
    /// A lease the renderer uses was replaced: render again with the new credentials.
    LeaseReplaced,
}

impl From<DataReply> for RendererMsg {
    fn from(reply: DataReply) -> Self {
        RendererMsg::Reply(reply)
    }
}

impl TryFrom<RendererMsg> for DataReply {
    type Error = RendererMsg;

    fn try_from(msg: RendererMsg) -> Result<Self, RendererMsg> {
        match msg {
            RendererMsg::Reply(reply) => Ok(reply),
            other => Err(other),
        }
    }
}
