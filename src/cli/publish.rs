//! `publish`: predictions (or ready envelopes) in, stream entries out.
//!
//! The input is read on a thread of its own, and what it has read is sent
//! as one pipeline ([`publish_each`]) while the next is gathered: one round
//! trip in flight, so entries reach the stream in input order, up to
//! [`WINDOW`] in each. A file goes at Redis's speed, and a producer writing
//! one line now and then gets each id as soon as Redis gives it.

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use tokio::sync::mpsc::error::TryRecvError;

use super::codec::build_one;
use super::stream::transport;
use super::{exit_code, numbered, write_line, EnvelopeOptions, Input, Item, StreamTarget};
use crowd_envelope::redis::{publish_each, PublishOptions, RedisUrl};
use crowd_envelope::{CrowdPredictionEnvelope, DecodeError, Decoder};

/// Entries in one pipeline, at most.
const WINDOW: usize = 256;

#[derive(Debug, Args)]
pub(super) struct PublishArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    target: StreamTarget,
    /// The input holds ready envelopes (validated, then published as they are), not predictions.
    #[arg(long)]
    envelope: bool,
    /// Trim the stream to about this many entries (MAXLEN ~ N), at least 1:
    /// 0 would delete what was just published.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_len: Option<u64>,
    /// Report an entry published only once N replicas have it (WAIT N
    /// after each batch): an entry a failover could still lose is
    /// not_published (it is in the stream, but not safe), exit status 2.
    #[arg(long, value_name = "N", default_value_t = 0)]
    wait_replicas: usize,
    /// How long --wait-replicas waits for them.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        requires = "wait_replicas"
    )]
    wait_timeout_ms: u64,
    /// One JSON line per item: {"ok": true, "id", "correlation_id"}, or
    /// decode's {"ok": false, "reason", "errors"}, or {"ok": false,
    /// "reason": "not_published", "message"} when Redis refused it; with
    /// --lines each starts with its "line".
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: EnvelopeOptions,
}

/// What became of one item.
enum Outcome {
    Published {
        id: String,
        correlation_id: String,
    },
    Rejected(DecodeError),
    /// Redis refused it, or the round trip failed (then it may have been added).
    NotPublished(String),
}

/// Items in input order: each its line and its envelope, or why there is none.
type Batch = Vec<(Option<usize>, Result<CrowdPredictionEnvelope, DecodeError>)>;

type Sent = Pin<Box<dyn Future<Output = Vec<(Option<usize>, Outcome)>>>>;

