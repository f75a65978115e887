// crowd-envelope/redis against a real redis-server, with node-redis v5 and
// v4 and with ioredis v5: the same tests for each.
import test from "node:test";
import assert from "node:assert/strict";
import { buildEnvelope, encodeEnvelope } from "crowd-envelope";
import { PUBLISH_WINDOW, followEnvelopes, publishEnvelope, publishEnvelopes, readEnvelopes } from "crowd-envelope/redis";
import { IOREDIS, NODE_REDIS_4, NODE_REDIS_5 } from "./clients.mjs";
import { PREDICTIONS } from "./helpers.mjs";
import { RedisServer } from "./redis-server.mjs";

const STREAM = "maf:arena:crowd_simulation:output";
const envelope = (n) => buildEnvelope(PREDICTIONS.fomo2_report, { correlationId: `c-${n}` });

const CLIENTS = [NODE_REDIS_5, NODE_REDIS_4, IOREDIS];

test("a client that is neither node-redis nor ioredis is named in the error", async () => {
    await assert.rejects(readEnvelopes({ xRevRange() {} }, STREAM, 1), {
        name: "TypeError",
        message: /needs a node-redis \(v4 or later\) client, cluster client or Sentinel client, or an ioredis \(v5\) client or Cluster, found an object without sendCommand or call/,
    });
});

