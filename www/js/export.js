// @ts-check
// The envelopes the filters match, exported as JSON Lines or CSV, and the
// detail's copy buttons.

import { announce } from "./announce.js";
import { matches } from "./filters.js";
import { state } from "./state.js";
import { decisionText } from "./words.js";

/** The envelopes the filters match (all kept, not only the rows shown), as JSON Lines. */
export function exportJsonLines() {
    const items = state.envelopes.filter(matches);
    download("crowd-envelopes.jsonl", "application/x-ndjson", items.map((item) => `${JSON.stringify(item.envelope)}\n`));
    announce(`exported ${items.length} envelopes as JSON Lines`);
}

const CSV_COLUMNS = {
    stream_id: (item) => item.id,
    published_at: (item) => item.envelope.published_at,
    source_type: (item) => item.envelope.prediction.source_type,
    source_id: (item) => item.envelope.prediction.source_id,
    question: (item) => item.envelope.prediction.question,
    probability: (item) => item.envelope.prediction.probability,
    market_probability: (item) => item.envelope.prediction.market_probability ?? "",
    confidence: (item) => item.envelope.prediction.confidence,
    decision_kind: (item) => item.envelope.decision_kind,
    decision: (item) => decisionText(item.envelope),
    reason: (item) => item.envelope.decision.reason,
    correlation_id: (item) => item.envelope.correlation_id,
};

/** The same envelopes as CSV (RFC 4180), a row each, the columns above. */
export function exportCsv() {
    const items = state.envelopes.filter(matches);
    const lines = [Object.keys(CSV_COLUMNS), ...items.map((item) => Object.values(CSV_COLUMNS).map((column) => column(item)))];
    download("crowd-envelopes.csv", "text/csv", lines.map((cells) => `${cells.map(csvCell).join(",")}\r\n`));
    announce(`exported ${items.length} envelopes as CSV`);
}

/**
 * A CSV field: quoted when it must be. Text from the stream that a
 * spreadsheet would run as a formula (=, +, -, @ first) gets a leading ',
 * as OWASP advises; numbers are written as they are.
 */
function csvCell(value) {
    if (typeof value === "number") return String(value);
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function download(name, type, parts) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(parts, { type }));
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** A copy button of the detail: its text to the clipboard, said either way. */
export async function copy(what, text) {
    try {
        await navigator.clipboard.writeText(text);
        announce(`${what} copied`);
    } catch (error) {
        announce(`${what} could not be copied: ${error.message}`);
    }
}
