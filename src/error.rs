//! Errors at the codec's two boundaries: validating a value, and decoding a
//! payload.

use std::fmt;

use serde::Serialize;

/// One failing field: where (a dotted path such as `prediction.crowd.bullish`
/// or `prediction.drivers.3`; empty for the payload as a whole) and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct FieldError {
    /// Dotted path of the field, relative to what was validated.
    pub path: String,
    /// What was expected, and what was found.
    pub message: String,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct DecodeError {
    /// Which check rejected the payload.
    pub reason: DecodeReason,
    /// What was wrong; at least one entry.
    pub errors: Vec<FieldError>,
}

impl DecodeError {
    pub(crate) fn whole(reason: DecodeReason, message: impl Into<String>) -> DecodeError {
        DecodeError {
            reason,
            errors: vec![FieldError {
                path: String::new(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.reason)?;
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
