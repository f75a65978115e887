//! A stream entry (SPEC section 1): exactly one field, `data`, holding an
//! envelope's JSON. The rule for reading one lives here once, for every
//! runtime: the Redis transport, the npm package's Redis helpers and the
//! dashboard (through the wasm export `wireCheckEntry`).

use std::fmt;

use crate::error::{DecodeError, DecodeReason, ErrorCode, FieldError};
use crate::{CrowdPredictionEnvelope, Decoder};

/// The one field of a stream entry.
pub const DATA_FIELD: &str = "data";

/// Why an entry was not delivered.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The entry has no `data` field.
    NoData,
    /// The entry has fields besides `data` (SPEC: exactly one field).
    ExtraFields,
    /// The `data` field does not decode.
    Decode(DecodeReason),
    /// (Group mode) the handler failed on every attempt allowed.
    HandlerFailed,
    /// (Group mode) a pending entry was deleted from the stream (`XDEL`,
    /// trimming) before it was handled.
    Deleted,
    /// (Following) entries were trimmed or deleted before they were read;
    /// the skip's id is the range `after..before`.
    Trimmed,
    /// (Following) the stream was deleted and made anew; the follower
    /// starts again from the new stream's first entry.
    Reset,
}

impl SkipReason {
    /// Every reason that is not a decode reason, in declaration order.
    pub const TRANSPORT: [SkipReason; 6] = [
        SkipReason::NoData,
        SkipReason::ExtraFields,
        SkipReason::HandlerFailed,
        SkipReason::Deleted,
        SkipReason::Trimmed,
        SkipReason::Reset,
    ];

    /// `no_data`, `extra_fields`, `handler_failed`, `deleted`, `trimmed`,
    /// `stream_reset`, or the decode reason (`invalid_json`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoData => "no_data",
            SkipReason::ExtraFields => "extra_fields",
            SkipReason::Decode(reason) => reason.as_str(),
            SkipReason::HandlerFailed => "handler_failed",
            SkipReason::Deleted => "deleted",
            SkipReason::Trimmed => "trimmed",
            SkipReason::Reset => "stream_reset",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An entry that was not delivered, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The entry id (for a gap, the range `after..before`).
    pub id: String,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// What was wrong, with paths.
    pub errors: Vec<FieldError>,
    /// The raw `data` field, when there was one.
    pub data: Option<Vec<u8>>,
}

/// Entries a follower lost: trimmed (or deleted) after its cursor before it
/// read them, or in a stream that was deleted and made anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Why they were lost.
    pub reason: GapReason,
    /// The last id delivered before the gap.
    pub after: String,
    /// The first id after it: the next entry delivered, or the stream's
    /// newest id when nothing is left.
    pub before: String,
    /// How many were lost; `None` when Redis cannot tell (a stream made
    /// anew, or Redis before 7.0).
    pub missed: Option<u64>,
}

/// Why a [`Gap`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GapReason {
    /// Trimmed (`MAXLEN`, `XTRIM`) or deleted (`XDEL`) before they were read.
    Trimmed,
    /// The stream's newest id went below the cursor: it was deleted and
    /// made anew; the follower starts again from its first entry.
    Reset,
}

impl Gap {
    /// The gap as a skip: `id` is the range `after..before`, the reason
    /// [`SkipReason::Trimmed`] or [`SkipReason::Reset`], and the message
    /// says how many entries were lost.
    pub fn to_skipped(&self) -> Skipped {
        let (reason, message) = match self.reason {
            GapReason::Trimmed => (
                SkipReason::Trimmed,
                match self.missed {
                    Some(n) => format!(
                        "{n} entries after {} were trimmed from the stream before they were read",
                        self.after
                    ),
                    None => format!(
                        "entries after {} were trimmed from the stream before they were read",
                        self.after
                    ),
                },
            ),
            GapReason::Reset => (
                SkipReason::Reset,
                format!(
                    "the stream was made anew (its newest id {} is below {}): \
                     entries after {} not yet read are lost; reading the new stream from its start",
                    self.before, self.after, self.after
                ),
            ),
        };
        Skipped {
            id: format!("{}..{}", self.after, self.before),
            reason,
            errors: vec![FieldError::new("", ErrorCode::Missing, message)],
            data: None,
        }
    }
}

/// Why an entry does not hold a decodable envelope.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntryError {
    /// Why.
    pub reason: SkipReason,
    /// What was wrong, with paths.
    pub errors: Vec<FieldError>,
}

impl EntryError {
    fn new(reason: SkipReason, code: ErrorCode, message: String) -> EntryError {
        EntryError {
            reason,
            errors: vec![FieldError::new("", code, message)],
        }
    }
}

