// @ts-check
// Paging back in the stream ("show older") and going to a stream id or a
// time, through the server's /entries.

import { announce } from "./announce.js";
import { select } from "./detail.js";
import { $ } from "./dom.js";
import { matches } from "./filters.js";
import { selectedRow } from "./rows.js";
import { MAX_ROWS, decodeRelayed, idBefore, searchKey, state } from "./state.js";
import { renderTable, setSort } from "./table.js";

/**
 * "show older": 100 more rows of the kept envelopes, while some are not
 * shown; then the stream's older entries.
 */
export async function showOlder() {
    if ($("envelopes").tBodies[0].rows.length < state.envelopes.filter(matches).length) {
        state.rowLimit += MAX_ROWS;
        renderTable();
        announce(`${$("envelopes").tBodies[0].rows.length} rows shown`);
    } else {
        await loadOlder();
    }
}

/** Pages back in the stream: the 100 entries before the oldest one read, under the rows. */
async function loadOlder() {
    if (state.oldest === null) {
        announce("nothing older: no entry read yet");
        return;
    }
    const older = await fetchBefore(state.oldest);
    if (older === null) return;
    state.rowLimit += older;
    renderTable();
    announce(`${older} older envelopes loaded`);
}

/**
 * The 100 entries before stream id `before`, decoded here and kept in
 * stream order (before everything kept, or in a gap that "go to" left);
 * gives how many envelopes were added, or null when the server could not
 * read them.
 */
async function fetchBefore(before) {
    const response = await fetch(`/entries?before=${encodeURIComponent(before)}&count=100`);
    if (!response.ok) {
        announce(`older entries could not be read (${response.status})`);
        return null;
    }
    const entries = await response.json(); // newest first
    const older = [];
    for (const entry of entries) {
        if (state.seen.has(entry.id)) continue;
        state.seen.add(entry.id);
        if (state.oldest === null || idBefore(entry.id, state.oldest)) state.oldest = entry.id;
        const result = decodeRelayed(entry);
        if (!result.ok) continue;
        older.unshift({ id: entry.id, envelope: result.envelope, key: searchKey(result.envelope), seq: -(state.envelopes.length + older.length) });
    }
    const newest = older.at(-1)?.id;
    const after = newest === undefined ? -1 : state.envelopes.findIndex((item) => !item.origin && idBefore(newest, item.id));
    state.envelopes.splice(after === -1 ? state.envelopes.length : after, 0, ...older);
    $("older").textContent = entries.length < 100 ? "no older entries" : "show older entries";
    $("older").disabled = entries.length < 100;
    return older.length;
}

/**
 * "go to": a stream id, or a date-time (in the zone the times are shown
 * in, unless it names one), as the id just after it: the entries up to and
 * including it. Null for anything else.
 */
function boundOf(text) {
    const value = text.trim();
    const id = /^(\d+)(?:-(\d+))?$/.exec(value);
    if (id) return `${id[1]}-${BigInt(id[2] ?? 0) + 1n}`;
    const iso = value.replace(/^(\d{4}-\d\d-\d\d) /, "$1T");
    const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(iso) || state.zone === "local" ? iso : `${iso}Z`;
    const ms = /^\d{4}-\d\d-\d\d/.test(iso) ? Date.parse(zoned) : NaN;
    return Number.isFinite(ms) ? `${ms + 1}-0` : null;
}

/**
 * Selects the newest envelope at or before a stream id or time, after
 * reading the 100 entries up to it from the stream.
 */
export async function goTo(text) {
    const input = $("goto-at");
    const before = boundOf(text);
    input.setAttribute("aria-invalid", String(before === null));
    $("goto-error").hidden = before !== null;
    if (before === null) {
        $("goto-error").textContent = `Not a stream id (1795811287642-0) or a date-time (2026-11-27 20:00): "${text.trim()}".`;
        return;
    }
    // Read even when newer than the oldest kept: a "go to" before may have left a gap.
    if ((await fetchBefore(before)) === null) return;
    const shown = state.envelopes.filter((item) => !item.origin && matches(item));
    const index = shown.findLastIndex((item) => idBefore(item.id, before));
    if (index === -1) {
        announce(`no envelope at or before ${text.trim()}${shown.length > 0 ? " matches the filters" : ""}`);
        return;
    }
    const target = shown[index];
    // Newest first: the rows down to the target, and some older ones.
    state.rowLimit = Math.max(state.rowLimit, shown.length - index + 20);
    setSort(null); // the rows in stream order, newest first
    renderTable();
    select(target);
    selectedRow()?.scrollIntoView({ block: "center" });
    announce(`went to ${target.id}, published ${target.envelope.published_at}`);
}
