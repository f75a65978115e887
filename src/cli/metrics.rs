//! Prometheus text for `serve` (`/metrics`) and `consume --metrics-addr`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::http::serve_http;
use crowd_envelope::redis::{stream_stats, RedisUrl};

/// Serves `scrape`'s exposition at `http://addr/metrics` for as long as the
/// process runs; fails at once if `addr` cannot be listened on.
pub(super) async fn serve_metrics(addr: SocketAddr, scrape: GroupScrape) -> io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    tracing::info!("metrics at http://{}/metrics", listener.local_addr()?);
    let router = Router::new()
        .route(
            "/metrics",
            get(|State(scrape): State<Arc<GroupScrape>>| async move {
                scrape.exposition().await.into_response()
            }),
        )
        .with_state(Arc::new(scrape));
    tokio::spawn(serve_http(
        listener,
        router,
        METRICS_WRITE_TIMEOUT,
        std::future::pending(),
    ));
    Ok(())
}

/// A scraper that takes nothing of the answer for this long is left.
const METRICS_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What `consume --metrics-addr` tells at each scrape.
pub(super) struct GroupScrape {
    pub(super) url: RedisUrl,
    pub(super) stream: String,
    pub(super) group: String,
    pub(super) counters: Arc<StreamCounters>,
}

impl GroupScrape {
    /// This consumer's counts, and its group's state as Redis has it now.
    pub(super) async fn exposition(&self) -> Exposition {
        let state = match self.url.connect().await {
            Ok(mut conn) => stream_stats(&mut conn, &self.stream).await,
            Err(error) => Err(error),
        };
        self.counters.redis_up(state.is_ok());
        let mut out = Exposition::default();
        self.counters.write(
            &mut out,
            (
                "crowd_envelope_entries_handled_total",
                "Entries this consumer handled, since it started.",
            ),
            (
                "crowd_envelope_handler_failures_total",
                "Handler runs that failed (each is retried, or dead-lettered).",
            ),
        );
        let Ok(Some(stats)) = state else {
            return out;
        };
        let labels = [("group", self.group.as_str())];
        if let Some(group) = stats.groups.iter().find(|g| g.name == self.group) {
            let mut gauge = |name: &str, help: &str, value: f64| {
                out.family(name, "gauge", help).sample(name, &labels, value);
            };
            if let Some(lag) = group.lag {
                gauge(
                    "crowd_envelope_group_lag",
                    "Entries not yet delivered to the group.",
                    lag as f64,
                );
            }
            gauge(
                "crowd_envelope_group_pending",
                "Entries delivered and not yet acknowledged.",
                group.pending as f64,
            );
            gauge(
                "crowd_envelope_group_consumers",
                "Consumers in the group.",
                group.consumers.len() as f64,
            );
        }
        out.family(
            "crowd_envelope_dead_letters",
            "gauge",
            "Entries in the dead-letter stream.",
        )
        .sample(
            "crowd_envelope_dead_letters",
            &[],
            stats.dead_letters as f64,
        );
        out
    }
}

/// Metric families in the text exposition format, version 0.0.4.
#[derive(Default)]
pub(super) struct Exposition {
    text: String,
}

impl Exposition {
    /// `# HELP` and `# TYPE` of a family; its samples follow.
    pub(super) fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample; label values are escaped as the format requires.
    pub(super) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.text.push_str(name);
        if !labels.is_empty() {
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.text, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.text, " {value}");
        self
    }

    pub(super) fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            self.text,
        )
            .into_response()
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What a process saw of the stream: entries by outcome, Redis up or
/// down, and when the newest entry was added.
#[derive(Default)]
pub(super) struct StreamCounters {
    /// Entries that decoded (`serve`) or were handled (`consume`).
    ok: AtomicU64,
    /// Entries rejected, by reason (`serve`), or handler failures (`consume`).
    rejected: Mutex<BTreeMap<String, u64>>,
    /// 0 unknown, 1 down, 2 up.
    redis: AtomicU8,
    /// Milliseconds since the epoch of the newest entry's id; 0 for none.
    last_entry_ms: AtomicU64,
    /// Feed clients connected (`serve`).
    pub(super) clients: AtomicI64,
    /// Entries trimmed from the stream before they were read (by the
    /// follower of `serve`, or the group of `consume`).
    missed: AtomicU64,
}

