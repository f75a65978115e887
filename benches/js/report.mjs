// Writes target/bench/REPORT.md from the JSON the benchmark steps left in
// target/bench/, and prints the targets table.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { clusterSection, transportSection, transportTargets } from "./report-transport.mjs";

const dir = process.argv[2];
const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));
const node = read("node.json");
const swb = read("swb.json");
const browser = existsSync(join(dir, "browser.json")) ? read("browser.json") : null;
const native = read("native.json");
const python = read("python.json");
const redis = read("redis.json");
const transport = read("transport.json");
const cluster = existsSync(join(dir, "cluster.json")) ? read("cluster.json") : null;
const sizes = read("sizes.json");
const memory = read("memory.json");
const memoryNode = read("memory-node.json");
const dashboard = existsSync(join(dir, "dashboard.json")) ? read("dashboard.json") : null;
const pythonForms = existsSync(join(dir, "python-forms.json")) ? read("python-forms.json") : null;
// The CSV row is the command (with the payload, commas and all), then seven
// numbers: requests per second first.
const ceilingNumbers = [...readFileSync(join(dir, "redis-benchmark.csv"), "utf8").matchAll(/"([\d.]+)"/g)].map((m) => Number(m[1]));
const ceiling = ceilingNumbers[ceilingNumbers.length - 7];

const us = (ns) => (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);
const x = (ratio) => `${ratio.toFixed(2)}x`;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const met = (ok) => (ok ? "met" : "**not met**");
const version = (cmd, args) => {
    try {
        return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0];
    } catch {
        return "unknown";
    }
};
const npmVersion = (name) => JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version;

