// A page that imports the package the way an app would, through a bundler.
import { buildEnvelope, encodeEnvelope, tryDecodeEnvelope, verifyDecision } from "crowd-envelope";

const payload = encodeEnvelope(buildEnvelope({
    source_type: "polymarket_bet", source_id: "m-1", question: "<img src=x onerror=alert(1)>", probability: 0.7,
    confidence: 0.8, market_probability: 0.5, crowd: { agents: 10, bullish: 6, bearish: 3, neutral: 1 },
    generated_at: "2026-01-01T00:00:00Z",
}, { correlationId: "browser", publishedAt: "2026-01-01T00:00:01Z" }));
const decoded = tryDecodeEnvelope(payload);
const rejected = tryDecodeEnvelope('{"schema_version":"2"}');
document.getElementById("result").textContent = JSON.stringify({
    ok: decoded.ok,
    decision: decoded.ok ? decoded.envelope.decision : null,
    verified: decoded.ok && verifyDecision(decoded.envelope),
    payload,
    rejected: rejected.ok ? null : rejected.reason,
});
