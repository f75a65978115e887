// @ts-check
// The transport part of target/bench/REPORT.md (issue 30): the program's
// publish, consume and tail beside naive redis-py and redis-benchmark's
// XADD (benches/transport.py), and the group consumer with a handler that
// waits 1 ms (benches/redis.rs). Each target's row, and where each run
// spent its time, so that a miss carries its measured cause.

const rate = (/** @type {number} */ n) => `${Math.round(n).toLocaleString("en")}/s`;
const us = (/** @type {number} */ n) => n.toFixed(1);

/**
 * Rows of the targets table: [name, measured, ratio, ok, unit].
 * @param {any} transport benches/transport.py's JSON
 * @param {any} redis benches/redis.rs's JSON
 * @returns {Array<[string, string, number, (r: number) => boolean, string]>}
 */
export function transportTargets(transport, redis) {
    const m = transport.median;
    const waiting = redis.waitingHandler;
    return [
        ["`consume`, no-op handler: at least 100,000 entries/s (stretch 150,000)", rate(m.consume), m.consume / 100_000, (r) => r >= 1, "of target"],
        ["`consume`: at least 3x the naive redis-py group consumer", `${rate(m.consume)} vs ${rate(m.naiveConsume)}`, transport.ratios.consumeOverNaive, (r) => r >= 3, "faster by"],
        ["Group consumer, `concurrency` 8, a handler that sleeps 1 ms: at least 5,000/s", `${rate(waiting.concurrency8PerSecond)} (1 at a time: ${rate(waiting.concurrency1PerSecond)})`, waiting.concurrency8PerSecond / 5000, (r) => r >= 1, "of target"],
        ["`publish --lines`: at least 0.5x redis-benchmark's XADD", `${rate(m.publish)} vs ${rate(m.xaddCeiling)}`, transport.ratios.publishOverCeiling, (r) => r >= 0.5, "of ceiling"],
        ["`tail -f --json` to a pipe: at least 100,000 entries/s", rate(m.tail), m.tail / 100_000, (r) => r >= 1, "of target"],
        ["npm `consumeGroup`: at least 3x the naive redis-py group consumer", `${rate(m.npmConsume)} vs ${rate(m.naiveConsume)}`, transport.ratios.npmConsumeOverNaive, (r) => r >= 3, "faster by"],
        ["Python `consume_group`: at least 3x the naive redis-py group consumer", `${rate(m.pyConsume)} vs ${rate(m.naiveConsume)}`, transport.ratios.pyConsumeOverNaive, (r) => r >= 3, "faster by"],
        ["npm `publishEnvelopes` (with `buildEnvelope`): at least 3x the naive redis-py publisher", `${rate(m.npmPublish)} vs ${rate(m.naivePublish)}`, transport.ratios.npmPublishOverNaive, (r) => r >= 3, "faster by"],
        ["Python `publish_envelopes` (with `build_envelope`): at least 3x the naive redis-py publisher", `${rate(m.pyPublish)} vs ${rate(m.naivePublish)}`, transport.ratios.pyPublishOverNaive, (r) => r >= 3, "faster by"],
    ];
}

/**
 * The section: every median, and the cost per entry behind it.
 * @param {any} transport
 * @param {any} redis
 */
