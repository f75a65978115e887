// `crowd-envelope/redis`: the seed's transport for any node-redis v4+ client,
// with no dependency on node-redis itself (the client is passed in).

import {
    DEFAULT_MAX_PAYLOAD_BYTES,
    encodeEnvelope,
    tryDecodeEnvelope,
    type CrowdPredictionEnvelope,
    type DecodeReason,
    type FieldError,
} from "./api.js";

/**
 * The part of a node-redis (v4 or later) client these helpers use. Method
 * syntax keeps the parameters bivariant, so a real client fits as it is.
 */
export interface RedisClientLike {
    xAdd(key: string, id: string, message: Record<string, string>, options?: object): Promise<unknown>;
    xRevRange(key: string, end: string, start: string, options?: { COUNT?: number }): Promise<unknown>;
    xRead(streams: { key: string; id: string }, options?: { BLOCK?: number; COUNT?: number }): Promise<unknown>;
    duplicate(): RedisClientLike;
    connect(): Promise<unknown>;
    on(event: "error", listener: (error: unknown) => void): unknown;
    destroy?(): unknown;
    disconnect?(): Promise<unknown>;
}

/** A decoded entry and its stream id. */
export interface EnvelopeEntry {
    id: string;
    envelope: CrowdPredictionEnvelope;
}

/**
 * Why an entry was skipped: a decode reason, `no_data` for an entry without
 * a `data` field, `extra_fields` for one with fields besides it (SPEC: a
 * stream entry has exactly one field).
 */
export type SkipReason = DecodeReason | "no_data" | "extra_fields";

/** An entry that was not delivered, and why. */
export interface SkippedEntry {
    id: string;
    reason: SkipReason;
    errors: FieldError[];
}

/** Options of {@link publishEnvelope}. */
export interface PublishOptions {
    /** Trim the stream to about this many entries (`MAXLEN ~ n`). */
    maxLen?: number;
}

/** Options of {@link readEnvelopes}. */
export interface ReadOptions {
    /** Told of every entry that is skipped (the seed only logged them). */
    onSkip?: (skipped: SkippedEntry) => void;
    /** Size limit per payload; default {@link DEFAULT_MAX_PAYLOAD_BYTES}. */
    maxPayloadBytes?: number;
}

/** Options of {@link followEnvelopes}. */
export interface FollowOptions extends ReadOptions {
    /** How long one `XREAD` blocks, in ms; default 5000. */
    blockMs?: number;
    /** Start after this id; default `$`, only entries added after the call. */
    lastId?: string;
    /** Ends the iteration cleanly, even while a read is blocked. */
    signal?: AbortSignal;
    /** Told of each failed read before it is retried (the connection is lost, say). */
    onError?: (error: unknown) => void;
    /** Entries per read; default 100. */
    count?: number;
}

/**
 * Publishes an envelope as one `data` field (SPEC section 1), after checking
 * it as a decoder would (throws a `ValidationError`); gives the entry id.
 */
export async function publishEnvelope(
    client: RedisClientLike,
    stream: string,
    envelope: CrowdPredictionEnvelope,
    options: PublishOptions = {},
): Promise<string> {
    const data = encodeEnvelope(envelope);
    const trim =
        options.maxLen === undefined
            ? undefined
            : { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: options.maxLen } };
    return String(await client.xAdd(stream, "*", { data }, trim));
}

/** The newest `count` envelopes, newest first; undecodable entries are skipped and reported. */
export async function readEnvelopes(
    client: RedisClientLike,
    stream: string,
    count: number,
    options: ReadOptions = {},
): Promise<EnvelopeEntry[]> {
    const messages = asMessages(await client.xRevRange(stream, "+", "-", { COUNT: count }));
    return messages.flatMap((message) => {
        const entry = decodeEntry(message, options);
        return entry ? [entry] : [];
    });
}

/**
 * Every envelope added after `lastId`, as they arrive, via `XREAD BLOCK` on
 * a connection of its own. A lost connection is retried with backoff from
 * the last id seen, so nothing is lost or repeated; undecodable entries are
 * skipped and reported through `onSkip`; `signal` ends it.
 */
