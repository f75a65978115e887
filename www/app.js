// The live dashboard: every payload is decoded here, in the browser, by the
// crowd-envelope wasm package; the server only relays raw stream entries.
// Every string from the stream goes into the page as text (textContent,
// setAttribute), never as HTML.

import { decisionSummary, decodeStreamEntry, tryDecodeEnvelope, verifyDecision } from "/pkg/browser.js";

// Rows in the page at first: each row costs layout and paint in every frame
// that adds rows (300 made a 2,000-entry burst's frames run past 50 ms).
// "show older" adds more; every kept envelope stays searchable.
const MAX_ROWS = 100;
const MAX_KEPT = 5000; // envelopes kept in memory
const MAX_REJECTED = 100; // rejected entries listed
const MAX_POINTS = 400; // points on the chart
const BACKFILL = 100; // entries asked for when the page opens

const $ = (id) => document.getElementById(id);

const state = {
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
const RATE_WINDOW_MS = 10_000;
const rowItems = new WeakMap(); // <tr> -> its item

// ---------------------------------------------------------------------------
// Feed
// ---------------------------------------------------------------------------

function connect() {
    const feed = new EventSource(`/feed?backfill=${BACKFILL}`);
    feed.addEventListener("open", () => setHealth({ feed: "open" }));
    feed.addEventListener("error", () => {
        setHealth({ feed: "reconnecting" });
        // A refusal (503: the server's --max-clients) closes an EventSource
        // for good; try again later. Entries already shown are not repeated.
        if (feed.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
    feed.addEventListener("status", (event) => {
        const { redis, message } = JSON.parse(event.data);
        setHealth({ redis, message: message ?? "" });
    });
    // Entries come several to an event, oldest first.
    feed.addEventListener("entries", (event) => JSON.parse(event.data).forEach(receive));
    // Entries trimmed before the server read them, or a stream made anew:
    // listed with the rejections, so a loss is never silent.
    feed.addEventListener("gap", (event) => {
        const { reason, after, before, message } = JSON.parse(event.data);
        queue({ id: `${after}..${before}`, result: { ok: false, reason, errors: [{ path: "", code: "missing", message }] } });
    });
}

/**
 * One badge for the whole chain, page to server to Redis: green "live" only
 * when both answer; what is wrong is said in words under the header.
 */
function setHealth(change) {
    Object.assign(state.health, change);
    const { feed, redis, message } = state.health;
    const [cls, text, notice] =
        feed === "connecting"
            ? ["connecting", "connecting", ""]
            : feed !== "open"
              ? ["reconnecting", "reconnecting", "The page lost its connection to the server; reconnecting…"]
              : redis === "down"
                ? ["down", "redis down", `Redis does not answer${message ? `: ${message}` : ""}. New entries will appear when it is back.`]
                : ["live", "live", ""];
    const badge = $("status");
    badge.className = `status ${cls}`;
    badge.textContent = text;
    const box = $("notice");
    const was = box.textContent;
    box.hidden = notice === "";
    box.className = `notice ${cls}`;
    box.textContent = notice;
    if (notice !== was) announce(notice || "Connected: the stream is live again.");
    renderEmpty();
    renderGroups();
}

/**
 * One relayed entry (of an `entries` event): `fields` (all its field
 * names) and `data` (text), `data_b64` (bytes that are not UTF-8) or
 * `too_large` (its size, when over the server's `limit`). The entry rule
 * and the decoder are the package's.
 */
function receive(entry) {
    if (state.seen.has(entry.id)) return;
    state.seen.add(entry.id);
    if (state.oldest === null || idBefore(entry.id, state.oldest)) state.oldest = entry.id;
    const added = Number(entry.id.split("-")[0]);
    if (Number.isFinite(added)) {
        state.recent.push(added);
        state.newest = Math.max(state.newest ?? 0, added);
    }
    // Decoded in the next frames, within their budget: a burst of thousands
    // arriving in one network read is not decoded in one long task.
    queue({ id: entry.id, entry });
}

/** A relayed entry (`/feed`'s events, `/entries`' items) through the package's entry rule. */
function decodeRelayed(entry) {
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
function idBefore(a, b) {
    const [am, as] = a.split("-").map(BigInt);
    const [bm, bs] = b.split("-").map(BigInt);
    return am < bm || (am === bm && as < bs);
}

/**
 * "show older": 100 more rows of the kept envelopes, while some are not
 * shown; then the stream's older entries.
 */
async function showOlder() {
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
async function goTo(text) {
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

/**
 * An entry for the next frame: a stream `entry` to decode there, or a
 * `result` already decoded, with its `origin` for an offline one ("pasted",
 * "file x.jsonl"; none for the stream).
 */
function queue(item) {
    state.incoming.push(item);
    scheduleRender();
}

// ---------------------------------------------------------------------------
// Rendering, once per animation frame however fast entries arrive
// ---------------------------------------------------------------------------

let renderPending = false;
function scheduleRender() {
    if (!renderPending) {
        renderPending = true;
        requestAnimationFrame(render);
    }
}

const FRAME_BUDGET_MS = 5;

// Opened with ?measure (the tests, `make bench`): the page times its steps
// as performance measures, "crowd:<step>", to say which part of a long task
// took the time. Not otherwise: the entries would pile up for as long as
// the page is open.
const MEASURED = new URLSearchParams(location.search).has("measure");

function measured(name, step) {
    if (!MEASURED) return step();
    const start = performance.now();
    try {
        return step();
    } finally {
        performance.measure(`crowd:${name}`, { start });
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
    if (unshown.length === 0 || tableTimer !== null) return;
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
const unshown = [];
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

function scrolledAway() {
    return $("envelopes-wrap").scrollTop > 40;
}

/** "N new": what the table holds back while paused or scrolled away. */
function renderHeld() {
    const button = $("held");
    button.hidden = state.held === 0 || state.paused;
    button.textContent = `${state.held} new: show them`;
}

function showHeld() {
    state.held = 0;
    renderHeld();
    $("envelopes-wrap").scrollTop = 0;
    renderTable();
}

function renderCounters() {
    $("count-accepted").textContent = String(state.accepted);
    $("count-rejected").textContent = String([...state.reasons.values()].reduce((a, b) => a + b, 0));
    renderRate();
}

/**
 * Entries per second over the last ten seconds, and the newest entry's
 * age, both by the ids' times: redrawn every second, so a stream that stops
 * shows a rate falling to 0 and an age that grows.
 */
function renderRate() {
    const now = Date.now();
    while (state.recent.length > 0 && state.recent[0] < now - RATE_WINDOW_MS) state.recent.shift();
    const rate = state.recent.length / (RATE_WINDOW_MS / 1000);
    $("count-rate").textContent = rate === 0 ? "0" : rate.toFixed(1);
    $("last-age").textContent = state.newest === null ? "none yet" : `${age(now - state.newest)} ago`;
}

function age(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function matches(item) {
    if (state.paused && item.seq > state.pauseSeq && !item.origin) return false;
    const source = $("filter-source").value;
    const decision = $("filter-decision").value;
    const search = $("filter-search").value.trim().toLowerCase();
    return (
        (!source || item.envelope.prediction.source_type === source) &&
        (!decision || decisionLabel(item.envelope) === decision) &&
        (!search || item.key.includes(search))
    );
}

function searchKey(envelope) {
    return `${envelope.prediction.question}\u0000${envelope.prediction.source_id}`.toLowerCase();
}

/** New envelopes on top; the table keeps at most MAX_ROWS rows. */
function prependRows(items) {
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
function renderTable() {
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
function scheduleTable(delay = 0) {
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
function sortBy(key) {
    const current = state.sort?.key === key ? state.sort.dir : 0;
    setSort(current === 0 ? { key, dir: 1 } : current === 1 ? { key, dir: -1 } : null);
    announce(state.sort ? `sorted by ${key}, ${state.sort.dir === 1 ? "ascending" : "descending"}` : "newest first");
    renderTable();
}

function setSort(sort) {
    state.sort = sort;
    for (const th of document.querySelectorAll("#envelopes th[data-sort]")) {
        const order = sort?.key === th.dataset.sort ? (sort.dir === 1 ? "ascending" : "descending") : "none";
        th.setAttribute("aria-sort", order);
    }
}

function renderShown() {
    const shown = $("envelopes").tBodies[0].rows.length;
    const kept = state.envelopes.length.toLocaleString("en");
    const text = `${shown} rows shown of ${kept} kept`;
    $("shown").textContent = state.paused ? `paused · ${text}` : text;
    renderEmpty();
}

/** What an empty table means: nothing yet, Redis down, or the filters. */
function renderEmpty() {
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

function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
}

/** A cell of two lines: the value, and a smaller one under it. */
function twoLines(main, mainClass, sub, subClass, className) {
    const td = document.createElement("td");
    td.className = className;
    const top = document.createElement("span");
    top.className = mainClass;
    top.textContent = main;
    const under = document.createElement("span");
    under.className = `sub ${subClass}`;
    under.textContent = sub;
    td.append(top, under);
    return td;
}

function row(item) {
    const { prediction, decision, decision_kind: kind } = item.envelope;
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    tr.dataset.kind = kind;
    tr.tabIndex = -1;
    rowItems.set(tr, item);
    const published = cell(clock(item.envelope.published_at), "time");
    published.title = item.envelope.published_at;
    if (item.origin) {
        // Decoded on this page, not read from the stream: said on the row.
        tr.classList.add("offline");
        const tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = item.origin.startsWith("file") ? "file" : "pasted";
        tag.title = `decoded here from ${item.origin}, not read from the stream`;
        published.prepend(tag, " ");
    }
    const question = cell(prediction.question, "question");
    question.title = prediction.question;
    tr.append(
        published,
        twoLines(prediction.source_type, "src-type", prediction.source_id, "src-id", "source"),
        question,
        probabilityCell(prediction.probability, prediction.market_probability),
        cell(prediction.confidence.toFixed(2), "num"),
        twoLines(decisionText(item.envelope), "summary", decision.reason, "reason", `decision ${decisionLabel(item.envelope)}`),
    );
    return tr;
}

/** HH:MM:SS of a published_at, in UTC or the browser's zone. */
function clock(publishedAt) {
    if (state.zone === "utc") return publishedAt.slice(11, 19);
    return new Date(publishedAt).toLocaleTimeString("en-GB", { hour12: false });
}

// ---------------------------------------------------------------------------
// Keyboard: one row is the table's tab stop; arrows move it, Enter opens
// the detail (focus goes there), Escape closes it (focus comes back).
// ---------------------------------------------------------------------------

function keepTabStop() {
    const body = $("envelopes").tBodies[0];
    if (body.querySelector('tr[tabindex="0"]')) return;
    const stop = body.querySelector("tr.selected") ?? body.rows[0];
    if (stop) stop.tabIndex = 0;
}

function focusRow(tr) {
    if (!tr) return;
    for (const other of $("envelopes").tBodies[0].querySelectorAll('tr[tabindex="0"]')) other.tabIndex = -1;
    tr.tabIndex = 0;
    tr.focus();
}

function onRowKey(event) {
    const tr = event.target.closest("tr");
    if (!tr || !rowItems.has(tr)) return;
    const moves = {
        ArrowDown: () => tr.nextElementSibling,
        ArrowUp: () => tr.previousElementSibling,
        Home: () => tr.parentElement.firstElementChild,
        End: () => tr.parentElement.lastElementChild,
    };
    if (moves[event.key]) {
        event.preventDefault();
        focusRow(moves[event.key]());
    } else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(rowItems.get(tr), { focus: true });
    }
}

function probabilityCell(crowd, market) {
    const td = document.createElement("td");
    td.className = "prob";
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${(crowd * 100).toFixed(1)}%`;
    bar.append(fill);
    if (market !== null) {
        const mark = document.createElement("div");
        mark.className = "mark";
        mark.style.left = `${(market * 100).toFixed(1)}%`;
        bar.append(mark);
    }
    const label = document.createElement("span");
    label.textContent = market === null ? crowd.toFixed(2) : `${crowd.toFixed(2)} / ${market.toFixed(2)}`;
    td.append(bar, label);
    return td;
}

function decisionLabel(envelope) {
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

function decisionText(envelope) {
    // The Rust core's wording, as `crowd-envelope tail` writes it.
    return decisionSummary(envelope);
}

// ---------------------------------------------------------------------------
// Detail, rejected, chart
// ---------------------------------------------------------------------------

function select(item, { focus = false } = {}) {
    state.selected = item;
    $("detail-close").hidden = false;
    const { envelope } = item;
    const { prediction } = envelope;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("d-question").textContent = prediction.question;
    $("d-id").textContent = item.id;
    $("d-correlation").textContent = envelope.correlation_id;
    $("d-decision").textContent = `${envelope.decision_kind}: ${JSON.stringify(envelope.decision, tidyNumbers)}`;
    const verified = verifyDecision(envelope);
    $("d-verify").textContent = verified ? "agrees with SPEC section 3" : "differs from SPEC section 3";
    $("d-verify").className = verified ? "ok" : "bad";
    const { agents, bullish, bearish, neutral } = prediction.crowd;
    $("d-crowd").textContent = `${agents} agents: ${bullish} bullish, ${bearish} bearish, ${neutral} neutral`;
    $("d-rationale").textContent = prediction.rationale || "—";
    const drivers = prediction.drivers.map((driver) => {
        const li = document.createElement("li");
        li.textContent = driver;
        return li;
    });
    $("d-drivers").replaceChildren(...drivers);
    $("d-meta").textContent = JSON.stringify(envelope.meta, null, 2);
    markSelected();
    const tr = selectedRow();
    if (tr) focusRow(tr);
    if (focus) $("detail-title").focus();
    // One column (narrow screens): the detail is below the table.
    if (window.innerWidth <= 1000) $("detail").scrollIntoView({ block: "nearest" });
}

function selectedRow() {
    return state.selected ? $("envelopes").querySelector(`tr[data-id="${CSS.escape(state.selected.id)}"]`) : null;
}

function markSelected() {
    for (const tr of $("envelopes").querySelectorAll("tr.selected")) {
        tr.classList.remove("selected");
        tr.removeAttribute("aria-current");
    }
    const tr = selectedRow();
    tr?.classList.add("selected");
    tr?.setAttribute("aria-current", "true");
}

function closeDetail() {
    if (!state.selected) return;
    const tr = selectedRow();
    state.selected = null;
    markSelected();
    $("detail-body").hidden = true;
    $("detail-empty").hidden = false;
    $("detail-close").hidden = true;
    if (tr) focusRow(tr);
}

/** Numbers to 12 significant digits: 0.72, not 0.7200000000000001. */
function tidyNumbers(_key, value) {
    return typeof value === "number" ? Number(value.toPrecision(12)) : value;
}

function renderRejected() {
    const reasons = [...state.reasons].sort((a, b) => b[1] - a[1]).map(([reason, count]) => {
        const tr = document.createElement("tr");
        tr.dataset.reason = reason;
        tr.append(cell(reason), cell(String(count), "num"));
        return tr;
    });
    $("reasons").tBodies[0].replaceChildren(...reasons);
    const items = state.rejected.slice(-20).reverse().map(({ id, reason, errors }) => {
        const li = document.createElement("li");
        const head = document.createElement("div");
        head.className = "rejected-head";
        head.textContent = `${id} · ${reason}`;
        const list = document.createElement("ul");
        for (const { path, code, message } of errors.slice(0, 8)) {
            const error = document.createElement("li");
            const tag = document.createElement("code");
            tag.className = "error-code";
            tag.textContent = code ?? "";
            error.append(tag, ` ${path ? `${path}: ${message}` : message}`);
            list.append(error);
        }
        li.append(head, list);
        return li;
    });
    $("rejected-list").replaceChildren(...items);
}

let chartTimer = null;
function scheduleChart() {
    chartTimer ??= setTimeout(() => {
        chartTimer = null;
        renderChart();
    }, 250);
}

const SVG = "http://www.w3.org/2000/svg";
function svg(name, attributes) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
}

const pointItems = new WeakMap(); // chart point -> its item

function renderChart() {
    measured("chart", drawChart);
}

function drawChart() {
    const size = 240;
    const pad = 24;
    const scale = (p) => pad + p * (size - 2 * pad);
    const nodes = [
        svg("rect", { x: pad, y: pad, width: size - 2 * pad, height: size - 2 * pad, class: "frame" }),
        svg("line", { x1: scale(0), y1: scale(1), x2: scale(1), y2: scale(0), class: "diagonal" }),
    ];
    const label = (text, attributes) => {
        const node = svg("text", attributes);
        node.textContent = text;
        return node;
    };
    nodes.push(label("market →", { x: size - pad, y: size - 2, "text-anchor": "end" }));
    nodes.push(label("crowd ↑", { x: 4, y: pad - 10 }));
    for (const tick of [0, 0.5, 1]) {
        // Market along the bottom, crowd up the left side.
        nodes.push(svg("line", { x1: scale(tick), y1: size - pad, x2: scale(tick), y2: size - pad + 4, class: "tick" }));
        nodes.push(label(String(tick), { x: scale(tick), y: size - pad + 13, "text-anchor": "middle", class: "tick-label" }));
        nodes.push(svg("line", { x1: pad - 4, y1: scale(1 - tick), x2: pad, y2: scale(1 - tick), class: "tick" }));
        nodes.push(label(String(tick), { x: pad - 6, y: scale(1 - tick) + 3, "text-anchor": "end", class: "tick-label" }));
    }
    let points = 0;
    let above = 0;
    let unplotted = 0;
    for (let i = state.envelopes.length - 1; i >= 0 && points < MAX_POINTS; i--) {
        const item = state.envelopes[i];
        const { probability, market_probability: market } = item.envelope.prediction;
        if (!matches(item)) continue;
        if (market === null) {
            unplotted += 1;
            continue;
        }
        points += 1;
        if (probability > market) above += 1;
        const [x, y, kind] = [scale(market), scale(1 - probability), item.envelope.decision_kind];
        // Shape as well as colour tells the two series apart.
        const point =
            kind === "oddsoddy_multiplier"
                ? svg("rect", { x: x - 2.5, y: y - 2.5, width: 5, height: 5, class: kind })
                : svg("circle", { cx: x, cy: y, r: 2.8, class: kind });
        // Hovered: what the point is; clicked: its detail.
        const title = svg("title", {});
        title.textContent = `${item.envelope.prediction.question}\ncrowd ${probability.toFixed(2)}, market ${market.toFixed(2)}: ${decisionLabel(item.envelope)}`;
        point.append(title);
        pointItems.set(point, item);
        nodes.push(point);
    }
    $("chart").replaceChildren(...nodes);
    $("chart").setAttribute(
        "aria-label",
        points === 0
            ? "scatter of crowd against market probability: no points yet"
            : `scatter of crowd against market probability: ${points} points, the crowd above the market in ${above} and at or below it in ${points - above}` +
                  (unplotted > 0 ? `; ${unplotted} without a market price not plotted` : ""),
    );
}

// ---------------------------------------------------------------------------
// Controls and offline decoding
// ---------------------------------------------------------------------------

function decodeLines(text, origin) {
    let accepted = 0;
    let rejected = 0;
    for (const line of text.split(/\r?\n/)) {
        if (line.trim() === "") continue;
        state.offline += 1;
        const result = tryDecodeEnvelope(line);
        if (result.ok) accepted += 1;
        else rejected += 1;
        queue({ id: `${origin}:${state.offline}`, result, origin });
    }
    const message = `${origin}: ${accepted} decoded, ${rejected} rejected`;
    $("offline-result").textContent = message;
    announce(message);
}

// ---------------------------------------------------------------------------
// Announcements: one live region, at most one message every two seconds;
// rejections are summed in between.
// ---------------------------------------------------------------------------

const ANNOUNCE_EVERY_MS = 2000;
const pendingRejections = new Map();
const pendingMessages = [];
let announceTimer = null;

function announce(message) {
    pendingMessages.push(message);
    scheduleAnnouncement();
}

function noteRejection(reason) {
    pendingRejections.set(reason, (pendingRejections.get(reason) ?? 0) + 1);
    scheduleAnnouncement();
}

function scheduleAnnouncement() {
    announceTimer ??= setTimeout(flushAnnouncements, ANNOUNCE_EVERY_MS);
}

function flushAnnouncements() {
    announceTimer = null;
    const parts = [...pendingMessages];
    pendingMessages.length = 0;
    if (pendingRejections.size > 0) {
        const total = [...pendingRejections.values()].reduce((a, b) => a + b, 0);
        const by = [...pendingRejections].map(([reason, n]) => `${reason} ${n}`).join(", ");
        parts.push(`${total} rejected: ${by}`);
        pendingRejections.clear();
    }
    if (parts.length > 0) $("announce").textContent = parts.join(". ");
}

// ---------------------------------------------------------------------------
// The consumer side: each group's lag, pending entries and consumers, and
// the dead letters, from the server's /stats every five seconds.
// ---------------------------------------------------------------------------

let groupState = null;

async function pollGroups() {
    try {
        const response = await fetch("/stats");
        groupState = response.ok ? await response.json() : null;
    } catch {
        groupState = null;
    }
    renderGroups();
    setTimeout(pollGroups, 5000);
}

function renderGroups() {
    const groups = groupState?.stats?.groups ?? [];
    $("group-table").hidden = groups.length === 0;
    $("groups-empty").hidden = groups.length > 0;
    $("groups-empty").textContent =
        groupState === null || groupState.error ? "The stream's groups cannot be read now." : "No consumer group reads this stream.";
    const rows = groups.map((group) => {
        const tr = document.createElement("tr");
        tr.dataset.group = group.name;
        tr.append(
            cell(group.name),
            cell(group.lag === null ? "?" : String(group.lag), "num"),
            cell(String(group.pending), "num"),
            cell(String(group.consumers.length), "num"),
        );
        tr.title = group.consumers.map((c) => `${c.name}: ${c.pending} pending, idle ${Math.round(c.idle_ms / 1000)} s`).join("\n");
        return tr;
    });
    $("group-table").tBodies[0].replaceChildren(...rows);
    const dead = groupState?.dead ?? [];
    const total = groupState?.stats?.dead_letters ?? 0;
    $("dead-count").textContent = total > dead.length ? `(${total}; the oldest ${dead.length} listed)` : `(${total})`;
    const items = dead.map((letter) => {
        const li = document.createElement("li");
        li.dataset.reason = letter.reason;
        const first = letter.errors[0];
        li.textContent = `${letter.entry_id} · ${letter.reason} · ${letter.group}/${letter.consumer}${first ? ` · ${first.path ? `${first.path}: ` : ""}${first.message}` : ""}`;
        return li;
    });
    $("dead-list").replaceChildren(...items);
}

// ---------------------------------------------------------------------------
// Filters in the URL, time zone, export
// ---------------------------------------------------------------------------

const URL_FILTERS = { source: "filter-source", decision: "filter-decision", q: "filter-search", tz: "filter-zone" };

function readUrlFilters() {
    const params = new URLSearchParams(location.search);
    for (const [name, id] of Object.entries(URL_FILTERS)) {
        const value = params.get(name);
        if (value !== null && [...($(id).options ?? [{ value }])].some((o) => o.value === value)) $(id).value = value;
    }
    state.zone = $("filter-zone").value;
    renderZone();
}

function writeUrlFilters() {
    const params = new URLSearchParams();
    for (const [name, id] of Object.entries(URL_FILTERS)) {
        const value = $(id).value.trim();
        if (value && !(name === "tz" && value === "utc")) params.set(name, value);
    }
    const query = params.toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function renderZone() {
    $("time-head").textContent = state.zone === "utc" ? "time (UTC)" : "time (local)";
}

/** The envelopes the filters match (all kept, not only the rows shown), as JSON Lines. */
function exportJsonLines() {
    const items = state.envelopes.filter(matches);
    download("crowd-envelopes.jsonl", "application/x-ndjson", items.map((item) => `${JSON.stringify(item.envelope)}\n`));
    announce(`exported ${items.length} envelopes as JSON Lines`);
}

const CSV_COLUMNS = {
    stream_id: (item) => item.id,
    published_at: (item) => item.envelope.published_at,
    source_type: (item) => item.envelope.prediction.source_type,
    source_id: (item) => item.envelope.prediction.source_id,
    question: (item) => item.envelope.prediction.question,
    probability: (item) => item.envelope.prediction.probability,
    market_probability: (item) => item.envelope.prediction.market_probability ?? "",
    confidence: (item) => item.envelope.prediction.confidence,
    decision_kind: (item) => item.envelope.decision_kind,
    decision: (item) => decisionText(item.envelope),
    reason: (item) => item.envelope.decision.reason,
    correlation_id: (item) => item.envelope.correlation_id,
};

/** The same envelopes as CSV (RFC 4180), a row each, the columns above. */
function exportCsv() {
    const items = state.envelopes.filter(matches);
    const lines = [Object.keys(CSV_COLUMNS), ...items.map((item) => Object.values(CSV_COLUMNS).map((column) => column(item)))];
    download("crowd-envelopes.csv", "text/csv", lines.map((cells) => `${cells.map(csvCell).join(",")}\r\n`));
    announce(`exported ${items.length} envelopes as CSV`);
}

/**
 * A CSV field: quoted when it must be. Text from the stream that a
 * spreadsheet would run as a formula (=, +, -, @ first) gets a leading ',
 * as OWASP advises; numbers are written as they are.
 */
function csvCell(value) {
    if (typeof value === "number") return String(value);
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function download(name, type, parts) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(parts, { type }));
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** A copy button of the detail: its text to the clipboard, said either way. */
async function copy(what, text) {
    try {
        await navigator.clipboard.writeText(text);
        announce(`${what} copied`);
    } catch (error) {
        announce(`${what} could not be copied: ${error.message}`);
    }
}

function wireControls() {
    for (const id of ["filter-source", "filter-decision"]) {
        $(id).addEventListener("input", () => {
            writeUrlFilters();
            renderTable();
        });
    }
    // Typing redraws once it pauses, not on every key.
    $("filter-search").addEventListener("input", () => {
        writeUrlFilters();
        scheduleTable(120);
    });
    $("filter-zone").addEventListener("input", () => {
        state.zone = $("filter-zone").value;
        writeUrlFilters();
        renderZone();
        renderTable();
    });
    $("pause").addEventListener("click", () => {
        state.paused = !state.paused;
        state.pauseSeq = state.paused ? state.seq : Infinity;
        $("pause").textContent = state.paused ? "resume" : "pause";
        $("pause").setAttribute("aria-pressed", String(state.paused));
        state.held = 0;
        renderHeld();
        if (state.paused) renderShown();
        else renderTable();
    });
    $("held").addEventListener("click", showHeld);
    $("envelopes-wrap").addEventListener("scroll", () => {
        if (!scrolledAway() && state.held > 0 && !state.paused) showHeld();
    });
    $("export").addEventListener("click", exportJsonLines);
    $("export-csv").addEventListener("click", exportCsv);
    $("copy-envelope").addEventListener("click", () => state.selected && copy("envelope", JSON.stringify(state.selected.envelope, null, 2)));
    $("copy-id").addEventListener("click", () => state.selected && copy("stream id", state.selected.id));
    $("chart").addEventListener("click", (event) => {
        const item = pointItems.get(event.target);
        if (item) select(item, { focus: true });
    });
    const body = $("envelopes").tBodies[0];
    body.addEventListener("click", (event) => {
        const tr = event.target.closest("tr");
        if (tr && rowItems.has(tr)) select(rowItems.get(tr));
    });
    body.addEventListener("keydown", onRowKey);
    for (const th of document.querySelectorAll("#envelopes th[data-sort] button")) {
        th.addEventListener("click", () => sortBy(th.parentElement.dataset.sort));
    }
    $("detail-close").addEventListener("click", closeDetail);
    document.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && state.selected) {
            event.preventDefault();
            closeDetail();
        }
    });
    $("choose-file").addEventListener("click", () => $("file").click());
    $("older").addEventListener("click", showOlder);
    $("goto").addEventListener("submit", (event) => {
        event.preventDefault();
        goTo($("goto-at").value);
    });
    const drop = $("drop");
    drop.addEventListener("dragover", (event) => {
        event.preventDefault();
        drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", async (event) => {
        event.preventDefault();
        drop.classList.remove("over");
        for (const file of event.dataTransfer.files) decodeLines(await file.text(), `file ${file.name}`);
    });
    $("file").addEventListener("change", async (event) => {
        for (const file of event.target.files) decodeLines(await file.text(), `file ${file.name}`);
        event.target.value = "";
    });
    $("paste-decode").addEventListener("click", () => decodeLines($("paste").value, "pasted"));
}

readUrlFilters();
wireControls();
renderChart();
renderEmpty();
setInterval(renderRate, 1000);
connect();
pollGroups();
