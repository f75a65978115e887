// The dashboard for a person, in headless Chromium against redis-server and
// `crowd-envelope serve` (issue 19): axe-core finds nothing serious, every
// control works from the keyboard, the live region speaks politely, a burst
// keeps the page responsive, and the consumer side, sorting, time zones,
// "N new", paging back, going to an id or a time, export (JSON Lines, CSV),
// copy buttons, chart points and URL filters each work.
import test from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import axe from "axe-core";
import { createClient } from "redis";
import { buildEnvelope, encodeEnvelope } from "crowd-envelope";
import { PREDICTIONS, REPO, Serve, launch, waitFor } from "./helpers.mjs";
import { RedisServer, freePort } from "./redis-server.mjs";

const STREAM = "maf:arena:crowd_simulation:output";
const SHOTS = join(REPO, "target", "dashboard");

function envelope(kind, n, extra = {}) {
    const prediction = { ...PREDICTIONS[kind], source_id: `${kind}-${n}`, confidence: 0.5 + (n % 5) / 10, ...extra };
    return encodeEnvelope(buildEnvelope(prediction, { correlationId: `${kind}-${n}` }));
}

const KINDS = ["fomo2_report", "polymarket_bet", "oddsoddy_strategy"];

/** RFC 4180 CSV: records of fields, quoted fields with "" for a quote. */
function parseCsv(text) {
    const records = [];
    let record = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted && c === '"' && text[i + 1] === '"') {
            field += c;
            i++;
        } else if (c === '"') {
            quoted = !quoted;
        } else if (!quoted && c === ",") {
            record.push(field);
            field = "";
        } else if (!quoted && c === "\r" && text[i + 1] === "\n") {
            records.push([...record, field]);
            record = [];
            field = "";
            i++;
        } else {
            field += c;
        }
    }
    return records;
}

