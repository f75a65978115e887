// @ts-check
// The filters (source, decision, search, time zone), and the URL that
// keeps them.

import { $ } from "./dom.js";
import { state } from "./state.js";
import { decisionLabel } from "./words.js";

export function matches(item) {
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

const URL_FILTERS = { source: "filter-source", decision: "filter-decision", q: "filter-search", tz: "filter-zone" };

export function readUrlFilters() {
    const params = new URLSearchParams(location.search);
    for (const [name, id] of Object.entries(URL_FILTERS)) {
        const value = params.get(name);
        if (value !== null && [...($(id).options ?? [{ value }])].some((o) => o.value === value)) $(id).value = value;
    }
    state.zone = $("filter-zone").value;
    renderZone();
}

export function writeUrlFilters() {
    const params = new URLSearchParams();
    for (const [name, id] of Object.entries(URL_FILTERS)) {
        const value = $(id).value.trim();
        if (value && !(name === "tz" && value === "utc")) params.set(name, value);
    }
    const query = params.toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

export function renderZone() {
    $("time-head").textContent = state.zone === "utc" ? "time (UTC)" : "time (local)";
}
