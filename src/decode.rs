//! Decoding payloads: every rejection has a reason (SPEC section 4).

use crate::envelope::{self, CrowdPredictionEnvelope, SCHEMA_VERSION};
use crate::error::{DecodeError, DecodeReason};
use crate::json::{self, Json, Keep};
use crate::typed::{self, Tape};

/// Payloads larger than this many bytes are rejected as `too_large` unless
/// the limit is changed with [`Decoder::max_payload_bytes`].
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1 << 20;

/// A decoder with settings; [`try_decode_envelope`] uses the defaults.
///
/// ```
/// use crowd_envelope::{Decoder, DecodeReason};
/// let small = Decoder::new().max_payload_bytes(16);
/// let err = small.decode(br#"{"schema_version": "1", "arena": "crowd_simulation"}"#).unwrap_err();
/// assert_eq!(err.reason, DecodeReason::TooLarge);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoder {
    max_payload_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder {
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}

impl Decoder {
    /// A decoder with the default limits.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Sets the size limit, in bytes of UTF-8.
    pub fn max_payload_bytes(self, max_payload_bytes: usize) -> Decoder {
        Decoder { max_payload_bytes }
    }

    /// The size limit, in bytes.
    pub fn payload_limit(&self) -> usize {
        self.max_payload_bytes
    }

    /// Decodes a payload (`&str`, `String`, `&[u8]`, `Vec<u8>`); bytes must
    /// be UTF-8.
    pub fn decode(
        &self,
        payload: impl AsRef<[u8]>,
    ) -> Result<CrowdPredictionEnvelope, DecodeError> {
        self.decode_with(payload.as_ref(), |_, envelope| envelope)
    }

    /// Decodes a payload given as text.
    pub fn decode_str(&self, payload: &str) -> Result<CrowdPredictionEnvelope, DecodeError> {
        self.decode_str_with(payload, |_, envelope| envelope)
    }

    /// Decodes a payload and hands `then` the envelope with how it was read.
    pub(crate) fn decode_with<R>(
        &self,
        payload: &[u8],
        then: impl FnOnce(Source<'_>, CrowdPredictionEnvelope) -> R,
    ) -> Result<R, DecodeError> {
        self.check_size(payload.len())?;
        let text = std::str::from_utf8(payload).map_err(|e| {
            DecodeError::whole(
                DecodeReason::InvalidUtf8,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        decode_text(text, then)
    }

    /// [`Self::decode_with`] for a payload already known to be text.
    pub(crate) fn decode_str_with<R>(
        &self,
        payload: &str,
        then: impl FnOnce(Source<'_>, CrowdPredictionEnvelope) -> R,
    ) -> Result<R, DecodeError> {
        self.check_size(payload.len())?;
        decode_text(payload, then)
    }

    /// The `too_large` rejection for a payload of `len` bytes, if it is over
    /// the limit (a follower checks a payload it left in Redis).
    pub(crate) fn check_size(&self, len: usize) -> Result<(), DecodeError> {
        if len > self.max_payload_bytes {
            return Err(DecodeError::whole(
                DecodeReason::TooLarge,
                format!(
                    "payload is {len} bytes, over the limit of {} bytes",
                    self.max_payload_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// How a payload was read, for the npm package, which builds the decoded JS
/// value from it (`src/wasm/mod.rs`).
// Only the wasm bindings look inside.
#[cfg_attr(not(feature = "wasm"), allow(dead_code))]
pub(crate) enum Source<'j> {
    /// By the decoder: where each value is.
    Typed(&'j Tape),
    /// By the second pass, which accepted what the decoder refused: a
    /// disagreement the differential tests prove does not happen, answered
    /// with the envelope all the same rather than by losing the entry.
    Explained,
}

/// Decodes `text` in one pass; a payload it refuses is read a second time
/// only to say why.
fn decode_text<R>(
    text: &str,
    then: impl FnOnce(Source<'_>, CrowdPredictionEnvelope) -> R,
) -> Result<R, DecodeError> {
    let mut tape = Tape::new();
    match typed::decode(text, &mut tape) {
        typed::Read::Valid(envelope) => Ok(then(Source::Typed(&tape), envelope)),
        typed::Read::Invalid(errors) => Err(errors.into()),
        typed::Read::Refused => {
            let explained = explain(text, envelope::KEEP, |_, envelope| envelope);
            debug_assert!(explained.is_err(), "refused but valid: {text}");
            explained.map(|envelope| then(Source::Explained, envelope))
        }
    }
}

/// The second pass: reads what `keep` names of `text` as a tree
/// ([`envelope::KEEP`], or in tests everything, to check that nothing else
/// matters) and checks it field by field, every rule, every lax form,
/// giving every error with its path and code.
pub(crate) fn explain<R>(
    text: &str,
    keep: Keep,
    then: impl FnOnce(&Json<'_>, CrowdPredictionEnvelope) -> R,
) -> Result<R, DecodeError> {
    let json = json::parse_json(text, keep)?;
    check_version(&json)?;
    let envelope = CrowdPredictionEnvelope::from_json_value(&json)?;
    Ok(then(&json, envelope))
}

/// A future version must never crash today's consumer: anything but `"1"`
/// (or absent, or null, which validation handles) is `unsupported_version`.
fn check_version(json: &Json<'_>) -> Result<(), DecodeError> {
    let Json::Object(object) = json else {
        return Ok(());
    };
    match object.get("schema_version") {
        None | Some(Json::Null) => Ok(()),
        Some(Json::String(v)) if v == SCHEMA_VERSION => Ok(()),
        Some(other) => Err(DecodeError::whole(
            DecodeReason::UnsupportedVersion,
            format!(
                "expected schema_version \"{SCHEMA_VERSION}\" (or absent), found {}",
                other.describe()
            ),
        )),
    }
}

/// Decodes a payload (`&str`, `String`, `&[u8]`, `Vec<u8>`) with the default
/// limits, giving the reason for any rejection.
pub fn try_decode_envelope(
    payload: impl AsRef<[u8]>,
) -> Result<CrowdPredictionEnvelope, DecodeError> {
    Decoder::default().decode(payload.as_ref())
}

/// Decodes a payload, giving `None` on any rejection after logging
/// it with `tracing` at WARN.
pub fn decode_envelope(payload: impl AsRef<[u8]>) -> Option<CrowdPredictionEnvelope> {
    match try_decode_envelope(payload) {
        Ok(envelope) => Some(envelope),
        Err(error) => {
            tracing::warn!(reason = %error.reason, "decode_envelope: skipping payload: {error}");
            None
        }
    }
}
