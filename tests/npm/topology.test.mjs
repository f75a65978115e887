// crowd-envelope/redis on more than one redis-server (tests/topology.py
// starts them): a Redis Cluster of 3 masters and 3 replicas reached
// through a node that does not own the stream's slot, with node-redis v5
// `createCluster` and ioredis `Cluster` (follow, publish, consumeGroup); and a master with a replica
// behind 3 Sentinels, with ioredis `sentinels` and node-redis
// `createSentinel`. A follower goes on across `kill -9` of the stream's
// master, every entry once and in order; on a cluster with ioredis only:
// node-redis's cluster client learns a new topology only from a MOVED
// reply (redis/node-redis#2806), so after its node dies its commands wait
// for that node to come back.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { buildEnvelope } from "crowd-envelope";
import { NotReplicatedError, consumeGroup, deadLetterKey, followEnvelopes, publishEnvelope, publishEnvelopes, readEnvelopes } from "crowd-envelope/redis";
import * as redis5 from "redis";
import { Cluster, Redis as IoRedis } from "ioredis";
import { PREDICTIONS } from "./helpers.mjs";
import { killOnExit } from "./redis-server.mjs";

const STREAM = "maf:arena:crowd_simulation:output";
const envelope = (n) => buildEnvelope(PREDICTIONS.fomo2_report, { correlationId: `c-${n}` });

/** tests/topology.py `kind`: where its processes are; it stops them when the test ends. */
async function topology(t, kind) {
    const child = killOnExit(spawn("python3", [join(process.env.CROWD_REPO, "tests/topology.py"), kind], { stdio: ["pipe", "pipe", "inherit"] }));
    t.after(() => child.stdin.end());
    const [line] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value]);
    assert.ok(line, `tests/topology.py ${kind} started`);
    return JSON.parse(line);
}

/** Polls `ready` every 100 ms for up to `seconds`. */
async function until(seconds, what, ready) {
    const deadline = Date.now() + seconds * 1000;
    while (!(await ready())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** A follower from the stream's start, collecting correlation ids. */
function follow(client, signal) {
    const seen = [];
    const done = (async () => {
        for await (const entry of followEnvelopes(client, STREAM, { lastId: "0", blockMs: 200, signal, onError: () => {} })) {
            seen.push(entry.envelope.correlation_id);
        }
    })();
    return { seen, done };
}

/** Publishes `n` with retries while the cluster or Sentinels fail over. */
async function publishThrough(client, n) {
    for (let attempt = 0; ; attempt++) {
        try {
            return await publishEnvelope(client, STREAM, envelope(n));
        } catch (error) {
            if (attempt > 100) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }
}

/**
 * A follower of the three entries there; `kill -9` of `pid` (the stream's
 * master); three more published: the follower has all six, once each, in
 * order, and ends when `signal` aborts.
 */
async function followAcrossAKill(client, pid, signal) {
    const follower = follow(client, signal);
    await until(30, "the first three", () => follower.seen.length >= 3);
    process.kill(pid, "SIGKILL");
    for (let n = 3; n < 6; n++) await publishThrough(client, n);
    await until(60, "all six after the failover", () => follower.seen.length >= 6);
    assert.deepEqual(follower.seen, [0, 1, 2, 3, 4, 5].map((n) => `c-${n}`), "once each, in order");
}

const CLUSTER_CLIENTS = [
    [
        "node-redis v5 createCluster",
        { failover: false },
        async (port) => {
            const cluster = redis5.createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }] });
            cluster.on("error", () => {});
            await cluster.connect();
            return { client: cluster, close: () => cluster.destroy() };
        },
    ],
    [
        "ioredis Cluster",
        { failover: true },
        async (port) => {
            const cluster = new Cluster([{ host: "127.0.0.1", port }]);
            cluster.on("error", () => {});
            return { client: cluster, close: () => cluster.disconnect() };
        },
    ],
];

