// Writes the benchmark payloads for the runtimes that are not JavaScript.
import { writeFileSync } from "node:fs";
import { LADDER, PAYLOADS } from "./payloads.mjs";

const out = { ...PAYLOADS };
for (const { bytes, payload } of LADDER) out[`ladder_${bytes}`] = payload;
writeFileSync(process.argv[2], JSON.stringify(out));