/** Serious and critical axe-core violations on the page as it is now. */
async function axeViolations(page) {
    await page.evaluate(axe.source);
    const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    return results.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("the dashboard for a person", async (t) => {
    mkdirSync(SHOTS, { recursive: true });
    const redis = await RedisServer.start();
    const client = createClient({ url: redis.url });
    client.on("error", () => {});
    await client.connect();
    const raw = (...args) => client.sendCommand(args.map(String));
    const publish = (payload) => client.xAdd(STREAM, "*", { data: payload });
    // 150 entries before the page opens: it reads the newest 100.
    for (let n = 0; n < 150; n++) await publish(envelope(KINDS[n % 3], n));
    const server = new Serve(redis.url, await freePort());
    await server.start();
    const browser = await launch();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "Asia/Tokyo", acceptDownloads: true,
        permissions: ["clipboard-read", "clipboard-write"] });
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (error) => problems.push(error.message));
    // Listened for from the start: Playwright intercepts file choosers only
    // once asked to, and a key press is quicker than that request.
    const choosers = [];
    page.on("filechooser", (chooser) => choosers.push(chooser));
    t.after(async () => {
        await browser.close();
        await server.stop();
        await client.disconnect().catch(() => {});
        await redis.stop();
    });
    const rows = () => page.locator("#envelopes tbody tr");
    const rowCount = () => rows().count();
    const until = (fn, arg, timeout = 15_000) => page.waitForFunction(fn, arg, { timeout });
    const active = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset?.id || document.activeElement?.tagName);

    await page.goto(`${server.url}?measure`);
    await page.waitForSelector("#status.live");
    await until(() => document.querySelectorAll("#envelopes tbody tr").length === 100);

    await t.test("axe-core finds nothing serious with live data, the detail open, at 1280 and 390 wide", async () => {
        assert.deepEqual(await axeViolations(page), []);
        await rows().nth(2).click();
        assert.deepEqual(await axeViolations(page), []);
        await page.screenshot({ path: join(SHOTS, "a11y-1280.png") });
        await page.setViewportSize({ width: 390, height: 844 });
        assert.deepEqual(await axeViolations(page), []);
        // The decision is on screen on a phone, and a chosen row's detail is scrolled to.
        const decisionRight = await page.locator("#envelopes tbody tr:first-child td.decision").evaluate((td) => td.getBoundingClientRect().right);
        assert.ok(decisionRight <= 390, `${decisionRight}`);
        // Nothing runs off the side: not the header's counters, not the page.
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scroll");
        assert.ok(await page.locator("header").evaluate((h) => h.scrollWidth <= h.clientWidth), "the header fits");
        await rows().nth(4).click();
        const detailTop = await page.locator("#detail").evaluate((d) => d.getBoundingClientRect().top);
        assert.ok(detailTop < 844, `the detail is in view: ${detailTop}`);
        await page.screenshot({ path: join(SHOTS, "dashboard-390.png") });
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.keyboard.press("Escape");
    });

    await t.test("the chart says what it shows, tells its series apart by shape; control borders and the crowd bar have 3:1", async () => {
        await page.waitForTimeout(400); // the chart redraws at most four times a second
        assert.match(
            await page.locator("#chart").getAttribute("aria-label"),
            /^scatter of crowd against market probability: \d+ points, the crowd above the market in \d+ and at or below it in \d+; \d+ without a market price not plotted$/,
        );
        assert.ok((await page.locator("#chart rect.oddsoddy_multiplier").count()) > 0);
        assert.ok((await page.locator("#chart circle.polymarket_side").count()) > 0);
        const ratio = await page.evaluate(() => {
            const rgb = (css) => css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
            const lum = (c) => {
                const [r, g, b] = c.map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const contrast = (a, b) => {
                const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
                return (x + 0.05) / (y + 0.05);
            };
            const page = getComputedStyle(document.body).backgroundColor;
            const background = (selector) => getComputedStyle(document.querySelector(selector)).backgroundColor;
            return {
                borders: Math.min(
                    ...["filter-source", "filter-search", "pause", "paste"].map((id) => contrast(getComputedStyle(document.getElementById(id)).borderTopColor, page)),
                ),
                // The crowd-vs-market bar: the fill against its track, the market mark against the fill.
                fill: contrast(background("#envelopes .bar .fill"), background("#envelopes .bar")),
                mark: contrast(background("#envelopes .bar .mark"), background("#envelopes .bar .fill")),
            };
        });
        assert.ok(ratio.borders >= 3, `control borders ${ratio.borders.toFixed(2)}:1`);
        assert.ok(ratio.fill >= 3, `the bar's fill ${ratio.fill.toFixed(2)}:1`);
        assert.ok(ratio.mark >= 3, `the market mark ${ratio.mark.toFixed(2)}:1`);
    });

    await t.test("every control is reached with Tab, and focus is always visible", async () => {
        // From the top (the skip link) to the last control, never out of the
        // page (a page without focus opens no file chooser, test 4).
        await page.focus("a.skip");
        const reached = new Set(["skip"]);
        const unseen = [];
        for (let i = 0; i < 40; i++) {
            await page.keyboard.press("Tab");
            const { id, outline } = await page.evaluate(() => {
                const el = document.activeElement;
                return { id: el.id || (el.dataset.id ? "row" : el.className || el.tagName), outline: getComputedStyle(el).outlineStyle };
            });
            reached.add(id);
            if (outline === "none") unseen.push(id);
            if (id === "paste-decode") break;
        }
        for (const control of ["filter-source", "filter-decision", "filter-search", "filter-zone", "pause", "export", "export-csv", "goto-at", "envelopes-wrap", "row", "older", "choose-file", "paste", "paste-decode"]) {
            assert.ok(reached.has(control), `${control} in ${[...reached]}`);
        }
        assert.deepEqual(unseen, []);
    });

    await t.test("rows by arrow keys; Enter opens the detail and Escape closes it, focus moving and coming back", async () => {
        await rows().first().focus();
        const first = await active();
        await page.keyboard.press("ArrowDown");
        await page.keyboard.press("ArrowDown");
        const third = await active();
        assert.equal(third, await rows().nth(2).getAttribute("data-id"));
        assert.notEqual(third, first);
        await page.keyboard.press("Enter");
        assert.equal(await page.locator("#detail-body").isVisible(), true);
        assert.equal(await active(), "detail-title");
        assert.equal(await page.locator("#d-id").textContent(), third);
        await page.keyboard.press("Escape");
        assert.equal(await page.locator("#detail-body").isVisible(), false);
        assert.equal(await active(), third, "focus is back on the row");
        await page.keyboard.press("End");
        assert.equal(await active(), await rows().last().getAttribute("data-id"));
        await page.keyboard.press("Home");
        assert.equal(await active(), first);
    });

    await t.test("a file, pasted lines, pause and resume, all from the keyboard; results are announced", async () => {
        await page.focus("#choose-file");
        await page.keyboard.press("Enter");
        await waitFor(() => choosers.length === 1, "a file chooser");
        await choosers[0].setFiles({ name: "keys.jsonl", mimeType: "application/json", buffer: Buffer.from(`${envelope("polymarket_bet", 900)}\n`) });
        await until(() => document.getElementById("offline-result").textContent === "file keys.jsonl: 1 decoded, 0 rejected");
        await page.focus("#paste");
        await page.keyboard.insertText(`${envelope("fomo2_report", 901)}\n[]`);
        await page.keyboard.press("Tab");
        assert.equal(await active(), "paste-decode");
        await page.keyboard.press("Enter");
        await until(() => document.getElementById("offline-result").textContent === "pasted: 1 decoded, 1 rejected");
        await until(() => document.getElementById("announce").textContent.includes("pasted: 1 decoded, 1 rejected"), null, 5_000);
        const tags = await page.locator("#envelopes tbody tr.offline .tag").allTextContents();
        assert.deepEqual(tags.slice(0, 2), ["pasted", "file"]);

        await page.focus("#pause");
        await page.keyboard.press("Space");
        assert.equal(await page.locator("#pause").getAttribute("aria-pressed"), "true");
        const shownIds = () => page.locator("#envelopes tbody .src-id").allTextContents();
        const before = await shownIds();
        await publish(envelope("oddsoddy_strategy", 902));
        await until((n) => Number(document.getElementById("count-accepted").textContent) === n, 103);
        // Paused: a filter change redraws without what arrived meanwhile.
        await page.selectOption("#filter-decision", "");
        assert.deepEqual(await shownIds(), before);
        assert.match(await page.locator("#shown").textContent(), /^paused · \d+ rows shown of \d+ kept$/);
        // What the user pastes while paused is shown: they asked to see it.
        await page.fill("#paste", envelope("fomo2_report", 903));
        await page.click("#paste-decode");
        await until(() => document.querySelector("#envelopes tbody .src-id")?.textContent === "fomo2_report-903");
        assert.deepEqual((await shownIds()).slice(1, 10), before.slice(0, 9));
        await page.focus("#pause");
        await page.keyboard.press("Enter");
        assert.equal(await page.locator("#pause").getAttribute("aria-pressed"), "false");
        assert.deepEqual((await shownIds()).slice(0, 3), ["fomo2_report-903", "oddsoddy_strategy-902", before[0]]);
    });

    await t.test("rejections and Redis down and up are announced, at most every two seconds; axe with Redis down at 1280 and 390 wide", async () => {
        await page.evaluate(() => {
            window.__said = [];
            new MutationObserver(() => window.__said.push([performance.now(), document.getElementById("announce").textContent]))
                .observe(document.getElementById("announce"), { childList: true, characterData: true, subtree: true });
        });
        for (let n = 0; n < 30; n++) await publish("{broken");
        await until(() => window.__said.some(([, text]) => /rejected: invalid_json/.test(text)));
        await page.waitForTimeout(2500);
        const said = await page.evaluate(() => window.__said);
        const rejected = said.flatMap(([, text]) => [...text.matchAll(/(\d+) rejected: invalid_json/g)].map((m) => Number(m[1])));
        assert.equal(rejected.reduce((a, b) => a + b, 0), 30, JSON.stringify(said));
        for (let i = 1; i < said.length; i++) assert.ok(said[i][0] - said[i - 1][0] >= 1900, JSON.stringify(said));

        await redis.kill();
        await until(() => document.getElementById("announce").textContent.includes("Redis does not answer"), null, 20_000);
        assert.equal(await page.locator("#status").textContent(), "redis down");
        assert.deepEqual(await axeViolations(page), [], "Redis down, 1280 wide");
        await page.setViewportSize({ width: 390, height: 844 });
        assert.deepEqual(await axeViolations(page), [], "Redis down, 390 wide");
        assert.ok(await page.locator("#notice").isVisible(), "the reason is in words on a phone too");
        await page.screenshot({ path: join(SHOTS, "a11y-redis-down-390.png") });
        await page.setViewportSize({ width: 1280, height: 800 });
        await redis.restart();
        await until(() => document.getElementById("announce").textContent.includes("the stream is live again"), null, 20_000);
        assert.equal(await page.locator("#status").textContent(), "live");
    });

    await t.test("columns sort by time, confidence and decision, and back to newest first", async () => {
        const confidences = async () => (await page.locator("#envelopes tbody td.num").allTextContents()).map(Number);
        await page.click('th[data-sort="confidence"] button');
        assert.equal(await page.locator('th[data-sort="confidence"]').getAttribute("aria-sort"), "ascending");
        const up = await confidences();
        assert.deepEqual(up, [...up].sort((a, b) => a - b));
        await page.click('th[data-sort="confidence"] button');
        const down = await confidences();
        assert.deepEqual(down, [...down].sort((a, b) => b - a));
        await page.click('th[data-sort="confidence"] button');
        assert.equal(await page.locator('th[data-sort="confidence"]').getAttribute("aria-sort"), "none");
        await page.click('th[data-sort="decision"] button');
        const decisions = await page.locator("#envelopes tbody td.decision .summary").allTextContents();
        assert.deepEqual(decisions, [...decisions].sort());
        await page.click('th[data-sort="decision"] button');
        await page.click('th[data-sort="decision"] button');
    });

    await t.test("times in UTC or the browser's zone, kept in the URL with the filters", async () => {
        const utc = await rows().first().locator("td.time").textContent();
        await page.selectOption("#filter-zone", "local");
        assert.equal(await page.locator("#time-head").textContent(), "time (local)");
        const tokyo = await rows().first().locator("td.time").textContent();
        assert.equal((Number(utc.slice(0, 2)) + 9) % 24, Number(tokyo.slice(0, 2)), `${utc} UTC is ${tokyo} in Tokyo`);
        await page.selectOption("#filter-source", "polymarket_bet");
        await page.fill("#filter-search", "rain");
        await until(() => location.search.includes("q=rain"));
        assert.equal(new URL(page.url()).search, "?source=polymarket_bet&q=rain&tz=local");
        // A fresh page from that URL has the same view.
        const other = await context.newPage();
        await other.goto(page.url());
        await other.waitForSelector("#status.live");
        // (Redis was restarted without its data: a new entry to show.)
        await publish(envelope("polymarket_bet", 940));
        await other.waitForFunction(() => document.querySelectorAll("#envelopes tbody tr").length > 0);
        assert.equal(await other.locator("#filter-source").inputValue(), "polymarket_bet");
        assert.equal(await other.locator("#filter-search").inputValue(), "rain");
        assert.equal(await other.locator("#time-head").textContent(), "time (local)");
        const sources = await other.locator("#envelopes tbody .src-type").allTextContents();
        assert.ok(sources.length > 0 && sources.every((s) => s === "polymarket_bet"), String(sources));
        await other.close();
    });

    await t.test("export writes the envelopes the filters match as JSON Lines and as CSV", async () => {
        // A question a spreadsheet would run as a formula.
        const formula = "=HYPERLINK(\"http://x\",\"rain\")";
        await page.fill("#paste", envelope("polymarket_bet", 990, { question: formula }));
        await page.click("#paste-decode");
        await until(() => document.querySelector("#envelopes tbody .src-id")?.textContent === "polymarket_bet-990");
        const exported = async (button) => {
            const download = page.waitForEvent("download");
            await page.click(button);
            return readFileSync(await (await download).path(), "utf8");
        };
        const lines = (await exported("#export")).trimEnd().split("\n").map((line) => JSON.parse(line));
        assert.ok(lines.length >= (await rowCount()) && lines.length > 0);
        assert.ok(lines.every((e) => e.prediction.source_type === "polymarket_bet" && /rain/i.test(e.prediction.question)));
        const [header, ...records] = parseCsv(await exported("#export-csv"));
        assert.deepEqual(header, ["stream_id", "published_at", "source_type", "source_id", "question", "probability",
            "market_probability", "confidence", "decision_kind", "decision", "reason", "correlation_id"]);
        assert.equal(records.length, lines.length);
        const at = (name) => header.indexOf(name);
        for (const [i, record] of records.entries()) {
            const e = lines[i];
            assert.equal(record[at("question")], e.prediction.question === formula ? `'${formula}` : e.prediction.question);
            assert.equal(Number(record[at("probability")]), e.prediction.probability);
            assert.equal(record[at("correlation_id")], e.correlation_id);
            assert.equal(record[at("reason")], e.decision.reason);
        }
        assert.ok(records.some((record) => record[at("question")] === `'${formula}`), "the formula is written as text");
        await page.selectOption("#filter-source", "");
        await page.fill("#filter-search", "");
        await page.selectOption("#filter-zone", "utc");
        await until(() => location.search === "");
    });

    await t.test("the detail's copy buttons; a chart point says what it is and opens its detail", async () => {
        await page.waitForTimeout(400); // the chart redraws at most four times a second
        const point = page.locator("#chart circle.polymarket_side").first();
        const title = await point.locator("title").textContent();
        assert.match(title, /\ncrowd \d\.\d\d, market \d\.\d\d: (yes|no|abstain)$/);
        await point.dispatchEvent("click");
        assert.equal(await page.locator("#detail-body").isVisible(), true);
        assert.equal(await active(), "detail-title");
        assert.equal(await page.locator("#d-question").textContent(), title.split("\n")[0]);
        assert.match(await page.locator("#d-decision").textContent(), /^polymarket_side: /);
        const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
        await page.click("#copy-id");
        await until(() => document.getElementById("announce").textContent.includes("stream id copied"), null, 5_000);
        assert.equal(await clipboard(), await page.locator("#d-id").textContent());
        await page.click("#copy-envelope");
        await until(() => document.getElementById("announce").textContent.includes("envelope copied"), null, 5_000);
        const copied = JSON.parse(await clipboard());
        assert.equal(copied.correlation_id, await page.locator("#d-correlation").textContent());
        assert.equal(copied.prediction.question, title.split("\n")[0]);
        await page.keyboard.press("Escape");
    });

    await t.test("scrolled away, the table holds still and says how many are new", async () => {
        await page.locator("#envelopes-wrap").evaluate((wrap) => {
            wrap.scrollTop = 400;
        });
        const top = await rows().first().getAttribute("data-id");
        for (let n = 0; n < 5; n++) await publish(envelope("fomo2_report", 950 + n));
        await until(() => document.getElementById("held").textContent === "5 new: show them");
        assert.equal(await rows().first().getAttribute("data-id"), top);
        await page.click("#held");
        assert.equal(await page.locator("#held").isVisible(), false);
        assert.equal(await rows().first().locator(".src-id").textContent(), "fomo2_report-954");
    });

    await t.test("show older: first the kept envelopes not shown, then older entries from the stream", async () => {
        const kept = await page.evaluate(() => Number(document.getElementById("shown").textContent.match(/of ([\d,]+) kept/)[1].replace(/,/g, "")));
        assert.ok(kept > 100 && (await rowCount()) === 100, `${kept} kept`);
        await page.click("#older");
        await until((n) => document.querySelectorAll("#envelopes tbody tr").length === n, Math.min(kept, 200));
        const before = await rowCount();
        await page.click("#older");
        await until((n) => document.querySelectorAll("#envelopes tbody tr").length >= n + 50, before);
        const ids = await page.locator("#envelopes tbody .src-id").allTextContents();
        for (const n of [0, 1, 49]) assert.ok(ids.includes(`${KINDS[n % 3]}-${n}`), `${n}`);
        assert.equal(new Set(await rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.id))).size, await rowCount(), "no row twice");
        assert.equal(await page.locator("#older").textContent(), "no older entries");
    });

    await t.test("go to a stream id or a time, read from the stream when older than what is kept", async () => {
        const ids = (await raw("XRANGE", STREAM, "-", "+", "COUNT", "60")).map(([id]) => id);
        const other = await context.newPage();
        await other.goto(server.url);
        await other.waitForSelector("#status.live");
        // The newest 100 entries read (some of them rejections).
        await other.waitForFunction(() => ["count-accepted", "count-rejected"].reduce((n, id) => n + Number(document.getElementById(id).textContent), 0) === 100);
        const goTo = async (text) => {
            await other.fill("#goto-at", text);
            await other.press("#goto-at", "Enter");
        };
        const untilFocused = (id) => other.waitForFunction((id) => document.activeElement?.dataset?.id === id, id);
        await goTo(ids[10]);
        await untilFocused(ids[10]);
        assert.equal(await other.locator("#d-id").textContent(), ids[10]);
        assert.ok(await other.locator(`#envelopes tr[data-id="${ids[10]}"]`).isVisible(), "scrolled into view");
        // A time: the newest entry at or before it.
        const ms = Number(ids[30].split("-")[0]);
        await goTo(new Date(ms).toISOString());
        await untilFocused(ids.filter((id) => Number(id.split("-")[0]) <= ms).at(-1));
        assert.equal(await other.locator("#goto-at").getAttribute("aria-invalid"), "false");
        // Neither: said at the field.
        await goTo("yesterday");
        assert.equal(await other.locator("#goto-at").getAttribute("aria-invalid"), "true");
        assert.equal(await other.locator("#goto-error").textContent(), 'Not a stream id (1795811287642-0) or a date-time (2026-11-27 20:00): "yesterday".');
        assert.deepEqual(await axeViolations(other), []);
        await other.close();
    });

    await t.test("the consumer side: each group's lag, pending entries and consumers, and the dead letters", async () => {
        await raw("XGROUP", "CREATE", STREAM, "bots", "0");
        await raw("XREADGROUP", "GROUP", "bots", "bot-1", "COUNT", "2", "STREAMS", STREAM, ">");
        await raw("XADD", `{${STREAM}}:dead`, "*", "data", "[]", "reason", "invalid", "errors",
            JSON.stringify([{ path: "", code: "model_type", message: "expected an object, found an array" }]),
            "id", "1-1", "group", "bots", "consumer", "bot-1");
        await until(() => document.querySelector('#group-table tr[data-group="bots"]') !== null, null, 10_000);
        const cells = await page.locator('#group-table tr[data-group="bots"] td').allTextContents();
        const length = Number(await raw("XLEN", STREAM));
        assert.deepEqual(cells, ["bots", String(length - 2), "2", "1"]);
        assert.equal(await page.locator("#dead-count").textContent(), "(1)");
        assert.equal(await page.locator("#dead-list li").textContent(), "1-1 · invalid · bots/bot-1 · expected an object, found an array");
        await page.screenshot({ path: join(SHOTS, "dashboard-groups-1280.png") });
    });

    await t.test("a burst of 2,000 entries: measured long tasks (reported, not asserted)", async () => {
        await page.evaluate(() => {
            window.__long = [];
            performance.clearMeasures();
            new PerformanceObserver((list) => window.__long.push(...list.getEntries().map((e) => e.duration))).observe({ type: "longtask" });
        });
        const before = Number(await page.locator("#count-accepted").textContent());
        const payload = envelope("polymarket_bet", 2000);
        const pipeline = client.multi();
        for (let i = 0; i < 2000; i++) pipeline.xAdd(STREAM, "*", { data: payload });
        await pipeline.execAsPipeline();
        await until((n) => Number(document.getElementById("count-accepted").textContent) === n + 2000, before, 60_000);
        await page.waitForTimeout(500);
        const long = await page.evaluate(() => window.__long);
        // The page's own measures: which of its steps took longest.
        const steps = await page.evaluate(() => {
            const longest = {};
            for (const m of performance.getEntriesByType("measure")) {
                if (m.name.startsWith("crowd:")) longest[m.name.slice(6)] = Math.max(longest[m.name.slice(6)] ?? 0, Math.round(m.duration));
            }
            return longest;
        });
        // Keystrokes in the search box while 200 entries a second arrive.
        const typing = await page.evaluate(async () => {
            const box = document.getElementById("filter-search");
            const times = [];
            for (const ch of "rain") {
                const start = performance.now();
                box.value += ch;
                box.dispatchEvent(new Event("input"));
                times.push(performance.now() - start);
                await new Promise((r) => setTimeout(r, 30));
            }
            box.value = "";
            box.dispatchEvent(new Event("input"));
            return times;
        });
        const report = { burst: 2000, longTasks: long.length, longestTaskMs: Math.max(0, ...long), longestStepMs: steps, keystrokeMs: typing };
        writeFileSync(join(SHOTS, "burst.json"), `${JSON.stringify(report, null, 2)}\n`);
        console.log(`burst of 2000: ${JSON.stringify(report)}`);
        assert.ok((await rowCount()) <= 300 + 200, "the table stays capped");
        assert.deepEqual(problems, []);
    });
});
