// `make bench`, dashboard part, the page open in headless Chromium on
// `crowd-envelope serve`, measured in the page. Prints JSON.
//  1. steady: 500 envelopes per second for a minute (DASHBOARD_SECONDS):
//     frame intervals, long tasks, a click on "pause";
//  2. bursts: 2,000 envelopes at once, BURST_ROUNDS times: long tasks (the
//     Long Tasks API) and the page's longest step (its performance.measure);
//  3. typing: the search box typed into while 200 envelopes a second arrive:
//     each keystroke from keydown to the end of its handling, and the
//     table's redraw once typing stops.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createClient } from "redis";
import { chromium } from "playwright-core";

const repo = new URL("../../", import.meta.url).pathname;
const [redisUrl, port] = process.argv.slice(2);
const seconds = Number(process.env.DASHBOARD_SECONDS ?? 60);
const RATE = 500;
const BURST = 2000;
const BURST_ROUNDS = Number(process.env.BURST_ROUNDS ?? 5);
const TYPING_RATE = 200;
const STREAM = "maf:arena:crowd_simulation:output";
const ce = await import(join(repo, "pkg/node.mjs"));
const PREDICTION = {
    source_type: "polymarket_bet", source_id: "m-1", question: "Will it rain in Paris tomorrow?", probability: 0.7,
    confidence: 0.8, market_probability: 0.5, crowd: { agents: 10, bullish: 6, bearish: 3, neutral: 1 },
    generated_at: "2026-01-01T00:00:00Z" };

const serve = spawn(join(repo, "target/release/crowd-envelope"), ["serve", "--addr", `127.0.0.1:${port}`, "--redis-url", redisUrl,
    "--www", join(repo, "www"), "--pkg", join(repo, "pkg")], { stdio: ["ignore", "ignore", "pipe"] });
await new Promise((resolve) => serve.stderr.on("data", (d) => String(d).includes("dashboard at") && resolve()));
const client = createClient({ url: redisUrl });
await client.connect();
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
});
const accepted = (page) => page.locator("#count-accepted").textContent().then(Number);
const untilAccepted = (page, n) =>
    page.waitForFunction((n) => Number(document.getElementById("count-accepted").textContent) >= n, n, { timeout: 120_000 });
const sortedOf = (values) => [...values].sort((a, b) => a - b);
const at = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const median = (values) => at(sortedOf(values), 0.5);
const payloadsOf = (n, source) =>
    Array.from({ length: n }, (_, i) => ce.encodeEnvelope(ce.buildEnvelope({ ...PREDICTION, source_id: `${source}-${i}` })));

async function xadd(payloads) {
    const batch = client.multi();
    for (const data of payloads) batch.xAdd(STREAM, "*", { data });
    await batch.execAsPipeline();
}

/** `perSecond` envelopes a second, in tenths, until `done()`; gives the count. */
async function publishAt(perSecond, done) {
    const payloads = payloadsOf(perSecond / 10, "m");
    let published = 0;
    while (!done()) {
        const tick = Date.now();
        await xadd(payloads);
        published += payloads.length;
        if (published % (perSecond * 10) === 0) console.error(`bench (dashboard): ${published} published`);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
    }
    return published;
}

/**
 * Long tasks from now on, in window.__long; and the long animation frames
 * (over 50 ms, with what took their time: scripts by entry point, style and
 * layout), in window.__frames50.
 */
function watchLongTasks(page) {
    return page.evaluate(() => {
        window.__long = [];
        window.__frames50 = [];
        performance.clearMeasures();
        window.__observers?.forEach((o) => o.disconnect());
        const tasks = new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); });
        tasks.observe({ type: "longtask", buffered: false });
        const frames = new PerformanceObserver((list) => {
            for (const f of list.getEntries()) {
                const scripts = {};
                for (const s of f.scripts) {
                    const name = `${s.invokerType} ${s.invoker}`.replace(/^event-listener /, "");
                    scripts[name] = (scripts[name] ?? 0) + s.duration;
                }
                const layout = f.renderStart > 0 ? f.startTime + f.duration - f.styleAndLayoutStart : 0;
                window.__frames50.push({ duration: f.duration, scripts, styleAndLayout: layout });
            }
        });
        frames.observe({ type: "long-animation-frame", buffered: false });
        window.__observers = [tasks, frames];
    });
}

/** The longest long animation frame seen, and where its time went. */
const worstFrame = (page) => page.evaluate(() =>
    window.__frames50.reduce((worst, f) => (worst === null || f.duration > worst.duration ? f : worst), null));

