// consumeGroup (crowd-envelope/redis) against a real redis-server, with
// node-redis v5 and ioredis v5: delivery, retries and dead letters as the
// Rust consumer writes them (checked against the CLI's), the races
// SECURITY.md's "only while still pending with this consumer" is about,
// driven by hand, concurrency, gaps, oversized entries and the stop signal.
import test from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { buildEnvelope, encodeEnvelope } from "crowd-envelope";
import { attemptsKey, consumeGroup, deadLetterKey, publishEnvelopes } from "crowd-envelope/redis";
import { IOREDIS, NODE_REDIS_5 } from "./clients.mjs";
import { PREDICTIONS } from "./helpers.mjs";
import { RedisServer } from "./redis-server.mjs";

const envelope = (n) => buildEnvelope(PREDICTIONS.fomo2_report, { correlationId: `c-${n}` });
const BIN = process.env.CROWD_ENVELOPE_BIN;

const CLIENTS = [NODE_REDIS_5, IOREDIS];

/** A promise and its resolver, for a handler the test holds. */
function gate() {
    let open;
    const promise = new Promise((resolve) => (open = resolve));
    return { promise, open };
}

/** A stream's entries as {id, fields} with fields as an object. */
async function entries(raw, stream) {
    const reply = await raw("XRANGE", stream, "-", "+");
    return reply.map(([id, flat]) => {
        const fields = {};
        for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
        return { id, fields };
    });
}

test("the keys beside a stream are Rust's (dead_letter_key, attempts_key)", () => {
    assert.equal(deadLetterKey("maf:out"), "{maf:out}:dead");
    assert.equal(deadLetterKey("orders:{eu}"), "orders:{eu}:dead");
    assert.equal(attemptsKey("maf:out", "bots"), "{maf:out}:attempts:bots");
    assert.equal(attemptsKey("{x}y", "g"), "{x}y:attempts:g");
    for (const bad of ["a}b", "}{", "{}x", ""]) assert.throws(() => deadLetterKey(bad), { name: "TypeError", message: /invalid stream name/ });
});

