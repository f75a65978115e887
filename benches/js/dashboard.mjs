// `make bench`, dashboard part: 500 envelopes per second for a minute
// (DASHBOARD_SECONDS) into `crowd-envelope serve`, the page open in headless
// Chromium; frame intervals and long tasks measured in the page. Prints JSON.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createClient } from "redis";
import { chromium } from "playwright-core";

const repo = new URL("../../", import.meta.url).pathname;
const [redisUrl, port] = process.argv.slice(2);
const seconds = Number(process.env.DASHBOARD_SECONDS ?? 60);
const RATE = 500;
const ce = await import(join(repo, "pkg/node.mjs"));
const { PREDICTION } = { PREDICTION: {
    source_type: "polymarket_bet", source_id: "m-1", question: "Will it rain in Paris tomorrow?", probability: 0.7,
    confidence: 0.8, market_probability: 0.5, crowd: { agents: 10, bullish: 6, bearish: 3, neutral: 1 },
    generated_at: "2026-01-01T00:00:00Z" } };

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
try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector("#status.live");
    await page.evaluate(() => {
        window.__frames = [];
        window.__long = [];
        let last = performance.now();
        const tick = (now) => { window.__frames.push(now - last); last = now; requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
        new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
            .observe({ type: "longtask", buffered: false });
    });
    const before = Number(await page.locator("#count-accepted").textContent());
    const payloads = Array.from({ length: RATE / 10 }, (_, i) => ce.encodeEnvelope(ce.buildEnvelope({ ...PREDICTION, source_id: `m-${i}` })));
    const start = Date.now();
    let published = 0;
    while (Date.now() - start < seconds * 1000) {
        const tick = Date.now();
        const batch = client.multi();
        for (const data of payloads) batch.xAdd("maf:arena:crowd_simulation:output", "*", { data });
        await batch.execAsPipeline();
        published += payloads.length;
        if (published % (RATE * 10) === 0) console.error(`bench (dashboard): ${published} published`);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
    }
    await page.waitForFunction((n) => Number(document.getElementById("count-accepted").textContent) >= n, before + published, { timeout: 120_000 });
    const clickStart = Date.now();
    await page.click("#pause");
    await page.waitForFunction(() => document.getElementById("pause").textContent === "resume");
    const clickMs = Date.now() - clickStart;
    const { frames, long } = await page.evaluate(() => ({ frames: window.__frames, long: window.__long }));
    const sorted = [...frames].sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
    const rows = await page.locator("#envelopes tbody tr").count();
    process.stdout.write(JSON.stringify({
        seconds, rate: RATE, published, rows,
        frames: { count: frames.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] },
        longTasks: { count: long.length, totalMs: long.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...long) },
        clickToUpdateMs: clickMs,
    }) + "\n");
} finally {
    await browser.close();
    await client.quit();
    serve.kill("SIGTERM");
}
