// @ts-check
// A table row per envelope, and the row that is the table's tab stop and
// the selected one. Keyboard: arrows move the tab stop, Enter opens the
// detail (detail.js), Escape closes it.

import { $, cell, twoLines } from "./dom.js";
import { state } from "./state.js";
import { clock, decisionLabel, decisionText } from "./words.js";

export const rowItems = new WeakMap(); // <tr> -> its item

export function row(item) {
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

export function keepTabStop() {
    const body = $("envelopes").tBodies[0];
    if (body.querySelector('tr[tabindex="0"]')) return;
    const stop = body.querySelector("tr.selected") ?? body.rows[0];
    if (stop) stop.tabIndex = 0;
}

export function focusRow(tr) {
    if (!tr) return;
    for (const other of $("envelopes").tBodies[0].querySelectorAll('tr[tabindex="0"]')) other.tabIndex = -1;
    tr.tabIndex = 0;
    tr.focus();
}

export function selectedRow() {
    return state.selected ? $("envelopes").querySelector(`tr[data-id="${CSS.escape(state.selected.id)}"]`) : null;
}

export function markSelected() {
    for (const tr of $("envelopes").querySelectorAll("tr.selected")) {
        tr.classList.remove("selected");
        tr.removeAttribute("aria-current");
    }
    const tr = selectedRow();
    tr?.classList.add("selected");
    tr?.setAttribute("aria-current", "true");
}
