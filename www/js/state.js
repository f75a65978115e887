// @ts-check
// What the page holds (one object, so every module reads the same), its
// limits, and the rules every entry goes through.

import { decodeStreamEntry } from "/pkg/browser.js";

// Rows in the page at first: each row costs layout and paint in every frame
// that adds rows (300 made a 2,000-entry burst's frames run past 50 ms).
// "show older" adds more; every kept envelope stays searchable.
export const MAX_ROWS = 100;
export const MAX_KEPT = 5000; // envelopes kept in memory
export const MAX_REJECTED = 100; // rejected entries listed
export const MAX_POINTS = 400; // points on the chart
export const BACKFILL = 100; // entries asked for when the page opens

export const state = {
    envelopes: [], // {id, envelope, key}, oldest first
    rejected: [], // {id, reason, errors}, oldest first
    reasons: new Map(),
    seen: new Set(), // stream ids already shown: a reconnect never doubles a row
    incoming: [],
    paused: false,
    selected: null,
    accepted: 0,
    offline: 0,
    // Stream-id times (ms, Redis's clock) of live entries in the last
    // RATE_WINDOW_MS, and of the newest one: the rate and the age.
    recent: [],
    newest: null,
    health: { feed: "connecting", redis: "up", message: "" },
    seq: 0, // arrival order of envelopes
    pauseSeq: Infinity, // while paused: the last envelope shown
    held: 0, // envelopes that arrived while the table was scrolled away
    sort: null, // null (newest first), or {key, dir}
    zone: "utc",
    oldest: null, // the oldest stream id read, for paging back
    rowLimit: MAX_ROWS, // grows as the user pages back
};

export const RATE_WINDOW_MS = 10_000;

export const FRAME_BUDGET_MS = 5;

// Opened with ?measure (the tests, `make bench`): the page times its steps
// as performance measures, "crowd:<step>", to say which part of a long task
// took the time. Not otherwise: the entries would pile up for as long as
// the page is open.
const MEASURED = new URLSearchParams(location.search).has("measure");

export function measured(name, step) {
    if (!MEASURED) return step();
    const start = performance.now();
    try {
        return step();
    } finally {
        performance.measure(`crowd:${name}`, { start });
    }
}

/** A relayed entry (`/feed`'s events, `/entries`' items) through the package's entry rule. */
export function decodeRelayed(entry) {
    const data =
        typeof entry.data_b64 === "string"
            ? Uint8Array.from(atob(entry.data_b64), (c) => c.charCodeAt(0))
            : entry.data;
    const oversized = typeof entry.too_large === "number" ? entry.too_large : undefined;
    const fields = Array.isArray(entry.fields) ? entry.fields : [];
    // A payload the server left unread is judged by the server's limit.
    const options = oversized === undefined ? undefined : { maxPayloadBytes: entry.limit };
    return decodeStreamEntry({ fields, data, oversized }, options);
}

/** Whether stream id `a` is older than `b` (both MS-SEQ). */
export function idBefore(a, b) {
    const [am, as] = a.split("-").map(BigInt);
    const [bm, bs] = b.split("-").map(BigInt);
    return am < bm || (am === bm && as < bs);
}

export function searchKey(envelope) {
    return `${envelope.prediction.question}\u0000${envelope.prediction.source_id}`.toLowerCase();
}
