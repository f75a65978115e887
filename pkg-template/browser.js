// Browsers and bundlers: the wasm module is fetched from the URL next to this
// file, which bundlers (Vite, webpack, Rollup) recognise and emit as an asset.
import init, * as wasm from './wasm/web/crowd_envelope.js';
import { bind } from './dist/binding.js';

const wasmUrl = new URL('./wasm/web/crowd_envelope_bg.wasm', import.meta.url);
const glueUrl = new URL('./wasm/web/crowd_envelope.js', import.meta.url).href;
let instances = 0;

// A trapped instance is replaced by a fresh copy of the glue (an ES module
// is instantiated once per URL, hence the query), loaded in the background.
async function reload() {
    instances += 1;
    const fresh = await import(/* @vite-ignore */ `${glueUrl}?instance=${instances}`);
    await fresh.default({ module_or_path: wasmUrl });
    return { ...fresh };
}

await init({ module_or_path: wasmUrl });
// A plain object of the exports (a module namespace is read-only).
bind({ ...wasm }, reload);

export * from './dist/index.js';
