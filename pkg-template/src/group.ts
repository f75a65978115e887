// Consumer groups for npm: Rust's `GroupConsumer` (src/redis/group/) over a
// node-redis or ioredis client, running the same Lua scripts, so an entry's
// fate is decided in Redis, atomically, and only while it is still pending
// with this consumer, whichever language each consumer of a group is
// written in. A batch is read in one call, handled in order (up to
// `concurrency` at once), and settled in one call.

import { DEFAULT_MAX_PAYLOAD_BYTES, type FieldError, type SkipReason } from "./api.js";
import { decodeStreamEntry } from "./entry.js";
import { GROUP_CLAIM_SCRIPT, GROUP_CREATE_SCRIPT, GROUP_READ_SCRIPT, GROUP_SETTLE_SCRIPT, GROUP_TAKE_SCRIPT } from "./scripts.js";
import {
    backoffMs,
    closeQuietly,
    connection,
    reportGap,
    scriptEntries,
    sleep,
    type Connection,
    type EnvelopeEntry,
    type ReadOptions,
    type RedisClientLike,
    type StreamMessage,
} from "./transport.js";

/** Options of {@link consumeGroup}; the defaults are Rust's `GroupOptions::new`. */
export interface GroupOptions extends ReadOptions {
    /** The consumer group; made (with the stream) if missing. */
    group: string;
    /** This consumer's name, unique within the group. */
    consumer: string;
    /** Where a newly made group starts: `$` (default: new entries only), `0`, or an entry id. */
    startId?: string;
    /** How long one wait for new entries blocks, in ms; default 5000. */
    blockMs?: number;
    /** Entries per read; default 100. */
    count?: number;
    /**
     * How many handlers run at once (default 1), for handlers that wait on
     * I/O. Entries start in stream order; with more than one they may
     * finish, and be acknowledged, in any order.
     */
    concurrency?: number;
    /**
     * Entries pending this long with another consumer (a dead one) are
     * claimed, in ms; default 30000. A batch in hand is renewed every half
     * of it, so no other consumer claims it meanwhile.
     */
    claimIdleMs?: number;
    /** Handler attempts after which an entry is dead-lettered; default 5. */
    maxDeliveries?: number;
    /** The wait before the first retry of a failed entry, in ms (default 1000), doubling up to `claimIdleMs`. */
    retryDelayMs?: number;
    /** Stop after this many entries handled or dead-lettered, having fetched no more. */
    limit?: number;
    /** Copy a payload over `maxPayloadBytes` into its dead letter, inside Redis. */
    copyOversized?: boolean;
    /** Ends the consumer: no entry starts after it; those running finish and are settled. */
    signal?: AbortSignal;
    /** Told of each failed round before it is retried (a lost connection, say). */
    onError?: (error: unknown) => void;
}

/** What {@link consumeGroup} did (Rust's `GroupStats`). */
export interface GroupStats {
    /** Entries whose handler succeeded, and were acknowledged. */
    handled: number;
    /** Handler failures (each a retry later, or a dead letter at the last attempt). */
    failed: number;
    /** Entries claimed from idle consumers. */
    claimed: number;
    /** Entries written to the dead-letter stream, by reason. */
    deadLettered: Partial<Record<SkipReason, number>>;
    /** Entries trimmed from the stream before the group read them (each gap told to `onSkip`). */
    trimmed: number;
}

/** What the handler is given; a throw or a rejection is a failed attempt. */
export type GroupHandler = (entry: EnvelopeEntry) => unknown;

/**
 * The dead-letter stream of `stream` (Rust's `dead_letter_key`):
 * `{stream}:dead`, or `stream:dead` for a name with a hash tag of its own,
 * so it shares the stream's cluster slot. A name with a `}` and no hash
 * tag, or empty, is refused with a `TypeError`.
 */
export function deadLetterKey(stream: string): string {
    return beside(stream, ":dead");
}

/** The hash of a group's attempt counts (Rust's `attempts_key`), in the stream's slot. */
export function attemptsKey(stream: string, group: string): string {
    return beside(stream, `:attempts:${group}`);
}

function beside(stream: string, suffix: string): string {
    const open = stream.indexOf("{");
    const close = open < 0 ? -1 : stream.indexOf("}", open + 1);
    if (close > open + 1) return stream + suffix;
    if (stream !== "" && !stream.includes("}")) return `{${stream}}${suffix}`;
    throw new TypeError(
        `invalid stream name ${JSON.stringify(stream)}: expected a name without \`}\`, or with a hash tag (\`{…}\`, not empty): no other name has keys beside it in its cluster slot`,
    );
}

