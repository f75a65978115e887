//! `/entries` (paging back) and `/stats` (the stream's groups and dead
//! letters), read on the hub's shared connection.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::bodies::entry_body;
use super::Site;
use crowd_envelope::redis::{dead_letters, read_entries_before, stream_stats, TransportError};

/// The dead letters `/stats` lists, oldest first.
const STATS_DEAD_LETTERS: usize = 20;
/// The most of any one dead-letter value `/stats` reads: it shows reasons
/// and errors, never payloads, so a dead letter of 8 MB costs it nothing.
const STATS_VALUE_LIMIT: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
pub(super) struct OlderQuery {
    before: String,
    count: Option<usize>,
}

/// `GET /entries?before=ID&count=N`: up to N (at most `--max-backfill`)
/// entries older than ID, newest first, as a JSON array of `entry` bodies:
/// the page pages back with it. Payloads over the limit stay in Redis.
pub(super) async fn older_entries(
    State(site): State<Arc<Site>>,
    Query(query): Query<OlderQuery>,
) -> Response {
    // Checked before Redis is asked: a 400 needs no connection.
    if !super::is_stream_id(&query.before) {
        return (
            StatusCode::BAD_REQUEST,
            "before: expected an entry id (MS-SEQ)\n",
        )
            .into_response();
    }
    let count = query.count.unwrap_or(100).min(site.max_backfill);
    let read = async {
        let mut conn = site.hub.redis().await?;
        read_entries_before(
            &mut conn,
            &site.stream,
            &query.before,
            count,
            site.max_payload_bytes,
        )
        .await
    };
    match read.await {
        Ok(entries) => {
            let bodies: Vec<_> = entries
                .iter()
                .map(|e| entry_body(e, site.max_payload_bytes))
                .collect();
            axum::Json(bodies).into_response()
        }
        Err(error) => {
            site.hub.redis_failed(&error).await;
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": error.to_string()})),
            )
                .into_response()
        }
    }
}

/// `GET /stats`: the stream's state (its groups, their lag, pending entries
/// and consumers, the dead-letter count) and its oldest 20 dead letters.
/// With Redis down it still answers 200, with `error`: the page polls it,
/// and an outage is news the feed already gives.
pub(super) async fn stream_state(State(site): State<Arc<Site>>) -> Response {
    let read = async {
        let mut conn = site.hub.redis().await?;
        let stats = stream_stats(&mut conn, &site.stream).await?;
        let dead = dead_letters(
            &mut conn,
            &site.stream,
            "-",
            STATS_DEAD_LETTERS,
            STATS_VALUE_LIMIT,
        )
        .await?;
        Ok::<_, TransportError>(json!({"stats": stats, "dead": dead}))
    };
    let body = match read.await {
        Ok(body) => body,
        Err(error) => {
            site.hub.redis_failed(&error).await;
            json!({"stats": null, "dead": [], "error": error.to_string()})
        }
    };
    axum::Json(body).into_response()
}
