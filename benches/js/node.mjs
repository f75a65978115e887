// `make bench`, Node part: prints the suite's results as JSON on stdout,
// progress on stderr; then where a decode's time goes (typical and 64 KB),
// measured stage by stage through the package's private binding.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { compare } from "./harness.mjs";
import { PAYLOADS } from "./payloads.mjs";
import { runSuite } from "./suite.mjs";

const repo = new URL("../../", import.meta.url).pathname;
const ce = await import(new URL("pkg/node.mjs", `file://${repo}`).href);
const schema = JSON.parse(execFileSync(process.env.CROWD_ENVELOPE_BIN ?? `${repo}target/release/crowd-envelope`, ["schema"]));
const log = (message) => console.error(`bench (node): ${message}`);
const forms = JSON.parse(readFileSync(`${repo}target/bench/forms.json`, "utf8"));
const results = runSuite(ce, schema, log, forms);

log("breakdown: the typical and 64 KB decodes, stage by stage");
const binding = createRequire(import.meta.url)(`${repo}pkg/dist/cjs/binding.js`);
const glue = binding.glue();
const encoder = new TextEncoder();
function stages(payload) {
    const place = () => {
        const at = glue.wireInput(payload.length);
        return encoder.encodeInto(payload, binding.memoryBytes(glue).subarray(at, at + payload.length)).written;
    };
    const written = place();
    const meta = payload.slice(payload.indexOf('"meta":') + 7, -1);
    return compare({
        "whole call (tryDecodeEnvelope)": () => ce.tryDecodeEnvelope(payload),
        "JSON.parse of the payload": () => JSON.parse(payload),
        "encode into wasm memory": place,
        "wasm decode alone": () => glue.wireDecode(written, 1 << 21, true),
        "JSON.parse of meta alone": () => JSON.parse(meta),
    });
}
const breakdown = stages(PAYLOADS.typical);
const breakdown64k = stages(PAYLOADS.meta64k);
process.stdout.write(JSON.stringify({ runtime: `Node ${process.version}`, ...results, breakdown, breakdown64k }) + "\n");
