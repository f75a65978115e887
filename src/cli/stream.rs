//! `publish`, `tail` and `consume`: the CLI on a Redis stream.

use std::io::{self, Write};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::log::{printable, safe_json};
use super::metrics::{GroupScrape, StreamCounters};
use super::runtime::interrupted;
use super::{write_line, StreamTarget};
use crowd_envelope::redis::{
    cursor_at, follow_envelopes, read_entries, FollowOptions, GroupConsumer, GroupOptions,
    GroupStats, RedisUrl, Skipped, StreamEnvelope, StreamItem, TransportError,
};
use crowd_envelope::{Decision, Decoder, Fomo2Action, Side, Timestamp};

#[derive(Debug, Args)]
pub(super) struct TailArgs {
    #[command(flatten)]
    target: StreamTarget,
    /// How many of the newest envelopes to show (newest first without --follow).
    #[arg(long, short = 'n', value_name = "N")]
    count: Option<usize>,
    /// Keep following the stream (oldest first, as entries arrive) until interrupted.
    #[arg(long, short = 'f')]
    follow: bool,
    /// With --follow: start after this entry id (MS or MS-SEQ, 0 for the
    /// start, $ for now) instead of now.
    #[arg(long, value_name = "ID", requires = "follow", value_parser = stream_id)]
    from: Option<String>,
    /// With --follow: start with the entries added since WHEN, a time ago
    /// (30s, 15m, 2h, 1d) or a date-time (2026-12-08T10:00:00Z); a time
    /// before the stream's first entry starts at it, one in the future is
    /// refused.
    #[arg(long, value_name = "WHEN", requires = "follow", conflicts_with_all = ["from", "count"],
          value_parser = crowd_envelope::redis::parse_since)]
    since: Option<Timestamp>,
    /// One {"id": ..., "envelope": ...} line per envelope instead of a table.
    #[arg(long)]
    json: bool,
    /// Colour the decisions: auto (on a terminal, unless NO_COLOR is set),
    /// always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
    /// How long one blocking read waits, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    block_ms: u64,
    /// With --follow: write each line out as it comes. Without it, output
    /// is written when the follower has nothing more at hand (a burst at a
    /// time, so a pipe is not written once per line).
    #[arg(long, requires = "follow")]
    line_buffered: bool,
}

/// When `tail` colours its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::IsTerminal::is_terminal(&io::stdout())
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct ConsumeArgs {
    #[command(flatten)]
    target: StreamTarget,
    /// The consumer group (created with the stream if missing).
    #[arg(long, value_name = "NAME")]
    group: String,
    /// This consumer's name in the group (default: host name and process id).
    #[arg(long, value_name = "NAME")]
    consumer: Option<String>,
    /// Run this shell command per envelope, the envelope JSON on its standard
    /// input; exit status 0 acknowledges the entry. Without it, print each
    /// envelope as a JSON line. A process is started per entry, and that is
    /// the ceiling: about a thousand entries a second for `true` on two
    /// cores (make bench measures it); --concurrency runs several at once.
    #[arg(long, value_name = "COMMAND")]
    exec: Option<String>,
    /// Kill a --exec command that has not finished after this many
    /// milliseconds; the entry counts as failed (and is retried).
    #[arg(long, value_name = "MS", requires = "exec")]
    exec_timeout_ms: Option<u64>,
    /// Where a new group starts: $ (new entries), 0 (the whole stream) or
    /// an entry id (MS or MS-SEQ).
    #[arg(long, default_value = "$", value_name = "ID", value_parser = stream_id)]
    from: String,
    /// Where a new group starts, as a time: the entries added since WHEN,
    /// a time ago (30s, 15m, 2h, 1d) or a date-time (2026-12-08T10:00:00Z);
    /// one in the future is refused.
    #[arg(long, value_name = "WHEN", conflicts_with = "from", value_parser = crowd_envelope::redis::parse_since)]
    from_time: Option<Timestamp>,
    /// Dead-letter an entry after its handler failed this many times.
    #[arg(long, default_value_t = 5, value_name = "N")]
    max_deliveries: u64,
    /// Wait this long before retrying an entry whose handler failed, in
    /// milliseconds; doubled at each further failure, up to --claim-idle-ms.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    retry_delay_ms: u64,
    /// Claim entries pending this long with a consumer that stopped, in milliseconds.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    claim_idle_ms: u64,
    /// How long one blocking read waits, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    block_ms: u64,
    /// Stop after this many entries were handled or dead-lettered.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Run up to N handlers at once (for --exec commands that wait on the
    /// network). Entries start in stream order and may finish, and be
    /// acknowledged, in any order.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// Entries fetched per read (and settled per round trip).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    count: u64,
    /// Serve Prometheus text at http://HOST:PORT/metrics: entries handled
    /// and failed by this consumer, and its group's lag, pending entries,
    /// consumers and dead letters, read from Redis at each scrape.
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Exit with status 2 if Redis does not answer at the start, instead of
    /// waiting for it (with the backoff used for lost connections).
    #[arg(long)]
    fail_fast: bool,
    /// Copy an entry over --max-payload-bytes into its dead letter (inside
    /// Redis; it never reaches this process). By default its dead letter
    /// names it and its size, and the payload stays in the stream.
    #[arg(long)]
    copy_oversized: bool,
}