pub(super) async fn publish(args: PublishArgs) -> io::Result<ExitCode> {
    let url = RedisUrl::parse(&args.target.redis_url).map_err(transport)?;
    let conn = url.connect().await.map_err(transport)?;
    let mut options = PublishOptions::default().wait_replicas(
        args.wait_replicas,
        std::time::Duration::from_millis(args.wait_timeout_ms),
    );
    options.max_len = args
        .max_len
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let items = args.input.items(args.target.max_payload_bytes)?;
    let (sender, mut received) = tokio::sync::mpsc::channel(WINDOW);
    std::thread::spawn(move || {
        for item in items {
            if sender.blocking_send(item).is_err() {
                break; // publish has stopped
            }
        }
    });
    let build = args.options.to_build_options();
    let decoder = Decoder::new().max_payload_bytes(args.target.max_payload_bytes);
    let envelope = |item: Item| -> Result<CrowdPredictionEnvelope, DecodeError> {
        let bytes = item.checked()?;
        if args.envelope {
            decoder.decode(&bytes)
        } else {
            build_one(&bytes, &build)
        }
    };
    let send = |batch: Batch| -> Sent {
        let (mut conn, stream) = (conn.clone(), args.target.stream.clone());
        Box::pin(async move {
            let mut told = Vec::with_capacity(batch.len());
            let mut envelopes = Vec::with_capacity(batch.len());
            for (line, item) in batch {
                match item {
                    Ok(envelope) => {
                        told.push((line, None));
                        envelopes.push(envelope);
                    }
                    Err(error) => told.push((line, Some(error))),
                }
            }
            let replies: Vec<Result<String, String>> =
                match publish_each(&mut conn, &stream, &envelopes, options).await {
                    Ok(replies) => replies
                        .into_iter()
                        .map(|r| r.map_err(|e| e.to_string()))
                        .collect(),
                    Err(lost) => vec![Err(lost.to_string()); envelopes.len()],
                };
            let mut replies = replies.into_iter();
            let mut envelopes = envelopes.into_iter();
            told.into_iter()
                .map(|(line, rejected)| {
                    let outcome = match rejected {
                        Some(error) => Outcome::Rejected(error),
                        None => {
                            let correlation_id = envelopes
                                .next()
                                .map(|e| e.correlation_id)
                                .unwrap_or_default();
                            match replies.next() {
                                Some(Ok(id)) => Outcome::Published { id, correlation_id },
                                Some(Err(message)) => Outcome::NotPublished(message),
                                None => Outcome::NotPublished("no reply".to_owned()),
                            }
                        }
                    };
                    (line, outcome)
                })
                .collect()
        })
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let (mut rejected, mut refused) = (false, false);
    let mut next: Batch = Vec::new();
    let mut in_flight: Option<Sent> = None;
    let mut input_done = false;
    loop {
        // Gather what the input has ready, without waiting.
        while !input_done && next.len() < WINDOW {
            match received.try_recv() {
                Ok(item) => {
                    let (line, item) = item?;
                    next.push((line, envelope(item)));
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => input_done = true,
            }
        }
        if in_flight.is_none() && !next.is_empty() {
            in_flight = Some(send(std::mem::take(&mut next)));
        }
        let Some(sent) = in_flight.as_mut() else {
            if input_done {
                break;
            }
            // Nothing to send: what was written goes out, then wait for input.
            out.flush()?;
            match received.recv().await {
                Some(item) => {
                    let (line, item) = item?;
                    next.push((line, envelope(item)));
                }
                None => input_done = true,
            }
            continue;
        };
        tokio::select! {
            told = sent => {
                in_flight = None;
                for (line, outcome) in told {
                    rejected |= matches!(outcome, Outcome::Rejected(_));
                    refused |= matches!(outcome, Outcome::NotPublished(_));
                    report(&mut out, line, &outcome, &args)?;
                }
            }
            item = received.recv(), if !input_done && next.len() < WINDOW => match item {
                Some(item) => {
                    let (line, item) = item?;
                    next.push((line, envelope(item)));
                }
                None => input_done = true,
            },
        }
    }
    out.flush()?;
    if refused {
        // Redis refused or lost entries: a failure of the run, not of the input.
        return Ok(ExitCode::from(2));
    }
    Ok(exit_code(!rejected))
}

/// What `publish` says of one item: its id on standard output (a JSON line
/// with `--json`), or why it was rejected or not published (on standard
/// error, or as the JSON line). [`publish`] flushes standard output when it
/// waits for input, so a pipe gets each id at once, and at full speed not a
/// write per line.
fn report(
    out: &mut impl Write,
    line: Option<usize>,
    outcome: &Outcome,
    args: &PublishArgs,
) -> io::Result<()> {
    if args.json {
        let object = match outcome {
            Outcome::Published { id, correlation_id } => {
                json!({"ok": true, "id": id, "correlation_id": correlation_id})
            }
            Outcome::Rejected(error) => super::rejection(error),
            Outcome::NotPublished(error) => {
                json!({"ok": false, "reason": "not_published", "message": error.to_string()})
            }
        };
        return write_line(out, &numbered(line, &object.to_string()));
    }
    let at = line.map(|n| format!("line {n}: ")).unwrap_or_default();
    match outcome {
        Outcome::Published { id, .. } => write_line(out, id),
        Outcome::Rejected(error) => {
            let what = if args.envelope {
                "envelope"
            } else {
                "prediction"
            };
            tracing::error!("{at}invalid {what}: {error}");
            Ok(())
        }
        Outcome::NotPublished(error) => {
            tracing::error!("{at}not published: {error}");
            Ok(())
        }
    }
}
