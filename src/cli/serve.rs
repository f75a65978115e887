//! `serve`: the dashboard (`www/`), the browser build of the npm package
//! (`pkg/`), and `/feed`, a Server-Sent Events relay of the stream's raw
//! entries. The server never decodes: the page does, with the same wasm.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use clap::Args;
use futures_util::{FutureExt as _, Stream, StreamExt};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::metrics::{Exposition, StreamCounters};
use super::runtime::interrupted;
use super::StreamTarget;
use crowd_envelope::redis::redis::aio::MultiplexedConnection;
use crowd_envelope::redis::{
    dead_letters, follow_entries, read_entries, read_entries_before, stream_stats, FollowOptions,
    Followed, Gap, RawEntry, RedisUrl, StreamItem, TransportError,
};
use crowd_envelope::Decoder;

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    target: StreamTarget,
    /// Address to listen on; the default is reachable from this machine only.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    addr: SocketAddr,
    /// Serve the dashboard's files from this directory instead of the copy
    /// built into the program (for working on the page).
    #[arg(long, value_name = "DIR")]
    www: Option<PathBuf>,
    /// Serve the npm package's browser build (`make pkg`) from this
    /// directory under /pkg/, instead of the copy built into the program.
    #[arg(long, value_name = "DIR")]
    pkg: Option<PathBuf>,
    /// The most entries a client may ask for with ?backfill=N.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    max_backfill: usize,
    /// How long one blocking read of the stream waits, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    block_ms: u64,
    /// Answer requests naming this Host (HOST or HOST:PORT) too, besides the
    /// address listened on and localhost: for a proxy or a DNS name. Others
    /// get 421, so that no web page can read the stream by DNS rebinding.
    #[arg(long, value_name = "HOST")]
    allow_host: Vec<String>,
    /// Drop a client whose queue has been full this long, in milliseconds
    /// (it has read nothing); the page reconnects and resumes after the
    /// last entry it got.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    drop_stalled_ms: u64,
}

struct Site {
    /// Turns true on Ctrl-C or SIGTERM: feeds end, so the graceful shutdown
    /// is not held open by their endless responses.
    stopping: watch::Receiver<bool>,
    url: RedisUrl,
    stream: String,
    /// Where the page and the package come from: a directory, or (`None`)
    /// the copy built into the program.
    www: Option<PathBuf>,
    pkg: Option<PathBuf>,
    max_backfill: usize,
    block: Duration,
    /// The `Host` headers answered, lowercase.
    hosts: Vec<String>,
    /// Entries larger than this are relayed without their data.
    max_payload_bytes: usize,
    /// How long a client may leave its queue full before it is dropped.
    drop_stalled: Duration,
    /// What `/metrics` tells.
    counters: StreamCounters,
    /// Entries lost to trimming, counted by `/metrics`.
    missed: std::sync::atomic::AtomicU64,
}

/// Events waiting for one client, and entries read from Redis for it at a
/// time: with entries at most the size limit, these bound what a client
/// that reads nothing costs (about twice this many entries).
const CLIENT_QUEUE: usize = 8;
/// Entries in one event at most, and the payload bytes after which a
/// followed batch is sent. A browser pays for each event more than for its
/// JSON: a burst of 2,000 one-entry events took one 80 ms task in Chromium.
/// The byte bound keeps a stalled client's queue of events near
/// CLIENT_QUEUE entries at the size limit, as with one entry an event.
const BATCH_ENTRIES: usize = 100;
const BATCH_BYTES: usize = 64 * 1024;
/// How long a connection may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The page may run its own scripts and compile wasm, talk to this server,
/// and nothing else: no inline script, no other origin, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub(super) async fn serve(args: ServeArgs) -> io::Result<ExitCode> {
    let url = RedisUrl::parse(&args.target.redis_url).map_err(io::Error::other)?;
    check_site(args.www.as_deref(), args.pkg.as_deref())?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() {
        tracing::warn!(
            "listening on {local}, which other machines can reach: \
             anyone who can connect reads the stream"
        );
    }
    let (stop, stopping) = watch::channel(false);
    let site = Arc::new(Site {
        stopping,
        url,
        stream: args.target.stream.clone(),
        www: args.www,
        pkg: args.pkg,
        max_backfill: args.max_backfill,
        block: Duration::from_millis(args.block_ms),
        hosts: answered_hosts(local, &args.allow_host),
        max_payload_bytes: args.target.max_payload_bytes,
        drop_stalled: Duration::from_millis(args.drop_stalled_ms),
        counters: StreamCounters::default(),
        missed: std::sync::atomic::AtomicU64::new(0),
    });
    tokio::spawn(watch_redis(site.clone()));
    tokio::spawn(count_entries(site.clone()));
    tracing::info!(
        "dashboard at http://{local}/ (stream {} on {})",
        site.stream,
        site.url
    );
    let shutdown = async move {
        interrupted().await;
        let _ = stop.send(true);
    };
    serve_http(listener, router(site), shutdown).await;
    Ok(ExitCode::SUCCESS)
}

