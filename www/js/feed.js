// @ts-check
// The live feed (/feed, server-sent events): entries, the server's view of
// Redis, and gaps; one badge for the health of the whole chain.

import { announce } from "./announce.js";
import { $ } from "./dom.js";
import { renderGroups } from "./groups.js";
import { queue } from "./render.js";
import { BACKFILL, idBefore, state } from "./state.js";
import { renderEmpty } from "./table.js";

export function connect() {
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
