// What every helper of `crowd-envelope/redis` shares: one way of talking to
// any supported client (node-redis client, cluster or Sentinel client;
// ioredis client or Cluster), with no dependency on either, and the
// entries as the scripts give them (src/redis/bounded.lua).

import type { CrowdPredictionEnvelope, FieldError, SkipReason } from "./api.js";

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
export interface Connection {
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
export function connection(client: RedisClientLike): Connection {
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

/** Options of {@link readEnvelopes}. */
export interface ReadOptions {
    /** Told of every entry that is skipped (the seed only logged them). */
    onSkip?: (skipped: SkippedEntry) => void;
    /** Size limit per payload; default {@link DEFAULT_MAX_PAYLOAD_BYTES}. */
    maxPayloadBytes?: number;
}

export function reportGap(options: ReadOptions, reason: "trimmed" | "stream_reset", after: string, before: string, missed?: number) {
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

/** A script's `{id, fields, size}` entries (src/redis/bounded.lua), as messages. */
export function scriptEntries(raw: unknown): StreamMessage[] {
    return (Array.isArray(raw) ? raw : []).map(([id, fields, size]: unknown[]) => toMessage(String(id), fields, Number(size)));
}

/** An entry of a raw reply: a payload left in Redis comes as its size. */
export function toMessage(id: string, fields: unknown, size: number): StreamMessage {
    const message: Record<string, unknown> = {};
    const flat = Array.isArray(fields) ? fields : [];
    for (let i = 0; i + 1 < flat.length; i += 2) message[String(flat[i])] = String(flat[i + 1]);
    return size > 0 ? { id, message, oversized: size } : { id, message };
}

export interface StreamMessage {
    id: string;
    message: Record<string, unknown>;
    /** The size of a `data` field left in Redis for being over the limit. */
    oversized?: number;
}

export async function closeQuietly(reader: Connection): Promise<void> {
    try {
        await reader.close();
    } catch {
        // Already closed.
    }
}

/**
 * The id to follow after for every entry of `stream` added at or after
 * `since` (Rust's `cursor_at`): just before its millisecond, or `0-0` when
 * the stream's first entry is not older (so a time before the stream starts
 * at its first entry, with no gap told). A time in the future is refused
 * with a `RangeError`: no entry was added then yet.
 */
export async function cursorAt(redis: Connection, stream: string, since: Date | number): Promise<string> {
    const ms = since instanceof Date ? since.getTime() : since;
    if (typeof ms !== "number" || !Number.isFinite(ms)) {
        throw new TypeError(`since: expected a Date or milliseconds since the epoch, found ${String(since)}`);
    }
    if (ms > Date.now()) throw new RangeError(`since: ${new Date(ms).toISOString()} is in the future: no entry was added then yet`);
    const reply = await redis.command(["XRANGE", stream, "-", "+", "COUNT", "1"]);
    const first = Array.isArray(reply) && Array.isArray(reply[0]) ? Number(String(reply[0][0]).split("-")[0]) : undefined;
    const whole = Math.max(0, Math.floor(ms));
    return first !== undefined && first < whole ? `${whole - 1}-18446744073709551615` : "0-0";
}

/** Rust's reconnect backoff (`BACKOFF` in src/redis/mod.rs): 100 ms, doubling, at most 5 s. */
export const BACKOFF_MS = [100, 5000] as const;

/** The wait before a retry after `failures` failed attempts in a row. */
export function backoffMs(failures: number): number {
    return Math.min(BACKOFF_MS[0] * 2 ** failures, BACKOFF_MS[1]);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
