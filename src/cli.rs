//! The `crowd-envelope` command-line program (feature `cli`).
//!
//! Data goes to standard output, one JSON document per line; logs and
//! errors go to standard error. Exit status: 0 when everything was
//! accepted, 1 when a payload or prediction was rejected, 2 when the
//! command itself could not run (bad arguments, unreadable input).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::{
    build_envelope, BuildOptions, CrowdPrediction, CrowdPredictionEnvelope, DecodeError,
    DecodeReason, Decoder, Meta, Timestamp, DEFAULT_MAX_PAYLOAD_BYTES,
};

/// Encode, decode and inspect crowd_simulation prediction envelopes.
#[derive(Debug, Parser)]
#[command(name = "crowd-envelope", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode payloads; print one {"ok": ...} line each; exit 1 if any is rejected.
    Decode(DecodeArgs),
    /// Build an envelope from a prediction (JSON in, envelope JSON out).
    Build(BuildArgs),
    /// Print the JSON Schema of the envelope.
    Schema,
}

#[derive(Debug, Args)]
struct Input {
    /// Read from this file instead of standard input ("-" is standard input).
    file: Option<PathBuf>,
    /// One item per line (JSON Lines); blank lines are skipped.
    #[arg(long)]
    lines: bool,
}

#[derive(Debug, Args)]
struct DecodeArgs {
    #[command(flatten)]
    input: Input,
    /// Reject payloads larger than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_PAYLOAD_BYTES, value_name = "BYTES")]
    max_payload_bytes: usize,
}

#[derive(Debug, Args)]
struct BuildArgs {
    #[command(flatten)]
    input: Input,
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

/// Runs the program with the process's arguments.
pub fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Decode(args) => decode(args),
        Command::Build(args) => build(args),
        Command::Schema => schema(),
    };
    match outcome {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crowd-envelope: {e}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CROWD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .init();
}

fn decode(args: DecodeArgs) -> io::Result<ExitCode> {
    let decoder = Decoder::new().max_payload_bytes(args.max_payload_bytes);
    for_each_item(&args.input, |payload| {
        let result = decoder.decode(payload);
        (result_line(&result), result.is_ok())
    })
}

fn build(args: BuildArgs) -> io::Result<ExitCode> {
    let options = BuildOptions {
        correlation_id: args.correlation_id,
        meta: args.meta,
        published_at: args.published_at,
    };
    let build_one = |input: &[u8]| -> Result<CrowdPredictionEnvelope, DecodeError> {
        let text = std::str::from_utf8(input)
            .map_err(|_| DecodeError::whole(DecodeReason::InvalidUtf8, "input is not UTF-8"))?;
        let prediction = CrowdPrediction::from_json(text)?;
        Ok(build_envelope(prediction, options.clone())?)
    };
    if args.input.lines {
        return for_each_item(&args.input, |line| {
            let result = build_one(line);
            (result_line(&result), result.is_ok())
        });
    }
    match build_one(&read_all(&args.input)?) {
        Ok(envelope) => {
            write_line(&mut io::stdout().lock(), &envelope.to_json())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("crowd-envelope: invalid prediction: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn schema() -> io::Result<ExitCode> {
    let text = serde_json::to_string_pretty(&crate::envelope_json_schema())?;
    write_line(&mut io::stdout().lock(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// `{"ok":true,"envelope":...}` or `{"ok":false,"reason":...,"errors":[...]}`.
fn result_line(result: &Result<CrowdPredictionEnvelope, DecodeError>) -> String {
    match result {
        Ok(envelope) => format!("{{\"ok\":true,\"envelope\":{}}}", envelope.to_json()),
        Err(error) => {
            json!({"ok": false, "reason": error.reason, "errors": error.errors}).to_string()
        }
    }
}

/// Feeds the input to `handle`, whole or line by line, printing each line it
/// returns; exit status 1 if `handle` reported any failure.
fn for_each_item(
    input: &Input,
    mut handle: impl FnMut(&[u8]) -> (String, bool),
) -> io::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut all_ok = true;
    let mut emit = |item: &[u8], out: &mut BufWriter<io::StdoutLock<'_>>| -> io::Result<()> {
        let (line, ok) = handle(item);
        all_ok &= ok;
        write_line(out, &line)
    };
    if input.lines {
        for line in open(input)?.split(b'\n') {
            let line = line?;
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if !line.is_empty() {
                emit(line, &mut out)?;
            }
        }
    } else {
        emit(&read_all(input)?, &mut out)?;
    }
    out.flush()?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn open(input: &Input) -> io::Result<Box<dyn BufRead>> {
    match &input.file {
        Some(path) if path.as_os_str() != "-" => {
            let file = File::open(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            Ok(Box::new(BufReader::new(file)))
        }
        _ => Ok(Box::new(BufReader::new(io::stdin()))),
    }
}

fn read_all(input: &Input) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(input)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}

fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    text.parse()
        .map_err(|e: crate::DateTimeError| e.to_string())
}

fn parse_meta(text: &str) -> Result<Meta, String> {
    Meta::parse(text).map_err(|e| e.to_string())
}