const typical = node.cases.typical.results;
const ours = typical["crowd-envelope"].nsPerOp;
const vs = (results, name) => results[name].nsPerOp / results["crowd-envelope"].nsPerOp;
const overParse = (results) => results["crowd-envelope"].nsPerOp / results["JSON.parse"].nsPerOp;
// Against Pydantic: native timed in the rounds alternating with it.
const nativeNs = (name) => python.native[name].nsPerOp;
const nativeRatio = (name) => python.cases[name].nsPerOp / nativeNs(name);
const packageNs = (name) => python.package[name].nsPerOp;
const packageRatio = (name) => python.cases[name].nsPerOp / packageNs(name);
const hostile = Object.entries(memory).filter(([name]) => name.startsWith("hostile: "));
const worstNative = Math.max(...hostile.map(([, m]) => m.peakBytes / m.bytes));
const worstNode = Math.max(...Object.values(memoryNode).map((m) => m.grownBytes / m.bytes));
const nodeVs = (name, results) => `${us(results["crowd-envelope"].nsPerOp)} µs vs ${us(results[name].nsPerOp)} µs`;
const targets = [
    ["Node, typical: at most 1.5x JSON.parse alone", nodeVs("JSON.parse", typical), overParse(typical), (r) => r <= 1.5, "of JSON.parse"],
    ["Node, typical: at least 2x faster than JSON.parse + zod", nodeVs("JSON.parse + zod", typical), vs(typical, "JSON.parse + zod"), (r) => r >= 2, "faster by"],
    ["Node, typical (stretch): faster than typia", nodeVs("typia (AOT)", typical), vs(typical, "typia (AOT)"), (r) => r >= 1, "faster by"],
    ["Node, 64 KB: at most 1.4x JSON.parse alone", nodeVs("JSON.parse", node.cases.meta64k.results), overParse(node.cases.meta64k.results), (r) => r <= 1.4, "of JSON.parse"],
    ["Node, 1 MB: at most 1.4x JSON.parse alone", nodeVs("JSON.parse", node.cases.meta1m.results), overParse(node.cases.meta1m.results), (r) => r <= 1.4, "of JSON.parse"],
    ["Native, typical: at least 8x faster than Pydantic (stretch 10x)", `${us(nativeNs("typical"))} µs vs ${us(python.cases.typical.nsPerOp)} µs`, nativeRatio("typical"), (r) => r >= 8, "faster by"],
    ["Native, 64 KB: at least 3.5x faster than Pydantic", `${us(nativeNs("meta64k"))} µs vs ${us(python.cases.meta64k.nsPerOp)} µs`, nativeRatio("meta64k"), (r) => r >= 3.5, "faster by"],
    ["Native, 1 MB: at least 5x faster than Pydantic", `${us(nativeNs("meta1m"))} µs vs ${us(python.cases.meta1m.nsPerOp)} µs`, nativeRatio("meta1m"), (r) => r >= 5, "faster by"],
    ["Python package, typical: at least 5x faster than Pydantic", `${us(packageNs("typical"))} µs vs ${us(python.cases.typical.nsPerOp)} µs`, packageRatio("typical"), (r) => r >= 5, "faster by"],
    ["Python package, 64 KB: faster than Pydantic", `${us(packageNs("meta64k"))} µs vs ${us(python.cases.meta64k.nsPerOp)} µs`, packageRatio("meta64k"), (r) => r >= 1, "faster by"],
    ["Python package, 1 MB: faster than Pydantic", `${us(packageNs("meta1m"))} µs vs ${us(python.cases.meta1m.nsPerOp)} µs`, packageRatio("meta1m"), (r) => r >= 1, "faster by"],
    ["wasm (browser) at most 48 KB gzipped", kb(sizes.webWasm.gzip), sizes.webWasm.gzip / (48 * 1024), (r) => r <= 1, "of budget"],
    ["wasm (Node) at most 48 KB gzipped", kb(sizes.nodeWasm.gzip), sizes.nodeWasm.gzip / (48 * 1024), (r) => r <= 1, "of budget"],
    ["Peak memory of one native decode, hostile 1 MiB payloads: at most 8x", `worst ${x(worstNative)} the payload`, worstNative / 8, (r) => r <= 1, "of bound"],
    ["wasm memory one Node decode grows, hostile 1 MiB payloads: at most 8x", `worst ${x(worstNode)} the payload`, worstNode / 8, (r) => r <= 1, "of bound"],
    ["Publish: at least half of redis-benchmark's XADD", `${Math.round(redis.publish.perSecond)}/s vs ${Math.round(ceiling)}/s`, redis.publish.perSecond / ceiling, (r) => r >= 0.5, "of ceiling"],
    ["Follow: p99 from XADD to delivery under 5 ms", `${(redis.follow.p99Micros / 1000).toFixed(2)} ms (p50 ${(redis.follow.p50Micros / 1000).toFixed(2)} ms)`, redis.follow.p99Micros / 5000, (r) => r < 1, "of budget"],
    ...transportTargets(transport, redis),
];
// Every form producers write (benches/forms.py): the worst form is the
// target's figure, the highest ratio where lower is better, else the lowest.
const worstForm = (forms, ratio, lowerIsBetter = false) => {
    const rows = Object.entries(forms ?? {}).map(([form, r]) => [form, ratio(r)]);
    const worse = (a, b) => (lowerIsBetter ? a > b : a < b);
    return rows.reduce((worst, row) => (worse(row[1], worst[1]) ? row : worst), ["none", lowerIsBetter ? -Infinity : Infinity]);
};
if (node.forms && Object.keys(node.forms).length) {
    const [form, r] = worstForm(node.forms, (f) => f["crowd-envelope"] / f["JSON.parse"], true);
    targets.push(["Node, every form: at most 1.5x JSON.parse alone (stretch 1.2x)", `worst: ${form}`, r, (v) => v <= 1.5, "of JSON.parse"]);
    const [zform, zr] = worstForm(node.forms, (f) => f["JSON.parse + zod"] / f["crowd-envelope"]);
    targets.push(["Node, every form: at least 2x faster than JSON.parse + zod", `worst: ${zform}`, zr, (v) => v >= 2, "faster by"]);
}
if (pythonForms) {
    const f = pythonForms.forms;
    const [a, ar] = worstForm(f, (r) => r.Pydantic / r["crowd-envelope (native)"]);
    targets.push(["Native, every form: at least 8x faster than Pydantic (stretch 10x)", `worst: ${a}`, ar, (v) => v >= 8, "faster by"]);
    const [b, br] = worstForm(f, (r) => r["serde_json derive"] / r["crowd-envelope (native)"]);
    targets.push(["Native, every form: never slower than a serde_json derive (no validation)", `worst: ${b}`, br, (v) => v >= 1, "faster by"]);
    const [c, cr] = worstForm(f, (r) => r["msgspec Struct"] / r["crowd-envelope (Python)"]);
    targets.push(["Python package, every form: faster than msgspec Structs (stretch 1.5x)", `worst: ${c}`, cr, (v) => v >= 1, "faster by"]);
    const [d, dr] = worstForm(f, (r) => r.Pydantic / r["crowd-envelope (Python)"]);
    targets.push(["Python package, every form: at least 6x faster than Pydantic", `worst: ${d}`, dr, (v) => v >= 6, "faster by"]);
}

