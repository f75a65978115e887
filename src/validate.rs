//! The machinery shared by every type's validation: where we are (a path
//! rendered only when something fails), what failed, and the rules that more
//! than one field uses.

use crate::error::{ErrorCode, FieldError, ValidationError};
use crate::float;
use crate::json::{Json, Object};
use crate::lax::{self, Coerced, Failure};

/// A position in the value being validated, as a chain of borrowed segments
/// so that the happy path allocates nothing.
#[derive(Clone, Copy)]
pub(crate) struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    segment: Segment<'p>,
}

#[derive(Clone, Copy)]
enum Segment<'p> {
    Root,
    Key(&'p str),
    Index(usize),
}

impl<'p> Path<'p> {
    pub const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
    };

    pub fn key(&'p self, key: &'p str) -> Path<'p> {
        Path {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    pub fn index(&'p self, index: usize) -> Path<'p> {
        Path {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    pub fn render(&self) -> String {
        let mut out = match self.parent {
            Some(parent) => parent.render(),
            None => String::new(),
        };
        let piece = match self.segment {
            Segment::Root => return out,
            Segment::Key(key) => key.to_owned(),
            Segment::Index(index) => index.to_string(),
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(&piece);
        out
    }
}

/// The failures found so far.
#[derive(Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub fn push(&mut self, path: &Path<'_>, code: ErrorCode, message: impl Into<String>) {
        self.0.push(FieldError::new(path.render(), code, message));
    }

    pub fn push_failure(&mut self, path: &Path<'_>, failure: Failure) {
        self.push(path, failure.code, failure.message);
    }

    pub fn missing(&mut self, path: &Path<'_>) {
        self.push(path, ErrorCode::Missing, "required field is missing");
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing failed.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ValidationError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ValidationError { errors: self.0 }),
        }
    }
}

/// The members of one object, as a validator reads them: each with its
/// coercion and its rule, failures recorded under the object's path.
pub(crate) struct Fields<'j, 'a, 'p> {
    object: &'j Object<'a>,
    path: &'p Path<'p>,
}

impl<'j, 'a, 'p> Fields<'j, 'a, 'p> {
    pub fn new(object: &'j Object<'a>, path: &'p Path<'p>) -> Fields<'j, 'a, 'p> {
        Fields { object, path }
    }

    /// Reads a required member with `coerce`, then checks it with `rule`.
    pub fn required<T>(
        &self,
        errors: &mut Errors,
        key: &'static str,
        coerce: impl FnOnce(&'j Json<'a>) -> Coerced<T>,
        rule: impl FnOnce(&T, &Path<'_>, &mut Errors),
    ) -> Option<T> {
        let here = self.path.key(key);
        match self.object.get(key) {
            None => {
                errors.missing(&here);
                None
            }
            Some(value) => checked(value, &here, errors, coerce, rule),
        }
    }

    /// Like [`Self::required`], with `default` when the member is absent.
    pub fn optional<T>(
        &self,
        errors: &mut Errors,
        key: &'static str,
        coerce: impl FnOnce(&'j Json<'a>) -> Coerced<T>,
        rule: impl FnOnce(&T, &Path<'_>, &mut Errors),
        default: impl FnOnce() -> T,
    ) -> Option<T> {
        match self.object.get(key) {
            None => Some(default()),
            Some(value) => checked(value, &self.path.key(key), errors, coerce, rule),
        }
    }
}

fn checked<'j, 'a, T>(
    value: &'j Json<'a>,
    here: &Path<'_>,
    errors: &mut Errors,
    coerce: impl FnOnce(&'j Json<'a>) -> Coerced<T>,
    rule: impl FnOnce(&T, &Path<'_>, &mut Errors),
) -> Option<T> {
    match coerce(value) {
        Ok(v) => {
            rule(&v, here, errors);
            Some(v)
        }
        Err(failure) => {
            errors.push_failure(here, failure);
            None
        }
    }
}

/// A rule that accepts everything, for fields whose type says it all.
pub(crate) fn any<T: ?Sized>(_: &T, _: &Path<'_>, _: &mut Errors) {}

/// The object itself where a model (the envelope, a prediction, a crowd)
/// is expected: `model_type` otherwise, as Pydantic says.
pub(crate) fn model<'j, 'a>(value: &'j Json<'a>) -> Coerced<&'j Object<'a>> {
    object_or(value, ErrorCode::ModelType)
}

/// The object itself where free-form JSON (`decision`, `meta`) is
/// expected: `dict_type` otherwise, as Pydantic says.
pub(crate) fn dict<'j, 'a>(value: &'j Json<'a>) -> Coerced<&'j Object<'a>> {
    object_or(value, ErrorCode::DictType)
}

fn object_or<'j, 'a>(value: &'j Json<'a>, code: ErrorCode) -> Coerced<&'j Object<'a>> {
    match value {
        Json::Object(object) => Ok(object),
        other => Err(lax::expected(code, "an object", other)),
    }
}

/// `min <= x <= max`.
pub(crate) fn in_closed_range(x: f64, min: f64, max: f64, path: &Path<'_>, errors: &mut Errors) {
    // NaN and infinities reach here only from values built in Rust.
    let code = if !x.is_finite() {
        ErrorCode::FiniteNumber
    } else if x < min {
        ErrorCode::GreaterThanEqual
    } else if x > max {
        ErrorCode::LessThanEqual
    } else {
        return;
    };
    errors.push(
        path,
        code,
        format!(
            "expected a number from {} to {}, found {}",
            float::debug(min),
            float::debug(max),
            as_found(x)
        ),
    );
}

/// A number as the message shows what it found: a whole number without
/// `.0`, as a payload usually writes it (`"strength": 2`).
fn as_found(x: f64) -> String {
    let text = float::debug(x);
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_owned(),
        None => text,
    }
}

/// Text whose length, in code points, is within `min..=max`, and that is
/// not blank when `min` is positive and `nonblank` asks so.
pub(crate) fn text(
    s: &str,
    min: usize,
    max: usize,
    nonblank: bool,
    path: &Path<'_>,
    errors: &mut Errors,
) {
    // A character is 1 to 4 bytes: a string of at most `max` bytes and at
    // least `4 * min` is within range without counting (the common case).
    let length = if s.len() <= max && s.len() >= min * 4 {
        min
    } else {
        s.chars().count()
    };
    let code = if length < min {
        ErrorCode::StringTooShort
    } else if length > max {
        ErrorCode::StringTooLong
    } else {
        if nonblank && s.chars().all(is_python_space) {
            errors.push(
                path,
                ErrorCode::BlankString,
                "expected text that is not blank, found only whitespace",
            );
        }
        return;
    };
    errors.push(
        path,
        code,
        format!("expected {min} to {max} characters, found {length}"),
    );
}

/// Python's `str.isspace()`: Unicode White_Space plus the four information
/// separators U+001C..U+001F, which Python counts and Rust does not.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn paths_render_dotted() {
        let root = Path::ROOT;
        let prediction = root.key("prediction");
        let drivers = prediction.key("drivers");
        assert_eq!(drivers.index(3).render(), "prediction.drivers.3");
        assert_eq!(root.render(), "");
    }

    #[test]
    fn blank_means_python_whitespace() {
        let mut errors = Errors::default();
        text("\u{1c}\u{a0} ", 1, 10, true, &Path::ROOT, &mut errors);
        assert!(!errors.is_empty());
        let mut errors = Errors::default();
        text("\u{200b}", 1, 10, true, &Path::ROOT, &mut errors);
        assert!(errors.is_empty(), "U+200B is not whitespace in Python");
    }
}
