'use strict';
// Node, require() and import: the wasm module loads synchronously from the
// file next to the generated glue, so the API is ready on return. If it ever
// traps, a fresh copy of the glue (and so a fresh instance) replaces it.
const glue = require.resolve('./wasm/node/crowd_envelope.js');
function load() {
    delete require.cache[glue];
    return require(glue);
}
require('./dist/cjs/binding.js').bind(load(), load);
module.exports = require('./dist/cjs/index.js');
