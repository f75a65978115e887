// `make bench`: how much one decode grows the wasm memory in Node, for each
// payload of target/bench/hostile.json (written by examples/decode_memory.rs),
// each in a fresh process so that nothing earlier grew the memory first.
// Prints JSON: { name: { bytes, grownBytes } }.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [file, only] = process.argv.slice(2);
const payloads = JSON.parse(readFileSync(file, "utf8"));

if (only === undefined) {
    const out = {};
    for (const name of Object.keys(payloads)) {
        console.error(`bench (memory): ${name}`);
        out[name] = JSON.parse(execFileSync(process.execPath, [new URL(import.meta.url).pathname, file, name], { encoding: "utf8" }));
    }
    process.stdout.write(JSON.stringify(out) + "\n");
} else {
    const repo = new URL("../../", import.meta.url).pathname;
    const require = createRequire(join(repo, "pkg/node.cjs"));
    const ce = require(join(repo, "pkg/node.cjs"));
    const binding = require(join(repo, "pkg/dist/cjs/binding.js"));
    const size = () => binding.glue().wireMemory().buffer.byteLength;
    // A first decode sets up what every decode shares (the input buffer).
    ce.tryDecodeEnvelope("{}");
    const payload = payloads[only];
    const before = size();
    const result = ce.tryDecodeEnvelope(payload, { maxPayloadBytes: 2 << 20 });
    // Only the payload's copy into the input buffer is expected; the rest
    // is what decoding it held.
    process.stdout.write(JSON.stringify({ bytes: Buffer.byteLength(payload), grownBytes: size() - before, ok: result.ok }));
}
