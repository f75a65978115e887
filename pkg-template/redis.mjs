// crowd-envelope/redis for import: on the instance node.cjs loaded.
import './node.cjs';
export * from './dist/cjs/redis.js';