export function transportSection(transport, redis) {
    const m = transport.median;
    const cost = transport.cost;
    const waiting = redis.waitingHandler;
    const lua = transport.luaMicrosPerEntry;
    const pct = (/** @type {number} */ share) => `${Math.round(share * 100)} %`;
    const costRow = (/** @type {string} */ job, /** @type {string} */ what) => {
        const c = cost[job];
        const commands = Object.entries(c.commands)
            .map(([name, calls]) => `${name.replace("cmdstat_", "").replace("|", " ")} ${calls}`)
            .join(", ");
        const slower = c.programMicros > c.redisMicros ? "program" : "Redis";
        const bound = `${rate(1e6 / Math.max(c.programMicros, c.redisMicros))} (${slower})`;
        return `| ${what} | ${us(c.programMicros)} µs | ${us(c.redisMicros)} µs (${us(c.scriptMicros)} µs) | ${bound} | ${commands} |`;
    };
    return `## Transport: the program beside naive redis-py

${transport.entries.toLocaleString("en")} typical ${transport.payloadBytes}-byte envelopes per run, ${transport.rounds} rounds
alternating which goes first, medians (benches/transport.py). The naive code
validates with Pydantic (tests/reference): \`XREADGROUP COUNT 500\` and one
\`XACK\` per batch; a pipeline of 500 \`XADD\`s; \`XREAD COUNT 500\`. The
program's runs include starting the process and connecting.

| job | crowd-envelope | naive redis-py | ratio |
|---|---:|---:|---:|
| publish predictions (\`publish --lines\`) | ${rate(m.publish)} | ${rate(m.naivePublish)} | ${transport.ratios.publishOverNaive.toFixed(2)}x |
| consume in a group, no-op handler (\`consume --count 500 > /dev/null\`) | ${rate(m.consume)} | ${rate(m.naiveConsume)} | ${transport.ratios.consumeOverNaive.toFixed(2)}x |
| follow from the start (\`tail -f --json\` to a pipe) | ${rate(m.tail)} | ${rate(m.naiveFollow)} | ${transport.ratios.tailOverNaive.toFixed(2)}x |
| npm \`buildEnvelope\` + \`publishEnvelopes\` (node-redis v5) | ${rate(m.npmPublish)} | ${rate(m.naivePublish)} | ${transport.ratios.npmPublishOverNaive.toFixed(2)}x |
| Python \`build_envelope\` + \`publish_envelopes\` (redis-py asyncio) | ${rate(m.pyPublish)} | ${rate(m.naivePublish)} | ${transport.ratios.pyPublishOverNaive.toFixed(2)}x |
| npm \`consumeGroup\`, no-op handler, \`count\` 500 | ${rate(m.npmConsume)} | ${rate(m.naiveConsume)} | ${transport.ratios.npmConsumeOverNaive.toFixed(2)}x |
| Python \`consume_group\`, no-op handler, \`count\` 500 | ${rate(m.pyConsume)} | ${rate(m.naiveConsume)} | ${transport.ratios.pyConsumeOverNaive.toFixed(2)}x |
| redis-benchmark \`XADD\`, pipeline 100, same payload | ${rate(m.xaddCeiling)} | | |

The npm and Python runs are timed inside their process (as the naive code
is), not counting start-up. Their publish includes building each envelope
from its prediction, as the naive code builds with Pydantic: that took
${pct(transport.buildShare.npmPublish)} of the npm run (\`buildEnvelope\` crosses into wasm and back as
JSON text, a uuid and the clock included) and ${pct(transport.buildShare.pyPublish)} of the Python run, whose
rest is redis-py packing 500 \`XADD\`s a pipeline, the same code the naive
publisher runs.

Why every group consumer, Rust's, npm's and Python's, misses 3x: each
batch is read by \`read.lua\`, so that a payload over the size limit stays in
Redis (issue "Five broken promises"), and a script that reads entries pays
Redis to turn each into Lua values and back. Measured in this run, of
Redis's own time per entry: \`XRANGE\` of 500 ${us(lua.xrange)} µs, the same in a script that
returns them ${us(lua.evalReturning)} µs, one that only counts them ${us(lua.evalCounting)} µs. The naive consumer's
\`XREADGROUP\` + \`XACK\` pays none of that, and checks no size, no ownership
and no gap; ours is bound by Redis's time (the cost table below). The
Python package's own time goes mostly to redis-py's pure-Python reply
parser (cProfile: about two thirds); with \`hiredis\` installed (\`pip install
redis[hiredis]\`, which the naive consumer then uses too) it did 53,100/s
against the naive 68,750/s in one run by hand (2026-12-08).

Where each run of the program spent its time, per entry (medians): CPU in
the program, CPU in redis-server (commands, scripts and networking, from
\`INFO cpu\`), and the commands Redis got in the last round. A job cannot go
faster than one entry per the larger of the two (the bound), and on this
2-core machine the two share the cores with the reader. Of Redis's share,
"in scripts" is the time inside \`EVALSHA\`: the scripts that bound each
payload (read.lua, follow.lua: a payload over the limit never leaves
Redis) turn every entry into Lua values and back.

| job | program | Redis (in scripts) | bound | commands |
|---|---:|---:|---:|---|
${costRow("publish", "`publish --lines`")}
${costRow("consume", "`consume`")}
${costRow("tail", "`tail -f --json`")}

\`consume\` writes and flushes each entry before it is acknowledged (what
was handled is what was written): one \`write\` per entry, on purpose.
\`tail -f\` writes a burst at a time (\`--line-buffered\` for a line at a time).
\`consume --exec true\` starts a process per entry: ${rate(transport.exec.perSecond)} over
${transport.exec.entries.toLocaleString("en")} entries, the ceiling of any \`--exec\` handler.

Group consumer with a handler that sleeps 1 ms (\`GroupOptions::concurrency\`,
${waiting.entries.toLocaleString("en")} entries, benches/redis.rs): one at a time ${rate(waiting.concurrency1PerSecond)},
8 at once ${rate(waiting.concurrency8PerSecond)}. The handler took ${waiting.handlerMillis.toFixed(2)} ms on average
(Tokio's timer rounds a 1 ms sleep up to its next tick), so 8 at once can
do at most ${rate(8000 / waiting.handlerMillis)}: the run reached ${((waiting.concurrency8PerSecond * waiting.handlerMillis) / 80).toFixed(0)} % of that.
`;
}

/**
 * Publish and follow through a Redis Cluster beside one server
 * (benches/cluster.py), or why it is missing.
 * @param {any} cluster benches/cluster.py's JSON, or null
 */
export function clusterSection(cluster) {
    if (!cluster) return "## Through a Redis Cluster\n\nNot measured in this run (no cluster.json).\n";
    const m = cluster.median;
    return `## Through a Redis Cluster

The program's \`publish --lines\` and \`tail -f --json\` through a cluster of
3 masters and 3 replicas (\`redis+cluster://\`, through a node that does
not own the stream's slot; append-only file, fsync every second), beside
one redis-server without persistence: ${cluster.entries.toLocaleString("en")} typical envelopes per run,
${cluster.rounds} rounds alternating which goes first, medians (benches/cluster.py).
Every entry of one stream lives on one master, so a cluster adds capacity
across streams, not to one stream: the ratio is what routing and
replication cost.

| job | one server | cluster | cluster / one |
|---|---:|---:|---:|
| \`publish --lines\` | ${rate(m["publish.single"])} | ${rate(m["publish.cluster"])} | ${cluster.ratios.publish.toFixed(2)}x |
| \`tail -f --json\` to a pipe | ${rate(m["tail.single"])} | ${rate(m["tail.cluster"])} | ${cluster.ratios.tail.toFixed(2)}x |
`;
}