/** Per form producers write: every runtime's decode per envelope, and the ratios the targets use. */
function formsSection() {
    const rows = [];
    const forms = Object.keys(node.forms ?? {});
    if (!forms.length) return "Not run.";
    const ns = (v) => (v === undefined ? "n/a" : `${us(v)} µs`);
    for (const form of forms) {
        const n = node.forms[form];
        const b = browser?.forms?.[form];
        const p = pythonForms?.forms?.[form];
        rows.push(`| ${form} | ${ns(n["crowd-envelope"])} | ${x(n["crowd-envelope"] / n["JSON.parse"])} | ${x(n["JSON.parse + zod"] / n["crowd-envelope"])} | ${x(n["typia (AOT)"] / n["crowd-envelope"])} | ${b ? x(b["crowd-envelope"] / b["JSON.parse"]) : "n/a"} | ${p ? ns(p["crowd-envelope (native)"]) : "n/a"} | ${p ? x(p["serde_json derive"] / p["crowd-envelope (native)"]) : "n/a"} | ${p?.["sonic-rs derive"] ? x(p["sonic-rs derive"] / p["crowd-envelope (native)"]) : "n/a"} | ${p ? x(p.Pydantic / p["crowd-envelope (native)"]) : "n/a"} | ${p ? x(p["msgspec Struct"] / p["crowd-envelope (Python)"]) : "n/a"} | ${p ? x(p.Pydantic / p["crowd-envelope (Python)"]) : "n/a"} |`);
    }
    const count = pythonForms?.envelopes ?? "the";
    return `The same ${count} valid envelopes of the corpus written six ways (\`benches/forms.py\`), each
decoded in every round; time per envelope. Node and Chromium: our decode over \`JSON.parse\`
alone (lower is better), and how many times faster than \`JSON.parse\` + zod and typia.
Native: against serde_json and sonic-rs derives of the envelope's shape that validate nothing, and
Pydantic. Python: the package against msgspec decoding into constrained Structs, and
Pydantic. ${pythonForms ? pythonForms.runtime + "." : ""}

| form | Node | Node / JSON.parse | Node vs zod | Node vs typia | Chromium / JSON.parse | native | native vs serde derive | native vs sonic-rs derive | native vs Pydantic | Python vs msgspec | Python vs Pydantic |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}`;
}

/** lazyMeta against the default, per big payload (Node). */
function lazyMetaSection() {
    if (!node.lazyMeta) return "Not run.";
    const rows = Object.entries(node.lazyMeta).map(([name, r]) => {
        const parse = r["JSON.parse"].nsPerOp;
        const cell = (who) => `${us(r[who].nsPerOp)} µs (${x(r[who].nsPerOp / parse)})`;
        return `| ${name} | ${cell("crowd-envelope")} | ${cell("lazyMeta, meta not read")} | ${cell("lazyMeta, meta read")} | ${us(parse)} µs |`;
    });
    return `\`tryDecodeEnvelope(payload, { lazyMeta: true })\` validates as always but parses a meta that
is not flat only when \`envelope.meta\` is first read (an enumerable getter, which
\`JSON.stringify\`, spread and \`structuredClone\` read like a value). In brackets: the
multiple of \`JSON.parse\` alone.

| payload | default | lazyMeta, meta not read | lazyMeta, meta read | JSON.parse |
|---|---:|---:|---:|---:|
${rows.join("\n")}

It stays off by default: a consumer that reads \`meta\` pays more with it, because V8
runs \`JSON.parse\` called from inside an accessor about 3x slower than the same call
outside one (measured with a getter that only parses: 168 µs against 60 µs for the
64 KB meta), and the default keeps \`meta\` a plain data property.`;
}

if (dashboard) {
    const { bursts, typing } = dashboard;
    targets.push(
        ["Dashboard: a burst of 2,000 entries, no long task over 50 ms",
            bursts.longTasksOver50 === 0
                ? `no long task in ${bursts.rounds.length} bursts`
                : `${bursts.longTasksOver50} long tasks in ${bursts.rounds.length} bursts, longest ${bursts.longestTaskMs.max.toFixed(0)} ms`,
            bursts.longestTaskMs.max / 50, (r) => r <= 1, "of budget"],
        ["Dashboard: search keystrokes handled within 16 ms at 200 entries/s",
            `max ${typing.keystrokeMs.max.toFixed(1)} ms, p95 ${typing.keystrokeMs.p95.toFixed(1)} ms (${typing.keystrokes} keys)`,
            typing.keystrokeMs.max / 16, (r) => r <= 1, "of budget"],
    );
}

