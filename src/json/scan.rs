//! Finding the end of a string's plain run, the reader's hottest loop.

/// How many bytes at the start of `bytes` need no attention inside a JSON
/// string: everything but `"`, `\\` and control characters. Natively, the
/// first 16 bytes a word at a time (most keys and values end there), then a
/// SIMD search for the quote or backslash and one pass over the run for
/// control characters (which auto-vectorizes, having no early exit).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(super) fn plain_run(bytes: &[u8]) -> usize {
    const HEAD: usize = 16;
    let (head, rest) = bytes.split_at(HEAD.min(bytes.len()));
    let run = plain_run_words(head);
    if run < HEAD || rest.is_empty() {
        return run;
    }
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let plain = rest.get(..end).unwrap_or_default();
    if plain.iter().fold(false, |control, &b| control | (b < 0x20)) {
        return HEAD + plain.iter().position(|&b| b < 0x20).unwrap_or(end);
    }
    HEAD + end
}

/// [`plain_run`] a word at a time: eight bytes at once (strings are most of
/// a payload's bytes), then one at a time; all of it in wasm.
pub(super) fn plain_run_words(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // Per-byte tests on a whole word: a byte below n sets its high bit in
    // (w - n*ONES) & !w & HIGHS (exact for the lowest such byte); equality
    // is "below 1" after an xor.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let special = |w: u64| {
        below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut run = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = special(word);
        if found != 0 {
            // Borrows only run upwards, so the lowest flagged byte is the
            // first special one (the word was read little-endian).
            return run + (found.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    let tail = chunks.remainder();
    run + tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

/// [`plain_run`] in wasm: sixteen bytes at a time with SIMD128 (which the
/// npm package is built with: every engine since 2021 runs it), then a word
/// at a time.
#[cfg(all(
    target_arch = "wasm32",
    target_os = "unknown",
    target_feature = "simd128"
))]
pub(super) fn plain_run(bytes: &[u8]) -> usize {
    use core::arch::wasm32::{
        u8x16_bitmask, u8x16_eq, u8x16_lt, u8x16_splat, v128, v128_load, v128_or,
    };
    let (quote, backslash, space) = (u8x16_splat(b'"'), u8x16_splat(b'\\'), u8x16_splat(0x20));
    let mut chunks = bytes.chunks_exact(16);
    let mut run = 0;
    for chunk in &mut chunks {
        // SAFETY: `chunk` is 16 bytes long, what `v128_load` reads; it needs
        // no alignment.
        #[allow(unsafe_code)]
        let v = unsafe { v128_load(chunk.as_ptr().cast::<v128>()) };
        let special = v128_or(
            v128_or(u8x16_eq(v, quote), u8x16_eq(v, backslash)),
            u8x16_lt(v, space),
        );
        let found = u8x16_bitmask(special);
        if found != 0 {
            return run + found.trailing_zeros() as usize;
        }
        run += 16;
    }
    run + plain_run_words(chunks.remainder())
}

#[cfg(all(
    target_arch = "wasm32",
    target_os = "unknown",
    not(target_feature = "simd128")
))]
pub(super) use plain_run_words as plain_run;
