// `crowd-envelope/redis`: publish, read and follow for a node-redis (v4 or
// later) or an ioredis (v5) client, with no dependency on either (the client
// is passed in). Every command goes through the client's raw-command call,
// so both give the same replies. A Redis Cluster client (node-redis
// `createCluster`, ioredis `Cluster`) gets each command routed by its first
// key, the stream; a node-redis `createSentinel` client and an ioredis
// client with `sentinels` follow the master.

import { DEFAULT_MAX_PAYLOAD_BYTES, encodeEnvelope, type CrowdPredictionEnvelope, type FieldError, type SkipReason } from "./api.js";
import { decodeStreamEntry } from "./entry.js";
import { FOLLOW_SCRIPT, RANGE_SCRIPT } from "./scripts.js";

/**
 * The part of a node-redis (v4 or later) client these helpers use. Method
 * syntax keeps the parameters bivariant, so a real client fits as it is.
 */
export interface NodeRedisClientLike {
    sendCommand(args: string[]): Promise<unknown>;
    duplicate(): NodeRedisClientLike;
    connect(): Promise<unknown>;
    on(event: "error", listener: (error: unknown) => void): unknown;
    destroy?(): unknown;
    disconnect?(): Promise<unknown>;
}

/** The part of an ioredis (v5) client these helpers use. */
export interface IoRedisClientLike {
    call(command: string, ...args: string[]): Promise<unknown>;
    duplicate(): IoRedisClientLike;
    connect(): Promise<unknown>;
    /** ioredis's connection state; `"wait"` until a lazy client connects. */
    status: string;
    /** True for an ioredis `Cluster`. */
    isCluster?: boolean;
    on(event: "error", listener: (error: unknown) => void): unknown;
    disconnect(): unknown;
}

/**
 * The part of a node-redis cluster client (`createCluster`, v4 or later)
 * these helpers use: its `sendCommand` takes the key that picks the node.
 */
export interface NodeRedisClusterLike {
    sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
    /** The cluster's masters: how a cluster client is told from a client. */
    readonly masters: readonly unknown[];
    duplicate(): NodeRedisClusterLike;
    connect(): Promise<unknown>;
    on(event: "error", listener: (error: unknown) => void): unknown;
    destroy?(): unknown;
    disconnect?(): Promise<unknown>;
}

/**
 * The part of a node-redis Sentinel client (`createSentinel`, v5) these
 * helpers use: each command runs on a master client leased for it, and a
 * follower holds a lease of its own for its blocking reads, so make the
 * client with `masterPoolSize` 2 or more when you follow.
 */
export interface NodeRedisSentinelLike {
    acquire(): Promise<NodeRedisSentinelLeaseLike>;
    getMasterNode(): unknown;
    on(event: "error", listener: (error: unknown) => void): unknown;
}

/** A master client leased from a node-redis Sentinel client. */
export interface NodeRedisSentinelLeaseLike {
    sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
    release(): unknown;
}

/**
 * A node-redis client, cluster client or Sentinel client, or an ioredis
 * client (`new Redis`, with `sentinels` too) or `Cluster`.
 */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | NodeRedisSentinelLike | IoRedisClientLike;

/**
 * A connection over one master client leased from a node-redis Sentinel
 * client, for a follower's reads; after a failed command the lease is given
 * back and the next command leases anew, from the master the Sentinels
 * name then.
 */
function leased(sentinel: NodeRedisSentinelLike): Connection {
    let lease: NodeRedisSentinelLeaseLike | undefined;
    const giveBack = () => {
        const held = lease;
        lease = undefined;
        if (held) void Promise.resolve(held.release()).catch(() => {});
    };
    // One follower's, one command at a time: no two leases race here.
    return {
        command: async (args) => {
            lease ??= await sentinel.acquire();
            try {
                return await lease.sendCommand(false, args);
            } catch (error) {
                giveBack();
                throw error;
            }
        },
        duplicate: () => leased(sentinel),
        connect: async () => void (lease ??= await sentinel.acquire()),
        onError: (listener) => void sentinel.on("error", listener),
        close: async () => giveBack(),
    };
}

/** The key a command's node is picked by: every command here names the stream. */
function firstKey(args: readonly string[]): string | undefined {
    const [name] = args;
    if (name === "EVAL" || name === "EVALSHA") return args[3];
    if (name === "XREAD" || name === "XREADGROUP") return args[args.indexOf("STREAMS") + 1];
    return args[1];
}

/** One way of talking to either client. */
interface Connection {
    command(args: string[]): Promise<unknown>;
    /**
     * `WAIT replicas timeoutMs` on the connection that wrote to `key`;
     * absent when the client cannot send it there (an ioredis `Cluster`
     * sends a command without a key to any node).
     */
    wait?(replicas: number, timeoutMs: number, key: string): Promise<unknown>;
    duplicate(): Connection;
    connect(): Promise<void>;
    onError(listener: (error: unknown) => void): void;
    close(): Promise<void>;
}

