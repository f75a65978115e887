//! The `crowd-envelope` command-line program (feature `cli`).
//!
//! Data goes to standard output, one JSON document (or table row) per line;
//! logs, skips and errors go to standard error. Exit status: 0 when
//! everything was accepted, 1 when a payload or prediction was rejected, 2
//! when the command itself could not run (bad arguments, unreadable input,
//! Redis unreachable). `CROWD_LOG` sets the log filter (default `warn`).

mod admin;
mod codec;
mod http;
mod log;
mod metrics;
mod publish;
mod runtime;
mod serve;
mod stream;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crowd_envelope::{
    CrowdPredictionEnvelope, DecodeError, Meta, Timestamp, DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_STREAM_NAME,
};

/// Encode, decode, publish and follow crowd_simulation prediction envelopes.
#[derive(Debug, Parser)]
#[command(name = "crowd-envelope", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode payloads; print one {"ok": ...} line each; exit 1 if any is rejected.
    Decode(codec::DecodeArgs),
    /// Build an envelope from a prediction (JSON in, envelope JSON out).
    Build(codec::BuildArgs),
    /// Print the JSON Schema of the envelope (or, with --result, of decode's output lines).
    Schema(codec::SchemaArgs),
    /// Build envelopes from predictions (or take ready envelopes) and publish them; print each id.
    Publish(publish::PublishArgs),
    /// Show the newest envelopes, or follow the stream as it grows.
    Tail(stream::TailArgs),
    /// Consume the stream in a consumer group, printing or piping each envelope to a command
    /// (exit status 1 if a handler failed).
    Consume(stream::ConsumeArgs),
    /// Serve the live dashboard (www/) and a feed of the stream for it.
    Serve(serve::ServeArgs),
    /// Show the stream's length, first and last ids, each group's lag,
    /// pending entries and consumers, and its dead-letter count.
    Stats(admin::StatsArgs),
    /// List, show, replay or purge the dead letters consumer groups wrote
    /// (<stream>:dead).
    Dead(admin::DeadArgs),
    /// Print a completion script for a shell, e.g.
    /// `crowd-envelope completions bash > ~/.local/share/bash-completion/completions/crowd-envelope`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Runs the program with the process's arguments.
pub fn main() -> ExitCode {
    log::init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return refused(&error),
    };
    let outcome = match cli.command {
        Command::Decode(args) => codec::decode(args),
        Command::Build(args) => codec::build(args),
        Command::Schema(args) => codec::schema(args),
        Command::Publish(args) => runtime::block_on(publish::publish(args)),
        Command::Tail(args) => runtime::block_on(stream::tail(args)),
        Command::Consume(args) => runtime::block_on(stream::consume(args)),
        Command::Serve(args) => runtime::block_on(serve::serve(args)),
        Command::Stats(args) => runtime::block_on(admin::stats(args)),
        Command::Dead(args) => runtime::block_on(admin::dead(args)),
        Command::Completions { shell } => completions(shell),
    };
    match outcome {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `--help` and `--version` as clap prints them (standard output, status
/// 0); a refused command line in the one log format, with clap's hint, and
/// status 2.
fn refused(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    let text = error.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    tracing::error!("{}", first.strip_prefix("error: ").unwrap_or(first));
    for line in lines {
        tracing::info!("{line}");
    }
    ExitCode::from(2)
}

fn completions(shell: clap_complete::Shell) -> io::Result<ExitCode> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "crowd-envelope", &mut script);
    let mut script = String::from_utf8_lossy(&script).into_owned();
    if shell == clap_complete::Shell::Bash {
        // clap_complete 4.6 spells a hyphenated program's subcommand states
        // two ways, so no subcommand's flags complete (clap-rs/clap#6421):
        // the case labels are made to match what the loop computes.
        script = script.replace("crowd__subcmd__envelope__", "crowd__envelope__");
    }
    io::stdout().lock().write_all(script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Where items come from: a file or standard input, whole or line by line.
#[derive(Debug, Args)]
struct Input {
    /// Read from this file instead of standard input ("-" is standard input).
    file: Option<PathBuf>,
    /// One item per line (JSON Lines); blank lines are skipped, and each
    /// result says its input line ("line": 1 is the first).
    #[arg(long)]
    lines: bool,
}

/// One item of the input: its bytes, or that it was longer than the limit
/// (read no further than the limit, and not kept).
enum Item {
    Bytes(Vec<u8>),
    TooLarge(usize),
}

impl Item {
    /// The bytes, or the `too_large` rejection.
    fn checked(self) -> Result<Vec<u8>, crowd_envelope::DecodeError> {
        match self {
            Item::Bytes(bytes) => Ok(bytes),
            Item::TooLarge(limit) => Err(crowd_envelope::DecodeError::whole(
                crowd_envelope::DecodeReason::TooLarge,
                format!("payload is over the limit of {limit} bytes"),
            )),
        }
    }
}

impl Input {
    /// Each item, in order, with its line number (1 for the first; none
    /// for a whole input): the whole input, or each non-blank line. No more
    /// than `limit + 1` bytes of an item are ever held.
    fn items(
        &self,
        limit: usize,
    ) -> io::Result<impl Iterator<Item = io::Result<(Option<usize>, Item)>>> {
        let mut reader = self.open()?;
        let lines = self.lines;
        let mut done = false;
        let mut line = 0;
        Ok(std::iter::from_fn(move || loop {
            if done {
                return None;
            }
            let item = match bounded_item(&mut reader, lines, limit) {
                Ok(Some(item)) => item,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            done = !lines;
            line += 1;
            match item {
                Item::Bytes(bytes) if lines && bytes.is_empty() => continue,
                item => return Some(Ok((lines.then_some(line), item))),
            }
        }))
    }

    fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        match &self.file {
            Some(path) if path.as_os_str() != "-" => {
                if path.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{}: is a directory, expected a file", path.display()),
                    ));
                }
                let file = File::open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                Ok(Box::new(BufReader::new(file)))
            }
            _ => Ok(Box::new(BufReader::new(io::stdin()))),
        }
    }
}

