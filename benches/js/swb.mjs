// `make bench`, serde-wasm-bindgen against the JSON-text path, for the entry
// points that take a JS value (validatePrediction, buildEnvelope,
// encodeEnvelope, verifyDecision). Both bring the same decoded envelope into
// wasm as a tree: the text path as the package does it (JSON.stringify with
// the -0 replacer of pkg-template/src/api.ts, then the strict reader), the
// other through serde_wasm_bindgen::from_value, from a wasm built with the
// `measure-swb` feature (never the npm package's). Prints JSON on stdout.
import { createRequire } from "node:module";
import { compare } from "./harness.mjs";
import { PAYLOADS } from "./payloads.mjs";

const repo = new URL("../../", import.meta.url).pathname;
const swb = createRequire(import.meta.url)(`${repo}target/bench/swb/crowd_envelope.js`);
const ce = await import(new URL("pkg/node.mjs", `file://${repo}`).href);

// The replacer of api.ts's toJson, which keeps -0 (copied: it is private).
let negativeZeros = 0;
const NEGATIVE_ZERO = "\u0000-0:bench";
function replacer(_key, value) {
    if (typeof value === "number") {
        if (!Number.isFinite(value)) return String(value);
        if (value === 0 && 1 / value < 0) {
            negativeZeros += 1;
            return NEGATIVE_ZERO;
        }
    }
    return typeof value === "bigint" ? value.toString() : value;
}

const cases = {};
for (const name of ["typical", "meta64k"]) {
    const envelope = ce.decodeEnvelope(PAYLOADS[name]);
    const members = swb.measureFromText(JSON.stringify(envelope, replacer));
    if (members !== 8 || swb.measureFromValue(envelope) !== 8) throw new Error("the two paths must read the same envelope");
    console.error(`bench (swb): ${name}`);
    cases[name] = compare({
        "JSON.stringify + strict reader": () => swb.measureFromText(JSON.stringify(envelope, replacer)),
        "serde_wasm_bindgen::from_value": () => swb.measureFromValue(envelope),
        "encodeEnvelope (whole call)": () => ce.encodeEnvelope(envelope),
    });
}
process.stdout.write(JSON.stringify({ runtime: `Node ${process.version}`, cases }) + "\n");
