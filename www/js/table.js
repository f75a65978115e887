// @ts-check
// The envelopes' table: new rows on top (a burst built over frames), the
// whole table again when a filter or the sort changes, what it holds back
// while paused or scrolled away.

import { announce } from "./announce.js";
import { scheduleChart } from "./chart.js";
import { $ } from "./dom.js";
import { matches } from "./filters.js";
import { keepTabStop, markSelected, row } from "./rows.js";
import { measured, state } from "./state.js";
import { decisionText } from "./words.js";

/** Envelopes kept and not yet in the table (render.js fills it). */
export const unshown = [];

export function scrolledAway() {
    return $("envelopes-wrap").scrollTop > 40;
}

/** "N new": what the table holds back while paused or scrolled away. */
export function renderHeld() {
    const button = $("held");
    button.hidden = state.held === 0 || state.paused;
    button.textContent = `${state.held} new: show them`;
}

export function showHeld() {
    state.held = 0;
    renderHeld();
    $("envelopes-wrap").scrollTop = 0;
    renderTable();
}

/** New envelopes on top; the table keeps at most MAX_ROWS rows. */
export function prependRows(items) {
    const body = $("envelopes").tBodies[0];
    // Newest first, and no more rows than the table keeps: a burst of
    // thousands builds 300 rows, not thousands that are then removed; and
    // at most ROWS_PER_FRAME of them in this frame, the rest in the next
    // ones, under these, so no frame runs long.
    const shown = [];
    for (let i = items.length - 1; i >= 0 && shown.length < state.rowLimit; i--) {
        if (matches(items[i])) shown.push(items[i]);
    }
    const now = shown.slice(0, ROWS_PER_FRAME).map(row);
    body.prepend(...now);
    if (shown.length > now.length) {
        backlogs.push({ after: now[now.length - 1], items: shown.slice(now.length) });
        scheduleBacklog();
    }
    trimRows();
    keepTabStop();
    renderShown();
}

const ROWS_PER_FRAME = 25;
/** Rows still to build after a burst: each goes under `after`, oldest last. */
const backlogs = [];
let backlogPending = false;

function scheduleBacklog() {
    if (!backlogPending) {
        backlogPending = true;
        requestAnimationFrame(drainBacklog);
    }
}

function drainBacklog() {
    measured("backlog", drainChunk);
}

function drainChunk() {
    backlogPending = false;
    // The newest burst's rows first: an older burst's rows may be trimmed
    // away under them and need not be built at all.
    const backlog = backlogs[backlogs.length - 1];
    if (!backlog) return;
    // Its anchor trimmed away: what is older than it is past the cap too.
    if (!backlog.after.isConnected) backlog.items.length = 0;
    const chunk = backlog.items.splice(0, ROWS_PER_FRAME).map(row);
    if (chunk.length > 0) {
        backlog.after.after(...chunk);
        backlog.after = chunk[chunk.length - 1];
    }
    if (backlog.items.length === 0) backlogs.pop();
    trimRows();
    markSelected();
    renderShown();
    if (backlogs.length > 0) scheduleBacklog();
}

function trimRows() {
    const body = $("envelopes").tBodies[0];
    while (body.rows.length > state.rowLimit) body.lastElementChild.remove();
}

/** The whole table again, after a filter changed or on resume. */
export function renderTable() {
    clearTimeout(tableTimer);
    tableTimer = null;
    measured("table", redrawTable);
}

function redrawTable() {
    unshown.length = 0; // every kept envelope is drawn here
    const body = $("envelopes").tBodies[0];
    let items = [];
    for (let i = state.envelopes.length - 1; i >= 0; i--) {
        if (matches(state.envelopes[i])) items.push(state.envelopes[i]);
        if (!state.sort && items.length === state.rowLimit) break;
    }
    if (state.sort) items = sorted(items).slice(0, state.rowLimit);
    backlogs.length = 0; // every row is built here
    body.replaceChildren(...items.map(row));
    markSelected();
    keepTabStop();
    renderShown();
    scheduleChart();
}

let tableTimer = null;
export function scheduleTable(delay = 0) {
    clearTimeout(tableTimer);
    tableTimer = setTimeout(renderTable, delay);
}

const SORT_KEYS = {
    time: (item) => item.envelope.published_at,
    confidence: (item) => item.envelope.prediction.confidence,
    decision: (item) => decisionText(item.envelope),
};

function sorted(items) {
    const { key, dir } = state.sort;
    const value = SORT_KEYS[key];
    return [...items].sort((a, b) => {
        const [x, y] = [value(a), value(b)];
        return (x < y ? -1 : x > y ? 1 : b.seq - a.seq) * (x === y ? 1 : dir);
    });
}

/** A header's sort button: newest first, then ascending, descending, and back. */
export function sortBy(key) {
    const current = state.sort?.key === key ? state.sort.dir : 0;
    setSort(current === 0 ? { key, dir: 1 } : current === 1 ? { key, dir: -1 } : null);
    announce(state.sort ? `sorted by ${key}, ${state.sort.dir === 1 ? "ascending" : "descending"}` : "newest first");
    renderTable();
}

export function setSort(sort) {
    state.sort = sort;
    for (const th of document.querySelectorAll("#envelopes th[data-sort]")) {
        if (!(th instanceof HTMLElement)) continue;
        const order = sort?.key === th.dataset.sort ? (sort.dir === 1 ? "ascending" : "descending") : "none";
        th.setAttribute("aria-sort", order);
    }
}

export function renderShown() {
    const shown = $("envelopes").tBodies[0].rows.length;
    const kept = state.envelopes.length.toLocaleString("en");
    const text = `${shown} rows shown of ${kept} kept`;
    $("shown").textContent = state.paused ? `paused · ${text}` : text;
    renderEmpty();
}

/** What an empty table means: nothing yet, Redis down, or the filters. */
export function renderEmpty() {
    const empty = $("empty");
    empty.hidden = $("envelopes").tBodies[0].rows.length > 0;
    if (empty.hidden) return;
    const filtered = $("filter-source").value || $("filter-decision").value || $("filter-search").value.trim();
    empty.textContent = filtered
        ? "No envelope matches the filters."
        : state.health.redis === "down"
          ? "Redis does not answer: no envelopes yet."
          : "Waiting for the first envelope on the stream.";
}

/** Whether a redraw of the whole table is coming (it shows what is unshown too). */
export function tableRedrawPending() {
    return tableTimer !== null;
}