/// The files built into the program (`build.rs`).
mod site {
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

/// A directory given for the page or the package has what it must; a
/// program built without `pkg/` needs `--pkg`.
fn check_site(www: Option<&Path>, pkg: Option<&Path>) -> io::Result<()> {
    for (dir, file, hint) in [
        (www, "index.html", "--www names the dashboard's directory"),
        (
            pkg,
            "browser.js",
            "build it with `make pkg`, or point --pkg at it",
        ),
    ] {
        if let Some(dir) = dir.filter(|dir| !dir.join(file).is_file()) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no {file} ({hint})", dir.display()),
            ));
        }
    }
    if pkg.is_none() && !site::HAS_PKG {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "this program was built without the npm package's browser build: \
             run `make pkg` before building it, or pass --pkg DIR",
        ));
    }
    Ok(())
}

/// HTTP/1 on `listener` until `shutdown`: each connection must send its
/// request headers within [`HEADER_TIMEOUT`], so half-sent requests cannot
/// pile up; open feeds end with the server.
pub(super) async fn serve_http(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait for some to close.
                    tracing::warn!("accept: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that went away, or timed out, is no error of ours.
            let _ = connection.await;
        });
    }
    // Feeds end once `stopping` is sent; give them a moment to say so.
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

fn router(site: Arc<Site>) -> Router {
    // `get` answers GET and HEAD; any other method gets 405.
    Router::new()
        .route("/feed", get(feed))
        .route("/metrics", get(metrics))
        .route("/entries", get(older_entries))
        .route("/stats", get(stream_state))
        .route("/", get(file))
        .route("/{*path}", get(file))
        .layer(axum::middleware::from_fn_with_state(
            site.clone(),
            known_host,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(site)
}

/// The `Host` headers a browser sends to reach `local`: its address, and
/// localhost's names with its port (without it on port 80), and `extra`.
fn answered_hosts(local: SocketAddr, extra: &[String]) -> Vec<String> {
    let port = local.port();
    let mut names = vec![
        local.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if port == 80 {
        names.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
        names.push(local.ip().to_string());
    }
    names.extend(extra.iter().map(|host| host.to_ascii_lowercase()));
    names
}

/// 421 for a request that names another host: a page of another origin
/// whose name was made to resolve here (DNS rebinding) must read nothing.
async fn known_host(
    State(site): State<Arc<Site>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(HeaderValue::as_bytes);
    match host {
        Some(host)
            if !site
                .hosts
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(host)) =>
        {
            (StatusCode::MISDIRECTED_REQUEST, "unknown Host\n").into_response()
        }
        _ => next.run(request).await,
    }
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A file of the page, or of the package under `/pkg/`: from the directory
/// given, never outside it, or from the copy built into the program.
async fn file(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let (dir, rest) = match path.strip_prefix("pkg/") {
        Some(rest) => (&site.pkg, rest),
        None => (&site.www, path),
    };
    let body = match dir {
        Some(root) => match contained(root, rest) {
            Some(file) => tokio::fs::read(&file).await.ok(),
            None => None,
        },
        None => site::FILES
            .iter()
            .find(|(name, _)| *name == path)
            .map(|(_, bytes)| bytes.to_vec()),
    };
    match body {
        Some(body) => (
            [(header::CONTENT_TYPE, content_type(Path::new(path)))],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `root/relative` if `relative` has only plain components (no `..`, no
/// absolute part, no hidden files).
fn contained(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    let plain = relative.components().all(|c| match c {
        Component::Normal(part) => !part.to_string_lossy().starts_with('.'),
        _ => false,
    });
    plain.then(|| root.join(relative))
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    backfill: Option<usize>,
}

/// Server-Sent Events: `entry` events (id = the stream id) with the raw
/// payload, and `status` events when Redis goes down or comes back. A
/// browser that reconnects sends `Last-Event-ID` and resumes after it.
async fn feed(
    State(site): State<Arc<Site>>,
    Query(query): Query<FeedQuery>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_stream_id(id))
        .map(str::to_owned);
    let backfill = query.backfill.unwrap_or(0).min(site.max_backfill);
    let (events, receiver) = mpsc::channel(CLIENT_QUEUE);
    let mut stopping = site.stopping.clone();
    tokio::spawn(async move {
        site.counters.clients.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            () = relay(site.clone(), resume, backfill, events) => {}
            _ = stopping.wait_for(|stop| *stop) => {}
        }
        site.counters.clients.fetch_sub(1, Ordering::Relaxed);
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Prometheus text: the stream's entries since `serve` started, decoded or
/// rejected by reason, entries lost to trimming, feed clients, Redis up,
/// and the newest entry's age.
async fn metrics(State(site): State<Arc<Site>>) -> Response {
    let mut out = Exposition::default();
    site.counters.write(
        &mut out,
        (
            "crowd_envelope_entries_decoded_total",
            "Entries of the stream that decoded, since serve started.",
        ),
        (
            "crowd_envelope_entries_rejected_total",
            "Entries of the stream that did not decode, by reason.",
        ),
    );
    out.family(
        "crowd_envelope_entries_missed_total",
        "counter",
        "Entries trimmed from the stream before they were read.",
    )
    .sample(
        "crowd_envelope_entries_missed_total",
        &[],
        site.missed.load(Ordering::Relaxed) as f64,
    )
    .family(
        "crowd_envelope_feed_clients",
        "gauge",
        "Dashboard feeds open now.",
    )
    .sample(
        "crowd_envelope_feed_clients",
        &[],
        site.counters.clients.load(Ordering::Relaxed) as f64,
    );
    out.into_response()
}

/// Decodes every new entry of the stream, natively, for `/metrics`.
async fn count_entries(site: Arc<Site>) {
    let decoder = Decoder::new().max_payload_bytes(site.max_payload_bytes);
    let mut options = FollowOptions::after("$");
    options.block = site.block;
    options.max_payload_bytes = site.max_payload_bytes;
    let follow = follow_entries(site.url.clone(), site.stream.clone(), options);
    futures_util::pin_mut!(follow);
    while let Some(next) = follow.next().await {
        match next {
            Ok(Followed::Entry(entry)) => match entry.decode(&decoder) {
                StreamItem::Envelope(envelope) => site.counters.ok(&envelope.id),
                StreamItem::Skipped(skipped) => {
                    site.counters.rejected(&skipped.id, skipped.reason.as_str());
                }
            },
            Ok(Followed::Gap(gap)) => {
                site.missed
                    .fetch_add(gap.missed.unwrap_or(0), Ordering::Relaxed);
            }
            // The follower reconnects by itself; `watch_redis` tells.
            Err(_) => {}
        }
    }
}

/// Asks Redis every second whether it answers, and says so in the
/// terminal when that changes (the page hears it through the feed).
async fn watch_redis(site: Arc<Site>) {
    let mut conn = None;
    loop {
        match ping(&site.url, &mut conn).await {
            Ok(()) if site.counters.redis_up(true) => {
                tracing::info!("Redis at {} answers", site.url);
            }
            Err(error) if site.counters.redis_up(false) => tracing::error!(
                "Redis at {} does not answer: {error}; the dashboard shows it as down",
                site.url
            ),
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `PING` on `conn`, connecting first if there is none; a connection that
/// failed is dropped.
async fn ping(url: &RedisUrl, conn: &mut Option<MultiplexedConnection>) -> Result<(), String> {
    let open = match conn {
        Some(open) => open,
        None => conn.insert(url.connect().await.map_err(|e| e.to_string())?),
    };
    let pong: Result<String, _> = crowd_envelope::redis::redis::cmd("PING")
        .query_async(open)
        .await;
    pong.map(drop).map_err(|e| {
        *conn = None;
        e.to_string()
    })
}

/// `MS-SEQ`, each a 64-bit number, as Redis reads an entry id (a longer
/// number passed the check once, and Redis refused it on every read).
fn is_stream_id(id: &str) -> bool {
    id.contains('-') && crowd_envelope::redis::is_stream_id(id)
}

/// An entry id as numbers, for ordering (ids come checked or from Redis).
fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Feeds one client until it goes away.
async fn relay(
    site: Arc<Site>,
    resume: Option<String>,
    backfill: usize,
    events: mpsc::Sender<Event>,
) {
    let hello = Event::default()
        .retry(Duration::from_secs(1))
        .comment("crowd-envelope feed");
    if events.send(hello).await.is_err() {
        return;
    }
    let mut redis = Health::new(events.clone(), site.url.clone());
    // A resuming client catches up on at most `max_backfill` entries, as a
    // new one may ask for: the newest, those after its last id.
    let catch_up = if resume.is_some() {
        site.max_backfill
    } else {
        backfill
    };
    let mut last_id = resume.clone().unwrap_or_else(|| "$".to_owned());
    if catch_up > 0 {
        let Some(newest) = redis.until_up(|| backfill_entries(&site, catch_up)).await else {
            return;
        };
        let after_resume = |id: &str| {
            resume
                .as_deref()
                .is_none_or(|seen| id_key(id) > id_key(seen))
        };
        let caught_up: Vec<&RawEntry> = newest
            .iter()
            .rev()
            .filter(|entry| after_resume(&entry.id))
            .collect();
        for batch in caught_up.chunks(BATCH_ENTRIES) {
            let event = entries_event(batch.iter().copied(), site.max_payload_bytes);
            if send(&events, event, site.drop_stalled).await.is_err() {
                return;
            }
        }
        if let Some(entry) = newest.first().filter(|entry| after_resume(&entry.id)) {
            last_id.clone_from(&entry.id);
        }
    } else if redis.until_up(|| async { Ok(()) }).await.is_none() {
        return;
    }
    let mut options = FollowOptions::after(last_id);
    options.block = site.block;
    options.count = CLIENT_QUEUE;
    options.max_payload_bytes = site.max_payload_bytes;
    let follow = follow_entries(site.url.clone(), site.stream.clone(), options);
    futures_util::pin_mut!(follow);
    loop {
        let next = tokio::select! {
            () = events.closed() => return,
            next = follow.next() => next,
        };
        let mut entries = Vec::new();
        let rest = take_ready(next, &mut follow, &mut entries);
        if !entries.is_empty() {
            let event = entries_event(entries.iter(), site.max_payload_bytes);
            if send(&events, event, site.drop_stalled).await.is_err() {
                return;
            }
        }
        let event = match rest {
            None => continue,
            Some(Some(Ok(Followed::Entry(entry)))) => {
                entries_event(std::iter::once(&entry), site.max_payload_bytes)
            }
            Some(Some(Ok(Followed::Gap(gap)))) => gap_event(&gap),
            Some(Some(Err(error))) => {
                // The follower reconnects by itself; tell the page, and tell
                // it again when Redis answers.
                if redis.down(&error).await.is_err()
                    || redis.until_up(|| async { Ok(()) }).await.is_none()
                {
                    return;
                }
                continue;
            }
            Some(None) => return,
        };
        if send(&events, event, site.drop_stalled).await.is_err() {
            return;
        }
    }
}

/// One follower item as `Option<Result<..>>`, as `StreamExt::next` gives it.
type Next = Option<Result<Followed, TransportError>>;

/// Moves `next`'s entry, and the entries after it that the follower has
/// ready now (up to [`BATCH_ENTRIES`] or [`BATCH_BYTES`]), into `entries`.
/// Gives the first item that is not an entry, or `None` when nothing more
/// is ready.
fn take_ready(
    mut next: Next,
    follow: &mut std::pin::Pin<&mut impl Stream<Item = Result<Followed, TransportError>>>,
    entries: &mut Vec<RawEntry>,
) -> Option<Next> {
    let mut bytes = 0;
    loop {
        match next {
            Some(Ok(Followed::Entry(entry))) => {
                bytes += entry.data.as_ref().map_or(0, Vec::len);
                entries.push(entry);
                if entries.len() >= BATCH_ENTRIES || bytes >= BATCH_BYTES {
                    return None;
                }
                // Polled once: a stream keeps its state, so nothing is lost
                // when the read it started is not ready yet.
                next = follow.next().now_or_never()?;
            }
            other => return Some(other),
        }
    }
}

async fn backfill_entries(site: &Site, count: usize) -> Result<Vec<RawEntry>, TransportError> {
    let mut conn = site.url.connect().await?;
    read_entries(&mut conn, &site.stream, count).await
}

/// Hands `event` to the client's queue; an error if the client went away
/// or has taken nothing for `stalled` (`serve --drop-stalled-ms`).
async fn send(events: &mpsc::Sender<Event>, event: Event, stalled: Duration) -> Result<(), ()> {
    match tokio::time::timeout(stalled, events.send(event)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// An `entries` event: a JSON array of entries, oldest first, its SSE id the
/// last one's. Each is `{"id", "fields", "data"}`: all the field names and
/// the payload as a JSON string, so no byte of it is lost to SSE's line
/// handling; `data_b64` when the bytes are not UTF-8, `too_large` (its
/// size) and `limit` instead when it is over the limit. The page applies
/// the entry rule and decodes.
fn entries_event<'a>(
    entries: impl Iterator<Item = &'a RawEntry>,
    max_payload_bytes: usize,
) -> Event {
    let mut last_id = String::new();
    let bodies: Vec<serde_json::Value> = entries
        .map(|entry| {
            last_id.clone_from(&entry.id);
            entry_body(entry, max_payload_bytes)
        })
        .collect();
    Event::default()
        .event("entries")
        .id(last_id)
        .data(serde_json::Value::Array(bodies).to_string())
}

/// One entry of an `entries` event (see [`entries_event`]).
fn entry_body(entry: &RawEntry, max_payload_bytes: usize) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("id".into(), json!(entry.id));
    let size = entry
        .oversized
        .or_else(|| entry.data.as_ref().map(Vec::len))
        .filter(|&size| size > max_payload_bytes);
    if let Some(size) = size {
        // The page rejects it as too_large; the bytes are not relayed.
        body.insert("too_large".into(), json!(size));
        body.insert("limit".into(), json!(max_payload_bytes));
    } else if let Some(bytes) = &entry.data {
        match std::str::from_utf8(bytes) {
            Ok(text) => body.insert("data".into(), json!(text)),
            Err(_) => body.insert(
                "data_b64".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        };
    }
    body.insert("fields".into(), json!(entry.fields));
    serde_json::Value::Object(body)
}

#[derive(Debug, Deserialize)]
struct OlderQuery {
    before: String,
    count: Option<usize>,
}

/// `GET /entries?before=ID&count=N`: up to N (at most `--max-backfill`)
/// entries older than ID, newest first, as a JSON array of `entry` bodies:
/// the page pages back with it.
async fn older_entries(State(site): State<Arc<Site>>, Query(query): Query<OlderQuery>) -> Response {
    if !is_stream_id(&query.before) {
        return (
            StatusCode::BAD_REQUEST,
            "before: expected an entry id (MS-SEQ)\n",
        )
            .into_response();
    }
    let count = query.count.unwrap_or(100).min(site.max_backfill);
    let read = async {
        let mut conn = site.url.connect().await?;
        read_entries_before(&mut conn, &site.stream, &query.before, count).await
    };
    match read.await {
        Ok(entries) => {
            let bodies: Vec<_> = entries
                .iter()
                .map(|e| entry_body(e, site.max_payload_bytes))
                .collect();
            axum::Json(bodies).into_response()
        }
        Err(error) => unavailable(&error),
    }
}

/// `GET /stats`: the stream's state (its groups, their lag, pending entries
/// and consumers, the dead-letter count) and its oldest 20 dead letters.
/// With Redis down it still answers 200, with `error`: the page polls it,
/// and an outage is news the feed already gives.
async fn stream_state(State(site): State<Arc<Site>>) -> Response {
    let read = async {
        let mut conn = site.url.connect().await?;
        let stats = stream_stats(&mut conn, &site.stream).await?;
        let dead = dead_letters(&mut conn, &site.stream, "-", 20).await?;
        Ok::<_, TransportError>(json!({"stats": stats, "dead": dead}))
    };
    let body = read
        .await
        .unwrap_or_else(|error| json!({"stats": null, "dead": [], "error": error.to_string()}));
    axum::Json(body).into_response()
}

fn unavailable(error: &TransportError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({"error": error.to_string()})),
    )
        .into_response()
}

/// `{"reason": "trimmed"|"stream_reset", "after": ..., "before": ...,
/// "missed": n|null, "message": ...}`: entries the page will never see.
fn gap_event(gap: &Gap) -> Event {
    let skipped = gap.to_skipped();
    let message = skipped.errors.first().map(|e| e.message.clone());
    let body = json!({
        "reason": skipped.reason.as_str(),
        "after": gap.after,
        "before": gap.before,
        "missed": gap.missed,
        "message": message,
    });
    Event::default().event("gap").data(body.to_string())
}

/// Whether Redis answers, as `status` events to the page.
struct Health {
    events: mpsc::Sender<Event>,
    url: RedisUrl,
    up: Option<bool>,
}

impl Health {
    fn new(events: mpsc::Sender<Event>, url: RedisUrl) -> Health {
        Health {
            events,
            url,
            up: None,
        }
    }

    async fn report(&mut self, up: bool, message: &str) -> Result<(), ()> {
        if self.up == Some(up) {
            return Ok(());
        }
        self.up = Some(up);
        let state = if up { "up" } else { "down" };
        let event = Event::default()
            .event("status")
            .data(json!({"redis": state, "message": message}).to_string());
        self.events.send(event).await.map_err(|_| ())
    }

    async fn down(&mut self, error: &TransportError) -> Result<(), ()> {
        self.report(false, &error.to_string()).await
    }

    /// Retries `attempt` (after a connection check) every second until it
    /// succeeds; `None` if the client left meanwhile.
    async fn until_up<T, F, Fut>(&mut self, mut attempt: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, TransportError>>,
    {
        loop {
            let result = match self.url.connect().await {
                Ok(_) => attempt().await,
                Err(error) => Err(error),
            };
            match result {
                Ok(value) => {
                    self.report(true, "").await.ok()?;
                    return Some(value);
                }
                Err(error) => self.down(&error).await.ok()?,
            }
            tokio::select! {
                () = self.events.closed() => return None,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_ids_are_ids_redis_reads() {
        for id in [
            "0-0",
            "1795787306456-0",
            "18446744073709551615-18446744073709551615",
        ] {
            assert!(is_stream_id(id), "{id}");
        }
        for id in [
            "",
            "0",
            "$",
            "-",
            "1-",
            "-1",
            "1-x",
            "99999999999999999999-0",
            "1-2-3",
            "+1-0",
        ] {
            assert!(!is_stream_id(id), "{id}");
        }
    }

    #[test]
    fn the_hosts_answered_are_this_machines_names() {
        let hosts = answered_hosts("127.0.0.1:8080".parse().unwrap(), &["Dash.Example".into()]);
        assert!(hosts.contains(&"localhost:8080".to_owned()));
        assert!(hosts.contains(&"dash.example".to_owned()));
        assert!(
            !hosts.contains(&"localhost".to_owned()),
            "no port: only on port 80"
        );
        let on_80 = answered_hosts("127.0.0.1:80".parse().unwrap(), &[]);
        assert!(on_80.contains(&"localhost".to_owned()));
    }
}
