// The package's API (SPEC section 7), over the wasm module's private
// JSON-text interface (src/wasm/mod.rs). Values cross the boundary as strings:
// payloads as they are, JS values through JSON.stringify, results back
// through JSON.parse, which gives plain objects of the wire shape.

import { type Glue, guarded, memoryBytes, REJECTED, utf8 } from "./binding.js";
import { decodedMeta, fromTape, READ_TAPE, replyText } from "./tape.js";
import type {
    CrowdPrediction,
    CrowdPredictionEnvelope,
    CrowdPredictionFields,
    DecodeReason,
    DecodeResult,
    DecisionKind,
    ErrorCode,
    FieldError,
    Fomo2Signal,
    OddsoddyMultiplier,
    PolymarketSide,
} from "./types.js";

export type * from "./types.js";

/** The Redis stream the crowd simulation publishes to. */
export const DEFAULT_STREAM_NAME = "maf:arena:crowd_simulation:output";
/** The only schema version this package reads and writes. */
export const SCHEMA_VERSION = "1";
/** Payloads over this many bytes of UTF-8 are rejected as `too_large`. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;

/** A payload as it comes off the stream: text, or bytes that must be UTF-8. */
export type Payload = string | Uint8Array | ArrayBuffer;

/** Settings for decoding. */
export interface DecodeOptions {
    /** The size limit in bytes of UTF-8; default {@link DEFAULT_MAX_PAYLOAD_BYTES}. */
    maxPayloadBytes?: number;
    /**
     * Parse a `meta` that is not flat (nested, more than 8 members, over 4 KB)
     * only when it is first read: `envelope.meta` is then an enumerable
     * getter, which `JSON.stringify`, spread and `structuredClone` read like
     * a value. Validation is the same either way. Default `false`; the bench
     * report ("lazy meta") says what it saves.
     */
    lazyMeta?: boolean;
}

/** A number as Pydantic's lax mode reads it: a number, or its decimal string (`"0.62"`). */
export type LaxNumbers<T> = T extends number
    ? number | string
    : T extends readonly unknown[]
      ? T
      : T extends object
        ? { [K in keyof T]: LaxNumbers<T[K]> }
        : T;

/**
 * A prediction as a producer may give it: what {@link validatePrediction}
 * accepts. Fields with defaults may be left out, date-times may be `Date`s,
 * and numbers may come as their decimal strings, as Pydantic allows.
 */
export type CrowdPredictionInput = LaxNumbers<Omit<CrowdPredictionFields, "resolves_at" | "generated_at">> & {
    resolves_at?: string | Date | null;
    generated_at: string | Date;
};

/** What {@link buildEnvelope} may set instead of the defaults. */
export interface BuildOptions {
    /** Instead of a fresh uuid4 as 32 hex digits. */
    correlationId?: string | null;
    /** Instead of `{}`. */
    meta?: Record<string, unknown> | null;
    /** Instead of now. */
    publishedAt?: string | Date | null;
}

/**
 * Thrown by the functions whose input must be valid (never by
 * {@link tryDecodeEnvelope} or {@link decodeEnvelope}): every failing field,
 * each with its path and what was expected there.
 */
export class ValidationError extends Error {
    /** Why the value was rejected; `invalid` unless it was not JSON at all. */
    readonly reason: DecodeReason;
    /** The failing fields, in the order they were checked. */
    readonly errors: FieldError[];

    constructor(reason: DecodeReason, errors: FieldError[]) {
        super(summarize(errors));
        this.name = "ValidationError";
        this.reason = reason;
        this.errors = errors;
    }
}

