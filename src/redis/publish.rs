//! Publishing envelopes, and reading the newest back.

use redis_rs::aio::ConnectionLike;
use redis_rs::streams::{StreamId, StreamRangeReply};

use super::{command_error, RawEntry, StreamItem, TransportError, DATA_FIELD};
use crate::{CrowdPredictionEnvelope, Decoder};

/// Options of [`publish_envelope`].
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct PublishOptions {
    /// Trim the stream to about this many entries (`MAXLEN ~ n`).
    pub max_len: Option<usize>,
}

impl PublishOptions {
    /// Trim the stream to about `max_len` entries as each is added.
    pub fn max_len(max_len: usize) -> PublishOptions {
        PublishOptions {
            max_len: Some(max_len),
        }
    }
}

/// Validates the envelope, then `XADD`s it as one `data` field; gives the
/// entry id.
pub async fn publish_envelope(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelope: &CrowdPredictionEnvelope,
    options: PublishOptions,
) -> Result<String, TransportError> {
    envelope.validate()?;
    xadd(stream, &envelope.to_json(), options)
        .query_async(conn)
        .await
        .map_err(command_error("XADD"))
}

/// Publishes many envelopes in one round trip (a pipeline); gives their ids
/// in order. All are validated before any is sent.
pub async fn publish_envelopes(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelopes: &[CrowdPredictionEnvelope],
    options: PublishOptions,
) -> Result<Vec<String>, TransportError> {
    let mut pipe = redis_rs::pipe();
    for envelope in envelopes {
        envelope.validate()?;
        pipe.add_command(xadd(stream, &envelope.to_json(), options));
    }
    pipe.query_async(conn).await.map_err(command_error("XADD"))
}

fn xadd(stream: &str, payload: &str, options: PublishOptions) -> redis_rs::Cmd {
    let mut cmd = redis_rs::cmd("XADD");
    cmd.arg(stream);
    if let Some(max_len) = options.max_len {
        cmd.arg("MAXLEN").arg("~").arg(max_len);
    }
    cmd.arg("*").arg(DATA_FIELD).arg(payload);
    cmd
}

/// The newest `count` entries, newest first (`XREVRANGE`), decoded; the
/// ones that do not decode come as [`StreamItem::Skipped`].
pub async fn read_envelopes(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<StreamItem>, TransportError> {
    let decoder = Decoder::new();
    Ok(read_entries(conn, stream, count)
        .await?
        .iter()
        .map(|entry| entry.decode(&decoder))
        .collect())
}

/// The newest `count` entries, newest first, undecoded.
pub async fn read_entries(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    Ok(newest(conn, stream, count)
        .await?
        .into_iter()
        .map(RawEntry::from_stream_id)
        .collect())
}

/// Up to `count` entries older than the entry id `before`, newest first,
/// undecoded: paging back from what [`read_entries`] gave.
pub async fn read_entries_before(
    conn: &mut impl ConnectionLike,
    stream: &str,
    before: &str,
    count: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    if !super::is_stream_id(before) {
        return Err(TransportError::InvalidId(before.to_owned()));
    }
    Ok(range(conn, stream, &format!("({before}"), count)
        .await?
        .into_iter()
        .map(RawEntry::from_stream_id)
        .collect())
}

async fn newest(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<StreamId>, TransportError> {
    range(conn, stream, "+", count).await
}

/// `XREVRANGE stream end - COUNT count`.
async fn range(
    conn: &mut impl ConnectionLike,
    stream: &str,
    end: &str,
    count: usize,
) -> Result<Vec<StreamId>, TransportError> {
    let reply: StreamRangeReply = redis_rs::cmd("XREVRANGE")
        .arg(stream)
        .arg(end)
        .arg("-")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
        .map_err(command_error("XREVRANGE"))?;
    Ok(reply.ids)
}
