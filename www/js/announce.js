// @ts-check
// Announcements: one live region, at most one message every two seconds;
// rejections are summed in between.

import { $ } from "./dom.js";

const ANNOUNCE_EVERY_MS = 2000;
const pendingRejections = new Map();
const pendingMessages = [];
let announceTimer = null;

export function announce(message) {
    pendingMessages.push(message);
    scheduleAnnouncement();
}

export function noteRejection(reason) {
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
