// The decoded envelope built from the tape wasm leaves (src/typed/tape.rs):
// strings sliced from the payload, numbers as doubles, nothing parsed but a
// `meta` that is not flat.

import { type Glue, memoryBytes, tapeView, utf8 } from "./binding.js";
import type { CrowdPredictionEnvelope, DecodeResult } from "./types.js";

/** The reply of the last call, `length` bytes of UTF-8 in wasm memory. */
export function replyText(glue: Glue, length: number): string {
    const at = glue.wireReply();
    return utf8.decode(memoryBytes(glue).subarray(at, at + length));
}

// What wireDecode answers besides a reply's length (src/wasm/mod.rs).
export const READ_TAPE = 1;

// The tape's layout (src/typed/tape.rs, `slot::NAMED`, which a Rust test
// holds this table to) and the choices' names in index order (the `ALL`
// arrays); the package tests check every decode built from a tape against
// JSON.parse of its canonical encoding.
const SLOT = {
    SOURCE_TYPE: 0, SOURCE_ID: 1, QUESTION: 3, PROBABILITY: 5, CONFIDENCE: 6, MARKET_PROBABILITY: 7,
    CROWD: 8, RATIONALE: 12, RESOLVES_AT: 14, GENERATED_AT: 16, DECISION_KIND: 18, CHOICE: 19,
    NUMBERS: 20, REASON: 24, PUBLISHED_AT: 26, CORRELATION_ID: 28, META: 30, DRIVER_COUNT: 32,
    DRIVERS: 33, META_STABLE: 65, META_COUNT: 66, META_MEMBERS: 67, LEN: 107,
} as const;
const SOURCE_TYPES = ["fomo2_report", "polymarket_bet", "oddsoddy_strategy"] as const;
const DECISION_KINDS = ["fomo2_signal", "polymarket_side", "oddsoddy_multiplier"] as const;
const ACTIONS = ["buy", "sell", "hold"] as const;
const SIDES = ["yes", "no", "abstain"] as const;

/**
 * The envelope built from the tape wasm wrote for a payload in any form the
 * decoder accepts (`text` is the payload as a string): strings are slices of the
 * payload, numbers come as doubles, date-times written another way come as
 * their instant, defaults of members left out as if written, and only a
 * `meta` that is not flat is parsed. The object has SPEC's keys in SPEC's
 * order and the values JSON.parse gives for the canonical encoding.
 */
export function fromTape(glue: Glue, text: string, lazyMeta: boolean): DecodeResult {
    const t = tapeView(glue, SLOT.LEN);
    const drivers: string[] = [];
    for (let i = 0, n = t[SLOT.DRIVER_COUNT]; i < n; i++) drivers.push(slice(text, t, SLOT.DRIVERS + 2 * i));
    const kind = DECISION_KINDS[t[SLOT.DECISION_KIND]];
    const reason = slice(text, t, SLOT.REASON);
    const decision =
        kind === "fomo2_signal"
            ? { action: ACTIONS[t[SLOT.CHOICE]], strength: t[SLOT.NUMBERS], reason }
            : kind === "polymarket_side"
              ? {
                    side: SIDES[t[SLOT.CHOICE]],
                    edge: nullable(t[SLOT.NUMBERS + 1]),
                    price: nullable(t[SLOT.NUMBERS + 2]),
                    stake_fraction: t[SLOT.NUMBERS + 3],
                    reason,
                }
              : { multiplier: t[SLOT.NUMBERS + 3], reason };
    // meta before the object, so that the literal makes it whole (adding a
    // member afterwards costs V8 a map transition on every decode).
    const count = t[SLOT.META_COUNT];
    const raw = count >= 0 ? "" : text.slice(t[SLOT.META], t[SLOT.META + 1]);
    // Only a meta JavaScript would write differently needs its text kept.
    const keep = t[SLOT.META_STABLE] !== 1;
    const meta = count >= 0 ? flatMeta(text, t, count) : lazyMeta ? undefined : parsed(raw, keep);
    const envelope = {
        schema_version: "1",
        arena: "crowd_simulation",
        prediction: {
            source_type: SOURCE_TYPES[t[SLOT.SOURCE_TYPE]],
            source_id: slice(text, t, SLOT.SOURCE_ID),
            question: slice(text, t, SLOT.QUESTION),
            probability: t[SLOT.PROBABILITY],
            confidence: t[SLOT.CONFIDENCE],
            market_probability: nullable(t[SLOT.MARKET_PROBABILITY]),
            crowd: {
                agents: t[SLOT.CROWD],
                bullish: t[SLOT.CROWD + 1],
                bearish: t[SLOT.CROWD + 2],
                neutral: t[SLOT.CROWD + 3],
            },
            rationale: slice(text, t, SLOT.RATIONALE),
            drivers,
            resolves_at: t[SLOT.RESOLVES_AT] === NULL_STRING ? null : dateTime(text, t, SLOT.RESOLVES_AT),
            generated_at: dateTime(text, t, SLOT.GENERATED_AT),
        },
        decision,
        decision_kind: kind,
        published_at: dateTime(text, t, SLOT.PUBLISHED_AT),
        correlation_id:
            t[SLOT.CORRELATION_ID] === GENERATED ? replyText(glue, t[SLOT.CORRELATION_ID + 1]) : slice(text, t, SLOT.CORRELATION_ID),
        meta,
    } as CrowdPredictionEnvelope;
    if (meta === undefined) parsedOnAccess(envelope, raw, keep);
    return { ok: true, envelope };
}