impl StreamCounters {
    pub(super) fn ok(&self, id: &str) {
        self.ok.fetch_add(1, Ordering::Relaxed);
        self.seen(id);
    }

    pub(super) fn rejected(&self, id: &str, reason: &str) {
        if let Ok(mut rejected) = self.rejected.lock() {
            *rejected.entry(reason.to_owned()).or_default() += 1;
        }
        self.seen(id);
    }

    pub(super) fn missed(&self, entries: u64) {
        self.missed.fetch_add(entries, Ordering::Relaxed);
    }

    fn seen(&self, id: &str) {
        let ms = id.split('-').next().and_then(|ms| ms.parse().ok());
        self.last_entry_ms
            .fetch_max(ms.unwrap_or(0), Ordering::Relaxed);
    }

    /// Records whether Redis answers; gives true when that changed (so the
    /// change is logged once).
    pub(super) fn redis_up(&self, up: bool) -> bool {
        let now = if up { 2 } else { 1 };
        self.redis.swap(now, Ordering::Relaxed) != now
    }

    /// The families common to `serve` and `consume`; `ok` and `rejected`
    /// are named by the caller (decoded/rejected, handled/failed).
    pub(super) fn write(&self, out: &mut Exposition, ok: (&str, &str), rejected: (&str, &str)) {
        out.family(ok.0, "counter", ok.1)
            .sample(ok.0, &[], self.ok.load(Ordering::Relaxed) as f64);
        out.family(rejected.0, "counter", rejected.1);
        if let Ok(rejected_by) = self.rejected.lock() {
            for (reason, n) in rejected_by.iter() {
                out.sample(rejected.0, &[("reason", reason)], *n as f64);
            }
        }
        out.family(
            "crowd_envelope_entries_missed_total",
            "counter",
            "Entries trimmed from the stream before they were read.",
        )
        .sample(
            "crowd_envelope_entries_missed_total",
            &[],
            self.missed.load(Ordering::Relaxed) as f64,
        );
        let up = self.redis.load(Ordering::Relaxed);
        out.family(
            "crowd_envelope_redis_up",
            "gauge",
            "1 if Redis answered the last command, 0 if not.",
        )
        .sample("crowd_envelope_redis_up", &[], f64::from(u8::from(up == 2)));
        let last = self.last_entry_ms.load(Ordering::Relaxed);
        if last > 0 {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            out.family(
                "crowd_envelope_last_entry_age_seconds",
                "gauge",
                "Seconds since the newest entry seen was added (from its id).",
            )
            .sample(
                "crowd_envelope_last_entry_age_seconds",
                &[],
                now.saturating_sub(last) as f64 / 1000.0,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_written_with_escaped_labels() {
        let counters = StreamCounters::default();
        counters.ok("1000-0");
        counters.rejected("2000-1", "invalid_json");
        counters.rejected("3000-0", "invalid_json");
        assert!(counters.redis_up(true));
        assert!(!counters.redis_up(true));
        let mut out = Exposition::default();
        counters.write(&mut out, ("a_total", "A."), ("b_total", "B."));
        out.sample("c", &[("x", "q\"\\\n")], 1.5);
        let text = out.text;
        assert!(
            text.contains("# TYPE a_total counter\na_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("b_total{reason=\"invalid_json\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("crowd_envelope_redis_up 1\n"), "{text}");
        assert!(text.contains("c{x=\"q\\\"\\\\\\n\"} 1.5\n"), "{text}");
        assert!(
            text.contains("crowd_envelope_last_entry_age_seconds "),
            "{text}"
        );
    }
}
