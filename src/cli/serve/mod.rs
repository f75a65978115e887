//! `serve`: the dashboard (`www/`), the browser build of the npm package
//! (`pkg/`), `/feed` (a Server-Sent Events relay of the stream's raw
//! entries, which the page decodes with the same wasm), `/entries`,
//! `/stats` and `/metrics` (entries decoded natively, counted).
//!
//! One follower of the stream feeds every client (`hub.rs`), and one shared
//! connection serves the rest, so viewers cost no Redis connections; each
//! client holds only what its socket holds (`feed.rs`), and a connection
//! that takes nothing for `--drop-stalled-ms` is closed (`../http.rs`).

mod bodies;
mod feed;
mod files;
mod host;
mod hub;
mod pages;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use clap::Args;
use tokio::sync::watch;

use super::http::serve_http;
use super::metrics::{Exposition, StreamCounters};
use super::runtime::interrupted;
use super::StreamTarget;
use crowd_envelope::redis::RedisUrl;
use hub::Hub;

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
    /// Close the connection of a client that has taken nothing of what it
    /// was sent for this long, in milliseconds, freeing what it held; the
    /// page reconnects and resumes after the last entry it got.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    drop_stalled_ms: u64,
    /// The most dashboards (feeds) open at once; more get 503 and try
    /// again. All of them share one follower of the stream.
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_clients: u64,
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
    max_clients: usize,
    /// What `/metrics` tells.
    counters: StreamCounters,
    hub: Hub,
}

pub(super) async fn serve(args: ServeArgs) -> io::Result<ExitCode> {
    let url = RedisUrl::parse(&args.target.redis_url).map_err(io::Error::other)?;
    files::check_site(args.www.as_deref(), args.pkg.as_deref())?;
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
        hub: Hub::new(url.clone()),
        url,
        stream: args.target.stream.clone(),
        www: args.www,
        pkg: args.pkg,
        max_backfill: args.max_backfill,
        block: Duration::from_millis(args.block_ms),
        hosts: host::answered_hosts(local, &args.allow_host),
        max_payload_bytes: args.target.max_payload_bytes,
        max_clients: usize::try_from(args.max_clients).unwrap_or(usize::MAX),
        counters: StreamCounters::default(),
    });
    tokio::spawn(hub::watch_redis(site.clone()));
    tokio::spawn(hub::follow_for_all(site.clone()));
    tracing::info!(
        "dashboard at http://{local}/ (stream {} on {})",
        site.stream,
        site.url
    );
    let shutdown = async move {
        interrupted().await;
        let _ = stop.send(true);
    };
    let write_timeout = Duration::from_millis(args.drop_stalled_ms);
    serve_http(listener, router(site), write_timeout, shutdown).await;
    Ok(ExitCode::SUCCESS)
}

fn router(site: Arc<Site>) -> Router {
    // `get` answers GET and HEAD; any other method gets 405.
    Router::new()
        .route("/feed", get(feed::feed))
        .route("/metrics", get(metrics))
        .route("/entries", get(pages::older_entries))
        .route("/stats", get(pages::stream_state))
        .route("/", get(files::file))
        .route("/{*path}", get(files::file))
        .layer(axum::middleware::from_fn_with_state(
            site.clone(),
            host::known_host,
        ))
        .layer(axum::middleware::map_response(files::security_headers))
        .with_state(site)
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

/// `MS-SEQ`, each a 64-bit number, as Redis reads an entry id (a longer
/// number passed the check once, and Redis refused it on every read).
fn is_stream_id(id: &str) -> bool {
    id.contains('-') && crowd_envelope::redis::is_stream_id(id)
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
}
