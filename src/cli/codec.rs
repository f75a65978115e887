//! `decode`, `build` and `schema`: the codec without a transport.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Args;

use super::{exit_code, numbered, result_line, write_line, EnvelopeOptions, Input};
use crowd_envelope::{
    build_envelope, verify_decision, BuildOptions, CrowdPrediction, CrowdPredictionEnvelope,
    DecodeError, DecodeReason, Decoder, DEFAULT_MAX_PAYLOAD_BYTES,
};

#[derive(Debug, Args)]
pub(super) struct DecodeArgs {
    #[command(flatten)]
    input: Input,
    /// Reject payloads larger than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_PAYLOAD_BYTES, value_name = "BYTES")]
    max_payload_bytes: usize,
    /// Also say whether each accepted envelope's decision is the one SPEC
    /// section 3 gives for its prediction ("verify": true or false).
    #[arg(long)]
    verify: bool,
    /// Print only the rejected payloads' lines (the exit status still says
    /// whether any was rejected).
    #[arg(long)]
    rejected_only: bool,
}

#[derive(Debug, Args)]
pub(super) struct BuildArgs {
    #[command(flatten)]
    input: Input,
    #[command(flatten)]
    options: EnvelopeOptions,
}

pub(super) fn decode(args: DecodeArgs) -> io::Result<ExitCode> {
    let decoder = Decoder::new().max_payload_bytes(args.max_payload_bytes);
    let verify = args.verify;
    let shown = Shown::from_flag(args.rejected_only);
    let whole = !args.input.lines;
    each_line(&args.input, args.max_payload_bytes, shown, |payload| {
        let result = decoder.decode(payload);
        if whole && result.as_ref().is_err_and(holds_more_than_one_value) {
            tracing::warn!(
                "the input holds more than one JSON value; for one payload per line, use --lines"
            );
        }
        let ok = result.is_ok();
        let line = match result {
            Ok(envelope) if verify => format!(
                "{{\"ok\":true,\"verify\":{},\"envelope\":{}}}",
                verify_decision(&envelope),
                envelope.to_json()
            ),
            other => result_line(&other),
        };
        (ok, line)
    })
}

/// The parser's words for a text that goes on after its JSON value.
fn holds_more_than_one_value(error: &DecodeError) -> bool {
    error.reason == DecodeReason::InvalidJson
        && error
            .errors
            .iter()
            .any(|e| e.message.contains("unexpected data after the JSON value"))
}

pub(super) fn build(args: BuildArgs) -> io::Result<ExitCode> {
    let options = args.options.to_build_options();
    if args.input.lines {
        return each_result(&args.input, |line| build_one(line, &options));
    }
    // A single prediction gives the bare envelope, ready to pipe on.
    let mut items = args.input.items(DEFAULT_MAX_PAYLOAD_BYTES)?;
    let input = items.next().transpose()?;
    let built = match input {
        Some((_, item)) => item.checked().and_then(|bytes| build_one(&bytes, &options)),
        None => build_one(b"", &options),
    };
    match built {
        Ok(envelope) => {
            write_line(&mut io::stdout().lock(), &envelope.to_json())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            tracing::error!("invalid prediction: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[derive(Debug, Args)]
pub(super) struct SchemaArgs {
    /// The schema of a `decode` output line instead: `{"ok": true, "envelope"}`
    /// or `{"ok": false, "reason", "errors": [{path, code, message}]}`.
    #[arg(long, conflicts_with = "prediction")]
    result: bool,
    /// The schema of a prediction on its own instead (the input of `build`).
    #[arg(long)]
    prediction: bool,
    /// The AsyncAPI 3.0 document of the stream instead: the Redis server,
    /// the prediction and dead-letter streams, the envelope message (this
    /// schema, with an example of each decision kind), send and receive.
    #[arg(long, conflicts_with_all = ["result", "prediction"])]
    asyncapi: bool,
}

pub(super) fn schema(args: SchemaArgs) -> io::Result<ExitCode> {
    let schema = if args.asyncapi {
        crowd_envelope::asyncapi_document()
    } else if args.result {
        crowd_envelope::decode_result_json_schema()
    } else if args.prediction {
        crowd_envelope::prediction_json_schema()
    } else {
        crowd_envelope::envelope_json_schema()
    };
    let text = serde_json::to_string_pretty(&schema)?;
    write_line(&mut io::stdout().lock(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// A prediction (JSON text) built into an envelope.
pub(super) fn build_one(
    input: &[u8],
    options: &BuildOptions,
) -> Result<CrowdPredictionEnvelope, DecodeError> {
    let text = std::str::from_utf8(input)
        .map_err(|_| DecodeError::whole(DecodeReason::InvalidUtf8, "input is not UTF-8"))?;
    let prediction = CrowdPrediction::from_json(text)?;
    Ok(build_envelope(prediction, options.clone())?)
}

/// One result line per item; exit status 1 if any item failed.
fn each_result(
    input: &Input,
    mut handle: impl FnMut(&[u8]) -> Result<CrowdPredictionEnvelope, DecodeError>,
) -> io::Result<ExitCode> {
    each_line(input, DEFAULT_MAX_PAYLOAD_BYTES, Shown::All, |item| {
        let result = handle(item);
        (result.is_ok(), result_line(&result))
    })
}

/// Which result lines are printed.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    All,
    Rejected,
}

impl Shown {
    fn from_flag(rejected_only: bool) -> Shown {
        if rejected_only {
            Shown::Rejected
        } else {
            Shown::All
        }
    }
}

/// One line per item from `handle`, which says whether the item passed
/// and gives its JSON object; an item over `limit` bytes is `too_large`
/// without being held. With `--lines`, each object starts with the item's
/// input line number.
fn each_line(
    input: &Input,
    limit: usize,
    shown: Shown,
    mut handle: impl FnMut(&[u8]) -> (bool, String),
) -> io::Result<ExitCode> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut all_ok = true;
    for item in input.items(limit)? {
        let (number, item) = item?;
        let (ok, object) = match item.checked() {
            Ok(bytes) => handle(&bytes),
            Err(too_large) => (false, result_line(&Err(too_large))),
        };
        all_ok &= ok;
        if ok && shown == Shown::Rejected {
            continue;
        }
        write_line(&mut out, &numbered(number, &object))?;
    }
    out.flush()?;
    Ok(exit_code(all_ok))
}
