// @ts-check
// The counters (accepted, rejected, the rate and the newest entry's age)
// and the rejected entries, by reason.

import { $, cell } from "./dom.js";
import { RATE_WINDOW_MS, state } from "./state.js";
import { age } from "./words.js";

export function renderCounters() {
    $("count-accepted").textContent = String(state.accepted);
    $("count-rejected").textContent = String([...state.reasons.values()].reduce((a, b) => a + b, 0));
    renderRate();
}

/**
 * Entries per second over the last ten seconds, and the newest entry's
 * age, both by the ids' times: redrawn every second, so a stream that stops
 * shows a rate falling to 0 and an age that grows.
 */
export function renderRate() {
    const now = Date.now();
    while (state.recent.length > 0 && state.recent[0] < now - RATE_WINDOW_MS) state.recent.shift();
    const rate = state.recent.length / (RATE_WINDOW_MS / 1000);
    $("count-rate").textContent = rate === 0 ? "0" : rate.toFixed(1);
    $("last-age").textContent = state.newest === null ? "none yet" : `${age(now - state.newest)} ago`;
}

export function renderRejected() {
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
