//! Errors at the codec's two boundaries: validating a value, and decoding a
//! payload.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One failing field: where (a dotted path such as `prediction.crowd.bullish`
/// or `prediction.drivers.3`; empty for the payload as a whole), which rule
/// failed ([`ErrorCode`], stable) and what was expected there (for people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct FieldError {
    /// Dotted path of the field, relative to what was validated.
    pub path: String,
    /// The machine-readable kind of failure (SPEC section 4).
    pub code: ErrorCode,
    /// What was expected, and what was found; wording may change.
    pub message: String,
}

impl FieldError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

/// Stable, machine-readable error codes (SPEC section 4): the Pydantic v2
/// error `type` that the reference model reports for the same failure, or
/// one of the rules this contract adds. Code that branched on Pydantic's
/// error types keeps working; `message` is only for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
#[non_exhaustive]
pub enum ErrorCode {
    /// A required field is absent.
    Missing,
    /// Not a string.
    StringType,
    /// Fewer code points than allowed.
    StringTooShort,
    /// More code points than allowed.
    StringTooLong,
    /// Empty or only whitespace where text is required.
    BlankString,
    /// Not a number (nor a boolean or a string holding one).
    FloatType,
    /// A string that does not hold a number.
    FloatParsing,
    /// Infinity or NaN.
    FiniteNumber,
    /// Not an integer (nor a boolean, a whole float or a string holding one).
    IntType,
    /// A string that does not hold an integer.
    IntParsing,
    /// An integer too large to read (more than 4,300 digits, or a float
    /// outside 64 bits).
    IntParsingSize,
    /// A float with a fractional part where an integer is required.
    IntFromFloat,
    /// Not above the exclusive minimum.
    GreaterThan,
    /// Below the minimum.
    GreaterThanEqual,
    /// Not below the exclusive maximum.
    LessThan,
    /// Above the maximum.
    LessThanEqual,
    /// Not one of the allowed strings.
    LiteralError,
    /// Not a string or number where a date-time is required.
    DatetimeType,
    /// A number that is not a date-time (out of range).
    DatetimeParsing,
    /// A string that is neither a date-time nor a date.
    DatetimeFromDateParsing,
    /// A date-time whose UTC instant is outside years 1 to 9999.
    DatetimeOutOfRange,
    /// Not an array.
    ListType,
    /// More items than allowed.
    TooLong,
    /// Not an object, where free-form JSON (`decision`, `meta`) is required.
    DictType,
    /// Not an object, where a prediction or crowd is required.
    ModelType,
    /// `bullish + bearish + neutral` is not `agents`.
    CrowdSumMismatch,
    /// `decision_kind` is not the one SPEC section 3 pairs with the source type.
    DecisionKindMismatch,
    /// Not JSON (or not UTF-8): the payload as a whole.
    JsonInvalid,
    /// Over the size limit: the payload as a whole.
    TooLarge,
    /// A stream entry with fields besides `data`.
    ExtraForbidden,
    /// A consumer's handler failed on the entry every time it was tried.
    HandlerFailed,
}