/** The dashboard's bursts and keystrokes: each round, and where the worst frame's time went. */
function burstSection({ bursts, typing }) {
    const ms = (v) => `${v.toFixed(0)} ms`;
    const steps = (r) => Object.entries(r.steps).map(([name, v]) => `${name} ${ms(v)}`).join(", ");
    const frame = (f) => (f ? `${ms(f.duration)}: scripts ${ms(Object.values(f.scripts).reduce((a, b) => a + b, 0))}, style and layout ${ms(f.styleAndLayout)}` : "none over 50 ms");
    return `Bursts of ${bursts.size} entries at once, ${bursts.rounds.length} rounds, after the steady run above
(5,000 envelopes kept, 100 rows shown). Long tasks by the Long Tasks API;
the page's own steps by its \`performance.measure\` (opened with \`?measure\`);
the longest animation frame (from its first task to its paint) by the Long
Animation Frames API, with what took its time. Frames cost more than the page's script: layout and paint of the
table, and on this 2-core machine the publisher, \`serve\` and Redis compete
for the same cores.

| round | long tasks | longest | the page's longest steps | longest frame | all decoded after |
|---:|---:|---:|---|---|---:|
${bursts.rounds.map((r, i) => `| ${i + 1} | ${r.longTasks} | ${ms(r.longestTaskMs)} | ${steps(r)} | ${frame(r.worstFrame)} | ${ms(r.decodedMs)} |`).join("\n")}

${bursts.longTasksOver50 === 0 ? "No round had a long task (over 50 ms)." : `Median of the rounds' longest task ${ms(bursts.longestTaskMs.median)}, the longest ${ms(bursts.longestTaskMs.max)}.`}

Typing \`will it rain in paris\` into the search box and deleting it, while
${typing.rate} envelopes a second arrive: ${typing.keystrokes} keystrokes, each from its
\`keydown\` to the end of the page's handling of its \`input\`: p50
${typing.keystrokeMs.p50.toFixed(1)} ms, p95 ${typing.keystrokeMs.p95.toFixed(1)} ms, max ${typing.keystrokeMs.max.toFixed(1)} ms (${typing.over16} over 16 ms).
The table is redrawn once typing pauses (120 ms): ${typing.redraws} redraws, the longest
${typing.redrawMs.max.toFixed(1)} ms.`;
}

function caseTable(run) {
    const names = Object.keys(run.cases.typical.results);
    const header = `| payload | ${names.join(" | ")} |\n|---|${names.map(() => "---:").join("|")}|`;
    const rows = Object.entries(run.cases).map(([name, { bytes, results }]) => {
        const base = results["crowd-envelope"].nsPerOp;
        const cells = names.map((n) => {
            const t = results[n].nsPerOp;
            return n === "crowd-envelope" ? `**${us(t)} µs**` : `${us(t)} µs (${x(t / base)})`;
        });
        return `| ${name} (${kb(bytes)}) | ${cells.join(" | ")} |`;
    });
    return `${header}\n${rows.join("\n")}\n\nIn brackets: each competitor's time as a multiple of crowd-envelope's (above 1 means crowd-envelope is faster).`;
}

function ladderTable(run, nativeCases) {
    const rows = run.ladder.map(({ bytes, target, nsPerOp }) => {
        const n = nativeCases[`decode/ladder_${target}`]?.nsPerOp;
        return `| ${kb(bytes)} | ${us(nsPerOp)} µs | ${(nsPerOp / bytes).toFixed(2)} | ${n ? `${us(n)} µs` : "-"} | ${n ? (n / bytes).toFixed(2) : "-"} |`;
    });
    return `| payload | ${run.runtime} | ns/byte | native | ns/byte |\n|---:|---:|---:|---:|---:|\n${rows.join("\n")}`;
}

const batch = node.batch;
const batchNames = Object.keys(batch);
const pyRows = Object.entries(python.cases)
    .filter(([name]) => !name.startsWith("ladder"))
    .map(([name, { bytes, nsPerOp }]) => {
        const n = nativeNs(name);
        return `| ${name} (${kb(bytes)}) | ${us(n)} µs | ${us(nsPerOp)} µs | ${x(nsPerOp / n)} |`;
    });