/// What an entry holds where its `data` should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryData<'a> {
    /// The payload's bytes.
    Bytes(&'a [u8]),
    /// A payload left unread for being larger than a limit: its size.
    Oversized(usize),
    /// No `data` field.
    Missing,
}

/// SPEC section 1's rule, before the payload is decoded: a payload within
/// `max_payload_bytes` (when only its size is known), a `data` field, and
/// no other field. `fields` are all the entry's field names. Gives the
/// payload to decode.
pub fn check_entry<'a, S: AsRef<str>>(
    fields: &[S],
    data: EntryData<'a>,
    max_payload_bytes: usize,
) -> Result<&'a [u8], EntryError> {
    let payload = match data {
        EntryData::Bytes(payload) => payload,
        EntryData::Oversized(size) => {
            let decoder = Decoder::new().max_payload_bytes(max_payload_bytes);
            return Err(match decoder.check_size(size) {
                Err(error) => decode_error(error),
                // Under the limit after all: a caller's mistake, said as such.
                Ok(()) => EntryError::new(
                    SkipReason::Decode(DecodeReason::TooLarge),
                    ErrorCode::TooLarge,
                    format!("payload of {size} bytes was left unread"),
                ),
            });
        }
        EntryData::Missing => {
            return Err(EntryError::new(
                SkipReason::NoData,
                ErrorCode::Missing,
                format!("the entry has no '{DATA_FIELD}' field"),
            ));
        }
    };
    let mut extra: Vec<&str> = fields
        .iter()
        .map(AsRef::as_ref)
        .filter(|&f| f != DATA_FIELD)
        .collect();
    if extra.is_empty() {
        return Ok(payload);
    }
    sort_names(&mut extra);
    Err(EntryError::new(
        SkipReason::ExtraFields,
        ErrorCode::ExtraForbidden,
        format!(
            "expected exactly one field, '{DATA_FIELD}', found also {}",
            extra.join(", ")
        ),
    ))
}

/// Sorts a handful of field names; an insertion sort, because the standard
/// library's sort would add kilobytes to the wasm for lists this short.
fn sort_names(names: &mut [&str]) {
    for i in 1..names.len() {
        let mut j = i;
        while j > 0 && names.get(j - 1) > names.get(j) {
            names.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Decodes a stream entry: [`check_entry`], then the payload.
///
/// ```
/// use crowd_envelope::entry::{decode_entry, EntryData, SkipReason};
/// use crowd_envelope::Decoder;
///
/// let rejected = decode_entry(&["data", "source"], EntryData::Bytes(b"{}"), &Decoder::new());
/// assert_eq!(rejected.unwrap_err().reason, SkipReason::ExtraFields);
/// ```
pub fn decode_entry<S: AsRef<str>>(
    fields: &[S],
    data: EntryData<'_>,
    decoder: &Decoder,
) -> Result<CrowdPredictionEnvelope, EntryError> {
    let payload = check_entry(fields, data, decoder.payload_limit())?;
    decoder.decode(payload).map_err(decode_error)
}

fn decode_error(error: DecodeError) -> EntryError {
    EntryError {
        reason: SkipReason::Decode(error.reason),
        errors: error.errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn rejection(fields: &[&str], data: EntryData<'_>) -> (SkipReason, String) {
        let error = check_entry(fields, data, 100).unwrap_err();
        (error.reason, error.errors[0].message.clone())
    }

    #[test]
    fn an_entry_is_exactly_one_data_field_within_the_limit() {
        assert_eq!(
            check_entry(&["data"], EntryData::Bytes(b"{}"), 100),
            Ok(&b"{}"[..])
        );
        assert_eq!(
            rejection(&["other"], EntryData::Missing),
            (
                SkipReason::NoData,
                "the entry has no 'data' field".to_owned()
            )
        );
        assert_eq!(
            rejection(&["source", "data", "at"], EntryData::Bytes(b"{}")),
            (
                SkipReason::ExtraFields,
                "expected exactly one field, 'data', found also at, source".to_owned()
            )
        );
        assert_eq!(
            rejection(&["data"], EntryData::Oversized(5000)),
            (
                SkipReason::Decode(DecodeReason::TooLarge),
                "payload is 5000 bytes, over the limit of 100 bytes".to_owned()
            )
        );
    }

    #[test]
    fn the_payload_is_decoded_after_the_rule() {
        let error = decode_entry(&["data"], EntryData::Bytes(b"{"), &Decoder::new()).unwrap_err();
        assert_eq!(error.reason, SkipReason::Decode(DecodeReason::InvalidJson));
    }

    #[test]
    fn skip_reasons_serialize_as_their_wire_names() {
        for reason in SkipReason::TRANSPORT {
            assert_eq!(
                serde_json::to_string(&reason).unwrap(),
                format!("\"{}\"", reason.as_str())
            );
        }
    }
}
