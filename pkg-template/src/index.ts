// The package's API (SPEC section 7), module by module; each imports only
// the ones before it.

export * from "./api.js";
export * from "./entry.js";
export * from "./standard-schema.js";
