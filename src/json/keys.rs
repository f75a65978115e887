//! Duplicate keys among the members the reader drops (`meta`'s inside,
//! unknown fields), found in memory that stays a small multiple of the
//! payload: a key is remembered by where it starts in the text (4 bytes),
//! never copied, and read again from the text when two keys must be told
//! apart.

use std::borrow::Cow;
#[cfg(test)]
use std::collections::HashSet;
use std::sync::OnceLock;

use super::{JsonError, Reader};

/// Up to this many keys, an object's keys are compared one by one; past it,
/// they go into a [`KeyIndex`].
pub(super) const LINEAR_SCAN: usize = 16;

/// A key as it reads, escapes decoded, from its opening quote at `at`.
pub(super) fn key_at(text: &str, at: u32) -> Cow<'_, str> {
    let mut reader = Reader::new(text);
    reader.pos = at as usize;
    // Only keys the reader already read come here, so this cannot fail.
    reader.string().unwrap_or_default()
}

/// An open-addressing hash set of key positions for one large object.
pub(super) struct KeyIndex {
    /// Key positions, `EMPTY` where free; a power of two long, at most half full.
    slots: Vec<u32>,
    len: usize,
}

const EMPTY: u32 = u32::MAX;

impl KeyIndex {
    /// An index of the keys starting at `positions` (all distinct).
    pub(super) fn new(text: &str, positions: &[u32]) -> KeyIndex {
        let mut index = KeyIndex {
            slots: vec![EMPTY; (positions.len() * 4).next_power_of_two()],
            len: 0,
        };
        for &at in positions {
            index.insert(text, at, &key_at(text, at));
        }
        index
    }

    /// Adds the key `key`, which starts at `at`; false if it was there.
    pub(super) fn insert(&mut self, text: &str, at: u32, key: &str) -> bool {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(text);
        }
        let mask = self.slots.len() - 1;
        let mut slot = hash(key) as usize & mask;
        loop {
            match self.slots.get(slot).copied() {
                Some(EMPTY) | None => break,
                Some(other) if key_at(text, other) == key => return false,
                Some(_) => slot = (slot + 1) & mask,
            }
        }
        if let Some(free) = self.slots.get_mut(slot) {
            *free = at;
        }
        self.len += 1;
        true
    }

    fn grow(&mut self, text: &str) {
        let doubled = vec![EMPTY; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.len = 0;
        for at in old.into_iter().filter(|&at| at != EMPTY) {
            self.insert(text, at, &key_at(text, at));
        }
    }
}

/// FNV-1a: a cheap filter before two keys are read again and compared.
pub(super) fn short_hash(key: &str) -> u32 {
    key.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A keyed hash: the key is random per process, so a payload cannot be
/// built to make every key land in one slot (which would make checking it
/// quadratic).
fn hash(key: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed();
    for chunk in key.as_bytes().chunks(8) {
        let mut word = [0u8; 8];
        word.get_mut(..chunk.len())
            .unwrap_or_default()
            .copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    // murmur3's finalizer: every input bit reaches the low bits used.
    h ^= (key.len() as u64).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let bytes = crate::platform::random_bytes();
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes.get(..8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(word)
    })
}

impl Reader<'_> {
    /// Remembers a dropped member's key, which starts at `at`, among those
    /// of its object (the stack from `base`, or `index` once there are
    /// many); false if the object already had it.
    pub(super) fn remember_dropped(
        &mut self,
        index: &mut Option<KeyIndex>,
        base: usize,
        offset: usize,
        key: &str,
    ) -> Result<bool, JsonError> {
        let at = u32::try_from(offset).map_err(|_| self.error("a JSON text over 4 GiB"))?;
        if let Some(index) = index {
            return Ok(index.insert(self.text, at, key));
        }
        let seen = self.dropped_keys.get(base..).unwrap_or_default();
        let hash = short_hash(key);
        let same = |&(other, other_hash): &(u32, u32)| {
            other_hash == hash && key_at(self.text, other) == key
        };
        if seen.iter().any(same) {
            return Ok(false);
        }
        if seen.len() + 1 < LINEAR_SCAN {
            self.dropped_keys.push((at, hash));
        } else {
            // Many keys: into an index of their own, off the shared stack.
            let positions: Vec<u32> = seen.iter().map(|&(at, _)| at).collect();
            let mut large = KeyIndex::new(self.text, &positions);
            large.insert(self.text, at, key);
            self.dropped_keys.truncate(base);
            *index = Some(large);
        }
        Ok(true)
    }
}

/// Whether `key` is already a member (the tree reader's check, which the
/// schema-driven one is tested against); builds a hash index once the object is
/// large enough that linear scans would make decoding quadratic. The key is
/// a `Cow` so that the index can keep borrowing from the payload.
#[cfg(test)]
#[allow(clippy::ptr_arg)]
pub(super) fn is_duplicate<'a, 'k>(
    keys: impl ExactSizeIterator<Item = &'k Cow<'a, str>> + Clone,
    index: &mut Option<HashSet<Cow<'a, str>>>,
    key: &Cow<'a, str>,
) -> bool
where
    'a: 'k,
{
    if let Some(set) = index {
        return !set.insert(key.clone());
    }
    if keys.clone().any(|k| k == key) {
        return true;
    }
    if keys.len() + 1 >= LINEAR_SCAN {
        let mut set: HashSet<Cow<'a, str>> = keys.cloned().collect();
        set.insert(key.clone());
        *index = Some(set);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn finds_duplicates_however_they_are_written() {
        let text = r#"{"a":0,"b":0,"\u0061":0,"ab":0,"a\u0062":0}"#;
        let positions: Vec<u32> = text
            .match_indices("\":")
            .map(|(end, _)| text[..end].rfind(",\"").map_or(1, |p| p + 1) as u32)
            .collect();
        assert_eq!(positions.len(), 5);
        let mut index = KeyIndex::new(text, &positions[..2]);
        assert!(!index.insert(text, positions[2], "a"), "\\u0061 is a");
        assert!(index.insert(text, positions[3], "ab"));
        assert!(!index.insert(text, positions[4], "ab"));
    }

    #[test]
    fn grows_past_any_size() {
        let keys: Vec<String> = (0..5000).map(|i| format!("\"k{i}\"")).collect();
        let text = keys.join(",");
        let mut index = KeyIndex::new(&text, &[]);
        let mut at = 0;
        for key in &keys {
            assert!(index.insert(&text, at, &key[1..key.len() - 1]));
            at += key.len() as u32 + 1;
        }
        assert!(!index.insert(&text, 0, "k4999"));
        assert!(index.slots.len() <= 4 * 5000 * 2);
    }
}
