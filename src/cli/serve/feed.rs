//! `/feed`: Server-Sent Events of the stream's raw entries, to each client
//! from the hub's one follower. A client gets `entries` events (several
//! entries each, its SSE id the last one's), `gap` events and `status`
//! events (Redis up or down). A browser that reconnects sends
//! `Last-Event-ID` and resumes after it, catching up on at most
//! `--max-backfill` entries.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use super::bodies::gap_body;
use super::hub::{relayed, Health, Relayed, Shared, BATCH_ENTRIES};
use super::Site;
use crate::cli::http::Closer;
use crowd_envelope::redis::{
    read_entries, stream_id_parts, Gap, GapReason, RawEntry, TransportError,
};

#[derive(Debug, Deserialize)]
pub(super) struct FeedQuery {
    backfill: Option<usize>,
}

/// The feed, or 503 when `--max-clients` feeds are open.
pub(super) async fn feed(
    State(site): State<Arc<Site>>,
    Query(query): Query<FeedQuery>,
    closer: Option<Extension<Closer>>,
    headers: HeaderMap,
) -> Response {
    let Some(seat) = Seat::take(&site) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "5")],
            format!(
                "{} dashboards are open, the most --max-clients allows\n",
                site.max_clients
            ),
        )
            .into_response();
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| super::is_stream_id(id))
        .and_then(stream_id_parts);
    let backfill = query.backfill.unwrap_or(0).min(site.max_backfill);
    let client = Client {
        updates: site.hub.subscribe(),
        health: site.hub.health(),
        stopping: site.stopping.clone(),
        closer: closer.map(|Extension(closer)| closer),
        start: Some((resume, backfill)),
        greeted: false,
        told: Health::Unknown,
        ready: VecDeque::new(),
        last: None,
        told_reset: None,
        _seat: seat,
        site,
    };
    let stream = futures_util::stream::unfold(client, |mut client| async move {
        client
            .next()
            .await
            .map(|event| (Ok::<_, Infallible>(event), client))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// What a waiting client woke to.
enum Woke {
    Health(bool),
    Update(Result<Arc<Shared>, RecvError>),
}

/// One of `--max-clients` places, given back when the feed ends.
struct Seat(Arc<Site>);

impl Seat {
    fn take(site: &Arc<Site>) -> Option<Seat> {
        let clients = &site.counters.clients;
        let most = i64::try_from(site.max_clients).unwrap_or(i64::MAX);
        clients
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < most).then_some(n + 1)
            })
            .ok()
            .map(|_| Seat(Arc::clone(site)))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.counters.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One client's feed. Polled only when its connection can take more, so a
/// client that reads nothing holds nothing but what its socket holds; the
/// connection's write timeout (`--drop-stalled-ms`) then closes it.
struct Client {
    site: Arc<Site>,
    updates: broadcast::Receiver<Arc<Shared>>,
    health: watch::Receiver<Health>,
    stopping: watch::Receiver<bool>,
    closer: Option<Closer>,
    /// The resume id and backfill asked for, until the catch-up is read.
    start: Option<(Option<(u64, u64)>, usize)>,
    /// Whether the hello was sent.
    greeted: bool,
    /// The health the page was last told.
    told: Health,
    ready: VecDeque<Event>,
    /// The newest entry this client has, or was told it will not get:
    /// the hub's entries up to it are not sent again.
    last: Option<(u64, u64)>,
    /// The old stream's id after which this client was told of a reset at
    /// its catch-up: the hub's own notice of that reset, when it comes
    /// later, is not told again (nor are the new stream's entries it has).
    told_reset: Option<String>,
    _seat: Seat,
}

impl Client {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.start.is_some() {
                self.start_up().await?;
                continue;
            }
            let woke = tokio::select! {
                _ = self.stopping.wait_for(|stop| *stop) => return None,
                changed = self.health.changed() => Woke::Health(changed.is_ok()),
                update = self.updates.recv() => Woke::Update(update),
            };
            match woke {
                Woke::Health(true) => self.tell_health(),
                Woke::Health(false) | Woke::Update(Err(RecvError::Closed)) => return None,
                Woke::Update(Ok(shared)) => self.take(&shared),
                Woke::Update(Err(RecvError::Lagged(_))) => {
                    // Further behind than the hub keeps: the page
                    // reconnects and resumes after its last entry.
                    tracing::info!("dropping a dashboard client that fell behind");
                    if let Some(closer) = &self.closer {
                        closer.close();
                    }
                    return None;
                }
            }
        }
    }

    /// The hello, then the catch-up, tried every second until Redis
    /// answers (the page is told it is down meanwhile). `None` when the
    /// server stops.
    async fn start_up(&mut self) -> Option<()> {
        let (resume, backfill) = self.start?;
        if !self.greeted {
            self.greeted = true;
            self.ready.push_back(
                Event::default()
                    .retry(Duration::from_secs(1))
                    .comment("crowd-envelope feed"),
            );
            self.tell_health();
            return Some(());
        }
        match self.catch_up(resume, backfill).await {
            Ok(()) => self.start = None,
            Err(error) => {
                self.site.hub.redis_failed(&error).await;
                self.tell_health();
                tokio::select! {
                    _ = self.stopping.wait_for(|stop| *stop) => return None,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
        Some(())
    }

    /// A `status` event when Redis's health changed since the last one.
    fn tell_health(&mut self) {
        let health = self.health.borrow_and_update().clone();
        if health != self.told {
            if let Some(event) = status_event(&health) {
                self.ready.push_back(event);
            }
            self.told = health;
        }
    }

    /// The hub's entries this client does not have yet, or a gap.
    fn take(&mut self, shared: &Shared) {
        match shared {
            Shared::Entries(entries) => self.queue_entries(entries),
            Shared::Gap { body, reset } => {
                if reset.is_some() && *reset == self.told_reset {
                    return;
                }
                if reset.is_some() {
                    // The new stream's ids start low again.
                    self.last = None;
                }
                self.ready
                    .push_back(Event::default().event("gap").data(body.clone()));
            }
        }
    }

    /// `entries` (oldest first) after the newest this client has, as
    /// `entries` events of at most [`BATCH_ENTRIES`]; the client has them
    /// all then.
    fn queue_entries(&mut self, entries: &[Relayed]) {
        let last = self.last;
        let new: Vec<&Relayed> = entries
            .iter()
            .filter(|e| last.is_none_or(|seen| e.key > seen))
            .collect();
        for batch in new.chunks(BATCH_ENTRIES) {
            let bodies: Vec<&str> = batch.iter().map(|e| e.body.as_str()).collect();
            if let Some(newest) = batch.last() {
                self.ready.push_back(entries_event(&bodies, &newest.id));
            }
        }
        if let Some(newest) = entries.last() {
            self.last = Some(last.map_or(newest.key, |l| l.max(newest.key)));
        }
    }

    /// The newest `backfill` entries (a resuming client: those after its
    /// last id, at most `--max-backfill`), read once Redis answers. A
    /// resume id above the newest entry (a stream made anew, or an id from
    /// the future) is a reset: the client is told so, and gets what a new
    /// client would, never the whole stream.
    async fn catch_up(
        &mut self,
        resume: Option<(u64, u64)>,
        backfill: usize,
    ) -> Result<(), TransportError> {
        let count = if resume.is_some() {
            self.site.max_backfill
        } else {
            backfill
        };
        if count == 0 {
            return Ok(());
        }
        let newest = self.read_newest(count).await?;
        self.last = resume;
        if let (Some(seen), Some(top)) = (resume, newest.first()) {
            if stream_id_parts(&top.id).is_some_and(|top| top < seen) {
                let gap = Gap {
                    reason: GapReason::Reset,
                    after: format!("{}-{}", seen.0, seen.1),
                    before: top.id.clone(),
                    missed: None,
                };
                self.told_reset = Some(gap.after.clone());
                self.ready
                    .push_back(Event::default().event("gap").data(gap_body(&gap)));
                self.last = None;
            }
        }
        // Only what the client lacks is made into bodies: a resuming client
        // may lack few of the entries read.
        let last = self.last;
        let oldest_first: Vec<Relayed> = newest
            .iter()
            .rev()
            .filter(|e| last.is_none_or(|seen| stream_id_parts(&e.id).is_some_and(|k| k > seen)))
            .map(|e| relayed(e, self.site.max_payload_bytes))
            .collect();
        self.queue_entries(&oldest_first);
        // The hub's entries since the subscription are new unless the read
        // saw them: an empty stream (deleted, to be made anew with lower
        // ids) leaves none to skip, whatever the resume id was.
        self.last = newest.first().and_then(|e| stream_id_parts(&e.id));
        Ok(())
    }

    async fn read_newest(&self, count: usize) -> Result<Vec<RawEntry>, TransportError> {
        let mut conn = self.site.hub.redis().await?;
        read_entries(
            &mut conn,
            &self.site.stream,
            count,
            self.site.max_payload_bytes,
        )
        .await
    }
}

/// `{"redis": "up"|"down", "message"}`, or nothing while not known.
fn status_event(health: &Health) -> Option<Event> {
    let (state, message) = match health {
        Health::Unknown => return None,
        Health::Up => ("up", ""),
        Health::Down(message) => ("down", message.as_str()),
    };
    Some(
        Event::default()
            .event("status")
            .data(json!({"redis": state, "message": message}).to_string()),
    )
}

/// An `entries` event: a JSON array of entry bodies, oldest first, its SSE
/// id the last one's.
fn entries_event(bodies: &[&str], last_id: &str) -> Event {
    Event::default()
        .event("entries")
        .id(last_id)
        .data(format!("[{}]", bodies.join(",")))
}
