// Turns a mutation-testing-report-schema JSON (StrykerJS's json reporter, and
// scripts/mutants-python.sh's output) into the text kept in docs/mutants/:
// counts per outcome, the score over viable mutants, and every survivor.
//
// Usage: node scripts/mutants-summary.mjs TITLE REPORT.json...
import { readFileSync } from "node:fs";

const [title, ...reportPaths] = process.argv.slice(2);
const files = reportPaths.flatMap((path) => Object.entries(JSON.parse(readFileSync(path, "utf8")).files));
const counts = {};
const survivors = [];
for (const [file, { mutants }] of files) {
    for (const m of mutants) {
        counts[m.status] = (counts[m.status] ?? 0) + 1;
        if (m.status === "Survived" || m.status === "NoCoverage") {
            survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} -> ${JSON.stringify(m.replacement ?? "")}`);
        }
    }
}
const caught = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
const viable = caught + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
const lines = [
    `${title.trim()} (${new Date().toISOString().slice(0, 10)})`,
    `caught: ${caught} of ${viable} viable (${viable ? ((100 * caught) / viable).toFixed(1) : "0"} %)`,
    ...Object.entries(counts).sort().map(([status, n]) => `${status}: ${n}`),
    "",
    "survived:",
    ...survivors,
];
console.log(lines.join("\n"));
