// Browsers and bundlers: the wasm module is fetched from the URL next to this
// file, which bundlers (Vite, webpack, Rollup) recognise and emit as an asset.
import init, * as wasm from './wasm/web/crowd_envelope.js';
import { bind } from './dist/binding.js';

await init({ module_or_path: new URL('./wasm/web/crowd_envelope_bg.wasm', import.meta.url) });
bind(wasm);

export * from './dist/api.js';
