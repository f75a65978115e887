//! The Lua scripts of the transport, each after `bounded.lua` (the size
//! check every read shares), and the entries they return.
//!
//! npm and Python run the same text: `scripts/pkg-sources.mjs` and
//! `python/src/lib.rs` put the files together in the same order.

use std::sync::LazyLock;

use redis_rs::{Script, Value};

use super::{value_bytes, RawEntry, DATA_FIELD};

macro_rules! bounded_script {
    ($file:literal) => {
        concat!(include_str!("bounded.lua"), include_str!($file))
    };
}

/// The read every follower makes, Rust's, npm's and Python's (`follow.lua`
/// says how).
pub const FOLLOW_SCRIPT: &str = bounded_script!("follow.lua");
/// A range of a stream with every value over a size limit left in Redis
/// (`range.lua`).
pub const RANGE_SCRIPT: &str = bounded_script!("range.lua");

pub(super) static FOLLOW: LazyLock<Script> = LazyLock::new(|| Script::new(FOLLOW_SCRIPT));
pub(super) static RANGE: LazyLock<Script> = LazyLock::new(|| Script::new(RANGE_SCRIPT));
pub(super) static TAKE: LazyLock<Script> =
    LazyLock::new(|| Script::new(bounded_script!("group/take.lua")));
pub(super) static CLAIM: LazyLock<Script> =
    LazyLock::new(|| Script::new(bounded_script!("group/claim.lua")));
pub(super) static READ_GROUP: LazyLock<Script> =
    LazyLock::new(|| Script::new(bounded_script!("group/read.lua")));
pub(super) static CREATE_GROUP: LazyLock<Script> =
    LazyLock::new(|| Script::new(bounded_script!("group/create.lua")));
/// The one script that reads no entry, so it needs nothing of bounded.lua.
pub(super) static SETTLE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("group/settle.lua")));

/// An entry as `bounded.lua` gives it, `{id, fields, size}`: a `data` over
/// the limit comes as its size alone.
pub(super) fn bounded_entry(entry: Value) -> Option<RawEntry> {
    let (id, pairs, size) = bounded_fields(entry)?;
    let mut raw = RawEntry {
        id,
        data: None,
        fields: Vec::with_capacity(pairs.len()),
        oversized: None,
    };
    for (name, value) in pairs {
        if name == DATA_FIELD {
            raw.data = Some(value);
        }
        raw.fields.push(name);
    }
    if size > 0 {
        raw.data = None;
        raw.oversized = usize::try_from(size).ok();
    }
    Some(raw)
}

/// A list of [`bounded_entry`]s.
pub(super) fn bounded_entries(entries: Value) -> Option<Vec<RawEntry>> {
    match entries {
        Value::Array(entries) => entries.into_iter().map(bounded_entry).collect(),
        // Lua's empty table.
        Value::Nil => Some(Vec::new()),
        _ => None,
    }
}

/// An entry's id, its field/value pairs and its `data` size (0 when kept).
pub(super) type BoundedFields = (String, Vec<(String, Vec<u8>)>, u64);

/// A bounded entry's field values by name, for entries whose other fields
/// matter too (dead letters): `bounded.lua` left every value over the limit
/// empty.
pub(super) fn bounded_fields(entry: Value) -> Option<BoundedFields> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let [id, Value::Array(fields), size] = <[Value; 3]>::try_from(parts).ok()? else {
        return None;
    };
    let mut pairs = Vec::with_capacity(fields.len() / 2);
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        // A field name that is not UTF-8 is named with U+FFFD: the entry is
        // skipped for its extra field, not the whole read refused.
        let name = String::from_utf8_lossy(&value_bytes(name)?).into_owned();
        pairs.push((name, value_bytes(value)?));
    }
    Some((text(id)?, pairs, counter(size)?.unwrap_or(0)))
}

pub(super) fn text(value: Value) -> Option<String> {
    String::from_utf8(value_bytes(value)?).ok()
}

/// A count, or `None` for the scripts' -1 ("not known").
pub(super) fn counter(value: Value) -> Option<Option<u64>> {
    match value {
        Value::Int(n) => Some(u64::try_from(n).ok()),
        _ => None,
    }
}
