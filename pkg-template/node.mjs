// Node, import: the same instance as require() gets (node.cjs), so a
// ValidationError is the same class whichever way a module loaded the package.
import './node.cjs';
export * from './dist/cjs/index.js';
