// @ts-check
// Rendering, once per animation frame however fast entries arrive: what
// arrived is decoded within a frame's budget, kept, counted, and handed to
// the table at most every TABLE_EVERY_MS.

import { noteRejection } from "./announce.js";
import { scheduleChart } from "./chart.js";
import { FRAME_BUDGET_MS, MAX_KEPT, MAX_REJECTED, decodeRelayed, measured, searchKey, state } from "./state.js";
import { prependRows, renderHeld, scheduleTable, scrolledAway, tableRedrawPending, unshown } from "./table.js";
import { renderCounters, renderRejected } from "./tallies.js";

/**
 * An entry for the next frame: a stream `entry` to decode there, or a
 * `result` already decoded, with its `origin` for an offline one ("pasted",
 * "file x.jsonl"; none for the stream).
 */
export function queue(item) {
    state.incoming.push(item);
    scheduleRender();
}

let renderPending = false;
function scheduleRender() {
    if (!renderPending) {
        renderPending = true;
        requestAnimationFrame(render);
    }
}

function render() {
    measured("render", renderBatch);
}

/**
 * What arrived since the last frame, decoded and kept for at most
 * FRAME_BUDGET_MS; the rest waits for the next frame, so a burst is spread
 * over frames instead of blocking the page.
 */
function renderBatch() {
    renderPending = false;
    const start = performance.now();
    let taken = 0;
    const fresh = [];
    let rejections = false;
    while (taken < state.incoming.length && (taken % 16 !== 0 || performance.now() - start < FRAME_BUDGET_MS)) {
        const { id, entry, origin, result: decoded } = state.incoming[taken];
        const result = decoded ?? decodeRelayed(entry);
        taken += 1;
        if (result.ok) {
            state.seq += 1;
            const item = { id, envelope: result.envelope, key: searchKey(result.envelope), origin, seq: state.seq };
            state.envelopes.push(item);
            state.accepted += 1;
            fresh.push(item);
        } else {
            state.rejected.push({ id, reason: result.reason, errors: result.errors });
            state.reasons.set(result.reason, (state.reasons.get(result.reason) ?? 0) + 1);
            if (!origin) noteRejection(result.reason);
            rejections = true;
        }
    }
    state.incoming.splice(0, taken);
    if (state.incoming.length > 0) scheduleRender();
    if (state.envelopes.length > MAX_KEPT) state.envelopes.splice(0, state.envelopes.length - MAX_KEPT);
    if (state.rejected.length > MAX_REJECTED) state.rejected.splice(0, state.rejected.length - MAX_REJECTED);
    if (state.seen.size > MAX_KEPT * 4) state.seen = new Set(state.envelopes.map((item) => item.id));
    renderCounters();
    if (rejections) renderRejected();
    unshown.push(...fresh);
    // A redraw of the whole table is coming (the search box is being typed
    // in): it shows these too, and until then the table holds still.
    if (unshown.length === 0 || tableRedrawPending()) return;
    // The table takes new rows from the stream at most every TABLE_EVERY_MS:
    // each time costs a layout and paint of every row, which a keystroke
    // would wait behind, and in a burst one frame's rows would be pushed out
    // by the next one's. What the user decoded here is shown at once.
    const wait = TABLE_EVERY_MS - (start - tableAt);
    if (wait > 0 && !fresh.some((item) => item.origin)) {
        if (state.incoming.length === 0) flushTimer ??= setTimeout(flushUnshown, wait);
        return;
    }
    tableAt = start;
    showFresh(unshown.splice(0));
}

const TABLE_EVERY_MS = 100;
let tableAt = 0;
let flushTimer = null;

function flushUnshown() {
    flushTimer = null;
    scheduleRender();
}

/** Newly kept envelopes into the table, unless it holds still. */
function showFresh(fresh) {
    scheduleChart();
    // Paused, or scrolled away from the top: the table holds still, except
    // for what the user decoded here (they asked to see it).
    const offline = fresh.filter((item) => item.origin);
    if (state.paused || scrolledAway()) {
        state.held += fresh.length - offline.length;
        renderHeld();
        if (offline.length > 0) prependRows(offline);
    } else if (state.sort) {
        scheduleTable();
    } else {
        prependRows(fresh);
    }
}