const STREAM_ID = /^(\$|0|\d+-\d+|\d+)$/;

/** What becomes of one entry, as settle.lua takes it. */
type Settle = { id: string; action: "ack" } | { id: string; action: "fail" } | { id: string; action: "bury"; reason: SkipReason; copy: boolean; fields: string[] };

/**
 * Consumes `stream` as `consumer` of `group`, delivering each entry at least
 * once, until `signal` aborts or `limit` entries are done; gives the counts.
 *
 * An entry is acknowledged only after its handler succeeds. A failed entry
 * is retried with doubling delays (its attempt count kept in Redis, in
 * {@link attemptsKey}), and after `maxDeliveries` attempts written to
 * {@link deadLetterKey} and acknowledged, atomically; an entry that does not
 * decode goes there at once. Its own pending entries come first, after a
 * start or a lost connection; entries idle with a dead consumer are
 * claimed. Lost connections are retried with backoff (told to `onError`).
 */
export async function consumeGroup(client: RedisClientLike, stream: string, handler: GroupHandler, options: GroupOptions): Promise<GroupStats> {
    const consumer = new Consumer(connection(client), stream, handler, options);
    return consumer.run();
}

class Consumer {
    readonly stats: GroupStats = { handled: 0, failed: 0, claimed: 0, deadLettered: {}, trimmed: 0 };
    private readonly dead: string;
    private readonly attempts: string;
    private readonly count: number;
    private readonly claimIdle: number;
    private readonly limit: string;
    private conn: Connection | undefined;
    private waiter: Connection | undefined;
    private ownPending = true;
    private nextRetry: number | undefined;
    private lastClaim: number | undefined;
    private unsettled: Settle[] = [];
    private readAhead: StreamMessage[] = [];

