//! The keys the transport keeps beside a stream, from one function, so
//! that each hashes to the stream's cluster slot whatever the stream is
//! called: a script that touches several of them then runs on one node,
//! and a Redis Cluster never answers it with `CROSSSLOT`.
//!
//! Redis hashes only the text between a key's first `{` and the next `}`
//! (its hash tag), when that text is not empty. So beside a stream `S`:
//!
//! - with a hash tag of its own (`orders:{eu}`), the keys are `S:dead`,
//!   `S:attempts:<group>`: the same tag, the same slot;
//! - with no `}` in it (every name SPEC 1 gives, `maf:arena:…:output`),
//!   they are `{S}:dead`, `{S}:attempts:<group>`: the tag is `S` itself;
//! - with a `}` but no hash tag (`a}b`, `}{`, `{}x`), or empty, no name
//!   beside it can share its slot, and it is refused
//!   ([`TransportError::InvalidStream`]), on one server too: the keys are
//!   the same whatever the deployment, so a stream can move to a cluster.
//!
//! Before version 0.3 the keys were `S:dead` and `S:attempts:<group>` for
//! every name: [`super::migrate_legacy_keys`] moves what is left there.

use super::TransportError;

/// `<suffix>` beside `stream`, in its slot.
fn beside(stream: &str, suffix: &str) -> Result<String, TransportError> {
    if has_hash_tag(stream) {
        Ok(format!("{stream}{suffix}"))
    } else if !stream.contains('}') && !stream.is_empty() {
        Ok(format!("{{{stream}}}{suffix}"))
    } else {
        Err(TransportError::InvalidStream {
            stream: stream.to_owned(),
            message: "expected a name without `}`, or with a hash tag (`{…}`, not empty): \
                      no other name has keys beside it in its cluster slot"
                .to_owned(),
        })
    }
}

/// Whether Redis hashes `key` by a tag: a `{`, then a `}` after it with
/// something between.
fn has_hash_tag(key: &str) -> bool {
    key.split_once('{')
        .and_then(|(_, after)| after.find('}'))
        .is_some_and(|end| end > 0)
}

/// The dead-letter stream of `stream`, where group consumers write what
/// they could not handle: `{<stream>}:dead` (or `<stream>:dead` for a
/// name with a hash tag of its own; see the [module](self) docs).
///
/// ```
/// use crowd_envelope::redis::dead_letter_key;
/// assert_eq!(dead_letter_key("maf:out").unwrap(), "{maf:out}:dead");
/// assert_eq!(dead_letter_key("orders:{eu}").unwrap(), "orders:{eu}:dead");
/// assert!(dead_letter_key("a}b").is_err());
/// ```
pub fn dead_letter_key(stream: &str) -> Result<String, TransportError> {
    beside(stream, ":dead")
}

/// The hash of a group's attempt counts (entry id → handler failures):
/// `{<stream>}:attempts:<group>`, in the stream's slot like
/// [`dead_letter_key`].
pub fn attempts_key(stream: &str, group: &str) -> Result<String, TransportError> {
    beside(stream, &format!(":attempts:{group}"))
}

/// The dead letters where versions before 0.3 kept them, when that
/// differs from today's key.
pub(super) fn legacy_dead_letter_key(stream: &str) -> Option<String> {
    let old = format!("{stream}:dead");
    (dead_letter_key(stream).ok()? != old).then_some(old)
}

/// The attempt counts of `group` where versions before 0.3 kept them.
pub(super) fn legacy_attempts_key(stream: &str, group: &str) -> Option<String> {
    let old = format!("{stream}:attempts:{group}");
    (attempts_key(stream, group).ok()? != old).then_some(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_braces() {
        for (stream, dead) in [
            ("s", Some("{s}:dead")),
            (
                "maf:arena:crowd_simulation:output",
                Some("{maf:arena:crowd_simulation:output}:dead"),
            ),
            ("a{b", Some("{a{b}:dead")),
            ("{a", Some("{{a}:dead")),
            ("x{eu}", Some("x{eu}:dead")),
            ("{eu}x{y}", Some("{eu}x{y}:dead")),
            ("a}b", None),
            ("}{", None),
            ("{}", None),
            ("{}x{y}", None),
            ("", None),
        ] {
            assert_eq!(dead_letter_key(stream).ok().as_deref(), dead, "{stream:?}");
        }
        assert_eq!(attempts_key("s", "g").unwrap(), "{s}:attempts:g");
        assert_eq!(legacy_dead_letter_key("s").as_deref(), Some("s:dead"));
        assert_eq!(legacy_dead_letter_key("x{eu}"), None);
        assert_eq!(legacy_attempts_key("x{eu}", "g"), None);
    }
}
