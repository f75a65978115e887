// The live dashboard: every payload is decoded here, in the browser, by the
// crowd-envelope wasm package; the server only relays raw stream entries.
// Every string from the stream goes into the page as text (textContent,
// setAttribute), never as HTML.

import { decisionSummary, decodeStreamEntry, tryDecodeEnvelope, verifyDecision } from "/pkg/browser.js";

const MAX_ROWS = 300; // table rows in the page; older ones stay searchable
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
};
const RATE_WINDOW_MS = 10_000;

// ---------------------------------------------------------------------------
// Feed
// ---------------------------------------------------------------------------

function connect() {
    const feed = new EventSource(`/feed?backfill=${BACKFILL}`);
    feed.addEventListener("open", () => setHealth({ feed: "open" }));
    feed.addEventListener("error", () => setHealth({ feed: "reconnecting" }));
    feed.addEventListener("status", (event) => {
        const { redis, message } = JSON.parse(event.data);
        setHealth({ redis, message: message ?? "" });
    });
    feed.addEventListener("entry", (event) => receive(JSON.parse(event.data)));
    // Entries trimmed before the server read them, or a stream made anew:
    // listed with the rejections, so a loss is never silent.
    feed.addEventListener("gap", (event) => {
        const { reason, after, before, message } = JSON.parse(event.data);
        queue(`${after}..${before}`, { ok: false, reason, errors: [{ path: "", code: "missing", message }] });
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
    box.hidden = notice === "";
    box.className = `notice ${cls}`;
    box.textContent = notice;
    renderEmpty();
}

/**
 * One relayed entry: `fields` (all its field names) and `data` (text),
 * `data_b64` (bytes that are not UTF-8) or `too_large` (its size, when over
 * the server's `limit`). The entry rule and the decoder are the package's.
 */
function receive(entry) {
    if (state.seen.has(entry.id)) return;
    state.seen.add(entry.id);
    const data =
        typeof entry.data_b64 === "string"
            ? Uint8Array.from(atob(entry.data_b64), (c) => c.charCodeAt(0))
            : entry.data;
    const oversized = typeof entry.too_large === "number" ? entry.too_large : undefined;
    const fields = Array.isArray(entry.fields) ? entry.fields : [];
    // A payload the server left unread is judged by the server's limit.
    const options = oversized === undefined ? undefined : { maxPayloadBytes: entry.limit };
    const added = Number(entry.id.split("-")[0]);
    if (Number.isFinite(added)) {
        state.recent.push(added);
        state.newest = Math.max(state.newest ?? 0, added);
    }
    queue(entry.id, decodeStreamEntry({ fields, data, oversized }, options));
}

/** `origin`: where an offline entry came from ("pasted", "file x.jsonl"); none for the stream. */
function queue(id, result, origin) {
    state.incoming.push({ id, result, origin });
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

function render() {
    renderPending = false;
    const batch = state.incoming;
    state.incoming = [];
    const fresh = [];
    for (const { id, result, origin } of batch) {
        if (result.ok) {
            const item = { id, envelope: result.envelope, key: searchKey(result.envelope), origin };
            state.envelopes.push(item);
            state.accepted += 1;
            fresh.push(item);
        } else {
            state.rejected.push({ id, reason: result.reason, errors: result.errors });
            state.reasons.set(result.reason, (state.reasons.get(result.reason) ?? 0) + 1);
        }
    }
    if (state.envelopes.length > MAX_KEPT) state.envelopes.splice(0, state.envelopes.length - MAX_KEPT);
    if (state.rejected.length > MAX_REJECTED) state.rejected.splice(0, state.rejected.length - MAX_REJECTED);
    if (state.seen.size > MAX_KEPT * 4) state.seen = new Set(state.envelopes.map((item) => item.id));
    renderCounters();
    if (batch.some(({ result }) => !result.ok)) renderRejected();
    if (!state.paused && fresh.length > 0) {
        prependRows(fresh);
        scheduleChart();
    }
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
    const rows = document.createDocumentFragment();
    for (let i = items.length - 1; i >= 0; i--) {
        if (matches(items[i])) rows.append(row(items[i]));
    }
    body.prepend(rows);
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
    renderShown();
}

/** The whole table again, after a filter changed or on resume. */
function renderTable() {
    const body = $("envelopes").tBodies[0];
    const rows = document.createDocumentFragment();
    for (let i = state.envelopes.length - 1; i >= 0 && rows.childNodes.length < MAX_ROWS; i--) {
        if (matches(state.envelopes[i])) rows.append(row(state.envelopes[i]));
    }
    body.replaceChildren(rows);
    renderShown();
    scheduleChart();
}

function renderShown() {
    const shown = $("envelopes").tBodies[0].rows.length;
    $("shown").textContent = state.paused ? `paused · ${shown} rows` : `${shown} rows`;
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
    const published = cell(item.envelope.published_at.slice(11, 19), "time");
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
    tr.addEventListener("click", () => select(item));
    return tr;
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

function select(item) {
    state.selected = item;
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
    for (const tr of $("envelopes").querySelectorAll("tr.selected")) tr.classList.remove("selected");
    $("envelopes").querySelector(`tr[data-id="${CSS.escape(item.id)}"]`)?.classList.add("selected");
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

function renderChart() {
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
    for (let i = state.envelopes.length - 1; i >= 0 && points < MAX_POINTS; i--) {
        const item = state.envelopes[i];
        const { probability, market_probability: market } = item.envelope.prediction;
        if (market === null || !matches(item)) continue;
        points += 1;
        nodes.push(svg("circle", { cx: scale(market), cy: scale(1 - probability), r: 2.5, class: item.envelope.decision_kind }));
    }
    $("chart").replaceChildren(...nodes);
}

// ---------------------------------------------------------------------------
// Controls and offline decoding
// ---------------------------------------------------------------------------

function decodeLines(text, origin) {
    for (const line of text.split(/\r?\n/)) {
        if (line.trim() === "") continue;
        state.offline += 1;
        queue(`${origin}:${state.offline}`, tryDecodeEnvelope(line), origin);
    }
}

function wireControls() {
    for (const id of ["filter-source", "filter-decision", "filter-search"]) {
        $(id).addEventListener("input", renderTable);
    }
    $("pause").addEventListener("click", () => {
        state.paused = !state.paused;
        $("pause").textContent = state.paused ? "resume" : "pause";
        if (state.paused) renderShown();
        else renderTable();
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

wireControls();
renderChart();
renderEmpty();
setInterval(renderRate, 1000);
connect();
