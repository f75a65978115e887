//! The Python package `crowd_envelope` (SPEC section 7, Python column): the
//! crate's codec as a CPython extension. Results are frozen objects with the
//! original Pydantic models' attribute names; rejections raise
//! `DecodeError` (`.reason`, `.errors`) or `ValidationError` (`.errors`),
//! each error a dict of `path`, `code` and `message`.
//!
//! Values cross into the codec as JSON text: a payload as it is, a dict
//! through `json.dumps` (date-times as ISO strings, naive ones as UTC), so
//! the lax rules of SPEC section 6 are the crate's, not a Python copy.

#![forbid(unsafe_code)]

mod objects;
mod scripts;

use objects::{decision_object, Envelope, Prediction};

use crowd_envelope::entry::{decode_entry, EntryData, Gap, GapReason};
use crowd_envelope::{
    self as codec, BuildOptions, CrowdPrediction, CrowdPredictionEnvelope, Decision, Decoder,
    FieldError, Meta, Timestamp,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

create_exception!(
    crowd_envelope,
    ValidationError,
    PyValueError,
    "A value that is not valid: `.errors` lists each failing field."
);
create_exception!(
    crowd_envelope,
    DecodeError,
    ValidationError,
    "A payload that does not decode: `.reason` says why, `.errors` where."
);

/// Payloads at least this large are decoded without holding the GIL.
const DETACHED_BYTES: usize = 64 * 1024;

fn errors_list<'py>(py: Python<'py>, errors: &[FieldError]) -> PyResult<Bound<'py, PyList>> {
    let items = errors
        .iter()
        .map(|e| {
            let item = PyDict::new(py);
            item.set_item("path", &e.path)?;
            item.set_item("code", e.code.as_str())?;
            item.set_item("message", &e.message)?;
            Ok(item)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

fn decode_error(py: Python<'_>, error: &codec::DecodeError) -> PyErr {
    raise_decode_error(py, error.reason.as_str(), &error.errors, error.to_string())
}

/// A `DecodeError` with its `.reason` and `.errors`.
fn raise_decode_error(
    py: Python<'_>,
    reason: &str,
    errors: &[FieldError],
    message: String,
) -> PyErr {
    let err = DecodeError::new_err(message);
    let value = err.value(py);
    let set = value
        .setattr("reason", reason)
        .and_then(|()| value.setattr("errors", errors_list(py, errors)?));
    set.err().unwrap_or(err)
}

fn validation_error(py: Python<'_>, error: &codec::DecodeError) -> PyErr {
    let err = ValidationError::new_err(
        codec::ValidationError {
            errors: error.errors.clone(),
        }
        .to_string(),
    );
    let value = err.value(py);
    let set = errors_list(py, &error.errors).and_then(|errors| value.setattr("errors", errors));
    set.err().unwrap_or(err)
}

/// The bytes of a payload: `str`, `bytes`, `bytearray` or `memoryview`.
fn payload_bytes(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(text) = value.cast::<PyString>() {
        return match text.to_cow() {
            Ok(text) => Ok(text.as_bytes().to_vec()),
            Err(_) => Err(decode_error(
                value.py(),
                &codec::DecodeError::whole(
                    codec::DecodeReason::InvalidUtf8,
                    "the string holds a lone surrogate",
                ),
            )),
        };
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    let builtins = value.py().import("builtins")?;
    if value.is_instance(&builtins.getattr("bytearray")?)?
        || value.is_instance(&builtins.getattr("memoryview")?)?
    {
        let bytes = builtins.getattr("bytes")?.call1((value,))?;
        return Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected a payload as str, bytes, bytearray or memoryview, found {}",
        value.get_type().name()?
    )))
}

fn decode(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    max_payload_bytes: Option<usize>,
) -> PyResult<CrowdPredictionEnvelope> {
    let decoder = Decoder::new()
        .max_payload_bytes(max_payload_bytes.unwrap_or(codec::DEFAULT_MAX_PAYLOAD_BYTES));
    // Small `bytes` are decoded in place, the common case, with no copy.
    let decoded = match payload.cast::<PyBytes>() {
        Ok(bytes) if bytes.as_bytes().len() < DETACHED_BYTES => decoder.decode(bytes.as_bytes()),
        _ => {
            let bytes = payload_bytes(payload)?;
            if bytes.len() >= DETACHED_BYTES {
                py.detach(|| decoder.decode(&bytes))
            } else {
                decoder.decode(&bytes)
            }
        }
    };
    decoded.map_err(|error| decode_error(py, &error))
}

/// A value as JSON text for the codec: text as it is, anything else through
/// the package's `_to_json` (date-times as ISO strings).
fn json_text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    if let Ok(envelope) = value.cast::<Envelope>() {
        return Ok(envelope.get().0.to_json());
    }
    if let Ok(prediction) = value.cast::<Prediction>() {
        return Ok(to_json_text(&prediction.get().0));
    }
    let module = value.py().import("crowd_envelope._json")?;
    module.getattr("to_json")?.call1((value,))?.extract()
}