/** The client as a {@link Connection}; a `TypeError` naming the supported clients otherwise. */
function connection(client: RedisClientLike): Connection {
    // ioredis first: it has a sendCommand too, of another shape.
    if (client && typeof (client as IoRedisClientLike).call === "function" && typeof (client as IoRedisClientLike).status === "string") {
        const io = client as IoRedisClientLike;
        return {
            command: ([name, ...args]) => io.call(name ?? "", ...args),
            ...(io.isCluster ? {} : { wait: (replicas: number, timeoutMs: number) => io.call("WAIT", String(replicas), String(timeoutMs)) }),
            duplicate: () => connection(io.duplicate()),
            // A duplicate connects by itself unless the client is lazy.
            connect: async () => void (io.status === "wait" ? await io.connect() : undefined),
            onError: (listener) => void io.on("error", listener),
            close: async () => void io.disconnect(),
        };
    }
    if (client && typeof (client as NodeRedisSentinelLike).acquire === "function" && typeof (client as NodeRedisSentinelLike).getMasterNode === "function") {
        const sentinel = client as NodeRedisSentinelLike;
        return {
            // Each command on a master client leased for it, not through
            // the Sentinel client's shared lease, which a burst of
            // concurrent commands leaks (node-redis 5: its `??= await` is
            // not atomic) until the pool is exhausted and every command
            // waits. No WAIT: the next command's lease may be another client.
            command: async (args) => {
                const lease = await sentinel.acquire();
                try {
                    return await lease.sendCommand(false, args);
                } finally {
                    void Promise.resolve(lease.release()).catch(() => {});
                }
            },
            duplicate: () => leased(sentinel),
            connect: async () => {},
            onError: (listener) => void sentinel.on("error", listener),
            close: async () => {},
        };
    }
    if (client && typeof (client as NodeRedisClusterLike).sendCommand === "function" && Array.isArray((client as NodeRedisClusterLike).masters)) {
        const cluster = client as NodeRedisClusterLike;
        return {
            command: (args) => cluster.sendCommand(firstKey(args), false, args),
            wait: (replicas, timeoutMs, key) => cluster.sendCommand(key, false, ["WAIT", String(replicas), String(timeoutMs)]),
            duplicate: () => connection(cluster.duplicate()),
            connect: async () => void (await cluster.connect()),
            onError: (listener) => void cluster.on("error", listener),
            close: async () => {
                if (typeof cluster.destroy === "function") cluster.destroy();
                else await cluster.disconnect?.();
            },
        };
    }
    if (client && typeof (client as NodeRedisClientLike).sendCommand === "function") {
        const node = client as NodeRedisClientLike;
        return {
            command: (args) => node.sendCommand(args),
            wait: (replicas, timeoutMs) => node.sendCommand(["WAIT", String(replicas), String(timeoutMs)]),
            duplicate: () => connection(node.duplicate()),
            connect: async () => void (await node.connect()),
            onError: (listener) => void node.on("error", listener),
            close: async () => {
                if (typeof node.destroy === "function") node.destroy();
                else await node.disconnect?.();
            },
        };
    }
    throw new TypeError(
        "crowd-envelope/redis needs a node-redis (v4 or later) client, cluster client or Sentinel client, or an ioredis (v5) client or Cluster, " +
            `found ${client === null ? "null" : typeof client === "object" ? "an object without sendCommand or call" : typeof client}`,
    );
}

/** A decoded entry and its stream id. */
export interface EnvelopeEntry {
    id: string;
    envelope: CrowdPredictionEnvelope;
}

/**
 * An entry that was not delivered, and why. For `trimmed` and `stream_reset`
 * the id is the range `after..before` and `missed` says how many entries were
 * lost (absent when Redis cannot tell).
 */
export interface SkippedEntry {
    id: string;
    reason: SkipReason;
    errors: FieldError[];
    missed?: number;
}

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
    const messages = Array.isArray(reply) ? reply.map(([id, fields, size]) => toMessage(String(id), fields, Number(size))) : [];
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
    // A blocking read holds its connection: never block the caller's client.
    const reader = redis.duplicate();
    reader.onError((error) => options.onError?.(error));
    const close = () => void closeQuietly(reader);
    signal?.addEventListener("abort", close, { once: true });
    const state: FollowState = { cursor: options.lastId ?? "$", index: "", more: false };
    try {
        await reader.connect();
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
                await sleep(Math.min(100 * 2 ** failures, 5000), signal); // as the Rust follower
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
    const messages = (entries ?? []).map(([id, fields, size]) => toMessage(String(id), fields, Number(size)));
    if (status === "ok" && Number(missed) !== -1) {
        const before = messages[0]?.id ?? String(next);
        reportGap(options, "trimmed", after, before, Number(missed) >= 0 ? Number(missed) : undefined);
    }
    const last = messages.at(-1);
    if (last) state.cursor = last.id;
    return messages;
}

function reportGap(options: ReadOptions, reason: "trimmed" | "stream_reset", after: string, before: string, missed?: number) {
    const message =
        reason === "stream_reset"
            ? `the stream was made anew (its newest id ${before} is below ${after}): entries after ${after} not yet read are lost; reading the new stream from its start`
            : `${missed === undefined ? "" : `${missed} `}entries after ${after} were trimmed from the stream before they were read`;
    options.onSkip?.({
        id: `${after}..${before}`,
        reason,
        errors: [{ path: "", code: "missing", message }],
        ...(missed === undefined ? {} : { missed }),
    });
}

/** An entry of a raw reply: a payload left in Redis comes as its size. */
function toMessage(id: string, fields: unknown, size: number): StreamMessage {
    const message: Record<string, unknown> = {};
    const flat = Array.isArray(fields) ? fields : [];
    for (let i = 0; i + 1 < flat.length; i += 2) message[String(flat[i])] = String(flat[i + 1]);
    return size > 0 ? { id, message, oversized: size } : { id, message };
}

interface StreamMessage {
    id: string;
    message: Record<string, unknown>;
    /** The size of a `data` field left in Redis for being over the limit. */
    oversized?: number;
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

async function closeQuietly(reader: Connection): Promise<void> {
    try {
        await reader.close();
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
