// `make bench`, Node part: prints the suite's results as JSON on stdout,
// progress on stderr; then where the typical decode's time goes, measured
// stage by stage through the package's private binding.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { compare } from "./harness.mjs";
import { PAYLOADS } from "./payloads.mjs";
import { runSuite } from "./suite.mjs";

const repo = new URL("../../", import.meta.url).pathname;
const ce = await import(new URL("pkg/node.mjs", `file://${repo}`).href);
const schema = JSON.parse(execFileSync(process.env.CROWD_ENVELOPE_BIN ?? `${repo}target/release/crowd-envelope`, ["schema"]));
const log = (message) => console.error(`bench (node): ${message}`);
const results = runSuite(ce, schema, log);

log("breakdown: the typical decode, stage by stage");
const binding = createRequire(import.meta.url)(`${repo}pkg/dist/cjs/binding.js`);
const glue = binding.glue();
const typical = PAYLOADS.typical;
const encoder = new TextEncoder();
const place = () => {
    const at = glue.wireInput(typical.length);
    return encoder.encodeInto(typical, binding.memoryBytes(glue).subarray(at, at + typical.length)).written;
};
const written = place();
const breakdown = compare({
    "whole call (tryDecodeEnvelope)": () => ce.tryDecodeEnvelope(typical),
    "JSON.parse of the payload": () => JSON.parse(typical),
    "encode into wasm memory": place,
    "wasm decode alone": () => glue.wireDecode(written, 1 << 20, true),
});
process.stdout.write(JSON.stringify({ runtime: `Node ${process.version}`, ...results, breakdown }) + "\n");
