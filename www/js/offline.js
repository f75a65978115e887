// @ts-check
// Offline decoding: pasted text or chosen files, a payload a line, shown
// with the stream's entries and marked as decoded here.

import { tryDecodeEnvelope } from "/pkg/browser.js";
import { announce } from "./announce.js";
import { $ } from "./dom.js";
import { queue } from "./render.js";
import { state } from "./state.js";

export function decodeLines(text, origin) {
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
