// What a user would write instead of this package: the envelope of SPEC
// sections 2 to 4 as a zod v4 schema, a valibot schema and a TypeBox
// compiled checker (strict JSON types, no Pydantic-style coercion), typia's
// ahead-of-time generated validator (benches/js/typia, generated and
// compiled by `make bench`), and Ajv compiled from this project's own JSON
// Schema (`crowd-envelope schema`).
import { z } from "zod";
import * as v from "valibot";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { FormatRegistry, Type as T } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { validateParse as typiaValidateParse } from "../../target/bench/typia/envelope.js";

const PAIRS = { fomo2_report: "fomo2_signal", polymarket_bet: "polymarket_side", oddsoddy_strategy: "oddsoddy_multiplier" };
const notBlank = /\S/;

// --- zod v4 ---
const zUnit = z.number().min(0).max(1);
const zDate = z.iso.datetime({ offset: true });
const zPrediction = z.object({
    source_type: z.enum(["fomo2_report", "polymarket_bet", "oddsoddy_strategy"]),
    source_id: z.string().min(1).max(256).regex(notBlank),
    question: z.string().min(1).max(2000).regex(notBlank),
    probability: zUnit,
    confidence: zUnit,
    market_probability: z.number().gt(0).lt(1).nullable().default(null),
    crowd: z
        .object({
            agents: z.int().min(1).max(1_000_000),
            bullish: z.int().min(0),
            bearish: z.int().min(0),
            neutral: z.int().min(0),
        })
        .refine((c) => c.bullish + c.bearish + c.neutral === c.agents, "counts must sum to agents"),
    rationale: z.string().max(4000).default(""),
    drivers: z.array(z.string().min(1).max(280)).max(16).default([]),
    resolves_at: zDate.nullable().default(null),
    generated_at: zDate,
});
const zBase = {
    schema_version: z.literal("1").default("1"),
    arena: z.literal("crowd_simulation").default("crowd_simulation"),
    prediction: zPrediction,
    published_at: zDate,
    correlation_id: z.string(),
    meta: z.record(z.string(), z.unknown()).default({}),
};
const zReason = z.string();
export const zodEnvelope = z
    .discriminatedUnion("decision_kind", [
        z.object({ ...zBase, decision_kind: z.literal("fomo2_signal"), decision: z.object({ action: z.enum(["buy", "sell", "hold"]), strength: zUnit, reason: zReason }) }),
        z.object({
            ...zBase,
            decision_kind: z.literal("polymarket_side"),
            decision: z.object({
                side: z.enum(["yes", "no", "abstain"]),
                edge: z.number().nullable(),
                price: zUnit.nullable(),
                stake_fraction: z.number().min(0).max(0.25),
                reason: zReason,
            }),
        }),
        z.object({ ...zBase, decision_kind: z.literal("oddsoddy_multiplier"), decision: z.object({ multiplier: z.number().min(0).max(2), reason: zReason }) }),
    ])
    .refine((e) => PAIRS[e.prediction.source_type] === e.decision_kind, { path: ["decision_kind"] });

// --- valibot ---
const vUnit = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const vDate = v.pipe(v.string(), v.isoTimestamp());
const vText = (max) => v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(notBlank));
const vInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const vPrediction = v.object({
    source_type: v.picklist(["fomo2_report", "polymarket_bet", "oddsoddy_strategy"]),
    source_id: vText(256),
    question: vText(2000),
    probability: vUnit,
    confidence: vUnit,
    market_probability: v.optional(v.nullable(v.pipe(v.number(), v.gtValue(0), v.ltValue(1))), null),
    crowd: v.pipe(
        v.object({ agents: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)), bullish: vInt, bearish: vInt, neutral: vInt }),
        v.check((c) => c.bullish + c.bearish + c.neutral === c.agents, "counts must sum to agents"),
    ),
    rationale: v.optional(v.pipe(v.string(), v.maxLength(4000)), ""),
    drivers: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(280))), v.maxLength(16)), []),
    resolves_at: v.optional(v.nullable(vDate), null),
    generated_at: vDate,
});
const vBase = {
    schema_version: v.optional(v.literal("1"), "1"),
    arena: v.optional(v.literal("crowd_simulation"), "crowd_simulation"),
    prediction: vPrediction,
    published_at: vDate,
    correlation_id: v.string(),
    meta: v.optional(v.record(v.string(), v.unknown()), {}),
};
export const valibotEnvelope = v.pipe(
    v.variant("decision_kind", [
        v.object({ ...vBase, decision_kind: v.literal("fomo2_signal"), decision: v.object({ action: v.picklist(["buy", "sell", "hold"]), strength: vUnit, reason: v.string() }) }),
        v.object({
            ...vBase,
            decision_kind: v.literal("polymarket_side"),
            decision: v.object({
                side: v.picklist(["yes", "no", "abstain"]),
                edge: v.nullable(v.number()),
                price: v.nullable(vUnit),
                stake_fraction: v.pipe(v.number(), v.minValue(0), v.maxValue(0.25)),
                reason: v.string(),
            }),
        }),
        v.object({ ...vBase, decision_kind: v.literal("oddsoddy_multiplier"), decision: v.object({ multiplier: v.pipe(v.number(), v.minValue(0), v.maxValue(2)), reason: v.string() }) }),
    ]),
    v.check((e) => PAIRS[e.prediction.source_type] === e.decision_kind, "decision_kind must match source_type"),
);
export const valibotSafeParse = (value) => v.safeParse(valibotEnvelope, value);