for (const [name, { failover }, open] of CLUSTER_CLIENTS) {
    test(`a Redis Cluster with ${name}`, async (t) => {
        const where = await topology(t, "cluster");
        const { client, close } = await open(where.other.port);
        const abort = new AbortController();
        t.after(() => {
            abort.abort();
            close();
        });
        const ids = await publishEnvelopes(client, STREAM, [0, 1, 2].map(envelope));
        assert.equal(ids.length, 3);
        // WAIT on the connection that wrote, the stream's master's; an
        // ioredis Cluster cannot send it there, and says so before adding.
        const safe = { waitReplicas: 1, waitTimeoutMs: 3000 };
        if (failover) {
            await assert.rejects(publishEnvelope(client, STREAM, envelope(9), safe), { name: "TypeError", message: /waitReplicas needs the connection that wrote/ });
            assert.equal(await client.xlen(STREAM), 3, "refused before anything was added");
        } else {
            const id = await publishEnvelope(client, STREAM, envelope(9), safe);
            await assert.rejects(publishEnvelope(client, STREAM, envelope(9), { waitReplicas: 2, waitTimeoutMs: 200 }), (error) =>
                error instanceof NotReplicatedError && error.replicas === 1 && error.wanted === 2 && error.ids.length === 1);
            await client.sendCommand(STREAM, false, ["XDEL", STREAM, id, ...(await readEnvelopes(client, STREAM, 1)).map((e) => e.id)]);
        }
        const newest = await readEnvelopes(client, STREAM, 10);
        assert.deepEqual(newest.map((e) => e.id), [...ids].reverse());
        const follower = follow(client, abort.signal);
        await until(30, "the first three", () => follower.seen.length >= 3);
        await publishEnvelopes(client, STREAM, [3].map(envelope));
        await until(30, "one more, waited for", () => follower.seen.length >= 4);
        // A group consumer: its scripts touch the stream, its dead letters
        // and attempt counts together, which share the stream's slot.
        const raw = (args) => (failover ? client.call(...args) : client.sendCommand(args[1], false, args));
        await raw(["XADD", STREAM, "*", "data", "{bad"]);
        const handled = [];
        let failures = 0;
        const stats = await consumeGroup(
            client,
            STREAM,
            (entry) => {
                if (entry.envelope.correlation_id === "c-0" && failures++ === 0) throw new Error("once");
                handled.push(entry.envelope.correlation_id);
            },
            { group: "bots", consumer: "c", startId: "0", limit: 5, retryDelayMs: 10, blockMs: 100 },
        );
        assert.deepEqual(handled, ["c-1", "c-2", "c-3", "c-0"], "the failed one retried after the rest of its batch");
        assert.deepEqual([stats.handled, stats.failed, stats.deadLettered], [4, 1, { invalid_json: 1 }]);
        assert.equal(await raw(["XLEN", deadLetterKey(STREAM)]), 1);
        assert.deepEqual(await raw(["XPENDING", STREAM, "bots", "-", "+", "10"]), []);
        if (failover) {
            process.kill(where.owner.pid, "SIGKILL");
            for (let n = 4; n < 6; n++) await publishThrough(client, n);
            await until(60, "all six after the failover", () => follower.seen.length >= 6);
        }
        const expected = failover ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3];
        assert.deepEqual(follower.seen, expected.map((n) => `c-${n}`), "once each, in order");
        abort.abort();
        await follower.done;
    });
}

test("Sentinels with node-redis createSentinel: a follower moves to the promoted replica", async (t) => {
    const where = await topology(t, "sentinel");
    // Two master clients: the follower leases one for its blocking reads.
    const client = redis5.createSentinel({
        name: where.name,
        sentinelRootNodes: where.sentinels.map((port) => ({ host: "127.0.0.1", port })),
        masterPoolSize: 2,
    });
    client.on("error", () => {});
    await client.connect();
    const abort = new AbortController();
    t.after(() => {
        abort.abort();
        client.destroy();
    });
    // Its commands each lease a client: a WAIT could land on another one.
    await assert.rejects(publishEnvelope(client, STREAM, envelope(9), { waitReplicas: 1 }), {
        name: "TypeError",
        message: /waitReplicas needs the connection that wrote/,
    });
    // A burst (node-redis's own shared lease leaks under one, issue in redis.ts).
    await publishEnvelopes(client, STREAM, [0, 1, 2].map(envelope));
    await followAcrossAKill(client, where.master.pid, abort.signal);
    assert.equal((await readEnvelopes(client, STREAM, 10)).length, 6);
});

test("Sentinels with ioredis: a follower moves to the promoted replica", async (t) => {
    const where = await topology(t, "sentinel");
    const client = new IoRedis({ sentinels: where.sentinels.map((port) => ({ host: "127.0.0.1", port })), name: where.name });
    client.on("error", () => {});
    const abort = new AbortController();
    t.after(() => {
        abort.abort();
        client.disconnect();
    });
    await publishEnvelopes(client, STREAM, [0, 1, 2].map(envelope), { waitReplicas: 1, waitTimeoutMs: 3000 });
    await assert.rejects(publishEnvelopes(client, STREAM, [envelope(9)], { waitReplicas: 2, waitTimeoutMs: 200 }), (error) =>
        error instanceof NotReplicatedError && error.replicas === 1 && /but 1 of the 2 replica\(s\)/.test(error.message));
    await client.call("XDEL", STREAM, (await readEnvelopes(client, STREAM, 1))[0].id);
    await followAcrossAKill(client, where.master.pid, abort.signal);
    // On the promoted replica.
    const direct = new IoRedis(where.replica.port, "127.0.0.1");
    t.after(() => direct.disconnect());
    assert.equal(await direct.xlen(STREAM), 6);
});
