// The same package through require() types (CommonJS side).
import ce = require("crowd-envelope");
import redis = require("crowd-envelope/redis");

export function decodeOrNull(payload: string): ce.CrowdPredictionEnvelope | null {
    const result = ce.tryDecodeEnvelope(payload);
    return result.ok ? result.envelope : null;
}

export const publish: typeof redis.publishEnvelope = redis.publishEnvelope;
