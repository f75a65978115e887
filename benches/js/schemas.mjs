// What a user would write instead of this package: the envelope of SPEC
// sections 2 to 4 as a zod v4 schema and as a valibot schema (strict JSON
// types, no Pydantic-style coercion), and Ajv compiled from this project's
// own JSON Schema (`crowd-envelope schema`).
import { z } from "zod";
import * as v from "valibot";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

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
