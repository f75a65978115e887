// `crowd-envelope/redis`: publish, read and follow (and, from group.ts,
// consume in a group) for a node-redis (v4 or later) or an ioredis (v5)
// client, with no dependency on either (the client is passed in,
// transport.ts). Every command goes through the client's raw-command call,
// so both give the same replies. A Redis Cluster client (node-redis
// `createCluster`, ioredis `Cluster`) gets each command routed by its first
// key, the stream; a node-redis `createSentinel` client and an ioredis
// client with `sentinels` follow the master.

import { DEFAULT_MAX_PAYLOAD_BYTES, encodeEnvelope, type CrowdPredictionEnvelope } from "./api.js";
import { decodeStreamEntry } from "./entry.js";
import { FOLLOW_SCRIPT, RANGE_SCRIPT } from "./scripts.js";
import {
    backoffMs,
    closeQuietly,
    connection,
    cursorAt,
    reportGap,
    scriptEntries,
    sleep,
    type Connection,
    type EnvelopeEntry,
    type ReadOptions,
    type RedisClientLike,
    type StreamMessage,
} from "./transport.js";

export * from "./group.js";
export type {
    EnvelopeEntry,
    IoRedisClientLike,
    NodeRedisClientLike,
    NodeRedisClusterLike,
    NodeRedisSentinelLeaseLike,
    NodeRedisSentinelLike,
    ReadOptions,
    RedisClientLike,
    SkippedEntry,
} from "./transport.js";

/** Options of {@link publishEnvelope}. */
export interface PublishOptions {
    /** Trim the stream to about this many entries (`MAXLEN ~ n`). */
    maxLen?: number;
    /**
     * Resolve only once this many replicas have the entries (`WAIT n` after
     * the writes, on the connection that wrote them); else reject with a
     * {@link NotReplicatedError}. Redis replicates asynchronously: without
     * it, an entry a master acknowledged and then lost in a failover is gone.
     */
    waitReplicas?: number;
    /** How long `waitReplicas` waits, in milliseconds (default 1000). */
    waitTimeoutMs?: number;
}

/**
 * Entries added to the stream that fewer replicas had than `waitReplicas`
 * asked for, by its timeout: they are there, but a failover now could lose
 * them. Publishing again would add them twice.
 */
export class NotReplicatedError extends Error {
    override name = "NotReplicatedError";
    constructor(
        /** The entries' ids, in order. */
        readonly ids: string[],
        /** How many replicas had them. */
        readonly replicas: number,
        /** How many were asked for. */
        readonly wanted: number,
    ) {
        super(`${ids.length} entr${ids.length === 1 ? "y" : "ies"} added (${ids.join(", ")}), but ${replicas} of the ${wanted} replica(s) asked for have them: a failover now would lose them`);
    }
}

/** Refuses `waitReplicas` before anything is written, when the client cannot send the WAIT. */
function checkWait(redis: Connection, options: PublishOptions): void {
    if ((options.waitReplicas ?? 0) > 0 && !redis.wait) {
        throw new TypeError(
            "waitReplicas needs the connection that wrote, which an ioredis Cluster or a node-redis Sentinel client does not give: use a node-redis createCluster client, or an ioredis client (with sentinels, or of the stream's master)",
        );
    }
}

/** `WAIT` for `options.waitReplicas` after `ids` were added, if asked. */
async function waitForReplicas(redis: Connection, stream: string, ids: string[], options: PublishOptions): Promise<void> {
    const wanted = options.waitReplicas ?? 0;
    if (wanted <= 0 || ids.length === 0 || !redis.wait) return;
    const replicas = Number(await redis.wait(wanted, options.waitTimeoutMs ?? 1000, stream));
    if (replicas < wanted) throw new NotReplicatedError(ids, replicas, wanted);
}

/** Options of {@link followEnvelopes}. */
export interface FollowOptions extends ReadOptions {
    /** How long one `XREAD` blocks, in ms; default 5000. */
    blockMs?: number;
    /** Start after this id; default `$`, only entries added after the call. */
    lastId?: string;
    /**
     * Instead of `lastId`: start with the entries added at or after this
     * time (a `Date`, or milliseconds since the epoch); a time before the
     * stream's first entry starts at it, one in the future is refused with
     * a `RangeError`.
     */
    since?: Date | number;
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
    const redis = connection(client);
    checkWait(redis, options);
    const data = encodeEnvelope(envelope);
    const trim = options.maxLen === undefined ? [] : ["MAXLEN", "~", String(options.maxLen)];
    const id = String(await redis.command(["XADD", stream, ...trim, "*", "data", data]));
    await waitForReplicas(redis, stream, [id], options);
    return id;
}

/** Envelopes {@link publishEnvelopes} sends before it waits for their replies, at most. */
export const PUBLISH_WINDOW = 500;

/**
 * Publishes many envelopes, pipelined: all are checked first (a
 * `ValidationError` is thrown and none is sent), then sent
 * {@link PUBLISH_WINDOW} at a time without waiting for each reply. Both
 * clients write one connection's commands in order, so the stream keeps the
 * given order. Gives the ids in order; a refusal by Redis rejects with the
 * first (the others of its window may have been added), as Rust's
 * `publish_envelopes` does.
 */