function swbTable() {
    const rows = Object.entries(swb.cases).map(([name, c]) => {
        const text = c["JSON.stringify + strict reader"].nsPerOp;
        const value = c["serde_wasm_bindgen::from_value"].nsPerOp;
        return `| ${name} | ${us(text)} µs | ${us(value)} µs | ${x(value / text)} | ${us(c["encodeEnvelope (whole call)"].nsPerOp)} µs |`;
    });
    return `| envelope | JSON.stringify + strict reader | serde_wasm_bindgen::from_value | from_value / text | encodeEnvelope, whole call |\n|---|---:|---:|---:|---:|\n${rows.join("\n")}`;
}

function fuzzTable() {
    // Written by `make fuzz` (scripts/fuzz.sh) and committed with the code.
    const file = join(dir, "..", "..", "docs", "fuzz-stats.json");
    if (!existsSync(file)) return "No \`make fuzz\` figures in docs/fuzz-stats.json yet.";
    const runs = JSON.parse(readFileSync(file, "utf8"));
    const count = (n) => (n === null || n === undefined ? "n/a" : n.toLocaleString("en"));
    const rows = runs.map((r) => `| ${r.target} | ${(r.seconds / 60).toFixed(1)} min | ${count(r.runs)} | ${count(r.coverage_edges)} | ${count(r.corpus_units)} | ${r.outcome === "ok" ? "0" : "**crashed**"} | ${r.finished} |`);
    return `From the last \`make fuzz\` run (docs/fuzz-stats.json; ${runs[0]?.mode ?? "one target after another"}):\n\n| target | time | executions | coverage (edges) | corpus | crashes | finished |\n|---|---:|---:|---:|---:|---:|---|\n${rows.join("\n")}`;
}

function soakTable() {
    // Written by a 10-minute `make soak` (scripts/soak.py) and committed with the code.
    const file = join(dir, "..", "..", "docs", "soak-stats.json");
    if (!existsSync(file)) return "No \`make soak\` figures in docs/soak-stats.json yet.";
    const r = JSON.parse(readFileSync(file, "utf8"));
    const n = (v) => (v ?? 0).toLocaleString("en");
    const faults = Object.entries(r.faults).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(", ");
    const reasons = Object.entries(r.group.dead_letters_by_reason).map(([k, v]) => `${k} ${n(v)}`).join(", ");
    const memory = Object.entries(r.memory).map(([k, m]) => `${k} ${m.early_mib} → ${m.late_mib} MiB`).join(", ") || "no process lived long enough to compare";
    return `From the last 10-minute \`make soak\` (docs/soak-stats.json, seed ${r.seed}, finished ${r.finished}): ${r.rate} entries/s, claim time ${r.claim_idle_ms} ms.

| | |
|---|---|
| published (known exactly: explicit ids) | ${n(r.published)}: ${Object.entries(r.by_kind).map(([k, v]) => `${k} ${n(v)}`).join(", ")} |
| publishes retried after a lost reply | ${n(r.publishes_retried)} (${n(r.publishes_landed_unanswered)} had landed) |
| faults | ${faults} |
| group: valid entries handled | ${n(r.group.valid_handled)} |
| group: handled twice | ${n(r.group.handled_twice)}, each after a fault: ${n(r.group.handled_twice_attributed)} |
| group: dead letters | ${n(r.group.dead_letters)} (${reasons}) |
| group: trimmed before read | ${n(r.group.trimmed_unread)} in ${n(r.group.gaps)} gaps, each count exact |
| follower: shown, skipped | ${n(r.follower.shown)}, ${n(r.follower.skipped)} |
| follower: trimmed before read | ${n(r.follower.trimmed_unread)} in ${n(r.follower.gaps)} gaps, each count exact |
| memory, first minute → last | ${memory} |
| **discrepancies** | **${r.discrepancies}** |`;
}