function summarize(errors: FieldError[]): string {
    const shown = errors.slice(0, 3).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
    const more = errors.length > 3 ? `; and ${errors.length - 3} more` : "";
    return shown.join("; ") + more;
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

const MAX_WASM_LIMIT = 0xffff_ffff; // the limit crosses as a u32

interface Rejection {
    reason: DecodeReason;
    errors: FieldError[];
}

/**
 * Decodes a payload, giving the envelope or the reason it was rejected.
 * Never throws, whatever it is given.
 */
export function tryDecodeEnvelope(payload: Payload, options?: DecodeOptions): DecodeResult {
    // Everything inside, the options' getters included, may throw.
    try {
        const limit = payloadLimit(options);
        return typeof limit === "number" ? decodeOne(payload, limit, options?.lazyMeta === true) : limit;
    } catch (error) {
        // Unreachable unless the module itself is broken; the promise of
        // this function is to answer, not to throw.
        return rejection("invalid", "", "model_type", `internal error while decoding: ${String(error)}`);
    }
}

/** Decodes a payload: the envelope, or `null` for anything rejected. */
export function decodeEnvelope(payload: Payload, options?: DecodeOptions): CrowdPredictionEnvelope | null {
    const result = tryDecodeEnvelope(payload, options);
    return result.ok ? result.envelope : null;
}

/**
 * Decodes many payloads in one call, one result each, in order. Never
 * throws: payloads that are not an iterable of payloads (a string is one
 * payload, not many) give one rejection.
 */
export function decodeBatch(payloads: Iterable<Payload>, options?: DecodeOptions): DecodeResult[] {
    const results: DecodeResult[] = [];
    try {
        if (typeof payloads === "string" || asBytes(payloads) !== undefined) {
            return [rejection("invalid", "", "model_type", "expected an iterable of payloads, found one payload")];
        }
        const limit = payloadLimit(options);
        const lazy = options?.lazyMeta === true;
        for (const payload of payloads) {
            results.push(typeof limit === "number" ? decodeOne(payload, limit, lazy) : limit);
        }
    } catch (error) {
        results.push(rejection("invalid", "", "model_type", `cannot read the payloads: ${String(error)}`));
    }
    return results;
}

function payloadLimit(options: DecodeOptions | undefined): number | DecodeResult {
    const limit = options?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (typeof limit !== "number" || !(limit >= 0)) {
        return rejection(
            "invalid",
            "options.maxPayloadBytes",
            typeof limit === "number" ? "greater_than_equal" : "float_type",
            `expected a number of bytes >= 0, found ${describe(limit)}`,
        );
    }
    return Math.min(Math.floor(limit), MAX_WASM_LIMIT);
}

function decodeOne(payload: unknown, limit: number, lazyMeta: boolean): DecodeResult {
    if (typeof payload === "string") {
        // Each UTF-16 unit is at least one byte of UTF-8: a string this long
        // is too large without copying it into wasm memory.
        if (payload.length > limit) {
            return tooLarge(`at least ${payload.length}`, limit);
        }
        if (!isWellFormed(payload)) {
            return rejection(
                "invalid_utf8",
                "",
                "json_invalid",
                "the string holds a lone surrogate, which has no UTF-8 encoding",
            );
        }
        return guarded((glue) => decodeText(glue, payload, limit, lazyMeta), trappedDecode);
    }
    const bytes = asBytes(payload);
    if (bytes === undefined) {
        return rejection(
            "invalid",
            "",
            "model_type",
            `expected JSON text as a string, Uint8Array or ArrayBuffer, found ${describe(payload)}` +
                (isPlainObject(payload)
                    ? ' (already parsed? decode the text itself, or check a parsed value with envelopeSchema["~standard"].validate)'
                    : ""),
        );
    }
    if (bytes.byteLength > limit) {
        return tooLarge(String(bytes.byteLength), limit);
    }
    return guarded((glue) => decodeBytes(glue, bytes, limit, lazyMeta), trappedDecode);
}

// A payload crosses into wasm once: encoded (or copied) straight into the
// instance's input buffer, which wasm keeps between calls.
function decodeText(glue: Glue, text: string, limit: number, lazyMeta: boolean): DecodeResult {
    let capacity = text.length;
    for (;;) {
        const at = glue.wireInput(capacity);
        const { read, written } = encoder.encodeInto(text, memoryBytes(glue).subarray(at, at + capacity));
        if (read === text.length) {
            const answer = glue.wireDecode(written, limit, true);
            return answer === READ_TAPE ? fromTape(glue, text, lazyMeta) : decodeReply(glue, answer);
        }
        capacity = text.length * 3; // the most UTF-8 a UTF-16 unit takes
    }
}

function decodeBytes(glue: Glue, bytes: Uint8Array, limit: number, lazyMeta: boolean): DecodeResult {
    const at = glue.wireInput(bytes.byteLength);
    memoryBytes(glue).set(bytes, at);
    const answer = glue.wireDecode(bytes.byteLength, limit, false);
    // The tape's offsets are the string's: wasm checked the bytes are UTF-8.
    return answer === READ_TAPE ? fromTape(glue, utf8.decode(bytes), lazyMeta) : decodeReply(glue, answer);
}

/** A reply from wasm memory: a rejection, or the canonical JSON of an envelope. */
function decodeReply(glue: Glue, length: number): DecodeResult {
    const text = replyText(glue, length);
    if (text.charCodeAt(0) === REJECTED) {
        const { reason, errors } = JSON.parse(text.slice(1)) as Rejection;
        return { ok: false, reason, errors };
    }
    return { ok: true, envelope: JSON.parse(text) as CrowdPredictionEnvelope };
}

function trappedDecode(error: Error): DecodeResult {
    return rejection(
        "invalid",
        "",
        "model_type",
        `the decoder failed (${error.message}) and was restarted; this payload was not decoded`,
    );
}


const encoder = new TextEncoder();

function tooLarge(size: string, limit: number): DecodeResult {
    return rejection("too_large", "", "too_large", `payload is ${size} bytes, over the limit of ${limit} bytes`);
}

function rejection(reason: DecodeReason, path: string, code: ErrorCode, message: string): DecodeResult {
    return { ok: false, reason, errors: [{ path, code, message }] };
}

function asBytes(payload: unknown): Uint8Array | undefined {
    if (payload instanceof Uint8Array) return payload;
    if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
    return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isWellFormed(text: string): boolean {
    const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
    return typeof native === "function" ? native.call(text) : !LONE_SURROGATE.test(text);
}

// ---------------------------------------------------------------------------
// Values from JS: validate, map, build, encode, verify
// ---------------------------------------------------------------------------

/** Validates a prediction and gives it in canonical form; throws a {@link ValidationError}. */
export function validatePrediction(value: unknown): CrowdPrediction {
    const text = toJson(value, "prediction");
    return saidOf(value, () => valueReply(wire((glue) => glue.wireValidatePrediction(text))));
}

/** SPEC 3.1 for a valid prediction; throws a {@link ValidationError}. */
export function crowdToFomo2Signal(prediction: CrowdPredictionInput | CrowdPrediction): Fomo2Signal {
    return decide("fomo2_signal", prediction);
}

/** SPEC 3.2 for a valid prediction; throws a {@link ValidationError}. */
export function crowdToPolymarketSide(prediction: CrowdPredictionInput | CrowdPrediction): PolymarketSide {
    return decide("polymarket_side", prediction);
}

/** SPEC 3.3 for a valid prediction; throws a {@link ValidationError}. */
export function crowdToOddsoddyMultiplier(
    prediction: CrowdPredictionInput | CrowdPrediction,
): OddsoddyMultiplier {
    return decide("oddsoddy_multiplier", prediction);
}

function decide<T>(kind: DecisionKind, prediction: unknown): T {
    const text = toJson(prediction, "prediction");
    return saidOf(prediction, () => valueReply(wire((glue) => glue.wireDecide(kind, text))));
}

/**
 * Wraps a prediction in an envelope with the decision for its source type.
 * Throws a {@link ValidationError}: paths are relative to the prediction
 * (`crowd.bullish`), or under `options.` for the options.
 */
export function buildEnvelope(
    prediction: CrowdPredictionInput | CrowdPrediction,
    options: BuildOptions = {},
): CrowdPredictionEnvelope {
    const [predictionText, optionsText] = [toJson(prediction, "prediction"), toJson(options, "options")];
    return saidOf(prediction, () => {
        const reply = wire((glue) => glue.wireBuild(predictionText, optionsText));
        const envelope = valueReply<CrowdPredictionEnvelope>(reply);
        canonicalOf.set(envelope, reply);
        return envelope;
    });
}

/**
 * The canonical encoding each envelope `buildEnvelope` made had when it was
 * made: {@link encodeEnvelope} of one whose JSON text is still that, byte for
 * byte, gives it without a second pass through the validator (the encoding
 * of a canonical text is itself).
 */
const canonicalOf = new WeakMap<object, string>();

/**
 * Runs `call`; a {@link ValidationError} it throws about a value JSON has no
 * word for (`NaN`, an invalid `Date`), which {@link toJson} wrote as a
 * string, is worded in terms of the value the caller gave.
 */
function saidOf<T>(value: unknown, call: () => T): T {
    try {
        return call();
    } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const errors = error.errors.map((e) => {
            const word = jsWord(valueAt(value, e.path));
            return word === undefined ? e : { ...e, message: e.message.replace(/found the string ".*$/, `found ${word}`) };
        });
        throw new ValidationError(error.reason, errors);
    }
}

function jsWord(value: unknown): string | undefined {
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    if (value instanceof Date && Number.isNaN(value.getTime())) return "an invalid Date";
    return undefined;
}

/** The part of `value` at an error's dotted path (`crowd.bullish`, `drivers.3`). */
function valueAt(value: unknown, path: string): unknown {
    if (path === "") return value;
    return path
        .split(".")
        .reduce<unknown>((v, key) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);
}

/**
 * The envelope as compact JSON in SPEC field order, after checking it as a
 * decoder would; throws a {@link ValidationError}.
 */
export function encodeEnvelope(envelope: CrowdPredictionEnvelope): string {
    const text = envelopeText(envelope);
    if (typeof envelope === "object" && envelope !== null && canonicalOf.get(envelope) === text) return text;
    const reply = wire((glue) => glue.wireEncode(text));
    if (reply.charCodeAt(0) === REJECTED) throw rejected(reply);
    return reply === "" ? text : reply;
}

/** The envelope as JSON text, with its meta as decoded if it still says the same. */
function envelopeText(envelope: unknown): string {
    const now = toJson(envelope, "envelope");
    const meta = typeof envelope === "object" && envelope !== null ? (envelope as { meta?: unknown }).meta : undefined;
    const raw = typeof meta === "object" && meta !== null ? decodedMeta.get(meta) : undefined;
    if (raw === undefined || toJson(meta, "meta") !== toJson(JSON.parse(raw), "meta")) return now;
    // The encoder reads members in any order: meta first, as it was written.
    const rest = toJson({ ...(envelope as object), meta: undefined }, "envelope");
    return rest === "{}" ? `{"meta":${raw}}` : `{"meta":${raw},${rest.slice(1)}`;
}

/**
 * Whether the envelope's decision is the one SPEC section 3 gives for its
 * prediction, bit for bit; `false` for anything that is not a valid envelope.
 */
export function verifyDecision(envelope: CrowdPredictionEnvelope): boolean {
    try {
        const text = toJson(envelope, "envelope");
        return wire((glue) => glue.wireVerify(text));
    } catch (error) {
        if (error instanceof ValidationError) return false;
        throw error;
    }
}

/**
 * A call into wasm for the functions that throw: a trap is answered with a
 * {@link ValidationError} (the instance is replaced, later calls work).
 */
function wire<T>(call: (glue: Glue) => T): T {
    return guarded(call, (error) => {
        throw new ValidationError("invalid", [
            {
                path: "",
                code: "model_type",
                message: `the validator failed (${error.message}) and was restarted; nothing was checked`,
            },
        ]);
    });
}

function valueReply<T>(reply: string): T {
    if (reply.charCodeAt(0) === REJECTED) throw rejected(reply);
    return JSON.parse(reply) as T;
}

function rejected(reply: string): ValidationError {
    const { reason, errors } = JSON.parse(reply.slice(1)) as Rejection;
    return new ValidationError(reason, errors);
}

/**
 * JSON text for a JS value, so the one Rust validator sees what a payload
 * would carry. Non-finite numbers become their names (and are rejected by
 * name, not as a puzzling `null`); bigints their digits, which Pydantic's
 * lax integers accept; `-0` stays `-0.0`, where `JSON.stringify` would
 * write `0` and lose the sign (SPEC section 6).
 */
/** The longest JSON text a JS value may have: {@link DEFAULT_MAX_PAYLOAD_BYTES} characters. */
const MAX_VALUE_JSON = DEFAULT_MAX_PAYLOAD_BYTES;

function toJson(value: unknown, what: string): string {
    let text: string | undefined;
    negativeZeros = 0;
    try {
        // Without a replacer JSON.stringify is about a third faster; it
        // writes the same text for a value the replacer would not change.
        text = needsReplacer(value, 0) ? JSON.stringify(value, jsonReplacer) : JSON.stringify(value);
    } catch (error) {
        throw new ValidationError("invalid", [
            { path: "", code: "model_type", message: `the ${what} cannot be written as JSON: ${String(error)}` },
        ]);
    }
    if (text === undefined) {
        throw new ValidationError("invalid", [
            { path: "", code: "model_type", message: `expected an object, found ${describe(value)}` },
        ]);
    }
    // As large as a payload may be by default: the value is in the caller's
    // memory already, but its JSON text is copied into wasm memory.
    if (text.length > MAX_VALUE_JSON) {
        throw new ValidationError("too_large", [
            {
                path: "",
                code: "too_large",
                message: `the ${what} is ${text.length} characters of JSON, over the limit of ${MAX_VALUE_JSON}`,
            },
        ]);
    }
    return negativeZeros === 0 ? text : restoreNegativeZeros(text);
}

// A string no caller writes (a per-load nonce after a NUL) stands in for -0
// while JSON.stringify runs; every stand-in is then swapped for `-0.0`.
const NEGATIVE_ZERO = `\u0000-0:${Math.random().toString(36).slice(2)}`;
const NEGATIVE_ZERO_JSON = JSON.stringify(NEGATIVE_ZERO);
let negativeZeros = 0;

/**
 * Whether `value` holds what {@link jsonReplacer} writes differently from
 * `JSON.stringify`: a non-finite number, `-0`, a bigint, an invalid Date; or
 * what this walk does not follow (a `toJSON` other than Date's, a boxed
 * number, more than 16 levels, a cycle), which the replacer's path then
 * writes or refuses as before.
 */
function needsReplacer(value: unknown, depth: number): boolean {
    if (typeof value === "number") return !Number.isFinite(value) || (value === 0 && 1 / value < 0);
    if (typeof value === "bigint") return true;
    if (value === null || typeof value !== "object") return false;
    if (depth > 16 || value instanceof Number || value instanceof BigInt) return true;
    if (value instanceof Date) return Number.isNaN(value.getTime());
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") return true;
    if (Array.isArray(value)) return value.some((item) => needsReplacer(item, depth + 1));
    return Object.keys(value).some((key) => needsReplacer((value as Record<string, unknown>)[key], depth + 1));
}

function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
    // An invalid Date's toJSON gives null; its own name is clearer.
    const original = (this as Record<string, unknown>)[key];
    if (original instanceof Date && Number.isNaN(original.getTime())) return "Invalid Date";
    if (typeof value === "number") {
        if (!Number.isFinite(value)) return String(value);
        if (value === 0 && 1 / value < 0) {
            negativeZeros += 1;
            return NEGATIVE_ZERO;
        }
        return value;
    }
    if (typeof value === "bigint") return value.toString();
    return value;
}

function restoreNegativeZeros(text: string): string {
    const parts = text.split(NEGATIVE_ZERO_JSON);
    if (parts.length - 1 !== negativeZeros) {
        throw new ValidationError("invalid", [
            { path: "", code: "model_type", message: "the value holds a string reserved for -0" },
        ]);
    }
    return parts.join("-0.0");
}

function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "an array";
    if (isPlainObject(value)) return "an object";
    return typeof value === "object" ? `a ${value.constructor?.name ?? "object"}` : `a ${typeof value}`;
}

function isPlainObject(value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    const prototype = Object.getPrototypeOf(value);
    return prototype === Object.prototype || prototype === null;
}

/**
 * The decision in a few words, as the CLI's `tail` shows it: `"buy 0.36"`,
 * `"no, edge -0.440, stake 0.250"`, `"abstain"`, `"×1.04"` (formatted by the
 * Rust core, so every runtime writes the same). Empty for an envelope whose
 * decision is not valid.
 */
export function decisionSummary(envelope: CrowdPredictionEnvelope): string {
    try {
        const decision = JSON.stringify(envelope.decision);
        return guarded((glue) => glue.wireDecisionSummary(String(envelope.decision_kind), decision), () => "");
    } catch {
        return "";
    }
}
