//! The typed pass's value readers, one for each type of field. Each reads
//! its JSON type directly and every lax form Pydantic accepts for it (SPEC
//! section 6) through the same coercions the reference model follows
//! (`crate::lax`, `Timestamp::from_json`): a value in another form is read
//! as a scalar and coerced, inside the field's own reader. `None` means
//! the value is not acceptable for its field.

use std::borrow::Cow;

use super::object::string;
use super::tape::Tape;
use crate::datetime::{self, Timestamp};
use crate::envelope::Meta;
use crate::json::{Json, Keep, Reader};
use crate::lax;

/// A string, its place noted at `at` on the tape.
pub(super) fn spanned<'a>(r: &mut Reader<'a>, tape: &mut Tape, at: usize) -> Option<Cow<'a, str>> {
    let start = r.pos() + 1;
    let s = string(r)?;
    tape.span(at, (start, r.pos() - 1), matches!(s, Cow::Owned(_)))?;
    Some(s)
}

/// A string, owned, its place noted at `at`.
pub(super) fn owned(r: &mut Reader<'_>, tape: &mut Tape, at: usize) -> Option<String> {
    spanned(r, tape, at).map(Cow::into_owned)
}

/// One of `all`, named exactly (Pydantic's `Literal`: no lax form).
pub(super) fn choice<T: Copy>(
    r: &mut Reader<'_>,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Option<(usize, T)> {
    let s = string(r)?;
    let index = all.iter().position(|&item| name(item) == s)?;
    Some((index, *all.get(index)?))
}

/// A finite number: a JSON number, or what Pydantic takes for a float
/// (`true`, a string holding a number).
pub(super) fn number(r: &mut Reader<'_>) -> Option<f64> {
    match r.peek()? {
        b'-' | b'0'..=b'9' => match r.number().ok()? {
            Json::Number(lexeme) => Some(lax::number_as_float(lexeme)),
            _ => None,
        },
        _ => lax::finite_float(&r.value(Keep::Scalar).ok()?).ok(),
    }
}

/// A crowd count: a plain integer, or what Pydantic takes for one (`120.0`,
/// `"120"`, `true`), that fits in 32 bits (the count rules refuse more).
pub(super) fn count(r: &mut Reader<'_>) -> Option<u32> {
    if let Some(b'0'..=b'9') = r.peek() {
        if let Ok(Json::Number(lexeme)) = r.number() {
            if lexeme.bytes().all(|b| b.is_ascii_digit()) {
                return lexeme.parse().ok();
            }
            return from_lax_int(&Json::Number(lexeme));
        }
        return None;
    }
    from_lax_int(&r.value(Keep::Scalar).ok()?)
}

fn from_lax_int(value: &Json<'_>) -> Option<u32> {
    match lax::integer(value).ok()? {
        lax::LaxInt::Small(n) => u32::try_from(n).ok(),
        lax::LaxInt::Big(_) => None,
    }
}

/// A date-time in any form SPEC section 5 accepts: a string, or a number of
/// Unix seconds or milliseconds. One written otherwise than the encoding
/// writes it goes on the tape as its instant ([`Tape::instant`]), for the
/// package to write it in the canonical form.
pub(super) fn timestamp(r: &mut Reader<'_>, tape: &mut Tape, at: usize) -> Option<Timestamp> {
    let converted = if r.peek() == Some(b'"') {
        let text = spanned(r, tape, at)?;
        if let Some(canonical) = datetime::canonical(&text) {
            return Some(canonical);
        }
        datetime::from_text(&text)?
    } else {
        Timestamp::from_json(&r.value(Keep::Scalar).ok()?).ok()?
    };
    tape.instant(at, converted)?;
    Some(converted)
}

/// `null`, or what `read` reads.
pub(super) fn nullable<'a, T>(
    r: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Option<T>,
) -> Option<Option<T>> {
    if r.eat_literal("null") {
        return Some(None);
    }
    read(r).map(Some)
}

/// `meta`: any object, checked as strictly as everything else, kept as
/// text; how to build it goes on the tape.
pub(super) fn meta(r: &mut Reader<'_>, tape: &mut Tape) -> Option<Meta> {
    let start = r.pos();
    match r.value(Keep::Text).ok()? {
        Json::Object(object) => {
            tape.meta(start, r.pos(), object.raw)?;
            Some(Meta::from_checked(object.compact_text()))
        }
        _ => None,
    }
}