/** The longest of each of the page's own steps (crowd:render, crowd:chart, ...) since the last clear. */
const longestSteps = (page) => page.evaluate(() => {
    const longest = {};
    for (const m of performance.getEntriesByType("measure")) {
        const name = m.name.replace(/^crowd:/, "");
        if (name !== m.name) longest[name] = Math.max(longest[name] ?? 0, m.duration);
    }
    return longest;
});

async function steady(page) {
    await page.evaluate(() => {
        window.__frames = [];
        let last = performance.now();
        const tick = (now) => { window.__frames.push(now - last); last = now; requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
    });
    await watchLongTasks(page);
    const before = await accepted(page);
    const start = Date.now();
    const published = await publishAt(RATE, () => Date.now() - start >= seconds * 1000);
    await untilAccepted(page, before + published);
    const clickStart = Date.now();
    await page.click("#pause");
    await page.waitForFunction(() => document.getElementById("pause").textContent === "resume");
    const clickMs = Date.now() - clickStart;
    await page.click("#pause");
    const { frames, long } = await page.evaluate(() => ({ frames: window.__frames, long: window.__long }));
    const worst = await worstFrame(page);
    const sorted = sortedOf(frames);
    return {
        seconds, rate: RATE, published, rows: await page.locator("#envelopes tbody tr").count(),
        frames: { count: frames.length, p50: at(sorted, 0.5), p95: at(sorted, 0.95), max: sorted[sorted.length - 1] },
        longTasks: { count: long.length, totalMs: long.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...long) },
        worstFrame: worst,
        clickToUpdateMs: clickMs,
    };
}

async function bursts(page) {
    const payloads = payloadsOf(BURST, "burst");
    const rounds = [];
    for (let round = 1; round <= BURST_ROUNDS; round++) {
        await watchLongTasks(page);
        const before = await accepted(page);
        const start = Date.now();
        await xadd(payloads);
        await untilAccepted(page, before + BURST);
        const decodedMs = Date.now() - start;
        await page.waitForTimeout(500); // the rows still being built after the last decode
        const long = await page.evaluate(() => window.__long);
        rounds.push({ longTasks: long.length, longestTaskMs: Math.max(0, ...long), steps: await longestSteps(page), worstFrame: await worstFrame(page), decodedMs });
        console.error(`bench (dashboard): burst ${round}/${BURST_ROUNDS}: ${long.length} long tasks, all ${BURST} decoded in ${decodedMs} ms`);
    }
    return {
        size: BURST, rounds,
        longestTaskMs: { median: median(rounds.map((r) => r.longestTaskMs)), max: Math.max(...rounds.map((r) => r.longestTaskMs)) },
        longTasksOver50: rounds.reduce((n, r) => n + r.longTasks, 0),
    };
}

async function typing(page) {
    await page.evaluate(() => {
        window.__keys = [];
        performance.clearMeasures();
        const box = document.getElementById("filter-search");
        let down = null;
        box.addEventListener("keydown", (e) => { down = e.timeStamp; });
        // Added after the page's own listener: it runs when the page's handling is done.
        box.addEventListener("input", () => { if (down !== null) window.__keys.push(performance.now() - down); down = null; });
    });
    let typed = false;
    const publishing = publishAt(TYPING_RATE, () => typed);
    await page.waitForTimeout(1000);
    const text = "will it rain in paris";
    await page.click("#filter-search");
    await page.keyboard.type(text, { delay: 80 });
    await page.waitForTimeout(500);
    for (let i = 0; i < text.length; i++) await page.keyboard.press("Backspace", { delay: 0 });
    await page.waitForTimeout(500);
    typed = true;
    await publishing;
    const keys = sortedOf(await page.evaluate(() => window.__keys));
    const redraws = sortedOf((await page.evaluate(() => performance.getEntriesByName("crowd:table").map((m) => m.duration))));
    return {
        rate: TYPING_RATE, keystrokes: keys.length,
        keystrokeMs: { p50: at(keys, 0.5), p95: at(keys, 0.95), max: keys[keys.length - 1] ?? 0 },
        over16: keys.filter((k) => k > 16).length,
        redraws: redraws.length, redrawMs: { p50: at(redraws, 0.5), max: redraws[redraws.length - 1] ?? 0 },
        kept: await page.evaluate(() => document.getElementById("shown").textContent),
    };
}

try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?measure`);
    await page.waitForSelector("#status.live");
    console.error(`bench (dashboard): steady, ${seconds} s at ${RATE}/s`);
    const result = await steady(page);
    console.error(`bench (dashboard): bursts of ${BURST}`);
    result.bursts = await bursts(page);
    console.error(`bench (dashboard): typing at ${TYPING_RATE}/s`);
    result.typing = await typing(page);
    process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
    await browser.close();
    await client.quit();
    serve.kill("SIGTERM");
}