export async function publishEnvelopes(
    client: RedisClientLike,
    stream: string,
    envelopes: readonly CrowdPredictionEnvelope[],
    options: PublishOptions = {},
): Promise<string[]> {
    const redis = connection(client);
    checkWait(redis, options);
    const payloads = envelopes.map((envelope) => encodeEnvelope(envelope));
    const trim = options.maxLen === undefined ? [] : ["MAXLEN", "~", String(options.maxLen)];
    const ids: string[] = [];
    for (let at = 0; at < payloads.length; at += PUBLISH_WINDOW) {
        const window = payloads.slice(at, at + PUBLISH_WINDOW);
        // Every reply awaited, so no rejection of the window goes unhandled.
        const replies = await Promise.allSettled(window.map((data) => redis.command(["XADD", stream, ...trim, "*", "data", data])));
        for (const reply of replies) {
            if (reply.status === "rejected") throw reply.reason;
            ids.push(String(reply.value));
        }
    }
    // One WAIT for all: it counts everything the connection wrote before it.
    await waitForReplicas(redis, stream, ids, options);
    return ids;
}

/**
 * The newest `count` envelopes, newest first; undecodable entries are skipped
 * and reported. A payload over `maxPayloadBytes` is left in Redis (one Lua
 * script, Rust's `read_entries`), and reported as `too_large`.
 */
export async function readEnvelopes(
    client: RedisClientLike,
    stream: string,
    count: number,
    options: ReadOptions = {},
): Promise<EnvelopeEntry[]> {
    const limit = String(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    const args = ["XREVRANGE", "+", "-", String(count), limit];
    const reply = await connection(client).command(["EVAL", RANGE_SCRIPT, "1", stream, ...args]);
    const messages = scriptEntries(reply);
    return messages.flatMap((message) => {
        const entry = decodeEntry(message, options);
        return entry ? [entry] : [];
    });
}

/**
 * Every envelope added after `lastId`, as they arrive, on a connection of its
 * own. A lost connection is retried with backoff from the last id seen, so
 * nothing is lost or repeated; undecodable entries are skipped and reported
 * through `onSkip`, and so are entries trimmed before they were read (with
 * their number) and a stream made anew; `signal` ends it. Each read is one
 * Lua script, the Rust follower's, which also leaves payloads over
 * `maxPayloadBytes` in Redis.
 */
export async function* followEnvelopes(
    client: RedisClientLike,
    stream: string,
    options: FollowOptions = {},
): AsyncGenerator<EnvelopeEntry, void, undefined> {
    const { signal, blockMs = 5000, count = 100 } = options;
    const redis = connection(client);
    if (signal?.aborted) return;
    if (options.since !== undefined && options.lastId !== undefined) throw new TypeError("followEnvelopes: give lastId or since, not both");
    // A blocking read holds its connection: never block the caller's client.
    const reader = redis.duplicate();
    reader.onError((error) => options.onError?.(error));
    const close = () => void closeQuietly(reader);
    signal?.addEventListener("abort", close, { once: true });
    const state: FollowState = { cursor: options.lastId ?? "$", index: "", more: false };
    try {
        await reader.connect();
        if (options.since !== undefined) state.cursor = await cursorAt(reader, stream, options.since);
        let failures = 0;
        while (!signal?.aborted) {
            try {
                const entries = await followRead(reader, stream, state, count, options);
                if (entries.length === 0) {
                    // Wait for the next entry; the next read takes it.
                    await reader.command(["XREAD", "BLOCK", String(blockMs), "COUNT", "1", "STREAMS", stream, state.cursor]);
                }
                failures = 0;
                for (const entry of entries) {
                    const decoded = decodeEntry(entry, options);
                    if (decoded) yield decoded;
                }
            } catch (error) {
                if (signal?.aborted) return;
                options.onError?.(error);
                await sleep(backoffMs(failures), signal);
                failures += 1;
            }
        }
    } finally {
        signal?.removeEventListener("abort", close);
        await closeQuietly(reader);
    }
}

/** Where a follower stands (see src/redis/follow.lua). */
interface FollowState {
    cursor: string;
    /** The stream's entries-added count at the cursor, or "" when not known. */
    index: string;
    more: boolean;
}

/** One read: the entries after the cursor; a gap or reset goes to `onSkip`. */
async function followRead(
    reader: Connection,
    stream: string,
    state: FollowState,
    count: number,
    options: FollowOptions,
): Promise<StreamMessage[]> {
    const limit = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const args = [state.cursor, String(count), String(limit), state.index, state.more ? "1" : "0"];
    const reply = (await reader.command(["EVAL", FOLLOW_SCRIPT, "1", stream, ...args])) as unknown[];
    const [status, cursor, index, missed, next, entries, more] = reply as [
        string, string, number, number, string, unknown[][], number,
    ];
    const after = state.cursor === "$" ? String(cursor) : state.cursor;
    state.cursor = String(cursor);
    state.more = Number(more) === 1;
    if (status === "reset") {
        reportGap(options, "stream_reset", after, String(next), undefined);
        Object.assign(state, { cursor: "0-0", index: "", more: false });
        return [];
    }
    state.index = Number(index) >= 0 ? String(index) : "";
    const messages = scriptEntries(entries);
    if (status === "ok" && Number(missed) !== -1) {
        const before = messages[0]?.id ?? String(next);
        reportGap(options, "trimmed", after, before, Number(missed) >= 0 ? Number(missed) : undefined);
    }
    const last = messages.at(-1);
    if (last) state.cursor = last.id;
    return messages;
}

function decodeEntry(entry: StreamMessage, options: ReadOptions): EnvelopeEntry | undefined {
    const fields = Object.keys(entry.message);
    const data = entry.message.data;
    const decoded = decodeStreamEntry(
        { fields, data: typeof data === "string" ? data : undefined, oversized: entry.oversized },
        { maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES },
    );
    if (!decoded.ok) {
        options.onSkip?.({ id: entry.id, reason: decoded.reason, errors: decoded.errors });
        return undefined;
    }
    return { id: entry.id, envelope: decoded.envelope };
}

