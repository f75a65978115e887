// Stream entries (SPEC section 1): the rule is the Rust core's
// (src/entry.rs, through wireCheckEntry); the payload is decoded as
// tryDecodeEnvelope decodes it.

import { DEFAULT_MAX_PAYLOAD_BYTES, tryDecodeEnvelope, type DecodeOptions, type Payload } from "./api.js";
import { guarded, REJECTED } from "./binding.js";
import type { EntryResult, FieldError, SkipReason } from "./types.js";

/** A stream entry as a Redis client gives it. */
export interface StreamEntry {
    /** The names of all its fields. */
    fields: string[];
    /** Its `data` field, if it has one. */
    data?: Payload;
    /** Instead of `data`: the size of a payload left unread for being over the limit. */
    oversized?: number;
}


/**
 * Decodes a stream entry: exactly one field, `data`, holding an envelope
 * (SPEC section 1); otherwise `no_data`, `extra_fields`, or the payload's
 * decode reason. Never throws.
 */
export function decodeStreamEntry(entry: StreamEntry, options?: DecodeOptions): EntryResult {
    try {
        const limit = Number(options?.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
        const fields = Array.from(entry.fields ?? [], String);
        const reply = guarded(
            (glue) => glue.wireCheckEntry(JSON.stringify(fields), entry.data !== undefined, entry.oversized, limit),
            (trap) => `!invalid ${JSON.stringify(internal(`the entry check failed: ${trap.message}`))}`,
        );
        if (reply.charCodeAt(0) === REJECTED) {
            // "!REASON {...errors...}" (src/wasm/mod.rs, wireCheckEntry).
            const space = reply.indexOf(" ");
            const { errors } = JSON.parse(reply.slice(space + 1)) as { errors: FieldError[] };
            return { ok: false, reason: reply.slice(1, space) as SkipReason, errors };
        }
        return tryDecodeEnvelope(entry.data as Payload, options);
    } catch (error) {
        return { ok: false, ...internal(`cannot read the entry: ${String(error)}`) };
    }
}

function internal(message: string): { reason: SkipReason; errors: FieldError[] } {
    return { reason: "invalid", errors: [{ path: "", code: "model_type", message }] };
}
