// `make bench`, transport (benches/transport.py): the npm package's
// consumeGroup and publishEnvelopes over node-redis v5, timed inside the
// process (as the naive redis-py code beside it is): on stdout, JSON of the
// seconds it took, and for publish the share spent building the envelopes.
//
//   node benches/js/group-bench.mjs consume URL STREAM GROUP ENTRIES
//   node benches/js/group-bench.mjs publish URL STREAM LINES_FILE
import { readFileSync } from "node:fs";
import { createClient } from "redis";

const repo = new URL("../../", import.meta.url).pathname;
const ce = await import(`${repo}pkg/node.mjs`);
const { consumeGroup, publishEnvelopes } = await import(`${repo}pkg/redis.mjs`);

const [mode, url, stream, arg, entries] = process.argv.slice(2);
const client = createClient({ url });
await client.connect();
const start = performance.now();
let buildSeconds = 0;
if (mode === "consume") {
    const stats = await consumeGroup(client, stream, () => {}, { group: arg, consumer: "npm", startId: "0", limit: Number(entries), count: 500 });
    if (stats.handled !== Number(entries)) throw new Error(`handled ${stats.handled} of ${entries}`);
} else if (mode === "publish") {
    const lines = readFileSync(arg, "utf8").split("\n").filter(Boolean);
    const envelopes = lines.map((line) => ce.buildEnvelope(JSON.parse(line)));
    buildSeconds = (performance.now() - start) / 1000;
    await publishEnvelopes(client, stream, envelopes);
} else {
    throw new Error(`unknown mode ${mode}: consume or publish`);
}
console.log(JSON.stringify({ seconds: (performance.now() - start) / 1000, buildSeconds }));
await client.disconnect();