export async function* followEnvelopes(
    client: RedisClientLike,
    stream: string,
    options: FollowOptions = {},
): AsyncGenerator<EnvelopeEntry, void, undefined> {
    const { signal, blockMs = 5000, count = 100 } = options;
    if (signal?.aborted) return;
    // A blocking read holds its connection: never block the caller's client.
    const reader = client.duplicate();
    reader.on("error", (error) => options.onError?.(error));
    const close = () => void closeClient(reader);
    signal?.addEventListener("abort", close, { once: true });
    try {
        await reader.connect();
        let cursor = options.lastId ?? "$";
        let failures = 0;
        while (!signal?.aborted) {
            try {
                // Pin `$` to a concrete id first, so a retry after a lost
                // connection cannot skip what arrived in between.
                if (cursor === "$") cursor = await newestId(reader, stream);
                const reply = await reader.xRead({ key: stream, id: cursor }, { BLOCK: blockMs, COUNT: count });
                failures = 0;
                for (const message of streamMessages(reply)) {
                    cursor = message.id;
                    const entry = decodeEntry(message, options);
                    if (entry) yield entry;
                }
            } catch (error) {
                if (signal?.aborted) return;
                options.onError?.(error);
                await sleep(Math.min(100 * 2 ** failures, 2000), signal);
                failures += 1;
            }
        }
    } finally {
        signal?.removeEventListener("abort", close);
        await closeClient(reader);
    }
}

interface StreamMessage {
    id: string;
    message: Record<string, unknown>;
}

function decodeEntry(entry: StreamMessage, options: ReadOptions): EnvelopeEntry | undefined {
    const data = entry.message?.data;
    if (typeof data !== "string") {
        options.onSkip?.({
            id: entry.id,
            reason: "no_data",
            errors: [{ path: "", code: "missing", message: "the stream entry has no 'data' field" }],
        });
        return undefined;
    }
    const extra = Object.keys(entry.message).filter((field) => field !== "data");
    if (extra.length > 0) {
        options.onSkip?.({
            id: entry.id,
            reason: "extra_fields",
            errors: [
                {
                    path: "",
                    code: "extra_forbidden",
                    message: `expected exactly one field, 'data', found also ${extra.sort().join(", ")}`,
                },
            ],
        });
        return undefined;
    }
    const decoded = tryDecodeEnvelope(data, { maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES });
    if (!decoded.ok) {
        options.onSkip?.({ id: entry.id, reason: decoded.reason, errors: decoded.errors });
        return undefined;
    }
    return { id: entry.id, envelope: decoded.envelope };
}

async function newestId(client: RedisClientLike, stream: string): Promise<string> {
    const [newest] = asMessages(await client.xRevRange(stream, "+", "-", { COUNT: 1 }));
    return newest?.id ?? "0-0";
}

/** `XREAD`'s reply for one stream, as node-redis v4 and v5 (RESP2 or RESP3) give it. */
function streamMessages(reply: unknown): StreamMessage[] {
    if (reply === null || reply === undefined) return [];
    const streams: unknown[] = Array.isArray(reply)
        ? reply
        : Object.values(reply as Record<string, unknown>).map((messages) => ({ messages }));
    return streams.flatMap((stream) => asMessages((stream as { messages?: unknown }).messages));
}

function asMessages(value: unknown): StreamMessage[] {
    if (!Array.isArray(value)) return [];
    return value.map((m: { id: unknown; message: unknown }) => ({
        id: String(m.id),
        message: m.message instanceof Map ? Object.fromEntries(m.message) : ((m.message ?? {}) as Record<string, unknown>),
    }));
}

async function closeClient(client: RedisClientLike): Promise<void> {
    try {
        if (typeof client.destroy === "function") client.destroy();
        else await client.disconnect?.();
    } catch {
        // Already closed.
    }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
        function done() {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
        }
    });
}