fn to_json_text(prediction: &CrowdPrediction) -> String {
    // The prediction alone, in the canonical form an envelope holds.
    serde_json::to_string(prediction).unwrap_or_default()
}

fn prediction_from(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<CrowdPrediction> {
    if let Ok(prediction) = value.cast::<Prediction>() {
        return Ok(prediction.get().0.clone());
    }
    CrowdPrediction::from_json(&json_text(value)?).map_err(|error| validation_error(py, &error))
}

fn from_json<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.getattr("loads")?.call1((text,))
}

/// A UTC instant as an aware `datetime`.
fn datetime<'py>(py: Python<'py>, at: Timestamp) -> PyResult<Bound<'py, PyAny>> {
    let module = py.import("datetime")?;
    let utc = module.getattr("timezone")?.getattr("utc")?;
    let epoch = module
        .getattr("datetime")?
        .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = module.getattr("timedelta")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("microseconds", at.unix_micros())?;
    epoch.call_method1("__add__", (delta.call((), Some(&kwargs))?,))
}

/// Decodes a payload (`str`, `bytes`, `bytearray`, `memoryview`): the
/// envelope, or raises `DecodeError`. The size limit is 1 MiB of UTF-8
/// unless `max_payload_bytes` says otherwise.
#[pyfunction]
#[pyo3(signature = (payload, *, max_payload_bytes=None))]
fn try_decode_envelope(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    max_payload_bytes: Option<usize>,
) -> PyResult<Envelope> {
    decode(py, payload, max_payload_bytes).map(Envelope)
}

/// Decodes a payload: the envelope, or `None` for anything rejected (logged
/// at WARNING through `logging`, as the original module did).
#[pyfunction]
#[pyo3(signature = (payload, *, max_payload_bytes=None))]
fn decode_envelope(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    max_payload_bytes: Option<usize>,
) -> PyResult<Option<Envelope>> {
    match decode(py, payload, max_payload_bytes) {
        Ok(envelope) => Ok(Some(Envelope(envelope))),
        Err(error) if error.is_instance_of::<DecodeError>(py) => {
            let logger = py
                .import("logging")?
                .getattr("getLogger")?
                .call1(("crowd_envelope",))?;
            let value = error.value(py);
            let reason = value.getattr("reason")?;
            logger.call_method1("warning", ("skipping payload (%s): %s", reason, value))?;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The canonical encoding of an envelope (a `CrowdPredictionEnvelope`, or a
/// dict of its wire shape, which is validated first).
#[pyfunction]
fn encode_envelope(py: Python<'_>, envelope: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(envelope) = envelope.cast::<Envelope>() {
        return Ok(envelope.get().0.to_json());
    }
    Decoder::new()
        .max_payload_bytes(usize::MAX)
        .decode_str(&json_text(envelope)?)
        .map(|envelope| envelope.to_json())
        .map_err(|error| validation_error(py, &error))
}

/// Whether the envelope's decision is the one SPEC section 3 gives.
#[pyfunction]
fn verify_decision(envelope: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Ok(envelope) = envelope.cast::<Envelope>() {
        return Ok(codec::verify_decision(&envelope.get().0));
    }
    Ok(Decoder::new()
        .max_payload_bytes(usize::MAX)
        .decode_str(&json_text(envelope)?)
        .is_ok_and(|envelope| codec::verify_decision(&envelope)))
}

/// A prediction from a dict (or JSON text), read as leniently as Pydantic
/// did and validated; raises `ValidationError`.
#[pyfunction]
fn validate_prediction(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Prediction> {
    prediction_from(py, value).map(Prediction)
}

/// A mapper's decision for a prediction given as any `prediction_from` takes.
fn mapped<'py>(
    py: Python<'py>,
    prediction: &Bound<'py, PyAny>,
    map: impl FnOnce(&CrowdPrediction) -> Decision,
) -> PyResult<Bound<'py, PyAny>> {
    decision_object(py, &map(&prediction_from(py, prediction)?))
}

/// SPEC 3.1, whatever the prediction's source type.
#[pyfunction]
fn crowd_to_fomo2_signal<'py>(
    py: Python<'py>,
    prediction: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    mapped(py, prediction, |p| {
        Decision::Fomo2Signal(codec::crowd_to_fomo2_signal(p))
    })
}

/// SPEC 3.2, whatever the prediction's source type.
#[pyfunction]
fn crowd_to_polymarket_side<'py>(
    py: Python<'py>,
    prediction: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    mapped(py, prediction, |p| {
        Decision::PolymarketSide(codec::crowd_to_polymarket_side(p))
    })
}

