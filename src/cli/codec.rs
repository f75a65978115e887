//! `decode`, `build` and `schema`: the codec without a transport.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::Args;

use super::{exit_code, result_line, write_line, EnvelopeOptions, Input};
use crate::{
    build_envelope, BuildOptions, CrowdPrediction, CrowdPredictionEnvelope, DecodeError,
    DecodeReason, Decoder, DEFAULT_MAX_PAYLOAD_BYTES,
};

#[derive(Debug, Args)]
pub(super) struct DecodeArgs {
    #[command(flatten)]
    input: Input,
    /// Reject payloads larger than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_PAYLOAD_BYTES, value_name = "BYTES")]
    max_payload_bytes: usize,
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
    each_result(&args.input, |payload| decoder.decode(payload))
}

pub(super) fn build(args: BuildArgs) -> io::Result<ExitCode> {
    let options = args.options.to_build_options();
    if args.input.lines {
        return each_result(&args.input, |line| build_one(line, &options));
    }
    // A single prediction gives the bare envelope, ready to pipe on.
    let mut items = args.input.items()?;
    let input = items.next().transpose()?.unwrap_or_default();
    match build_one(&input, &options) {
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

pub(super) fn schema() -> io::Result<ExitCode> {
    let text = serde_json::to_string_pretty(&crate::envelope_json_schema())?;
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
    let mut out = BufWriter::new(io::stdout().lock());
    let mut all_ok = true;
    for item in input.items()? {
        let result = handle(&item?);
        all_ok &= result.is_ok();
        write_line(&mut out, &result_line(&result))?;
    }
    out.flush()?;
    Ok(exit_code(all_ok))
}
