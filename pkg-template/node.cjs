'use strict';
// Node, require() and import: the wasm module loads synchronously from the
// file next to the generated glue, so the API is ready on return.
require('./dist/cjs/binding.js').bind(require('./wasm/node/crowd_envelope.js'));
module.exports = require('./dist/cjs/api.js');