/// SPEC 3.3, whatever the prediction's source type.
#[pyfunction]
fn crowd_to_oddsoddy_multiplier<'py>(
    py: Python<'py>,
    prediction: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    mapped(py, prediction, |p| {
        Decision::OddsoddyMultiplier(codec::crowd_to_oddsoddy_multiplier(p))
    })
}

/// Wraps a prediction in an envelope with the decision SPEC section 3 gives
/// for its source type.
#[pyfunction]
#[pyo3(signature = (prediction, *, correlation_id=None, meta=None, published_at=None))]
fn build_envelope(
    py: Python<'_>,
    prediction: &Bound<'_, PyAny>,
    correlation_id: Option<String>,
    meta: Option<&Bound<'_, PyAny>>,
    published_at: Option<&Bound<'_, PyAny>>,
) -> PyResult<Envelope> {
    let prediction = prediction_from(py, prediction)?;
    let meta = meta
        .map(|meta| Meta::parse(&json_text(meta)?).map_err(|e| validation_error(py, &e)))
        .transpose()?;
    let published_at = published_at
        .map(|at| {
            let text = json_text(at)?;
            let text: String = from_json(py, &text)?.extract()?;
            text.parse::<Timestamp>()
                .map_err(|e| ValidationError::new_err(format!("published_at: {e}")))
        })
        .transpose()?;
    let options = BuildOptions {
        correlation_id,
        meta,
        published_at,
    };
    codec::build_envelope(prediction, options)
        .map(Envelope)
        .map_err(|error| validation_error(py, &error.into()))
}

/// SPEC section 1's rule, then the payload (for `crowd_envelope.redis`):
/// `fields` an entry's field names, `data` its `data` field, `oversized`
/// the size of one left in Redis. Raises `DecodeError`, whose reason may be
/// `no_data` or `extra_fields` as well as a decode reason.
#[pyfunction]
#[pyo3(name = "decode_entry", signature = (fields, data, oversized=None, max_payload_bytes=None))]
fn decode_entry_value(
    py: Python<'_>,
    fields: Vec<String>,
    data: Option<&Bound<'_, PyAny>>,
    oversized: Option<usize>,
    max_payload_bytes: Option<usize>,
) -> PyResult<Envelope> {
    let bytes = data.map(payload_bytes).transpose()?;
    let entry_data = match (&bytes, oversized) {
        (_, Some(size)) => EntryData::Oversized(size),
        (Some(bytes), None) => EntryData::Bytes(bytes),
        (None, None) => EntryData::Missing,
    };
    let decoder = Decoder::new()
        .max_payload_bytes(max_payload_bytes.unwrap_or(codec::DEFAULT_MAX_PAYLOAD_BYTES));
    decode_entry(&fields, entry_data, &decoder)
        .map(Envelope)
        .map_err(|error| {
            let message = codec::ValidationError {
                errors: error.errors.clone(),
            };
            raise_decode_error(
                py,
                error.reason.as_str(),
                &error.errors,
                format!("{}: {message}", error.reason),
            )
        })
}

/// A follower's gap as a skip (for `crowd_envelope.redis`): `reason`
/// `trimmed` or `stream_reset`; gives `(id, reason, errors)` worded as the
/// Rust and npm followers word them.
#[pyfunction]
#[pyo3(signature = (reason, after, before, missed=None))]
fn gap_skip<'py>(
    py: Python<'py>,
    reason: &str,
    after: String,
    before: String,
    missed: Option<u64>,
) -> PyResult<(String, &'static str, Bound<'py, PyList>)> {
    let reason = match reason {
        "trimmed" => GapReason::Trimmed,
        "stream_reset" => GapReason::Reset,
        other => {
            return Err(PyValueError::new_err(format!(
                "expected trimmed or stream_reset, found {other:?}"
            )))
        }
    };
    let skipped = Gap {
        reason,
        after,
        before,
        missed,
    }
    .to_skipped();
    Ok((
        skipped.id,
        skipped.reason.as_str(),
        errors_list(py, &skipped.errors)?,
    ))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DEFAULT_STREAM_NAME", codec::DEFAULT_STREAM_NAME)?;
    m.add("SCHEMA_VERSION", codec::SCHEMA_VERSION)?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add_class::<Envelope>()?;
    m.add_class::<Prediction>()?;
    m.add_function(wrap_pyfunction!(try_decode_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(decode_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(encode_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(verify_decision, m)?)?;
    m.add_function(wrap_pyfunction!(validate_prediction, m)?)?;
    m.add_function(wrap_pyfunction!(crowd_to_fomo2_signal, m)?)?;
    m.add_function(wrap_pyfunction!(crowd_to_polymarket_side, m)?)?;
    m.add_function(wrap_pyfunction!(crowd_to_oddsoddy_multiplier, m)?)?;
    m.add_function(wrap_pyfunction!(build_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(decode_entry_value, m)?)?;
    m.add_function(wrap_pyfunction!(gap_skip, m)?)?;
    scripts::add(m)?;
    Ok(())
}