/// The next item: up to the next newline (`\r\n` too) with `lines`, else
/// the whole input; `None` at the end. Past `limit` bytes, the rest of the
/// item is read and dropped.
fn bounded_item(reader: &mut dyn BufRead, lines: bool, limit: usize) -> io::Result<Option<Item>> {
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        any = true;
        let end = if lines {
            buffer.iter().position(|&b| b == b'\n')
        } else {
            None
        };
        let chunk = buffer
            .get(..end.unwrap_or(buffer.len()))
            .unwrap_or_default();
        let room = (limit + 1).saturating_sub(bytes.len());
        bytes.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
        seen += chunk.len();
        let used = chunk.len() + usize::from(end.is_some());
        reader.consume(used);
        if end.is_some() {
            break;
        }
    }
    if !any {
        // An empty input is one empty item; no more lines is none.
        return Ok((!lines).then(|| Item::Bytes(Vec::new())));
    }
    if lines && bytes.last() == Some(&b'\r') && seen <= limit {
        bytes.pop();
        seen -= 1;
    }
    Ok(Some(if seen > limit {
        Item::TooLarge(limit)
    } else {
        Item::Bytes(bytes)
    }))
}

/// What `build` and `publish` may set instead of the defaults.
#[derive(Debug, Args)]
struct EnvelopeOptions {
    /// Use this correlation id instead of a fresh uuid4.
    #[arg(long, value_name = "ID")]
    correlation_id: Option<String>,
    /// Use this publication time instead of now (any form the decoder accepts).
    #[arg(long, value_name = "DATETIME", value_parser = parse_timestamp)]
    published_at: Option<Timestamp>,
    /// Attach this JSON object as meta.
    #[arg(long, value_name = "JSON", value_parser = parse_meta)]
    meta: Option<Meta>,
}

impl EnvelopeOptions {
    fn to_build_options(&self) -> crowd_envelope::BuildOptions {
        crowd_envelope::BuildOptions {
            correlation_id: self.correlation_id.clone(),
            meta: self.meta.clone(),
            published_at: self.published_at,
        }
    }
}

/// Which Redis stream, for the subcommands that use one.
#[derive(Debug, Args)]
struct StreamTarget {
    /// Redis URL: redis:// or rediss:// (TLS), with user and password if
    /// needed; redis+cluster://HOST:PORT[,HOST:PORT...] for a Redis
    /// Cluster; redis+sentinel://HOST:PORT[,...]/MASTER[/DB] for the master
    /// Sentinels watch.
    #[arg(
        long,
        env = "CROWD_REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        value_name = "URL",
        hide_env_values = true
    )]
    redis_url: String,
    /// The stream.
    #[arg(long, env = "CROWD_STREAM", hide_env_values = true, default_value = DEFAULT_STREAM_NAME, value_name = "KEY")]
    stream: String,
    /// Skip payloads larger than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_PAYLOAD_BYTES, value_name = "BYTES")]
    max_payload_bytes: usize,
}

/// `{"ok":true,"envelope":...}` or `{"ok":false,"reason":...,"errors":[...]}`.
fn result_line(result: &Result<CrowdPredictionEnvelope, DecodeError>) -> String {
    match result {
        Ok(envelope) => format!("{{\"ok\":true,\"envelope\":{}}}", envelope.to_json()),
        Err(error) => rejection(error).to_string(),
    }
}

/// `{"ok":false,"reason":...,"errors":[...]}`: a rejection as every JSON
/// output of the program words it.
fn rejection(error: &DecodeError) -> serde_json::Value {
    json!({"ok": false, "reason": error.reason, "errors": error.errors})
}

/// A result object (JSON text) with its input line first, when it has one.
fn numbered(line: Option<usize>, object: &str) -> String {
    match (line, object.strip_prefix('{')) {
        (Some(n), Some(rest)) => format!("{{\"line\":{n},{rest}"),
        _ => object.to_owned(),
    }
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}

fn exit_code(all_ok: bool) -> ExitCode {
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    text.parse()
        .map_err(|e: crowd_envelope::DateTimeError| e.to_string())
}

fn parse_meta(text: &str) -> Result<Meta, String> {
    Meta::parse(text).map_err(|e| e.to_string())
}
