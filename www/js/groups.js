// @ts-check
// The consumer side: each group's lag, pending entries and consumers, and
// the dead letters, from the server's /stats every five seconds.

import { $, cell } from "./dom.js";

let groupState = null;

export async function pollGroups() {
    try {
        const response = await fetch("/stats");
        groupState = response.ok ? await response.json() : null;
    } catch {
        groupState = null;
    }
    renderGroups();
    setTimeout(pollGroups, 5000);
}

export function renderGroups() {
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