for (const [name, kind] of CLIENTS) {
    test(`consumeGroup with ${name}`, async (t) => {
        const server = await RedisServer.start();
        const client = await kind.open(server.url);
        const raw = (...args) => kind.raw(client, args.map(String));
        t.after(async () => {
            await kind.close(client);
            await server.stop();
        });
        const pending = async (stream, group) => (await raw("XPENDING", stream, group, "-", "+", "100")).map(([id, owner]) => [id, owner]);

        await t.test("handles entries in order, one at a time, and acknowledges each", async () => {
            const ids = await publishEnvelopes(client, "s1", Array.from({ length: 250 }, (_, n) => envelope(n)));
            const seen = [];
            let running = 0;
            const stats = await consumeGroup(
                client,
                "s1",
                async (entry) => {
                    running += 1;
                    assert.equal(running, 1, "one handler at a time");
                    await new Promise((resolve) => setImmediate(resolve));
                    seen.push([entry.id, entry.envelope.correlation_id]);
                    running -= 1;
                },
                { group: "g", consumer: "c", startId: "0", limit: 250, count: 100 },
            );
            assert.deepEqual(seen.map(([id]) => id), ids);
            assert.deepEqual(seen.map(([, c]) => c), ids.map((_, n) => `c-${n}`));
            assert.equal(stats.handled, 250);
            assert.deepEqual(stats.deadLettered, {});
            assert.deepEqual(await pending("s1", "g"), []);
            // Nothing fetched beyond the limit: a second consumer gets the rest.
            await publishEnvelopes(client, "s1", [envelope(250), envelope(251)]);
            const more = [];
            await consumeGroup(client, "s1", (entry) => void more.push(entry.envelope.correlation_id), { group: "g", consumer: "d", limit: 2 });
            assert.deepEqual(more, ["c-250", "c-251"]);
        });

        await t.test("a failed entry is retried after its delay, then dead-lettered with its attempts, as the Rust consumer writes it", async () => {
            const [id] = await publishEnvelopes(client, "s2", [envelope(0)]);
            let calls = 0;
            const skipped = [];
            const stats = await consumeGroup(
                client,
                "s2",
                () => {
                    calls += 1;
                    throw new Error(`boom ${calls}`);
                },
                { group: "g", consumer: "c", startId: "0", limit: 1, maxDeliveries: 3, retryDelayMs: 20, blockMs: 50, onSkip: (s) => skipped.push(s) },
            );
            assert.equal(calls, 3);
            assert.equal(stats.failed, 3);
            assert.deepEqual(stats.deadLettered, { handler_failed: 1 });
            const [letter] = await entries(raw, deadLetterKey("s2"));
            assert.deepEqual(Object.keys(letter.fields), ["data", "reason", "errors", "id", "group", "consumer", "deliveries", "attempts"]);
            assert.equal(letter.fields.data, (await entries(raw, "s2"))[0].fields.data, "the payload, byte for byte");
            assert.equal(letter.fields.reason, "handler_failed");
            assert.deepEqual(JSON.parse(letter.fields.errors), [{ path: "", code: "handler_failed", message: "handler failed 3 times, last: boom 3" }]);
            assert.deepEqual([letter.fields.id, letter.fields.group, letter.fields.consumer], [id, "g", "c"]);
            assert.equal(letter.fields.deliveries, "3");
            assert.equal(letter.fields.attempts, "3");
            assert.deepEqual(await pending("s2", "g"), []);
            assert.equal(await raw("EXISTS", attemptsKey("s2", "g")), 0, "its attempt count goes with it");
            assert.deepEqual(skipped.map((s) => [s.id, s.reason]), [[id, "handler_failed"]]);
        });

        await t.test("undecodable and oversized entries are dead-lettered at once, with the fields the Rust CLI writes", async () => {
            const bad = [
                ["data", "{not json"],
                ["data", JSON.stringify({ ...JSON.parse(encodeEnvelope(envelope(1))), schema_version: "9.0" })],
                ["other", "x"],
                ["data", encodeEnvelope(envelope(2)), "extra", "y"],
                ["data", "x".repeat(3000)], // over the 2000-byte limit
            ];
            for (const stream of ["npm:bad", "cli:bad"]) for (const fields of bad) await raw("XADD", stream, "*", ...fields);
            const stats = await consumeGroup(client, "npm:bad", () => assert.fail("nothing is handed out"), {
                group: "g", consumer: "c", startId: "0", limit: bad.length, maxPayloadBytes: 2000,
            });
            assert.equal(Object.values(stats.deadLettered).reduce((a, b) => a + b), bad.length);
            execFileSync(BIN, ["consume", "--redis-url", server.url, "--stream", "cli:bad", "--group", "g", "--consumer", "c", "--from", "0",
                "--limit", String(bad.length), "--max-payload-bytes", "2000"], { stdio: ["ignore", "ignore", "ignore"] });
            const letters = async (stream) => {
                const source = (await entries(raw, stream)).map((e) => e.id);
                return (await entries(raw, deadLetterKey(stream))).map(({ fields }) => ({ ...fields, id: source.indexOf(fields.id) }));
            };
            const npm = await letters("npm:bad");
            assert.deepEqual(npm.map((l) => l.reason), ["invalid_json", "unsupported_version", "no_data", "extra_fields", "too_large"]);
            assert.equal(npm[4].size, String(Buffer.byteLength(bad[4][1])));
            assert.equal(npm[4].data, undefined, "an oversized payload stays in the stream");
            assert.deepEqual(npm, await letters("cli:bad"), "the same dead letters, field for field, in the same order");
            // With copyOversized, the payload is copied inside Redis.
            await raw("XADD", "big", "*", "data", bad[4][1]);
            await consumeGroup(client, "big", () => {}, { group: "g", consumer: "c", startId: "0", limit: 1, maxPayloadBytes: 2000, copyOversized: true });
            assert.equal((await entries(raw, deadLetterKey("big")))[0].fields.data, bad[4][1]);
        });

        await t.test("an entry claimed by another consumer while its handler runs is neither acknowledged nor dead-lettered here", async () => {
            for (const outcome of ["succeeds", "fails"]) {
                const stream = `race:${outcome}`;
                const [id] = await publishEnvelopes(client, stream, [envelope(0)]);
                const started = gate();
                const release = gate();
                const consuming = consumeGroup(
                    client,
                    stream,
                    async () => {
                        started.open();
                        await release.promise;
                        if (outcome === "fails") throw new Error("late failure");
                    },
                    { group: "g", consumer: "first", startId: "0", limit: 1, maxDeliveries: 1, blockMs: 50, signal: AbortSignal.timeout(3000) },
                );
                await started.promise;
                // The claim a second consumer makes once the first looks dead.
                await raw("XCLAIM", stream, "g", "second", "0", id);
                release.open();
                const stats = await consuming;
                assert.deepEqual(await pending(stream, "g"), [[id, "second"]], "still pending, with the consumer that claimed it");
                assert.equal(await raw("XLEN", deadLetterKey(stream)), 0, "no dead letter");
                assert.equal(await raw("HGET", attemptsKey(stream, "g"), id), null, "no attempt counted");
                assert.deepEqual(stats.deadLettered, {});
            }
        });

        await t.test("an entry claimed away while its batch waits is not handed out again here", async () => {
            const ids = await publishEnvelopes(client, "race:queued", [envelope(0), envelope(1)]);
            const release = gate();
            const seen = [];
            const consuming = consumeGroup(
                client,
                "race:queued",
                async (entry) => {
                    seen.push(entry.id);
                    if (entry.id === ids[0]) await release.promise;
                },
                { group: "g", consumer: "first", startId: "0", claimIdleMs: 100, signal: AbortSignal.timeout(1500) },
            );
            while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
            // The second entry, fetched but not started, is claimed away by a
            // consumer that stays alive (its claim renewed, so never idle
            // long enough to be claimed back); the lease renewal (every
            // claimIdleMs / 2) finds it gone.
            const claim = () => raw("XCLAIM", "race:queued", "g", "second", "0", ids[1], "JUSTID");
            await claim();
            const alive = setInterval(claim, 10);
            await new Promise((resolve) => setTimeout(resolve, 200));
            release.open();
            await consuming;
            clearInterval(alive);
            assert.deepEqual(seen, [ids[0]]);
            assert.deepEqual(await pending("race:queued", "g"), [[ids[1], "second"]]);
        });

        await t.test("with concurrency, up to N handlers run at once, started in stream order", async () => {
            const ids = await publishEnvelopes(client, "s3", Array.from({ length: 40 }, (_, n) => envelope(n)));
            const started = [];
            let running = 0;
            let most = 0;
            const stats = await consumeGroup(
                client,
                "s3",
                async (entry) => {
                    started.push(entry.id);
                    running += 1;
                    most = Math.max(most, running);
                    await new Promise((resolve) => setTimeout(resolve, 5));
                    running -= 1;
                },
                { group: "g", consumer: "c", startId: "0", limit: 40, concurrency: 8, count: 20 },
            );
            assert.equal(most, 8);
            assert.deepEqual(started, ids);
            assert.equal(stats.handled, 40);
            assert.deepEqual(await pending("s3", "g"), []);
        });

        await t.test("entries left pending by a stopped consumer come first when it runs again, and a dead one's are claimed", async () => {
            const ids = await publishEnvelopes(client, "s4", Array.from({ length: 6 }, (_, n) => envelope(n)));
            // A consumer that fetched a batch and died: pending, never handled.
            await raw("XGROUP", "CREATE", "s4", "g", "0");
            await raw("XREADGROUP", "GROUP", "g", "dead", "COUNT", "3", "STREAMS", "s4", ">");
            await raw("XREADGROUP", "GROUP", "g", "me", "COUNT", "2", "STREAMS", "s4", ">");
            const seen = [];
            const stats = await consumeGroup(client, "s4", (entry) => void seen.push(entry.id), { group: "g", consumer: "me", limit: 6, claimIdleMs: 1 });
            assert.deepEqual(seen, [ids[3], ids[4], ids[0], ids[1], ids[2], ids[5]], "its own first, then the dead one's, then new");
            assert.equal(stats.claimed, 3);
            assert.deepEqual(await pending("s4", "g"), []);
        });

        await t.test("entries trimmed before the group read them are told once, with their number", async () => {
            // The group made by a consumer (create.lua), which sets its entries-read count.
            await consumeGroup(client, "s5", () => {}, { group: "g", consumer: "c", signal: AbortSignal.timeout(50) });
            await publishEnvelopes(client, "s5", Array.from({ length: 10 }, (_, n) => envelope(n)));
            await raw("XTRIM", "s5", "MAXLEN", "4");
            const skipped = [];
            const seen = [];
            const stats = await consumeGroup(client, "s5", (entry) => void seen.push(entry.envelope.correlation_id), {
                group: "g", consumer: "c", limit: 4, onSkip: (s) => skipped.push(s),
            });
            assert.deepEqual(seen, ["c-6", "c-7", "c-8", "c-9"]);
            assert.equal(stats.trimmed, 6);
            assert.deepEqual(skipped.map((s) => [s.reason, s.missed]), [["trimmed", 6]]);
        });

        await t.test("the signal ends a consumer waiting for entries, and one in a batch after its handlers", async () => {
            const controller = new AbortController();
            const waiting = consumeGroup(client, "s6", () => {}, { group: "g", consumer: "c", blockMs: 60_000, signal: controller.signal });
            await new Promise((resolve) => setTimeout(resolve, 100));
            controller.abort();
            assert.equal((await waiting).handled, 0);
            await publishEnvelopes(client, "s6", [envelope(0), envelope(1), envelope(2)]);
            const stop = new AbortController();
            const seen = [];
            const stats = await consumeGroup(
                client,
                "s6",
                async (entry) => {
                    seen.push(entry.id);
                    stop.abort();
                },
                { group: "g", consumer: "c", signal: stop.signal },
            );
            assert.equal(seen.length, 1, "no entry starts after the signal");
            assert.equal(stats.handled, 1);
            assert.equal((await pending("s6", "g")).length, 2, "the handled one acknowledged, the rest left pending");
        });

        await t.test("a stream that is not a stream, a bad name or start id, are refused", async () => {
            await raw("SET", "plain", "x");
            await assert.rejects(consumeGroup(client, "plain", () => {}, { group: "g", consumer: "c" }), /WRONGTYPE/);
            await assert.rejects(consumeGroup(client, "a}b", () => {}, { group: "g", consumer: "c" }), { name: "TypeError" });
            await assert.rejects(consumeGroup(client, "s7", () => {}, { group: "g", consumer: "c", startId: "later" }), { name: "TypeError" });
        });
    });
}