const report = `# crowd-envelope benchmark report

Written by \`make bench\` on ${new Date().toISOString()}.

Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB.
Versions: ${node.runtime}; ${browser ? browser.runtime : "Chromium not run"}; ${version("rustc", ["--version"])};
${python.runtime}; ${version("redis-server", ["--version"])}; zod ${npmVersion("zod")}, valibot ${npmVersion("valibot")},
Ajv ${npmVersion("ajv")}, TypeBox ${npmVersion("@sinclair/typebox")}, typia ${npmVersion("typia")}.

Every comparison of one table ran in one process, competitors in alternating
rounds, the median round reported, so the ratios hold on a noisy machine;
absolute times move with the machine. "Decode" is what a consumer needs:
parse, validate, give the object (for the package, \`tryDecodeEnvelope\`; for
the others \`JSON.parse\` then the schema).

## Targets

| target | measured | ratio | |
|---|---|---:|---|
${targets.map(([name, measured, ratio, ok, unit]) => `| ${name} | ${measured} | ${x(ratio)} ${unit} | ${met(ok(ratio))} |`).join("\n")}

## The misses and their measured causes

${(() => {
    const b = node.breakdown;
    const b64 = node.breakdown64k;
    const share = (run, name) => x(run[name].nsPerOp / run["JSON.parse of the payload"].nsPerOp);
    return `- **Node, 64 KB and 1 MB (at most 1.4x JSON.parse).** A decode must do the
  checks JSON.parse does not (duplicate keys at any depth, nesting, lone
  surrogate escapes, numbers past a double or 4,300 digits), so it scans the
  whole payload in wasm, and the nested \`meta\` a consumer reads must still
  be turned into JS objects. In the breakdown above, for 64 KB, wasm's scan
  alone costs ${share(b64, "wasm decode alone")} of JSON.parse and parsing
  \`meta\` ${share(b64, "JSON.parse of meta alone")}: more than 1.4x before
  the payload is even copied in (${share(b64, "encode into wasm memory")}).
  The scan runs at about ${(b64["wasm decode alone"].nsPerOp / node.cases.meta64k.bytes).toFixed(2)} ns a byte
  with SIMD128; V8's JSON.parse at about ${(b64["JSON.parse of the payload"].nsPerOp / node.cases.meta64k.bytes).toFixed(2)}.
- **Node, typical, the stretch (faster than typia).** typia's generated
  validator adds type checks to JSON.parse (about ${x(typical["typia (AOT)"].nsPerOp / typical["JSON.parse"].nsPerOp)} of it
  in all); the package's decode does JSON.parse's work itself in wasm
  (${share(b, "wasm decode alone")} of JSON.parse, the strict checks included) and builds the
  object from the tape instead of parsing.
- **Native against Pydantic (8x typical, 3.5x 64 KB, 5x 1 MB).** Counted with
  callgrind (2026-11-27, typical envelope): 19,200 instructions a decode,
  down from 31,500 with the old JSON tree; about a quarter goes to finding
  string ends and copying strings, a quarter to matching keys, numbers and
  date-times, about 15% to the owned result (nine heap strings allocated,
  copied and later freed) and 10% to the rules. On 64 KB and 1 MB both
  decoders spend nearly all their time scanning \`meta\`'s strings, where
  Pydantic's parser (jiter) is as fast as this one; the strict checks cost
  the rest.
- **Python package, typical (5x Pydantic).** The package runs the native
  decoder (${us(python.native.typical.nsPerOp)} µs here); the Python call, the payload hand-over and
  the result object add ${us(python.package.typical.nsPerOp - python.native.typical.nsPerOp)} µs, so it can be at most as fast as native
  is against Pydantic (${x(python.cases.typical.nsPerOp / python.native.typical.nsPerOp)}), less that overhead.
- **wasm at most 48 KB gzipped.** It was 46.5 KB on 2026-11-27 at 14:03.
  Since then the package exports the stream-entry rule and the decision's
  wording from the Rust core (\`wireCheckEntry\`, \`wireDecisionSummary\`,
  about 4 KB of code before gzip, measured with twiggy), and correlation ids
  come from the uuid crate.`;
})()}

## Every form producers write

${formsSection()}

## Node: decode per envelope

${caseTable(node)}

## Node: lazy meta

${lazyMetaSection()}

Where a decode's time goes in Node (each stage timed alone, in the same
alternating rounds; the whole call also builds the object from the fast
path's tape, and parses \`meta\` when it is not flat):

| stage | typical (0.9 KB) | of JSON.parse | meta64k (64 KB) | of JSON.parse |
|---|---:|---:|---:|---:|
${Object.keys(node.breakdown).map((name) => {
    const cell = (b) => `${us(b[name].nsPerOp)} µs | ${x(b[name].nsPerOp / b["JSON.parse of the payload"].nsPerOp)}`;
    return `| ${name} | ${cell(node.breakdown)} | ${cell(node.breakdown64k)} |`;
}).join("\n")}

