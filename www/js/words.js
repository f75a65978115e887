// @ts-check
// How an envelope is said on the page: its decision, its time, an age.

import { decisionSummary } from "/pkg/browser.js";
import { state } from "./state.js";

export function decisionLabel(envelope) {
    const { decision } = envelope;
    switch (envelope.decision_kind) {
        case "fomo2_signal":
            return decision.action;
        case "polymarket_side":
            return decision.side;
        default:
            return decision.multiplier > 1 ? "raise" : decision.multiplier < 1 ? "cut" : "flat";
    }
}

export function decisionText(envelope) {
    // The Rust core's wording, as `crowd-envelope tail` writes it.
    return decisionSummary(envelope);
}

/** HH:MM:SS of a published_at, in UTC or the browser's zone. */
export function clock(publishedAt) {
    if (state.zone === "utc") return publishedAt.slice(11, 19);
    return new Date(publishedAt).toLocaleTimeString("en-GB", { hour12: false });
}

export function age(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Numbers to 12 significant digits: 0.72, not 0.7200000000000001. */
export function tidyNumbers(_key, value) {
    return typeof value === "number" ? Number(value.toPrecision(12)) : value;
}