for (const [name, kind] of CLIENTS) {
    test(`crowd-envelope/redis with ${name}`, async (t) => {
        const server = await RedisServer.start();
        const client = await kind.open(server.url);
        const raw = (...args) => kind.raw(client, args.map(String));
        const rangeIds = async (stream) => (await raw("XRANGE", stream, "-", "+")).map(([id]) => id);
        t.after(async () => {
            await kind.close(client);
            await server.stop();
        });

        await t.test("publish writes one data field and gives the id; read is newest first", async () => {
            const ids = [];
            for (let n = 0; n < 5; n++) ids.push(await publishEnvelope(client, STREAM, envelope(n)));
            assert.match(ids[0], /^\d+-\d+$/);
            const [[, fields]] = await raw("XRANGE", STREAM, ids[0], ids[0]);
            assert.equal(fields.length, 2);
            assert.equal(fields[0], "data");
            assert.equal(JSON.parse(fields[1]).correlation_id, "c-0");
            assert.equal(encodeEnvelope(JSON.parse(fields[1])), fields[1], "the canonical encoding");
            const latest = await readEnvelopes(client, STREAM, 3);
            assert.deepEqual(latest.map((e) => e.id), [ids[4], ids[3], ids[2]]);
            assert.deepEqual(latest.map((e) => e.envelope.correlation_id), ["c-4", "c-3", "c-2"]);
        });

        await t.test("follow from a time: the entries added since; before the first entry, all; the future refused", async () => {
            const now = Date.now();
            for (const [question, ago] of [["3h", 3 * 3_600_000], ["90m", 90 * 60_000], ["10m", 10 * 60_000]]) {
                const built = buildEnvelope({ ...PREDICTIONS.fomo2_report, question });
                await raw("XADD", "since", `${now - ago}-0`, "data", encodeEnvelope(built));
            }
            const read = async (since) => {
                const controller = new AbortController();
                const seen = [];
                const skipped = [];
                for await (const entry of followEnvelopes(client, "since", { since, blockMs: 100, signal: controller.signal, onSkip: (s) => skipped.push(s) })) {
                    seen.push(entry.envelope.prediction.question);
                    if (entry.envelope.prediction.question === "10m") controller.abort();
                }
                return { seen, skipped };
            };
            assert.deepEqual((await read(new Date(now - 2 * 3_600_000))).seen, ["90m", "10m"]);
            assert.deepEqual((await read(now - 100 * 60_000)).seen, ["90m", "10m"]);
            assert.deepEqual(await read(now - 86_400_000), { seen: ["3h", "90m", "10m"], skipped: [] }, "from the first entry, no gap");
            await assert.rejects(read(new Date(now + 3_600_000)), { name: "RangeError", message: /is in the future/ });
            await assert.rejects(read(new Date(Number.NaN)), { name: "TypeError" });
            await assert.rejects(followEnvelopes(client, "since", { since: now, lastId: "0" }).next(), { name: "TypeError", message: /not both/ });
        });

        await t.test("publish validates first and trims with maxLen", async () => {
            await assert.rejects(publishEnvelope(client, STREAM, { ...envelope(0), decision_kind: "polymarket_side" }), { name: "ValidationError" });
            for (let n = 0; n < 300; n++) await publishEnvelope(client, "trimmed", envelope(n), { maxLen: 10 });
            assert.ok(Number(await raw("XLEN", "trimmed")) < 300);
        });

        await t.test("publishEnvelopes pipelines many in order, checks all before sending any, rejects on a refusal", async () => {
            const many = Array.from({ length: 2 * PUBLISH_WINDOW + 7 }, (_, n) => envelope(n));
            const ids = await publishEnvelopes(client, "batch", many);
            assert.equal(ids.length, many.length);
            const stored = await raw("XRANGE", "batch", "-", "+");
            assert.deepEqual(stored.map(([id]) => id), ids, "each id is its envelope's, in order");
            assert.deepEqual(
                stored.map(([, fields]) => JSON.parse(fields[1]).correlation_id),
                many.map((e) => e.correlation_id),
            );
            const invalid = { ...envelope(1), decision_kind: "polymarket_side" };
            await assert.rejects(publishEnvelopes(client, "batch", [envelope(0), invalid]), { name: "ValidationError" });
            assert.equal(Number(await raw("XLEN", "batch")), many.length, "none of a batch with an invalid envelope is sent");
            await raw("SET", "not-a-stream", "x");
            await assert.rejects(publishEnvelopes(client, "not-a-stream", [envelope(0), envelope(1)]), /WRONGTYPE/);
            assert.deepEqual(await publishEnvelopes(client, "batch", []), []);
            await publishEnvelopes(client, "trimmed-batch", many, { maxLen: 10 });
            assert.ok(Number(await raw("XLEN", "trimmed-batch")) < many.length, "maxLen trims");
        });

        await t.test("undecodable entries are skipped and reported, not lost silently", async () => {
            await raw("XADD", "mixed", "*", "other", "x");
            await raw("XADD", "mixed", "*", "data", "{");
            await raw("XADD", "mixed", "*", "data", '{"schema_version":"2"}');
            await raw("XADD", "mixed", "*", "data", encodeEnvelope(envelope(8)), "source", "elsewhere");
            await publishEnvelope(client, "mixed", envelope(9));
            const skipped = [];
            const entries = await readEnvelopes(client, "mixed", 10, { onSkip: (s) => skipped.push(s.reason) });
            assert.equal(entries.length, 1);
            assert.deepEqual(skipped, ["extra_fields", "unsupported_version", "invalid_json", "no_data"]);
        });

        await t.test("follow delivers what is published after it starts, in order, and ends on abort", async () => {
            const controller = new AbortController();
            const seen = [];
            const skipped = [];
            const following = (async () => {
                for await (const entry of followEnvelopes(client, "live", { signal: controller.signal, blockMs: 200, onSkip: (s) => skipped.push(s.reason) })) {
                    seen.push(entry.envelope.correlation_id);
                    if (seen.length === 3) controller.abort();
                }
            })();
            await publishEnvelope(client, "live", envelope("before")).catch(() => {});
            await new Promise((r) => setTimeout(r, 300));
            for (let n = 0; n < 3; n++) {
                if (n === 1) await raw("XADD", "live", "*", "data", "not json");
                await publishEnvelope(client, "live", envelope(n));
            }
            await following;
            // The entry published before following started may or may not be
            // seen (it raced the first read); the three after it must be.
            assert.deepEqual(seen.filter((id) => id !== "c-before"), ["c-0", "c-1", "c-2"]);
            assert.deepEqual(skipped, ["invalid_json"]);
        });

        await t.test("abort ends a follow that is blocked in XREAD", async () => {
            const controller = new AbortController();
            const started = Date.now();
            setTimeout(() => controller.abort(), 100);
            for await (const _ of followEnvelopes(client, "quiet", { signal: controller.signal, blockMs: 30_000 })) {
                assert.fail("nothing was published");
            }
            assert.ok(Date.now() - started < 5000);
        });

        await t.test("entries trimmed under a paused follower are reported with their number, then the rest come", async () => {
            const stream = "paused";
            for (let n = 0; n < 10; n++) await publishEnvelope(client, stream, envelope(n));
            const skipped = [];
            const follow = followEnvelopes(client, stream, { lastId: "0", count: 1, blockMs: 200, onSkip: (s) => skipped.push(s) });
            const first = await follow.next();
            assert.equal(first.value.envelope.correlation_id, "c-0");
            // Paused: 50 more arrive, the stream is trimmed to exactly 5.
            const data = encodeEnvelope(envelope("late"));
            for (let n = 0; n < 50; n++) await raw("XADD", stream, "MAXLEN", 5, "*", "data", data);
            const left = await rangeIds(stream);
            const rest = [];
            for (let n = 0; n < 5; n++) rest.push((await follow.next()).value.id);
            await follow.return();
            assert.deepEqual(rest, left);
            assert.equal(skipped.length, 1);
            assert.equal(skipped[0].reason, "trimmed");
            assert.equal(skipped[0].missed, 54, "9 before the pause and 50 during it, less the 5 left");
            assert.ok(skipped[0].id.endsWith(`..${left[0]}`), skipped[0].id);
            assert.match(skipped[0].errors[0].message, /^54 entries after /);
        });

        await t.test("pages read from an id tell only real gaps, even when their size cannot be told", async () => {
            // The follower's cursor state (src/redis/follow.lua): the index
            // is unknown from a given id, and "the last read left entries"
            // is what lets a loss be told then.
            const stream = "pages";
            const ids = [];
            for (let n = 0; n < 6; n++) ids.push(await publishEnvelope(client, stream, envelope(n)));
            const skipped = [];
            const onSkip = (s) => skipped.push(s);
            let follow = followEnvelopes(client, stream, { lastId: ids[0], count: 1, blockMs: 200, onSkip });
            const read = [];
            for (let n = 0; n < 3; n++) read.push((await follow.next()).value.id);
            assert.deepEqual(read, ids.slice(1, 4));
            assert.deepEqual(skipped, [], "no gap between pages");
            await raw("XTRIM", stream, "MAXLEN", 0);
            const fresh = [];
            for (let n = 0; n < 2; n++) fresh.push(await publishEnvelope(client, stream, envelope(10 + n)));
            const after = [];
            for (let n = 0; n < 2; n++) after.push((await follow.next()).value.id);
            await follow.return();
            assert.deepEqual(after, fresh);
            assert.deepEqual(skipped.map((s) => [s.reason, s.id, s.missed]), [["trimmed", `${ids[3]}..${fresh[0]}`, undefined]]);
            assert.match(skipped[0].errors[0].message, new RegExp(`^entries after ${ids[3]} were trimmed`));
            skipped.length = 0;
            // Entries trimmed before a follower started from an id are not its loss.
            follow = followEnvelopes(client, stream, { lastId: ids[0], count: 1, blockMs: 200, onSkip });
            assert.equal((await follow.next()).value.id, fresh[0]);
            await follow.return();
            assert.deepEqual(skipped, []);
        });

        await t.test("a stream made anew with lower ids is reported and read from its start", async () => {
            const stream = "anew";
            const data = encodeEnvelope(envelope("old"));
            await raw("XADD", stream, "5000-0", "data", data);
            const skipped = [];
            const follow = followEnvelopes(client, stream, { lastId: "0", blockMs: 200, onSkip: (s) => skipped.push(s) });
            assert.equal((await follow.next()).value.id, "5000-0");
            await raw("DEL", stream);
            for (let n = 1; n <= 3; n++) await raw("XADD", stream, `${n}-0`, "data", data);
            const ids = [];
            for (let n = 0; n < 3; n++) ids.push((await follow.next()).value.id);
            await follow.return();
            assert.deepEqual(ids, ["1-0", "2-0", "3-0"]);
            assert.deepEqual(skipped.map((s) => [s.reason, s.id]), [["stream_reset", "5000-0..3-0"]]);
        });

        await t.test("follow leaves a payload over its limit in Redis and reports its size", async () => {
            const stream = "big";
            const big = JSON.stringify({ pad: "x".repeat(300_000) });
            await raw("XADD", stream, "*", "data", big);
            const small = await publishEnvelope(client, stream, envelope("small"));
            const skipped = [];
            const follow = followEnvelopes(client, stream, { lastId: "0", maxPayloadBytes: 100_000, onSkip: (s) => skipped.push(s) });
            assert.equal((await follow.next()).value.id, small);
            await follow.return();
            assert.equal(skipped.length, 1);
            assert.equal(skipped[0].reason, "too_large");
            assert.match(skipped[0].errors[0].message, new RegExp(`payload is ${big.length} bytes`));
        });

        await t.test("follow survives kill -9 and restart of the server: nothing lost, nothing repeated", async () => {
            const controller = new AbortController();
            const seen = [];
            const errors = [];
            const first = await publishEnvelope(client, "crash", envelope("first"));
            const following = (async () => {
                for await (const entry of followEnvelopes(client, "crash", { lastId: first, signal: controller.signal, blockMs: 100, onError: (e) => errors.push(e) })) {
                    seen.push(entry.envelope.correlation_id);
                    if (seen.length === 10) controller.abort();
                }
            })();
            for (let n = 0; n < 5; n++) await publishEnvelope(client, "crash", envelope(n));
            await waitFor(() => seen.length === 5);
            await server.kill();
            await new Promise((r) => setTimeout(r, 300));
            await server.restart();
            for (let n = 5; n < 10; n++) await publishEnvelope(client, "crash", envelope(n));
            await following;
            assert.deepEqual(seen, Array.from({ length: 10 }, (_, n) => `c-${n}`));
            assert.ok(errors.length > 0, "the lost connection was reported through onError");
        });
    });
}

async function waitFor(condition, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error("timed out waiting");
        await new Promise((r) => setTimeout(r, 10));
    }
}