Sharing the process: \`JSON.parse + zod\` took ${us(node.zodAlone["JSON.parse + zod"].nsPerOp)} µs
(${x(node.zodAlone["JSON.parse + zod"].nsPerOp / node.zodAlone["JSON.parse"].nsPerOp)} JSON.parse) before the package decoded
anything, and ${us(typical["JSON.parse + zod"].nsPerOp)} µs (${x(typical["JSON.parse + zod"].nsPerOp / typical["JSON.parse"].nsPerOp)}) in the rounds alternating with it.

## Chromium: decode per envelope

${browser ? caseTable(browser) : "Not run."}

## Native Rust against Pydantic

Pydantic v2 \`model_validate_json\`, as the seed module decoded, against Rust
\`Decoder::decode\`, in ${python.rounds} rounds that alternate between the two processes
(\`benches/python_bench.py\` runs \`examples/decode_timing.rs\` between its own
rounds); medians of the rounds. Criterion's figure for the typical envelope,
measured at another moment: ${us(native.cases["decode/typical"].nsPerOp)} µs.

| payload | native | Pydantic | Pydantic / native |
|---|---:|---:|---:|
${pyRows.join("\n")}

Encoding a typical envelope natively: ${us(native.cases["encode_typical"]?.nsPerOp ?? NaN)} µs.

## Scaling: 1 KB to 1 MB

Time per byte stays flat from 16 KB up: decoding is linear in the payload.

${ladderTable(node, native.cases)}
${browser ? `\n${ladderTable(browser, native.cases)}` : ""}

## Memory

The most memory one native decode holds at once (a counting allocator,
\`examples/decode_memory.rs\`), and what the decoded envelope keeps:

| payload | peak | kept |
|---|---:|---:|
${["typical", "meta64k", "meta1m"].map((n) => `| ${n} (${kb(memory[n].bytes)}) | ${kb(memory[n].peakBytes)} | ${kb(memory[n].keptBytes)} |`).join("\n")}

A large \`meta\` is held once, as text: the peak is the payload plus a few
kilobytes.

Payloads of 1 MiB shaped to make a decoder hold all it can (\`tests/common/hostile.rs\`;
all are rejected, which is the path that used to hold the most): the peak of
one native decode, and how much one decode grew the wasm memory in a fresh
Node process (\`benches/js/memory.mjs\`; the input buffer's copy of the
payload included):

| payload | native peak | Node: wasm memory grown |
|---|---:|---:|
${hostile.map(([name, m]) => `| ${name.slice(9)} | ${kb(m.peakBytes)} (${x(m.peakBytes / m.bytes)}) | ${kb(memoryNode[name].grownBytes)} (${x(memoryNode[name].grownBytes / memoryNode[name].bytes)}) |`).join("\n")}

## JS values into wasm: serde-wasm-bindgen against JSON text

The entry points that take a JS value (\`validatePrediction\`,
\`buildEnvelope\`, \`encodeEnvelope\`, \`verifyDecision\`, the Standard
Schema adapters) bring it into wasm as JSON text: \`JSON.stringify\` (with
the replacer that keeps \`-0\`) and the strict reader. The alternative,
\`serde_wasm_bindgen::from_value\`, walks the value through the JS API. Both
build the same tree from a decoded envelope (\`benches/js/swb.mjs\`, a wasm
built with feature \`measure-swb\`, alternating rounds). \`encodeEnvelope\` of a
decoded envelope also checks that it is unchanged, to write \`meta\` as the
producer did.

${swbTable()}

## Batch

| Node | time for 1,000 typical envelopes |
|---|---:|
${batchNames.map((n) => `| ${n} | ${us(batch[n].nsPerOp)} µs |`).join("\n")}

\`decodeBatch\` is one call for the caller; under it, each payload still
crosses the boundary on its own, so it costs what a loop costs.

## Redis

| | |
|---|---:|
| redis-benchmark \`XADD\` (1 connection, pipeline 100, the typical ${node.cases.typical.bytes}-byte payload) | ${Math.round(ceiling)}/s |
| \`publish_envelopes\` (1 multiplexed connection, pipelines of ${redis.publish.pipeline}, ${redis.publish.inFlight} in flight, ${redis.payloadBytes}-byte envelopes, each validated and encoded) | ${Math.round(redis.publish.perSecond)}/s |
| follow latency, XADD to delivery, p50 / p99 / max (${redis.follow.samples} samples) | ${(redis.follow.p50Micros / 1000).toFixed(2)} / ${(redis.follow.p99Micros / 1000).toFixed(2)} / ${(redis.follow.maxMicros / 1000).toFixed(2)} ms |

${transportSection(transport, redis)}
${clusterSection(cluster)}
## The dashboard under load

${dashboard ? `${dashboard.published} envelopes at ${dashboard.rate}/s for ${dashboard.seconds} s into \`crowd-envelope serve\`, the page open in headless Chromium, every payload decoded by the page:

| | |
|---|---:|
| envelopes decoded by the page | all ${dashboard.published} |
| rows in the table (capped) | ${dashboard.rows} |
| frame interval p50 / p95 / max | ${dashboard.frames.p50.toFixed(1)} / ${dashboard.frames.p95.toFixed(1)} / ${dashboard.frames.max.toFixed(1)} ms |
| long tasks (over 50 ms) | ${dashboard.longTasks.count}, longest ${dashboard.longTasks.maxMs.toFixed(0)} ms |
| a click on "pause" until the page shows it | ${dashboard.clickToUpdateMs} ms |

${burstSection(dashboard)}` : "Not run."}

