'use strict';
// crowd-envelope/redis for require(): on the instance node.cjs loaded.
require('./node.cjs');
module.exports = require('./dist/cjs/redis.js');