/** The string whose place the tape notes at `at` (see src/typed/tape.rs). */
function slice(text: string, t: Float64Array, at: number): string {
    const start = t[at];
    const end = t[at + 1];
    return end < 0 ? (JSON.parse(text.slice(start - 1, 1 - end)) as string) : text.slice(start, end);
}

/** A null string's start on the tape. */
const NULL_STRING = -1;
/** The start of a correlation id left out: the fresh one is the reply. */
const GENERATED = -3;

/**
 * A date-time: as written when the encoding writes it so, else from its
 * instant (start `-2 - microseconds`, end Unix seconds) in the encoding's
 * form, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (SPEC section 5).
 */
function dateTime(text: string, t: Float64Array, at: number): string {
    const start = t[at];
    return start > -2 ? slice(text, t, at) : isoDateTime(t[at + 1], -2 - start);
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` for Unix `seconds` and `micros`, by the
 * civil-from-days arithmetic of src/datetime/mod.rs (a third of what
 * `Date.prototype.toISOString` costs; the package tests hold the two equal).
 */
function isoDateTime(seconds: number, micros: number): string {
    const days = Math.floor(seconds / 86400);
    const second = seconds - days * 86400;
    const z = days + 719468;
    const era = Math.floor(z / 146097);
    const dayOfEra = z - era * 146097;
    const yearOfEra = Math.floor(
        (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
    );
    const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
    const mp = Math.floor((5 * dayOfYear + 2) / 153);
    const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
    const month = mp < 10 ? mp + 3 : mp - 9;
    const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    const clock = `${two(Math.floor(second / 3600))}:${two(Math.floor(second / 60) % 60)}:${two(second % 60)}`;
    const text = `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}T${clock}`;
    return micros === 0 ? `${text}Z` : `${text}.${String(micros).padStart(6, "0")}Z`;
}

function two(n: number): string {
    return n < 10 ? `0${n}` : `${n}`;
}

/** A flat `meta` (see src/typed/tape.rs), built from the tape. */
function flatMeta(text: string, t: Float64Array, count: number): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    for (let i = 0, at = SLOT.META_MEMBERS; i < count; i++, at += 5) {
        const kind = t[at + 2];
        object[text.slice(t[at], t[at + 1])] =
            kind === 0 ? text.slice(t[at + 3], t[at + 4]) : kind === 1 ? t[at + 3] : kind === 2 ? true : kind === 3 ? false : null;
    }
    return object;
}

/**
 * `meta` as an enumerable accessor that parses `raw` on first read and keeps
 * the object: `JSON.stringify`, spread, `Object.entries` and
 * `structuredClone` read it through the getter, so they see the value. An
 * assignment makes it a plain data property again.
 */
function parsedOnAccess(envelope: CrowdPredictionEnvelope, raw: string, keep: boolean): void {
    let value: Record<string, unknown> | undefined;
    Object.defineProperty(envelope, "meta", {
        enumerable: true,
        configurable: true,
        get() {
            value ??= parsed(raw, keep);
            return value;
        },
        set(next: Record<string, unknown>) {
            Object.defineProperty(envelope, "meta", { value: next, writable: true, enumerable: true, configurable: true });
        },
    });
}

function nullable(x: number): number | null {
    return x === x ? x : null; // NaN marks null
}

/**
 * The text each decoded `meta` object was parsed from, where JavaScript
 * would write it otherwise (a slice of the payload). JS numbers cannot hold
 * every JSON number that `meta` keeps as written (`1.0`, `1e21`, integers
 * above 2^53), so {@link encodeEnvelope} of a meta the caller has not
 * changed encodes that text, and gives exactly the bytes native code gives.
 * Keyed by the meta object with a string as the value: a large value graph
 * held only through a WeakMap costs the garbage collector dearly (4x the
 * decode of a 64 KB meta, measured).
 */
export const decodedMeta = new WeakMap<object, string>();

/** `raw` parsed, its text kept for encoding when `keep`. */
function parsed(raw: string, keep: boolean): Record<string, unknown> {
    const meta = JSON.parse(raw) as Record<string, unknown>;
    if (keep) decodedMeta.set(meta, raw);
    return meta;
}
