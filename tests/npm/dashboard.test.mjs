// The dashboard (www/) in headless Chromium against a real redis-server and
// `crowd-envelope serve`: rows and decisions, rejections, filters, hostile
// strings, the detail panel, a serve restart, Redis down and back, offline
// decoding, and a burst of traffic. Screenshots go to target/dashboard/.
import test from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "redis";
import { buildEnvelope, encodeEnvelope } from "crowd-envelope";
import { PREDICTIONS, REPO, Serve, launch, waitFor } from "./helpers.mjs";
import { RedisServer, freePort } from "./redis-server.mjs";

const STREAM = "maf:arena:crowd_simulation:output";
const SHOTS = join(REPO, "target", "dashboard");
const HOSTILE_QUESTION = `<img src=x onerror="window.__pwned=1"> & <script>window.__pwned=2</script>?`;

function envelope(kind, n, extra = {}) {
    const prediction = { ...PREDICTIONS[kind], source_id: `${kind}-${n}`, ...extra };
    return encodeEnvelope(buildEnvelope(prediction, { correlationId: `${kind}-${n}`, meta: { n, note: "<b>bold?</b>" } }));
}

test("the live dashboard", async (t) => {
    mkdirSync(SHOTS, { recursive: true });
    const redis = await RedisServer.start();
    const client = createClient({ url: redis.url });
    client.on("error", () => {});
    await client.connect();
    const serve = new Serve(redis.url, await freePort());
    await serve.start();
    const browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    const problems = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    page.on("dialog", (dialog) => {
        problems.push(`dialog: ${dialog.message()}`);
        void dialog.dismiss();
    });
    page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    t.after(async () => {
        await browser.close();
        await serve.stop();
        await client.disconnect().catch(() => {});
        await redis.stop();
    });

    const publish = (payload) => client.xAdd(STREAM, "*", { data: payload });
    const rows = () => page.locator("#envelopes tbody tr");
    const rowCount = () => rows().count();
    // Search redraws once typing pauses: wait for the count, not a moment.
    const expectRows = (n) => page.waitForFunction((n) => document.querySelectorAll("#envelopes tbody tr").length === n, n, { timeout: 5_000 });
    const waitForRows = (n) => page.waitForFunction((n) => document.querySelectorAll("#envelopes tbody tr").length >= n, n, { timeout: 15_000 });

    await page.goto(serve.url);
    await page.waitForSelector("#status.live", { timeout: 15_000 });

    await t.test("an empty stream says what the page waits for", async () => {
        assert.equal(await page.locator("#empty").isVisible(), true);
        assert.equal(await page.locator("#empty").textContent(), "Waiting for the first envelope on the stream.");
        assert.equal(await page.locator("#last-age").textContent(), "none yet");
        assert.equal(await page.locator("#notice").isVisible(), false);
    });

    await t.test("envelopes of each kind appear as rows, newest on top, with their decisions", async () => {
        await publish(envelope("fomo2_report", 1));
        await publish(envelope("polymarket_bet", 1));
        await publish(envelope("oddsoddy_strategy", 1, { question: HOSTILE_QUESTION, rationale: "<script>window.__pwned=3</script>" }));
        await waitForRows(3);
        const decisions = await page.locator("#envelopes tbody td.decision .summary").allTextContents();
        assert.match(decisions[0], /^×1\.\d\d$/);
        assert.match(decisions[1], /^yes, edge \+0\.200, stake 0\.\d{3}$/);
        assert.match(decisions[2], /^buy 0\.\d\d$/);
        const sources = await page.locator("#envelopes tbody .src-type").allTextContents();
        assert.deepEqual(sources, ["oddsoddy_strategy", "polymarket_bet", "fomo2_report"]);
        assert.equal(await page.locator("#empty").isVisible(), false);
        assert.equal(await page.locator("#envelopes thead th").first().textContent(), "time (UTC)");
    });

    await t.test("hostile strings render as text and run nothing", async () => {
        const question = await page.locator("#envelopes tbody td.question").first().textContent();
        assert.equal(question, HOSTILE_QUESTION);
        assert.equal(await page.locator("#envelopes img, #envelopes script").count(), 0);
        await rows().first().click();
        assert.equal(await page.locator("#d-rationale").textContent(), "<script>window.__pwned=3</script>");
        assert.equal(await page.evaluate(() => window.__pwned), undefined);
        assert.deepEqual(problems, []);
    });

    await t.test("the detail panel shows one envelope and whether its decision verifies", async () => {
        // The polymarket row: edge 0.2 + float noise on the wire, tidy on the page.
        await rows().nth(1).click();
        assert.match(await page.locator("#d-decision").textContent(), /"edge":0\.2,/);
        assert.doesNotMatch(await page.locator("#d-decision").textContent(), /\d\.\d{13}/);
        assert.equal(await page.locator("#d-verify").textContent(), "agrees with SPEC section 3");
        assert.equal(await page.locator("#d-correlation").textContent(), "polymarket_bet-1");
        assert.deepEqual(JSON.parse(await page.locator("#d-meta").textContent()), { n: 1, note: "<b>bold?</b>" });
        assert.match(await page.locator("#d-crowd").textContent(), /10 agents: 6 bullish, 3 bearish, 1 neutral/);
        await page.screenshot({ path: join(SHOTS, "detail.png") });
    });

    await t.test("a decision that is not SPEC's shows as differing", async () => {
        const tampered = JSON.parse(envelope("fomo2_report", 2));
        tampered.decision.strength = 0.01;
        await publish(JSON.stringify(tampered));
        await waitForRows(4);
        await rows().first().click();
        assert.equal(await page.locator("#d-verify").textContent(), "differs from SPEC section 3");
    });

    await t.test("at 1280x800 every column of a row is in view, the decision unclipped", async () => {
        await page.setViewportSize({ width: 1280, height: 800 });
        await publish(envelope("polymarket_bet", 5, { probability: 0.16, market_probability: 0.6 }));
        await waitForRows(5);
        const fit = await page.evaluate(() => {
            const wrap = document.querySelector(".table-wrap");
            const right = wrap.getBoundingClientRect().right;
            const cells = [...document.querySelectorAll("#envelopes tbody tr:first-child td")];
            const summary = document.querySelector("#envelopes tbody tr:first-child .summary");
            return {
                scrolls: wrap.scrollWidth > wrap.clientWidth,
                outside: cells.filter((td) => td.getBoundingClientRect().right > right + 0.5).length,
                cells: cells.length,
                clipped: summary.scrollWidth > summary.clientWidth,
                text: summary.textContent,
            };
        });
        assert.deepEqual(fit, { scrolls: false, outside: 0, cells: 6, clipped: false, text: fit.text });
        assert.match(fit.text, /^no, edge -0\.440, stake 0\.\d{3}$/);
        await page.screenshot({ path: join(SHOTS, "dashboard-1280.png") });
        await page.setViewportSize({ width: 1600, height: 900 });
    });


    await t.test("invalid and future-version entries land in the rejected panel with their reasons", async () => {
        await publish("{not json");
        await publish(JSON.stringify({ schema_version: "2", anything: true }));
        await publish(JSON.stringify({ ...JSON.parse(envelope("polymarket_bet", 3)), decision_kind: "fomo2_signal" }));
        await client.xAdd(STREAM, "*", { other: "field" });
        await page.waitForFunction(() => document.querySelectorAll("#reasons tr").length >= 4, null, { timeout: 15_000 });
        const reasons = Object.fromEntries(
            await page.locator("#reasons tr").evaluateAll((trs) => trs.map((tr) => [tr.dataset.reason, Number(tr.cells[1].textContent)])),
        );
        assert.deepEqual(reasons, { invalid_json: 1, unsupported_version: 1, invalid: 1, no_data: 1 });
        const listed = await page.locator("#rejected-list").textContent();
        assert.match(listed, /decision_kind: expected polymarket_side for source_type polymarket_bet/);
        const codes = await page.locator("#rejected-list code.error-code").allTextContents();
        assert.ok(codes.includes("decision_kind_mismatch"), codes.join(","));
        assert.ok(codes.includes("json_invalid") && codes.includes("literal_error") && codes.includes("missing"), codes.join(","));
        assert.equal(await page.locator("#count-rejected").textContent(), "4");
    });

    await t.test("filters by source type, decision and search", async () => {
        await page.selectOption("#filter-source", "fomo2_report");
        const sources = await page.locator("#envelopes tbody .src-type").allTextContents();
        assert.ok(sources.length === 2 && sources.every((s) => s === "fomo2_report"), String(sources));
        await page.selectOption("#filter-source", "");
        await page.selectOption("#filter-decision", "yes");
        assert.deepEqual(await page.locator("#envelopes tbody td.decision .summary").evaluateAll((tds) => tds.map((td) => td.textContent.split(/[ ,]/)[0])), ["yes"]);
        await page.selectOption("#filter-decision", "");
        await page.fill("#filter-search", "oddsoddy_strategy-1");
        await expectRows(1);
        await page.fill("#filter-search", "no such question");
        await expectRows(0);
        assert.equal(await page.locator("#empty").textContent(), "No envelope matches the filters.");
        await page.fill("#filter-search", "");
        await expectRows(5);
    });

    await t.test("pause holds the table; resume shows what arrived meanwhile", async () => {
        await page.click("#pause");
        await publish(envelope("fomo2_report", 3));
        await page.waitForFunction(() => document.getElementById("count-accepted").textContent === "6");
        assert.equal(await rowCount(), 5);
        await page.click("#pause");
        assert.equal(await rowCount(), 6);
    });

    await t.test("on an idle stream the rate falls to 0 and the newest entry's age grows", async () => {
        await page.waitForFunction(() => document.getElementById("count-rate").textContent !== "0", null, { timeout: 5_000 });
        // Nothing is published now: within the ten-second window it reaches 0.
        await page.waitForFunction(() => document.getElementById("count-rate").textContent === "0", null, { timeout: 15_000 });
        const seconds = async () => Number((await page.locator("#last-age").textContent()).match(/^(\d+) s ago$/)[1]);
        const first = await seconds();
        assert.ok(first >= 9, `${first}`);
        await page.waitForFunction((s) => Number(document.getElementById("last-age").textContent.split(" ")[0]) > s, first, { timeout: 5_000 });
        assert.equal(await page.locator("#status").textContent(), "live", "the feed is up: only the stream is idle");
    });

    await t.test("the chart has a legend for its colours and ticks on its axes", async () => {
        assert.deepEqual(await page.locator(".legend li").allTextContents(), [
            "polymarket side (circles)", "oddsoddy multiplier (squares)", "fomo2 signals have no market price and are not plotted",
        ]);
        assert.deepEqual(await page.locator("#chart .tick-label").allTextContents(), ["0", "0", "0.5", "0.5", "1", "1"]);
        assert.equal(await page.locator("#chart .tick").count(), 6);
    });

    await t.test("a serve restart misses nothing: the page resumes after the last id it saw", async () => {
        await serve.stop();
        await page.waitForSelector("#status.reconnecting", { timeout: 15_000 });
        for (let n = 10; n < 15; n++) {
            await publish(envelope("polymarket_bet", n, { probability: 0.3 + n / 40, market_probability: 0.2 + n / 30 }));
        }
        await serve.start();
        await waitForRows(10);
        await page.waitForSelector("#status.live", { timeout: 15_000 });
        const ids = await page.locator("#envelopes tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
        assert.equal(new Set(ids).size, ids.length, "no row twice");
        const sources = await page.locator("#envelopes tbody .src-id").allTextContents();
        for (let n = 10; n < 15; n++) assert.ok(sources.includes(`polymarket_bet-${n}`), `polymarket_bet-${n}`);
        await rows().nth(3).click();
        await page.waitForTimeout(400); // the chart redraws at most four times a second
        await page.screenshot({ path: join(SHOTS, "main.png") });
    });

    await t.test("Redis down is said in the page and the terminal, never beside a green badge; it recovers by itself", async () => {
        await redis.kill();
        await page.waitForSelector("#status.down", { timeout: 20_000 });
        assert.equal(await page.locator("#status").textContent(), "redis down");
        assert.equal(await page.locator("#status.live").count(), 0);
        assert.equal(await page.locator("#notice").isVisible(), true);
        assert.match(await page.locator("#notice").textContent(), /^Redis does not answer: .+\. New entries will appear when it is back\.$/);
        await page.screenshot({ path: join(SHOTS, "redis-down.png") });
        await waitFor(() => /Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer/.test(serve.log), "serve says so in its terminal");
        await redis.restart();
        await page.waitForSelector("#status.live", { timeout: 20_000 });
        assert.equal(await page.locator("#notice").isVisible(), false);
        await publish(envelope("fomo2_report", 99));
        await page.waitForFunction(() => [...document.querySelectorAll("#envelopes .src-id")].some((td) => td.textContent === "fomo2_report-99"), null, { timeout: 20_000 });
        await waitFor(() => /does not answer[^]*Redis at redis:\/\/127\.0\.0\.1:\d+ answers/.test(serve.log), "and that it is back");
    });

    await t.test("offline: pasted and dropped JSON Lines decode on the page", async () => {
        const before = Number(await page.locator("#count-accepted").textContent());
        await page.fill("#paste", [envelope("oddsoddy_strategy", 7), "[]", envelope("fomo2_report", 7)].join("\n"));
        await page.click("#paste-decode");
        await page.waitForFunction((n) => Number(document.getElementById("count-accepted").textContent) === n + 2, before);
        await page.setInputFiles("#file", { name: "entries.jsonl", mimeType: "application/json", buffer: Buffer.from(envelope("polymarket_bet", 7) + "\n") });
        await page.waitForFunction((n) => Number(document.getElementById("count-accepted").textContent) === n + 3, before);
        const ids = await page.locator("#envelopes tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
        assert.ok(ids.includes("pasted:1") && ids.includes("file entries.jsonl:4"), String(ids.slice(0, 5)));
        // Marked on the table: decoded here, not read from the stream.
        const tags = await page.locator("#envelopes tbody tr.offline .tag").allTextContents();
        assert.deepEqual(tags.slice(0, 3), ["file", "pasted", "pasted"]);
        const live = page.locator('#envelopes tbody tr[data-id$="-0"]').first();
        assert.equal(await live.locator(".tag").count(), 0);
        await page.setViewportSize({ width: 1920, height: 1080 });
        await rows().nth(4).click();
        await page.waitForTimeout(400); // the chart redraws at most four times a second
        await page.screenshot({ path: join(SHOTS, "dashboard-1920.png") });
        await page.setViewportSize({ width: 1600, height: 900 });
    });

    await t.test("a burst of 5,000 envelopes is counted in full and the table stays capped", async () => {
        const before = Number(await page.locator("#count-accepted").textContent());
        const payload = envelope("polymarket_bet", 1000);
        let last;
        for (let batch = 0; batch < 10; batch++) {
            const pipeline = client.multi();
            for (let i = 0; i < 500; i++) pipeline.xAdd(STREAM, "*", { data: payload });
            last = (await pipeline.execAsPipeline()).at(-1);
        }
        await page.waitForFunction((n) => Number(document.getElementById("count-accepted").textContent) === n + 5000, before, { timeout: 60_000 });
        // Rows come into the table at most every 100 ms, after the count: a
        // click while they still come could land on a row pushed down.
        await page.waitForFunction((id) => document.querySelector("#envelopes tbody tr")?.dataset.id === id, last);
        assert.ok((await rowCount()) <= 100, "the table shows the newest 100 rows");
        await rows().first().click();
        assert.equal(await page.locator("#d-correlation").textContent(), "polymarket_bet-1000");
        assert.deepEqual(problems, []);
    });

    await t.test("hostile strings in every field the page renders run nothing", async () => {
        const hostile = (n) => `<img src=x onerror="window.__pwned=${n}"><script>window.__pwned=${n}</script>`;
        const body = JSON.parse(envelope("polymarket_bet", 66, { source_id: hostile(10), drivers: [hostile(11), hostile(12)] }));
        body.correlation_id = hostile(13);
        body.meta = { [hostile(14)]: hostile(15), nested: [hostile(16)] };
        body.decision.reason = hostile(17);
        await publish(JSON.stringify(body));
        // Rejected: the messages quote the hostile values.
        await publish(JSON.stringify({ ...body, prediction: { ...body.prediction, source_type: hostile(18) } }));
        await publish(JSON.stringify({ ...body, [hostile(19)]: 1, decision_kind: hostile(20) }));
        await page.waitForFunction((id) => [...document.querySelectorAll("#envelopes .src-id")].some((td) => td.textContent === id), hostile(10), { timeout: 15_000 });
        await page.waitForFunction(() => document.getElementById("rejected-list").textContent.includes("__pwned=20"), null, { timeout: 15_000 });
        // Offline: a pasted line with hostile text, and a pasted rejection.
        const accepted = Number(await page.locator("#count-accepted").textContent());
        await page.fill("#paste", [JSON.stringify({ ...body, correlation_id: hostile(21) }), JSON.stringify({ prediction: hostile(22) })].join("\n"));
        await page.click("#paste-decode");
        await page.waitForFunction((n) => Number(document.getElementById("count-accepted").textContent) === n + 1, accepted);
        await page.locator("#envelopes tbody tr", { hasText: hostile(10) }).first().click();
        assert.deepEqual(await page.locator("#d-drivers li").allTextContents(), [hostile(11), hostile(12)]);
        assert.ok([hostile(13), hostile(21)].includes(await page.locator("#d-correlation").textContent()));
        assert.deepEqual(Object.keys(JSON.parse(await page.locator("#d-meta").textContent())), [hostile(14), "nested"]);
        assert.match(await page.locator("#d-decision").textContent(), /onerror=\\"window.__pwned=17/);
        const rejected = await page.locator("#rejected-list").textContent();
        // Messages quote at most 40 characters of a value, escaped.
        for (const n of [18, 20, 22]) assert.ok(rejected.includes(`onerror=\\"window.__pwned=${n}`), `${n}: ${rejected.slice(0, 400)}`);
        assert.equal(await page.locator("main img, main script").count(), 0, "no element was made from payload text");
        assert.equal(await page.evaluate(() => window.__pwned), undefined);
        assert.deepEqual(problems, []);
    });

    await t.test("hostile group, consumer and dead-letter text from /stats renders as text and runs nothing", async () => {
        const hostile = (n) => `<img src=x onerror="window.__pwned=${n}"><script>window.__pwned=${n}</script>`;
        const group = hostile(30);
        await client.sendCommand(["XGROUP", "CREATE", STREAM, group, "0"]);
        await client.sendCommand(["XGROUP", "CREATECONSUMER", STREAM, group, hostile(31)]);
        const errors = JSON.stringify([{ path: hostile(32), code: "handler_failed", message: hostile(33) }]);
        await client.xAdd(`{${STREAM}}:dead`, "*", {
            data: hostile(34), reason: "handler_failed", errors, id: "1-0", group, consumer: hostile(35),
        });
        // /stats is read every 5 s.
        await page.waitForFunction((name) => [...document.querySelectorAll("#group-table tbody tr")].some((tr) => tr.dataset.group === name),
            group, { timeout: 15_000 });
        const row = page.locator("#group-table tbody tr", { hasText: "onerror" }).first();
        assert.equal(await row.locator("td").first().textContent(), group);
        assert.match(await row.getAttribute("title"), /window\.__pwned=31/);
        await page.waitForFunction(() => document.querySelector("#dead-list").textContent.includes("__pwned=33"), null, { timeout: 15_000 });
        const letter = await page.locator("#dead-list li", { hasText: "__pwned=33" }).first().textContent();
        for (const n of [30, 32, 33, 35]) assert.ok(letter.includes(hostile(n)), `${n}: ${letter}`);
        assert.equal(await page.locator("#groups img, #groups script, main img, main script").count(), 0);
        assert.equal(await page.evaluate(() => window.__pwned), undefined);
        assert.deepEqual(problems, []);
    });
});