## Fuzzing

${fuzzTable()}

## Chaos soak

${soakTable()}

## Sizes

| | raw | gzipped |
|---|---:|---:|
| wasm loaded by Node | ${kb(sizes.nodeWasm.raw)} | ${kb(sizes.nodeWasm.gzip)} |
| wasm loaded by browsers | ${kb(sizes.webWasm.raw)} | ${kb(sizes.webWasm.gzip)} |
| npm tarball | ${kb(sizes.tarball)} | |

## What was tried, and what it gave

Measured on this kind of machine while working on the targets (typical
envelope unless stated; Node times include \`JSON.parse\` of the result):

1. **The boundary.** Values cross as JSON text and come back through one
   \`JSON.parse\`; \`serde-wasm-bindgen\` building objects field by field was
   never used. When \`JSON.parse\` of the payload itself gives the decoded
   envelope (every field present, canonical types and date-times: what
   producers write), wasm replies with an empty string and the wrapper parses
   its own input: no encoding in wasm, nothing copied back. Wasm decode alone
   went from 6.1 to 4.3 µs.
2. **Passing strings.** wasm-bindgen's string passing copies character by
   character in JavaScript; encoding with \`TextEncoder.encodeInto\` into a
   reused buffer and passing bytes took a 64 KB payload from 177 to 47 µs and
   a typical one from 5.6 to 4.1 µs.
3. **\`meta\`.** It is kept as text, so its subtree is now checked
   (duplicates, depth, surrogates) without building a tree, and no longer
   re-validated by \`serde_json::RawValue\`: native 64 KB decode from 98 to
   33 µs, 1 MB from 1.46 to 0.50 ms.
4. **Strings** are scanned eight bytes at a time: about 7% fewer
   instructions natively (callgrind), no measurable change in wasm.
5. **Size against speed.** opt-level 3 decodes about 25% faster in wasm but
   is 79 KB gzipped; opt-level \`s\` is within the 64 KB budget, so the
   package ships it (\`[profile.wasm-release]\`). Optimizing only this crate
   for speed and its dependencies for size gave 75 KB.

**Why the Node targets are not met yet.** A typical envelope costs about
1.5 µs in \`JSON.parse\` alone, and the package pays that too (the object must
be built by V8). The rest is the Rust decoder running as wasm: about 4 µs,
against 1.5 µs for the same code natively; zod and valibot cost 3 µs on top
of \`JSON.parse\`. Meeting "1.5x faster than zod" needs the wasm part under
about 1 µs. Profiling (callgrind, native) puts two thirds of decoding in
building the intermediate JSON tree and its allocations (one \`Vec\` per
object, one \`String\` per text field), which wasm's allocator makes dearer.
The next step is a decoder that validates straight from the bytes into the
typed structs with no intermediate tree and borrowed strings; that is a
rewrite of the reader and the field readers, not a tuning, and is left as
the open part of issue 6. Native decoding has the same cause for missing
its 5x against Pydantic on the typical envelope, while it is 1.1x to 1.8x
faster than Pydantic on large payloads.
`;

writeFileSync(join(dir, "REPORT.md"), report);
console.log("\n| target | measured | |\n|---|---|---|");
for (const [name, measured, ratio, ok, unit] of targets) console.log(`| ${name} | ${measured} (${x(ratio)} ${unit}) | ${met(ok(ratio))} |`);
console.log(`\nReport: ${join(dir, "REPORT.md")}`);
