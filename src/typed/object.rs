//! Objects and arrays for the typed pass: members matched against a wire
//! type's [`FieldTable`] in any order, each once, unknown members checked
//! and dropped.

use std::borrow::Cow;

use crate::json::{FieldTable, Keep, Reader};

/// A string.
pub(super) fn string<'a>(r: &mut Reader<'a>) -> Option<Cow<'a, str>> {
    if r.peek() != Some(b'"') {
        return None;
    }
    r.string().ok()
}

/// A bit for each of `fields`, by their index in a [`FieldTable`].
pub(super) const fn bits(mut fields: &[usize]) -> u64 {
    let mut mask = 0;
    while let [field, rest @ ..] = fields {
        mask |= 1 << *field;
        fields = rest;
    }
    mask
}

/// Every member of a table of `n`.
pub(super) const fn all(n: usize) -> u64 {
    (1 << n) - 1
}

/// Reads an object, handing each member named in `keys` to `member` with
/// its index there, once each, in any order (a second one is a duplicate,
/// which JSON refuses here); a member not in `keys` is checked as JSON and
/// dropped, as Pydantic ignores it, and refused only when its name comes
/// twice. Gives which of `keys` were there, a bit each, if every one of
/// `required` (a bit each) was.
pub(super) fn object_with<'a>(
    r: &mut Reader<'a>,
    keys: FieldTable,
    required: u64,
    // `dyn`: one copy of this loop in the wasm, not one a call site.
    member: &mut dyn FnMut(&mut Reader<'a>, usize) -> Option<()>,
) -> Option<u64> {
    open(r, b'{')?;
    let mut given = 0u64;
    let mut next = 0;
    // Names of the members dropped: rare, so no allocation until one comes.
    let mut unknown: Vec<Cow<'a, str>> = Vec::new();
    if !r.eat(b'}') {
        loop {
            // In SPEC order the key is the next one, or (members left out)
            // one of the next few: a comparison each, no key read. Four, as
            // at most three optional members stand in a row (`rationale`,
            // `drivers`, `resolves_at`); a key in another order is then
            // compared with the whole table, and only a key not in it (or
            // written with escapes) is read.
            let mut ahead = keys.get(next..).unwrap_or_default().iter().take(4);
            let field = match ahead.position(|(expected, _)| r.eat_key(expected)) {
                Some(skipped) => Some(next + skipped),
                None => match keys.iter().position(|(expected, _)| r.eat_key(expected)) {
                    Some(field) => Some(field),
                    None => {
                        let key = string(r)?;
                        let known = keys.iter().position(|(k, _)| *k == key);
                        if known.is_none() {
                            if unknown.contains(&key) {
                                return None;
                            }
                            unknown.push(key);
                        }
                        known
                    }
                },
            };
            r.skip_whitespace();
            if !r.eat(b':') {
                return None;
            }
            r.skip_whitespace();
            match field {
                Some(field) => {
                    next = field + 1;
                    let bit = 1u64 << field;
                    if given & bit != 0 {
                        return None;
                    }
                    given |= bit;
                    member(r, field)?;
                }
                None => {
                    r.value(Keep::Nothing).ok()?;
                }
            }
            r.skip_whitespace();
            if !next_member(r, b'}')? {
                break;
            }
        }
    }
    r.depth -= 1;
    (given & required == required).then_some(given)
}

/// Steps into an object or array.
pub(super) fn open(r: &mut Reader<'_>, bracket: u8) -> Option<()> {
    if !r.eat(bracket) {
        return None;
    }
    r.depth += 1;
    r.skip_whitespace();
    Some(())
}

/// After a member: `,` (true, another follows) or the closing bracket (false).
pub(super) fn next_member(r: &mut Reader<'_>, close: u8) -> Option<bool> {
    if r.eat(b',') {
        r.skip_whitespace();
        Some(true)
    } else {
        r.eat(close).then_some(false)
    }
}
