// The envelope of SPEC sections 2 to 4 as TypeScript types with typia's
// tags, for typia's ahead-of-time generated JSON validator (`make bench`
// runs `typia generate` on this folder, then tsc). typia has no
// refinements: the crowd sum and the kind pairing are checked after it, in
// plain JS (benches/js/schemas.mjs).
import typia, { tags } from "typia";

type Unit = number & tags.Minimum<0> & tags.Maximum<1>;
type DateTime = string & tags.Format<"date-time">;
type Text<Max extends number> = string & tags.MinLength<1> & tags.MaxLength<Max> & tags.Pattern<"\\S">;
type Count = number & tags.Type<"uint32">;

interface Prediction {
    source_type: "fomo2_report" | "polymarket_bet" | "oddsoddy_strategy";
    source_id: Text<256>;
    question: Text<2000>;
    probability: Unit;
    confidence: Unit;
    market_probability?: (number & tags.ExclusiveMinimum<0> & tags.ExclusiveMaximum<1>) | null;
    crowd: {
        agents: Count & tags.Minimum<1> & tags.Maximum<1000000>;
        bullish: Count;
        bearish: Count;
        neutral: Count;
    };
    rationale?: string & tags.MaxLength<4000>;
    drivers?: Array<string & tags.MinLength<1> & tags.MaxLength<280>> & tags.MaxItems<16>;
    resolves_at?: DateTime | null;
    generated_at: DateTime;
}

interface Base {
    schema_version?: "1";
    arena?: "crowd_simulation";
    prediction: Prediction;
    published_at: DateTime;
    correlation_id: string;
    meta?: Record<string, unknown>;
}

interface Fomo2Envelope extends Base {
    decision_kind: "fomo2_signal";
    decision: { action: "buy" | "sell" | "hold"; strength: Unit; reason: string };
}

interface PolymarketEnvelope extends Base {
    decision_kind: "polymarket_side";
    decision: {
        side: "yes" | "no" | "abstain";
        edge: number | null;
        price: Unit | null;
        stake_fraction: number & tags.Minimum<0> & tags.Maximum<0.25>;
        reason: string;
    };
}

interface OddsoddyEnvelope extends Base {
    decision_kind: "oddsoddy_multiplier";
    decision: { multiplier: number & tags.Minimum<0> & tags.Maximum<2>; reason: string };
}

export type Envelope = Fomo2Envelope | PolymarketEnvelope | OddsoddyEnvelope;

export const validateParse = typia.json.createValidateParse<Envelope>();
