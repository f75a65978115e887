// The decode comparison, the same in Node and in a browser: given the
// package's API and the competitors, it times every case and gives plain data.
import { compare } from "./harness.mjs";
import { LADDER, PAYLOADS } from "./payloads.mjs";
import { ajvValidator, typeboxCheck, typiaDecode, valibotSafeParse, zodEnvelope } from "./schemas.mjs";

const LIMIT = { maxPayloadBytes: 2 * 1024 * 1024 };

export function runSuite(ce, jsonSchema, log = () => {}, forms = {}) {
    const ajv = ajvValidator(jsonSchema);
    // zod before the package has decoded anything, to see whether sharing
    // the process (and V8's object shapes) with it slows other code.
    log("zod alone, before any decode");
    const zodAlone = compare({
        "JSON.parse + zod": () => zodEnvelope.safeParse(JSON.parse(PAYLOADS.typical)),
        "JSON.parse": () => JSON.parse(PAYLOADS.typical),
    });
    const competitors = (payload) => ({
        "crowd-envelope": () => ce.tryDecodeEnvelope(payload, LIMIT),
        "JSON.parse": () => JSON.parse(payload),
        "JSON.parse + zod": () => zodEnvelope.safeParse(JSON.parse(payload)),
        "JSON.parse + Ajv": () => ajv(JSON.parse(payload)),
        "JSON.parse + valibot": () => valibotSafeParse(JSON.parse(payload)),
        "JSON.parse + TypeBox": () => typeboxCheck(JSON.parse(payload)),
        "typia (AOT)": () => typiaDecode(payload),
    });
    checkVerdicts(ce, ajv);

    const cases = {};
    for (const [name, payload] of Object.entries(PAYLOADS)) {
        log(`decode: ${name} (${payload.length} bytes)`);
        const big = payload.length > 100_000;
        cases[name] = { bytes: payload.length, results: compare(competitors(payload), big ? { rounds: 5, roundMs: 150 } : {}) };
    }

    // Each form producers write (benches/forms.py): the same envelopes,
    // every one of them decoded per call; time per envelope.
    const byForm = {};
    for (const [form, payloads] of Object.entries(forms)) {
        log(`forms: ${form} (${payloads.length} envelopes)`);
        for (const payload of payloads) {
            if (!ce.tryDecodeEnvelope(payload, LIMIT).ok) throw new Error(`the ${form} form is rejected: ${payload}`);
        }
        const each = (decode) => () => {
            for (const payload of payloads) decode(payload);
        };
        const timed = compare({
            "crowd-envelope": each((p) => ce.tryDecodeEnvelope(p, LIMIT)),
            "JSON.parse": each((p) => JSON.parse(p)),
            "JSON.parse + zod": each((p) => zodEnvelope.safeParse(JSON.parse(p))),
            "typia (AOT)": each((p) => typiaDecode(p)),
        }, { rounds: 7, roundMs: 120 });
        byForm[form] = Object.fromEntries(Object.entries(timed).map(([who, { nsPerOp }]) => [who, nsPerOp / payloads.length]));
    }

    // lazyMeta (a meta that is not flat parsed on first read): what it
    // saves when the consumer never reads meta, and costs when it does.
    const lazyMeta = {};
    for (const name of ["meta64k", "meta1m"]) {
        log(`lazyMeta: ${name}`);
        const payload = PAYLOADS[name];
        const lazy = { ...LIMIT, lazyMeta: true };
        lazyMeta[name] = compare({
            "crowd-envelope": () => ce.tryDecodeEnvelope(payload, LIMIT),
            "lazyMeta, meta not read": () => ce.tryDecodeEnvelope(payload, lazy),
            "lazyMeta, meta read": () => ce.tryDecodeEnvelope(payload, lazy).envelope.meta,
            "JSON.parse": () => JSON.parse(payload),
        }, { rounds: 5, roundMs: 150 });
    }

    log("scaling: 1 KB to 1 MB");
    const ladder = LADDER.map(({ bytes, payload }) => {
        const { nsPerOp } = compare({ decode: () => ce.tryDecodeEnvelope(payload, LIMIT) }, { rounds: 5, roundMs: 60 }).decode;
        return { bytes: payload.length, target: bytes, nsPerOp, nsPerByte: nsPerOp / payload.length };
    });

    log("batch: decodeBatch vs one call each");
    const many = Array.from({ length: 1000 }, () => PAYLOADS.typical);
    const batch = compare({
        "decodeBatch(1000)": () => ce.decodeBatch(many),
        "1000 x tryDecodeEnvelope": () => many.map((p) => ce.tryDecodeEnvelope(p)),
    });
    return { cases, forms: byForm, lazyMeta, ladder, batch, zodAlone };
}

/** A benchmark of validators that disagree with each other measures nothing. */
function checkVerdicts(ce, ajv) {
    const verdicts = (payload) => ({
        "crowd-envelope": ce.tryDecodeEnvelope(payload, LIMIT).ok,
        zod: zodEnvelope.safeParse(JSON.parse(payload)).success,
        Ajv: ajv(JSON.parse(payload)),
        valibot: valibotSafeParse(JSON.parse(payload)).success,
        TypeBox: typeboxCheck(JSON.parse(payload)),
        typia: typiaDecode(payload).success,
    });
    for (const [name, payload] of Object.entries(PAYLOADS)) {
        const wanted = name !== "invalid";
        for (const [who, ok] of Object.entries(verdicts(payload))) {
            if (ok !== wanted) throw new Error(`${who} says ${ok ? "valid" : "invalid"} for the ${name} payload`);
        }
    }
}
