// The loaded wasm module, set once by the entry point of each runtime
// (node.cjs loads it synchronously; browser.js awaits it from a URL next to
// itself) before any API function can run, and replaced if it ever traps.

/** A reply that starts with this character is a rejection (src/wasm/mod.rs). */
export const REJECTED = 0x21; // "!"

/** The private exports of `src/wasm/mod.rs`; see the reply format there. */
export interface Glue {
    wireMemory(): WebAssembly.Memory;
    wireInput(capacity: number): number;
    wireDecode(length: number, maxPayloadBytes: number, wellFormed: boolean): number;
    wireReply(): number;
    wireTape(): number;
    wireTrap(): void;
    wireCheckEntry(fields: string, hasData: boolean, oversized: number | undefined, maxPayloadBytes: number): string;
    wireDecisionSummary(kind: string, decision: string): string;
    wireEncode(envelope: string): string;
    wireVerify(envelope: string): boolean;
    wireValidatePrediction(prediction: string): string;
    wireDecide(kind: string, prediction: string): string;
    wireBuild(prediction: string, options: string): string;
}

/** Makes a fresh instance of the module, now or once it has loaded. */
export type Reload = () => Glue | Promise<Glue>;

let bound: Glue | undefined;
let reload: Reload | undefined;
let memory: Uint8Array = new Uint8Array(0);
let tape: Float64Array = new Float64Array(0);

/** Called by the entry point once the wasm module is instantiated. */
export function bind(glue: Glue, fresh?: Reload): void {
    bound = glue;
    reload = fresh ?? reload;
    memory = new Uint8Array(0);
    tape = new Float64Array(0);
}

/** The wasm module; throws only if a file inside the package was imported directly. */
export function glue(): Glue {
    if (bound === undefined) {
        throw new Error(
            reload === undefined
                ? "crowd-envelope: the WebAssembly module is not loaded; import 'crowd-envelope', not a file inside it"
                : "crowd-envelope: the WebAssembly module is restarting after a trap",
        );
    }
    return bound;
}

/** UTF-8 text from wasm memory or a payload's bytes, one decoder for the package. */
export const utf8 = new TextDecoder("utf-8", { fatal: false });

/** The instance's memory as bytes (a new view after the memory grew). */
export function memoryBytes(glue: Glue): Uint8Array {
    if (memory.byteLength === 0) memory = new Uint8Array(glue.wireMemory().buffer);
    return memory;
}

/** The decoder's tape (src/typed/tape.rs), `length` doubles where wasm keeps it. */
export function tapeView(glue: Glue, length: number): Float64Array {
    if (tape.byteLength === 0) tape = new Float64Array(glue.wireMemory().buffer, glue.wireTape(), length);
    return tape;
}

/**
 * Runs `call` on the wasm instance. A trap (an allocation failure, a bug)
 * leaves an instance unusable, so it is replaced by a fresh one and
 * `trapped` answers instead: one call fails, and every later call works.
 */
export function guarded<T>(call: (glue: Glue) => T, trapped: (error: Error) => T): T {
    const current = glue();
    try {
        return call(current);
    } catch (error) {
        if (!(error instanceof WebAssembly.RuntimeError)) throw error;
        replace(current);
        return trapped(error);
    }
}

function replace(trapped: Glue): void {
    if (bound !== trapped) return;
    bound = undefined;
    memory = new Uint8Array(0);
    tape = new Float64Array(0);
    const fresh = reload?.();
    if (fresh instanceof Promise) {
        fresh.then((glue) => bind(glue), () => undefined);
    } else if (fresh !== undefined) {
        bind(fresh);
    }
}