// --- Ajv, from the project's JSON Schema ---
export function ajvValidator(schema) {
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    addFormats(ajv);
    return ajv.compile(schema);
}

// The rules no schema language here states: the crowd sum and the pairing
// of decision_kind with source_type.
const refined = (e) =>
    e.prediction.crowd.bullish + e.prediction.crowd.bearish + e.prediction.crowd.neutral === e.prediction.crowd.agents &&
    PAIRS[e.prediction.source_type] === e.decision_kind;

// --- typia (ahead-of-time) ---
export const typiaDecode = (text) => {
    const result = typiaValidateParse(text);
    return result.success && refined(result.data) ? result : { success: false };
};

// --- TypeBox, compiled ---
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
FormatRegistry.Set("date-time", (s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)));
const tUnit = T.Number({ minimum: 0, maximum: 1 });
const tDate = T.String({ format: "date-time" });
const tText = (max) => T.String({ minLength: 1, maxLength: max, pattern: "\\S" });
const tCount = T.Integer({ minimum: 0 });
const tPrediction = T.Object({
    source_type: T.Union([T.Literal("fomo2_report"), T.Literal("polymarket_bet"), T.Literal("oddsoddy_strategy")]),
    source_id: tText(256),
    question: tText(2000),
    probability: tUnit,
    confidence: tUnit,
    market_probability: T.Optional(T.Union([T.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), T.Null()])),
    crowd: T.Object({ agents: T.Integer({ minimum: 1, maximum: 1_000_000 }), bullish: tCount, bearish: tCount, neutral: tCount }),
    rationale: T.Optional(T.String({ maxLength: 4000 })),
    drivers: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 280 }), { maxItems: 16 })),
    resolves_at: T.Optional(T.Union([tDate, T.Null()])),
    generated_at: tDate,
});
const tBase = {
    schema_version: T.Optional(T.Literal("1")),
    arena: T.Optional(T.Literal("crowd_simulation")),
    prediction: tPrediction,
    published_at: tDate,
    correlation_id: T.String(),
    meta: T.Optional(T.Record(T.String(), T.Unknown())),
};
const typeboxChecker = TypeCompiler.Compile(
    T.Union([
        T.Object({ ...tBase, decision_kind: T.Literal("fomo2_signal"), decision: T.Object({ action: T.Union([T.Literal("buy"), T.Literal("sell"), T.Literal("hold")]), strength: tUnit, reason: T.String() }) }),
        T.Object({
            ...tBase,
            decision_kind: T.Literal("polymarket_side"),
            decision: T.Object({
                side: T.Union([T.Literal("yes"), T.Literal("no"), T.Literal("abstain")]),
                edge: T.Union([T.Number(), T.Null()]),
                price: T.Union([tUnit, T.Null()]),
                stake_fraction: T.Number({ minimum: 0, maximum: 0.25 }),
                reason: T.String(),
            }),
        }),
        T.Object({ ...tBase, decision_kind: T.Literal("oddsoddy_multiplier"), decision: T.Object({ multiplier: T.Number({ minimum: 0, maximum: 2 }), reason: T.String() }) }),
    ]),
);
export const typeboxCheck = (value) => typeboxChecker.Check(value) && refined(value);
