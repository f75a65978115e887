// The loaded wasm module, set once by the entry point of each runtime
// (node.cjs loads it synchronously; browser.js awaits it from a URL next to
// itself) before any API function can run.

/** The private exports of `src/wasm.rs`; see the reply format there. */
export interface Glue {
    wireDecodeBytes(payload: Uint8Array, maxPayloadBytes: number): string;
    wireEncode(envelope: string): string;
    wireVerify(envelope: string): boolean;
    wireValidatePrediction(prediction: string): string;
    wireDecide(kind: string, prediction: string): string;
    wireBuild(prediction: string, options: string): string;
}

let bound: Glue | undefined;

/** Called by the entry point once the wasm module is instantiated. */
export function bind(glue: Glue): void {
    bound = glue;
}

/** The wasm module; throws only if a file inside the package was imported directly. */
export function glue(): Glue {
    if (bound === undefined) {
        throw new Error(
            "crowd-envelope: the WebAssembly module is not loaded; import 'crowd-envelope', not a file inside it",
        );
    }
    return bound;
}