impl ErrorCode {
    /// The wire name, e.g. `"string_too_long"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Missing => "missing",
            ErrorCode::StringType => "string_type",
            ErrorCode::StringTooShort => "string_too_short",
            ErrorCode::StringTooLong => "string_too_long",
            ErrorCode::BlankString => "blank_string",
            ErrorCode::FloatType => "float_type",
            ErrorCode::FloatParsing => "float_parsing",
            ErrorCode::FiniteNumber => "finite_number",
            ErrorCode::IntType => "int_type",
            ErrorCode::IntParsing => "int_parsing",
            ErrorCode::IntParsingSize => "int_parsing_size",
            ErrorCode::IntFromFloat => "int_from_float",
            ErrorCode::GreaterThan => "greater_than",
            ErrorCode::GreaterThanEqual => "greater_than_equal",
            ErrorCode::LessThan => "less_than",
            ErrorCode::LessThanEqual => "less_than_equal",
            ErrorCode::LiteralError => "literal_error",
            ErrorCode::DatetimeType => "datetime_type",
            ErrorCode::DatetimeParsing => "datetime_parsing",
            ErrorCode::DatetimeFromDateParsing => "datetime_from_date_parsing",
            ErrorCode::DatetimeOutOfRange => "datetime_out_of_range",
            ErrorCode::ListType => "list_type",
            ErrorCode::TooLong => "too_long",
            ErrorCode::DictType => "dict_type",
            ErrorCode::ModelType => "model_type",
            ErrorCode::CrowdSumMismatch => "crowd_sum_mismatch",
            ErrorCode::DecisionKindMismatch => "decision_kind_mismatch",
            ErrorCode::JsonInvalid => "json_invalid",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::ExtraForbidden => "extra_forbidden",
            ErrorCode::HandlerFailed => "handler_failed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every rule a value breaks, not only the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The failing fields, in the order the fields were checked.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_error_list(f, &self.errors)
    }
}

fn write_error_list(f: &mut fmt::Formatter<'_>, errors: &[FieldError]) -> fmt::Result {
    for (i, error) in errors.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{error}")?;
    }
    Ok(())
}

/// Why a payload was rejected, in the order the checks run (SPEC section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
#[non_exhaustive]
pub enum DecodeReason {
    /// Over the size limit.
    TooLarge,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// Not RFC 8259 JSON, too deeply nested, or with a duplicate key.
    InvalidJson,
    /// A `schema_version` other than `"1"`.
    UnsupportedVersion,
    /// Valid JSON that breaks the schema.
    Invalid,
}

impl DecodeReason {
    /// The wire name, e.g. `"too_large"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeReason::TooLarge => "too_large",
            DecodeReason::InvalidUtf8 => "invalid_utf8",
            DecodeReason::InvalidJson => "invalid_json",
            DecodeReason::UnsupportedVersion => "unsupported_version",
            DecodeReason::Invalid => "invalid",
        }
    }
}

impl fmt::Display for DecodeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected payload: the reason, and the fields or positions at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub struct DecodeError {
    /// Which check rejected the payload.
    pub reason: DecodeReason,
    /// What was wrong; at least one entry.
    pub errors: Vec<FieldError>,
}

impl DecodeError {
    /// A rejection of the payload as a whole, with the code SPEC section 4
    /// gives each reason: for a reader that rejects a payload before
    /// decoding it (too large, not UTF-8), in the decoder's own terms.
    ///
    /// ```
    /// use crowd_envelope::{DecodeError, DecodeReason};
    ///
    /// let error = DecodeError::whole(DecodeReason::TooLarge, "payload is over 10 bytes");
    /// assert_eq!(error.errors[0].code.as_str(), "too_large");
    /// ```
    pub fn whole(reason: DecodeReason, message: impl Into<String>) -> DecodeError {
        let (path, code) = match reason {
            DecodeReason::TooLarge => ("", ErrorCode::TooLarge),
            DecodeReason::InvalidUtf8 | DecodeReason::InvalidJson => ("", ErrorCode::JsonInvalid),
            DecodeReason::UnsupportedVersion => ("schema_version", ErrorCode::LiteralError),
            DecodeReason::Invalid => ("", ErrorCode::ModelType),
        };
        DecodeError {
            reason,
            errors: vec![FieldError::new(path, code, message)],
        }
    }
}

/// Each error with its path, `; ` between them. The reason is not
/// repeated: the messages say it ("invalid JSON: ...", "payload is over
/// the limit ..."), and `reason` holds it for code.
impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_error_list(f, &self.errors)
    }
}

impl From<ValidationError> for DecodeError {
    fn from(error: ValidationError) -> DecodeError {
        DecodeError {
            reason: DecodeReason::Invalid,
            errors: error.errors,
        }
    }
}
