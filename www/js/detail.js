// @ts-check
// The selected envelope's detail: opened by a click, Enter or a chart
// point, closed by Escape or its button (focus goes back to its row).

import { verifyDecision } from "/pkg/browser.js";
import { $ } from "./dom.js";
import { focusRow, markSelected, rowItems, selectedRow } from "./rows.js";
import { state } from "./state.js";
import { tidyNumbers } from "./words.js";

export function onRowKey(event) {
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

export function select(item, { focus = false } = {}) {
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

export function closeDetail() {
    if (!state.selected) return;
    const tr = selectedRow();
    state.selected = null;
    markSelected();
    $("detail-body").hidden = true;
    $("detail-empty").hidden = false;
    $("detail-close").hidden = true;
    if (tr) focusRow(tr);
}
