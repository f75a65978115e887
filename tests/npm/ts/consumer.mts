// A strict TypeScript consumer of the packed package (ES module side): it
// must compile with no `any` leaking out, and narrowing must work.
import {
    buildEnvelope,
    decodeBatch,
    encodeEnvelope,
    envelopeSchema,
    tryDecodeEnvelope,
    ValidationError,
    verifyDecision,
    DEFAULT_STREAM_NAME,
    type CrowdPredictionEnvelope,
    type DecodeResult,
    type DecodeReason,
    type Fomo2Action,
    type Side,
} from "crowd-envelope";
import { followEnvelopes, publishEnvelope, readEnvelopes, type SkippedEntry } from "crowd-envelope/redis";
import { createClient, createCluster } from "redis";
import { Cluster, Redis as IoRedis } from "ioredis";

// An ioredis client fits the Redis helpers as it is.
export async function newestIds(client: IoRedis): Promise<string[]> {
    const latest = await readEnvelopes(client, DEFAULT_STREAM_NAME, 5);
    return latest.map((entry) => entry.id);
}

// Cluster clients fit too: node-redis's createCluster and ioredis's Cluster.
export async function clusterIds(): Promise<string[]> {
    const cluster = createCluster({ rootNodes: [{ url: "redis://127.0.0.1:7000" }] });
    await cluster.connect();
    const fromNodeRedis = await readEnvelopes(cluster, DEFAULT_STREAM_NAME, 5);
    const fromIoRedis = await readEnvelopes(new Cluster([{ host: "127.0.0.1", port: 7000 }]), DEFAULT_STREAM_NAME, 5);
    return [...fromNodeRedis, ...fromIoRedis].map((entry) => entry.id);
}

// Numbers may be their decimal strings, as the validator reads them; other
// types are refused at compile time.
export function laxNumbers(): string {
    const prediction = {
        source_type: "oddsoddy_strategy",
        source_id: "o-1",
        question: "Home win?",
        probability: "0.7",
        confidence: 0.8,
        market_probability: "0.5",
        crowd: { agents: "10", bullish: 6, bearish: "3", neutral: 1 },
        generated_at: "2026-01-01T00:00:00Z",
    } as const;
    // @ts-expect-error a boolean is no number
    buildEnvelope({ ...prediction, probability: true });
    return buildEnvelope(prediction).correlation_id;
}

// Fails to compile if T is `any`.
type IsAny<T> = 0 extends 1 & T ? true : false;
type AssertFalse<T extends false> = T;

export function describe(payload: string | Uint8Array): string {
    const result: DecodeResult = tryDecodeEnvelope(payload);
    if (!result.ok) {
        const reason: DecodeReason = result.reason;
        return `${reason}: ${result.errors.map((e) => `${e.path} ${e.message}`).join(", ")}`;
    }
    return decisionText(result.envelope);
}

function decisionText(envelope: CrowdPredictionEnvelope): string {
    switch (envelope.decision_kind) {
        case "fomo2_signal": {
            const action: Fomo2Action = envelope.decision.action;
            return `${action} ${envelope.decision.strength.toFixed(2)}`;
        }
        case "polymarket_side": {
            const side: Side = envelope.decision.side;
            const edge: number | null = envelope.decision.edge;
            return `${side} edge=${edge ?? "n/a"} stake=${envelope.decision.stake_fraction}`;
        }
        case "oddsoddy_multiplier":
            return `x${envelope.decision.multiplier}`;
        default: {
            const unreachable: never = envelope;
            return unreachable;
        }
    }
}

export type Checks = [
    AssertFalse<IsAny<ReturnType<typeof tryDecodeEnvelope>>>,
    AssertFalse<IsAny<CrowdPredictionEnvelope["meta"]>>,
    AssertFalse<IsAny<CrowdPredictionEnvelope["prediction"]["market_probability"]>>,
    AssertFalse<IsAny<ReturnType<typeof decodeBatch>>>,
];

export function build(): string {
    const envelope = buildEnvelope(
        {
            source_type: "polymarket_bet",
            source_id: "m-1",
            question: "Rain?",
            probability: 0.7,
            confidence: 0.8,
            market_probability: 0.5,
            crowd: { agents: 10, bullish: 6, bearish: 3, neutral: 1 },
            generated_at: new Date(),
        },
        { correlationId: "abc", meta: { run: 1 } },
    );
    const resolves: string | null = envelope.prediction.resolves_at;
    const published: string = envelope.published_at;
    void resolves;
    void published;
    const checked = envelopeSchema["~standard"].validate(envelope);
    if (checked.issues === undefined) {
        const again: CrowdPredictionEnvelope = checked.value;
        void again;
    }
    try {
        return encodeEnvelope(envelope) + String(verifyDecision(envelope));
    } catch (error) {
        if (error instanceof ValidationError) return error.errors.map((e) => e.path).join();
        throw error;
    }
}

export async function transport(): Promise<void> {
    const client = createClient({ url: "redis://127.0.0.1:6379" });
    await client.connect();
    const envelope = buildEnvelope({
        source_type: "fomo2_report", source_id: "r", question: "q", probability: 0.9, confidence: 0.9,
        crowd: { agents: 1, bullish: 1, bearish: 0, neutral: 0 }, generated_at: "2026-01-01T00:00:00Z",
    });
    const id: string = await publishEnvelope(client, DEFAULT_STREAM_NAME, envelope, { maxLen: 1000 });
    const latest = await readEnvelopes(client, DEFAULT_STREAM_NAME, 10);
    const controller = new AbortController();
    const onSkip = (skipped: SkippedEntry) => console.warn(skipped.id, skipped.reason);
    for await (const entry of followEnvelopes(client, DEFAULT_STREAM_NAME, { lastId: id, signal: controller.signal, onSkip })) {
        if (entry.envelope.decision_kind === "fomo2_signal") controller.abort();
    }
    void latest;
    await client.quit();
}