/// A start id Redis reads (`redis::is_stream_id`); anything else is
/// refused up front (exit status 2), not retried against Redis forever.
fn stream_id(text: &str) -> Result<String, String> {
    if crowd_envelope::redis::is_stream_id(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "expected $, MS or MS-SEQ (numbers), found {text:?}"
        ))
    }
}

pub(super) fn transport(error: TransportError) -> io::Error {
    io::Error::other(error)
}

pub(super) async fn tail(args: TailArgs) -> io::Result<ExitCode> {
    let url = RedisUrl::parse(&args.target.redis_url).map_err(transport)?;
    let mut conn = url.connect().await.map_err(transport)?;
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut table = Table::new(args.json, args.color.enabled());
    say_if_missing(&mut conn, &args.target.stream, args.follow).await;
    let decoder = Decoder::new().max_payload_bytes(args.target.max_payload_bytes);
    let newest = async |conn: &mut _, count| {
        let entries = read_entries(conn, &args.target.stream, count, decoder.payload_limit())
            .await
            .map_err(transport)?;
        Ok::<_, io::Error>(
            entries
                .iter()
                .map(|e| e.decode(&decoder))
                .collect::<Vec<_>>(),
        )
    };
    if !args.follow {
        let items = newest(&mut conn, args.count.unwrap_or(10)).await?;
        for item in items {
            table.show(&mut out, &item)?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut last_id = match args.since {
        Some(at) => cursor_at(&mut conn, &args.target.stream, at)
            .await
            .map_err(transport)?,
        None => args.from.clone().unwrap_or_else(|| "$".to_owned()),
    };
    if let Some(count) = args.count.filter(|_| args.from.is_none()) {
        // `tail -n N -f`: the last N first, oldest first, then what follows.
        let items = newest(&mut conn, count).await?;
        for item in items.iter().rev() {
            table.show(&mut out, item)?;
        }
        if let Some(newest) = items.first() {
            newest.id().clone_into(&mut last_id);
        }
    }
    let mut options = FollowOptions::after(last_id);
    options.block = Duration::from_millis(args.block_ms);
    options.max_payload_bytes = args.target.max_payload_bytes;
    let follow = follow_envelopes(url, args.target.stream.clone(), options);
    futures_util::pin_mut!(follow);
    let interrupted = interrupted();
    tokio::pin!(interrupted);
    let mut unflushed = false;
    loop {
        // Polled in this order: a stop, what the follower has at hand, and
        // only when it has nothing, the flush.
        let next = tokio::select! {
            biased;
            () = &mut interrupted => None,
            next = follow.next() => next,
            () = std::future::ready(()), if unflushed => {
                out.flush()?;
                unflushed = false;
                continue;
            }
        };
        match next {
            Some(Ok(item)) => {
                table.show(&mut out, &item)?;
                unflushed = true;
                if args.line_buffered {
                    out.flush()?;
                    unflushed = false;
                }
            }
            Some(Err(error)) => tracing::warn!("{error}; reconnecting"),
            None => break,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// An empty answer is not an error, but it must not look like a quiet stream
/// either: a stream name with a typo would otherwise show nothing, forever.
async fn say_if_missing(conn: &mut crowd_envelope::redis::Connection, stream: &str, follow: bool) {
    let exists: Result<bool, _> = crowd_envelope::redis::redis::cmd("EXISTS")
        .arg(stream)
        .query_async(conn)
        .await;
    if let Ok(false) = exists {
        let waiting = if follow {
            "; waiting for its first entry"
        } else {
            ""
        };
        tracing::warn!("stream {stream:?} does not exist{waiting}");
    }
}

/// What `tail` prints: JSON lines, or a table under a header row.
struct Table {
    json: bool,
    color: bool,
    header_shown: bool,
}

impl Table {
    fn new(json: bool, color: bool) -> Table {
        Table {
            json,
            color,
            header_shown: false,
        }
    }

    /// An envelope to standard output, a skip to standard error.
    fn show(&mut self, out: &mut impl Write, item: &StreamItem) -> io::Result<()> {
        match item {
            StreamItem::Envelope(entry) if self.json => write_line(out, &json_line(entry))?,
            StreamItem::Envelope(entry) => {
                if !self.header_shown {
                    self.header_shown = true;
                    let header = format!(
                        "{:<19}  {:<17}  {:<50}  QUESTION",
                        "TIME (UTC)", "SOURCE", "DECISION (REASON)"
                    );
                    write_line(out, &self.paint(BOLD, &header))?;
                }
                write_line(out, &table_row(entry, |tone, text| self.paint(tone, text)))?;
            }
            StreamItem::Skipped(skipped) => tracing::warn!("{}", skip_line(skipped)),
        }
        Ok(())
    }

    fn paint(&self, tone: &str, text: &str) -> String {
        if self.color && !tone.is_empty() {
            format!("\x1b[{tone}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// SGR codes: bold, green, red, dim; "" leaves text as it is.
const BOLD: &str = "1";
const GREEN: &str = "32";
const RED: &str = "31";
const DIM: &str = "2";

/// The colour of a decision: for, against, or neither.
fn tone(decision: &Decision) -> &'static str {
    match decision {
        Decision::Fomo2Signal(d) => match d.action {
            Fomo2Action::Buy => GREEN,
            Fomo2Action::Sell => RED,
            _ => DIM,
        },
        Decision::PolymarketSide(d) => match d.side {
            Side::Yes => GREEN,
            Side::No => RED,
            _ => DIM,
        },
        Decision::OddsoddyMultiplier(d) if d.multiplier > 1.0 => GREEN,
        Decision::OddsoddyMultiplier(d) if d.multiplier < 1.0 => RED,
        _ => "",
    }
}

/// `{"id", "envelope"}`, with the text from the stream made safe for a
/// terminal ([`safe_json`]).
fn json_line(entry: &StreamEnvelope) -> String {
    let line = format!(
        "{{\"id\":{},\"envelope\":{}}}",
        json!(entry.id),
        entry.envelope.to_json()
    );
    safe_json(&line).into_owned()
}

fn skip_line(skipped: &Skipped) -> String {
    let errors: Vec<String> = skipped.errors.iter().map(ToString::to_string).collect();
    format!(
        "skipped {}: {}: {}",
        skipped.id,
        skipped.reason,
        printable(&errors.join("; "), 300)
    )
}

/// `time  source  decision  question`, one line, safe for a terminal.
fn table_row(entry: &StreamEnvelope, paint: impl Fn(&str, &str) -> String) -> String {
    let envelope = &entry.envelope;
    let time = envelope.published_at.to_string();
    let time = time.get(..19).unwrap_or(&time).replace('T', " ");
    // Padded before it is painted: escape codes take no columns.
    let decision = format!("{:<50}", decision_summary(&envelope.decision));
    format!(
        "{time}  {:<17}  {}  {}",
        envelope.prediction.source_type.as_str(),
        paint(tone(&envelope.decision), &decision),
        printable(&envelope.prediction.question, 80)
    )
}

/// The decision in a few words (the dashboard's too), and its `reason`,
/// which comes from the payload and so is escaped like every other text.
fn decision_summary(decision: &Decision) -> String {
    format!(
        "{} ({})",
        decision.summary(),
        printable(decision.reason(), 40)
    )
}

pub(super) async fn consume(args: ConsumeArgs) -> io::Result<ExitCode> {
    let url = RedisUrl::parse(&args.target.redis_url).map_err(transport)?;
    if args.fail_fast {
        url.connect().await.map_err(transport)?;
    }
    let consumer = args.consumer.clone().unwrap_or_else(default_consumer_name);
    let mut options = GroupOptions::new(&args.group, &consumer);
    options.start_id.clone_from(&args.from);
    if let Some(at) = args.from_time {
        // The time as an id of this stream: Redis must answer now.
        let mut conn = url.connect().await.map_err(transport)?;
        options.start_id = cursor_at(&mut conn, &args.target.stream, at)
            .await
            .map_err(transport)?;
    }
    options.max_deliveries = args.max_deliveries;
    options.claim_idle = Duration::from_millis(args.claim_idle_ms);
    options.retry_delay = Duration::from_millis(args.retry_delay_ms);
    options.block = Duration::from_millis(args.block_ms);
    options.max_payload_bytes = args.target.max_payload_bytes;
    options.limit = args.limit;
    options.concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    options.count = usize::try_from(args.count).unwrap_or(100);
    options.copy_oversized = args.copy_oversized;
    let counters = Arc::new(StreamCounters::default());
    if let Some(addr) = args.metrics_addr {
        let scrape = GroupScrape {
            url: url.clone(),
            stream: args.target.stream.clone(),
            group: args.group.clone(),
            counters: Arc::clone(&counters),
        };
        super::metrics::serve_metrics(addr, scrape).await?;
    }
    let gaps = Arc::clone(&counters);
    let mut group = GroupConsumer::new(url, args.target.stream.clone(), options)
        .on_gap(move |gap| gaps.missed(gap.missed.unwrap_or(0)));
    tracing::info!(group = %args.group, %consumer, "consuming");

    let exec = args.exec.clone();
    let exec_timeout = args.exec_timeout_ms.map(Duration::from_millis);
    let handler = |entry: StreamEnvelope| {
        let exec = exec.clone();
        let counters = Arc::clone(&counters);
        async move {
            let handled = match exec {
                // The consumer logs a failure with the entry's id.
                Some(command) => run_command(&command, &entry, exec_timeout).await,
                None => {
                    let mut out = io::stdout().lock();
                    write_line(&mut out, &json_line(&entry))
                        .and_then(|()| out.flush())
                        .map_err(|e| e.to_string())
                }
            };
            match &handled {
                Ok(()) => counters.ok(&entry.id),
                Err(_) => counters.rejected(&entry.id, "handler_failed"),
            }
            handled
        }
    };
    group.run(handler, interrupted()).await.map_err(transport)?;
    let stats = group.stats();
    tracing::info!("{}", summary(stats));
    // An operator's script must see that handlers failed.
    Ok(if stats.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `handled 3, failed 1, claimed 0, dead-lettered 2 (handler_failed 1,
/// invalid 1)`: the reasons by their wire names.
fn summary(stats: &GroupStats) -> String {
    let dead: u64 = stats.dead_lettered.values().sum();
    let mut reasons: Vec<String> = stats
        .dead_lettered
        .iter()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    reasons.sort();
    let detail = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join(", "))
    };
    let trimmed = if stats.trimmed > 0 {
        format!(", trimmed before read {}", stats.trimmed)
    } else {
        String::new()
    };
    format!(
        "handled {}, failed {}, claimed {}, dead-lettered {dead}{detail}{trimmed}",
        stats.handled, stats.failed, stats.claimed
    )
}

/// `sh -c COMMAND` with the envelope JSON on standard input and the entry id
/// in `CROWD_ENTRY_ID` (and without `CROWD_REDIS_URL`); its output goes
/// where ours goes.
async fn run_command(
    command: &str,
    entry: &StreamEnvelope,
    timeout: Option<Duration>,
) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("CROWD_ENTRY_ID", &entry.id)
        // The handler needs the envelope, not the stream's credentials.
        .env_remove("CROWD_REDIS_URL")
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let mut input = entry.envelope.to_json().into_bytes();
        input.push(b'\n');
        // A command that does not read its input is its own business.
        let _ = stdin.write_all(&input).await;
    }
    let status = match timeout {
        Some(limit) => match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                let _ = child.kill().await;
                return Err(format!(
                    "{command:?} did not finish within {} ms",
                    limit.as_millis()
                ));
            }
        },
        None => child.wait().await,
    }
    .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} exited with {status}"))
    }
}

fn default_consumer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "consumer".to_owned());
    format!("{host}-{}", std::process::id())
}
