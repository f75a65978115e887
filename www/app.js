// @ts-check
// The live dashboard: every payload is decoded here, in the browser, by the
// crowd-envelope wasm package; the server only relays raw stream entries.
// Every string from the stream goes into the page as text (textContent,
// setAttribute), never as HTML.
//
// One module per part of the page (www/js/), each under `// @ts-check`
// (`make lint` runs tsc on them against the package's types); this one
// wires the controls and starts the feed. No build step.

import { pointItems, renderChart } from "./js/chart.js";
import { closeDetail, onRowKey, select } from "./js/detail.js";
import { $ } from "./js/dom.js";
import { copy, exportCsv, exportJsonLines } from "./js/export.js";
import { connect } from "./js/feed.js";
import { readUrlFilters, renderZone, writeUrlFilters } from "./js/filters.js";
import { pollGroups } from "./js/groups.js";
import { decodeLines } from "./js/offline.js";
import { goTo, showOlder } from "./js/paging.js";
import { rowItems } from "./js/rows.js";
import { state } from "./js/state.js";
import { renderEmpty, renderHeld, renderShown, renderTable, scheduleTable, scrolledAway, showHeld, sortBy } from "./js/table.js";
import { renderRate } from "./js/tallies.js";

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