    constructor(
        private readonly redis: Connection,
        private readonly stream: string,
        private readonly handler: GroupHandler,
        private readonly options: GroupOptions,
    ) {
        this.dead = deadLetterKey(stream);
        this.attempts = attemptsKey(stream, options.group);
        const startId = options.startId ?? "$";
        if (!STREAM_ID.test(startId)) throw new TypeError(`invalid startId ${JSON.stringify(startId)}: expected $, 0 or an entry id`);
        this.count = Math.max(1, options.count ?? 100);
        this.claimIdle = options.claimIdleMs ?? 30_000;
        this.limit = String(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    }

    async run(): Promise<GroupStats> {
        const { signal } = this.options;
        const abort = () => void (this.waiter && closeQuietly(this.waiter));
        signal?.addEventListener("abort", abort, { once: true });
        let failures = 0;
        try {
            while (!signal?.aborted && this.remaining() > 0) {
                try {
                    await this.round();
                    failures = 0;
                } catch (error) {
                    if (signal?.aborted) break;
                    if (!retryable(error)) throw error;
                    this.options.onError?.(error);
                    await this.dropConnection();
                    await sleep(backoffMs(failures), signal);
                    failures += 1;
                }
            }
            // Stopped mid-batch: what was handled is acknowledged before it goes.
            if (this.conn && this.unsettled.length > 0) await this.send().catch((error) => this.options.onError?.(error));
            return this.stats;
        } finally {
            signal?.removeEventListener("abort", abort);
            await this.dropConnection();
        }
    }

    /** After an error: what this consumer fetched and did not finish is pending with it, handled first. */
    private async dropConnection(): Promise<void> {
        const [conn, waiter] = [this.conn, this.waiter];
        this.conn = this.waiter = undefined;
        this.ownPending = true;
        this.nextRetry = undefined;
        this.readAhead = [];
        if (conn) await closeQuietly(conn);
        if (waiter) await closeQuietly(waiter);
    }

    private async connect(): Promise<Connection> {
        if (this.conn) return this.conn;
        // Its own connections: a batch pipelines on one, the wait blocks the other.
        const conn = this.redis.duplicate();
        const waiter = this.redis.duplicate();
        conn.onError(() => {});
        waiter.onError(() => {});
        this.conn = conn;
        this.waiter = waiter;
        await conn.connect();
        await waiter.connect();
        await this.script(GROUP_CREATE_SCRIPT, [this.stream], [this.options.group, this.options.startId ?? "$"]);
        return conn;
    }

    private async script(script: string, keys: string[], args: string[]): Promise<unknown> {
        const conn = this.conn ?? (await this.connect());
        return conn.command(["EVAL", script, String(keys.length), ...keys, ...args]);
    }

    /** One round, as Rust's `poll`: its own due entries, then idle ones to claim, then new ones. */
    private async round(): Promise<void> {
        await this.connect();
        await this.send();
        while (this.wantsMore() && this.ownPending && (this.nextRetry === undefined || this.nextRetry <= Date.now())) {
            const due = await this.dueOwnEntries();
            if (due.length === 0) break;
            await this.process(await this.take(due));
        }
        if (this.wantsMore() && (this.lastClaim === undefined || Date.now() - this.lastClaim >= this.claimIdle / 2)) {
            const claimed = await this.claim();
            this.stats.claimed += claimed.length;
            await this.process(claimed);
            this.lastClaim = Date.now();
        }
        if (this.wantsMore()) await this.handleNew();
    }

    /** New entries; a full batch means more wait, so the next is read while this one is handled. */
    private async handleNew(): Promise<void> {
        const wanted = this.remaining();
        let entries = this.readAhead;
        this.readAhead = [];
        if (entries.length === 0) {
            const { entries: read, after } = await this.read(wanted);
            if (read.length === 0) return this.waitForMore(after);
            entries = read;
        }
        const next = this.remaining(entries.length);
        if (entries.length < wanted || next === 0 || this.options.signal?.aborted) return this.process(entries);
        const started = Date.now();
        const ahead = this.read(next);
        ahead.catch(() => {}); // awaited below; an error then ends the round
        await this.process(entries);
        let { entries: more } = await ahead;
        if (more.length > 0 && Date.now() - started >= this.claimIdle / 2) {
            const kept = await this.renew(more.map((e) => e.id));
            more = more.filter((e) => kept.has(e.id));
        }
        this.readAhead = more;
    }

    /** `read.lua`: up to `count` new entries; entries trimmed before the group read them are told as a gap. */
    private async read(count: number): Promise<{ entries: StreamMessage[]; after: string }> {
        const reply = await this.script(GROUP_READ_SCRIPT, [this.stream], [this.options.group, this.options.consumer, String(count), this.limit]);
        const [raw, missed, after, before] = reply as [unknown, number, string, string];
        const entries = scriptEntries(raw);
        if (Number(missed) > 0) {
            this.stats.trimmed += Number(missed);
            reportGap(this.options, "trimmed", String(after), entries[0]?.id ?? String(before), Number(missed));
        }
        return { entries, after: String(after) };
    }

    /** Blocks until an entry after `after` arrives, up to `blockMs` or until a retry is due. */
    private async waitForMore(after: string): Promise<void> {
        const block = this.options.blockMs ?? 5000;
        const untilRetry = this.ownPending && this.nextRetry !== undefined ? this.nextRetry - Date.now() : block;
        const ms = Math.max(1, Math.min(block, untilRetry));
        const waiter = this.waiter;
        if (!waiter || this.options.signal?.aborted) return;
        await waiter.command(["XREAD", "COUNT", "1", "BLOCK", String(ms), "STREAMS", this.stream, after]);
    }

    /** Its own pending entries whose turn has come: never tried, or failed and waited long enough. */
    private async dueOwnEntries(): Promise<string[]> {
        const conn = await this.connect();
        const ahead = new Set(this.readAhead.map((e) => e.id));
        const reply = (await conn.command(["XPENDING", this.stream, this.options.group, "-", "+", String(this.count + ahead.size), this.options.consumer])) as unknown[][];
        this.nextRetry = undefined;
        const listed = (reply ?? []).filter(([id]) => !ahead.has(String(id)));
        if (listed.length === 0) {
            this.ownPending = false;
            return [];
        }
        const counts = (await conn.command(["HMGET", this.attempts, ...listed.map(([id]) => String(id))])) as (string | null)[];
        const now = Date.now();
        const due: string[] = [];
        listed.forEach(([id, , idle], i) => {
            const wait = this.retryAfter(Number(counts[i] ?? 0)) - Number(idle);
            if (wait <= 0 && due.length < this.remaining()) due.push(String(id));
            else this.nextRetry = Math.min(this.nextRetry ?? Infinity, now + Math.max(wait, 0));
        });
        return due;
    }

    /** Rust's `GroupOptions::retry_after`: none before the first attempt, then doubling up to `claimIdleMs`. */
    private retryAfter(attempts: number): number {
        if (attempts <= 0) return 0;
        return Math.min((this.options.retryDelayMs ?? 1000) * 2 ** (attempts - 1), this.claimIdle);
    }

    /** `take.lua` "data": its own entries `ids`, fetched for a retry; those claimed by another meanwhile are left out. */
    private async take(ids: string[]): Promise<StreamMessage[]> {
        return scriptEntries(await this.runTake("data", ids));
    }

    /** `take.lua` "lease": renews its own entries `ids`; gives those still its own. */
    private async renew(ids: string[]): Promise<Set<string>> {
        const kept = await this.runTake("lease", ids);
        return new Set((Array.isArray(kept) ? kept : []).map(String));
    }

    /** `take.lua`; entries deleted from the stream while pending are dead-lettered there. */
    private async runTake(mode: "data" | "lease", ids: string[]): Promise<unknown> {
        const args = [this.options.group, this.options.consumer, mode, DELETED_ERRORS, this.limit, ...ids];
        const [taken, deleted] = (await this.script(GROUP_TAKE_SCRIPT, [this.stream, this.dead, this.attempts], args)) as [unknown, unknown[]];
        this.countDeleted(deleted);
        return taken;
    }

    /** `claim.lua`: entries idle long enough with another consumer. */
    private async claim(): Promise<StreamMessage[]> {
        const args = [this.options.group, this.options.consumer, String(this.claimIdle), String(Math.max(1, this.remaining())), this.limit, DELETED_ERRORS];
        const [claimed, deleted] = (await this.script(GROUP_CLAIM_SCRIPT, [this.stream, this.dead, this.attempts], args)) as [unknown, unknown[]];
        this.countDeleted(deleted);
        return scriptEntries(claimed);
    }

    private countDeleted(deleted: unknown): void {
        const count = Array.isArray(deleted) ? deleted.length : 0;
        if (count > 0) this.stats.deadLettered.deleted = (this.stats.deadLettered.deleted ?? 0) + count;
    }

    /**
     * Handles a batch: entries start in order, up to `concurrency` at once,
     * none after the signal or the limit; what is left is renewed every
     * `claimIdleMs / 2`. Ends with the batch settled in Redis.
     */
    private async process(entries: StreamMessage[]): Promise<void> {
        const width = Math.max(1, this.options.concurrency ?? 1);
        const finished: { entry: StreamMessage; failed: boolean; error: unknown }[] = [];
        const running = new Set<string>();
        let wake: (() => void) | undefined;
        const notify = () => {
            const resume = wake;
            wake = undefined;
            resume?.();
        };
        let leaseDue = false;
        const lease = setInterval(() => ((leaseDue = true), notify()), Math.max(10, this.claimIdle / 2));
        let next = 0;
        try {
            for (;;) {
                while (running.size < width && next < entries.length && this.mayStart()) {
                    const entry = entries[next++] as StreamMessage;
                    const decoded = decodeStreamEntry(
                        { fields: Object.keys(entry.message), data: entry.message.data as string | undefined, oversized: entry.oversized },
                        { maxPayloadBytes: Number(this.limit) },
                    );
                    if (!decoded.ok) {
                        this.bury(entry, decoded.reason, decoded.errors);
                        continue;
                    }
                    running.add(entry.id);
                    const done = (failed: boolean, error?: unknown) => {
                        finished.push({ entry, failed, error });
                        notify();
                    };
                    try {
                        Promise.resolve(this.handler({ id: entry.id, envelope: decoded.envelope })).then(() => done(false), (error) => done(true, error));
                    } catch (error) {
                        done(true, error);
                    }
                }
                if (running.size === 0 && finished.length === 0) break;
                if (finished.length === 0 && !leaseDue) await new Promise<void>((resolve) => (wake = resolve));
                for (let outcome = finished.shift(); outcome; outcome = finished.shift()) {
                    running.delete(outcome.entry.id);
                    await this.settleOutcome(outcome.entry, outcome.failed, outcome.error);
                }
                if (leaseDue) {
                    leaseDue = false;
                    await this.send();
                    const left = [...running, ...entries.slice(next).map((e) => e.id)];
                    if (left.length > 0) {
                        const kept = await this.renew(left);
                        entries = [...entries.slice(0, next), ...entries.slice(next).filter((e) => kept.has(e.id))];
                    }
                }
            }
        } finally {
            clearInterval(lease);
        }
        await this.send();
    }

    private mayStart(): boolean {
        return !this.options.signal?.aborted && (this.options.limit === undefined || this.done() < this.options.limit);
    }

    /** A success queues the acknowledgement; a failure is counted in Redis at once (its count decides). */
    private async settleOutcome(entry: StreamMessage, failed: boolean, error: unknown): Promise<void> {
        if (!failed) {
            this.stats.handled += 1;
            this.unsettled.push({ id: entry.id, action: "ack" });
            return;
        }
        this.stats.failed += 1;
        this.unsettled.push({ id: entry.id, action: "fail" });
        const attempts = await this.send();
        if (attempts === undefined || attempts < 0) return; // another consumer has it now
        if (attempts >= (this.options.maxDeliveries ?? 5)) {
            const message = `handler failed ${attempts} times, last: ${error instanceof Error ? error.message : String(error)}`;
            this.bury(entry, "handler_failed", [{ path: "", code: "handler_failed", message }]);
            return;
        }
        this.ownPending = true;
        this.nextRetry = Math.min(this.nextRetry ?? Infinity, Date.now() + this.retryAfter(attempts));
    }

    /**
     * Queues a dead letter, acknowledged with it. The payload is copied
     * inside Redis (byte for byte, as the Rust consumer writes it), and one
     * over the size limit only with `copyOversized`.
     */
    private bury(entry: StreamMessage, reason: SkipReason, errors: FieldError[]): void {
        const copy = entry.oversized === undefined ? "data" in entry.message : this.options.copyOversized === true;
        const fields = ["reason", reason, "errors", JSON.stringify(errors), "id", entry.id, "group", this.options.group, "consumer", this.options.consumer];
        if (entry.oversized !== undefined) fields.push("size", String(entry.oversized));
        this.unsettled.push({ id: entry.id, action: "bury", reason, copy, fields });
    }

    /**
     * `settle.lua` on the queue in one call, acknowledgements first; gives
     * the result of the last other entry. When the call fails the queue is
     * kept, and sent first after the reconnect.
     */
    private async send(): Promise<number | undefined> {
        if (this.unsettled.length === 0) return undefined;
        const acks = this.unsettled.filter((s) => s.action === "ack");
        const others = this.unsettled.filter((s) => s.action !== "ack");
        const args = [this.options.group, this.options.consumer, String(acks.length), ...acks.map((s) => s.id)];
        for (const settle of others) {
            if (settle.action === "bury") args.push(settle.id, "bury", settle.copy ? "copy" : "", String(settle.fields.length), ...settle.fields);
            else args.push(settle.id, "fail", "", "0");
        }
        const reply = (await this.script(GROUP_SETTLE_SCRIPT, [this.stream, this.dead, this.attempts], args)) as [unknown, unknown];
        const results = Array.isArray(reply?.[1]) ? reply[1].map(Number) : [];
        if (results.length !== others.length) throw new Error(`settle.lua gave ${results.length} results for ${others.length} entries`);
        this.unsettled = [];
        others.forEach((settle, i) => {
            if (settle.action === "bury" && (results[i] ?? -1) >= 0) {
                this.stats.deadLettered[settle.reason] = (this.stats.deadLettered[settle.reason] ?? 0) + 1;
                this.options.onSkip?.({ id: settle.id, reason: settle.reason, errors: JSON.parse(settle.fields[3] ?? "[]") as FieldError[] });
            }
        });
        return results.at(-1);
    }

    /** Entries handled or dead-lettered so far. */
    private done(): number {
        return this.stats.handled + Object.values(this.stats.deadLettered).reduce((sum, n) => sum + (n ?? 0), 0);
    }

    /** How many more this consumer may fetch: its batch size, or less near its `limit`. */
    private remaining(fetched = 0): number {
        if (this.options.limit === undefined) return this.count;
        return Math.max(0, Math.min(this.count, this.options.limit - this.done() - fetched));
    }

    private wantsMore(): boolean {
        return this.remaining() > 0 && !this.options.signal?.aborted;
    }
}

/** The `errors` of a dead letter for an entry deleted while pending (Rust's `deleted_errors`). */
const DELETED_ERRORS = JSON.stringify([{ path: "", code: "missing", message: "the entry was deleted from the stream before it was handled" }]);

/** What retrying cannot fix: a key that is not a stream, a script Redis refuses. */
function retryable(error: unknown): boolean {
    const message = error instanceof Error ? error.message : String(error);
    return !/^(WRONGTYPE|ERR Error compiling|ERR user_script|NOPERM)/.test(message);
}
