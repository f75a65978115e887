// The package's sizes as JSON: each runtime's wasm, raw and gzipped (level
// 9), and the npm tarball. Usage: node benches/js/sizes.mjs TARBALL
import { readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";

const gzip = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const wasm = (runtime) => {
    const file = `pkg/wasm/${runtime}/crowd_envelope_bg.wasm`;
    return { raw: statSync(file).size, gzip: gzip(file) };
};
console.log(JSON.stringify({ nodeWasm: wasm("node"), webWasm: wasm("web"), tarball: statSync(process.argv[2]).size }));
