// `make bench`, browser part: builds benches/js/browser with Vite, loads it
// in headless Chromium, prints the results as JSON on stdout.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { build } from "vite";
import { chromium } from "playwright-core";

const repo = new URL("../../", import.meta.url).pathname;
const out = join(repo, "target/bench/browser-dist");
await build({
    root: join(repo, "benches/js/browser"),
    logLevel: "warn",
    resolve: {
        alias: {
            "crowd-envelope-schema": join(repo, "target/bench/schema.json"),
            "crowd-envelope-forms": join(repo, "target/bench/forms.json"),
            "crowd-envelope": join(repo, "pkg/browser.js"),
        },
    },
    build: { outDir: out, emptyOutDir: true },
});
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    const file = join(out, path === "/" ? "index.html" : path);
    try {
        const body = await readFile(file);
        response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
        response.writeHead(404).end();
    }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
});
try {
    const page = await browser.newPage();
    let last = "";
    const timer = setInterval(async () => {
        const text = await page.locator("#progress").textContent().catch(() => "");
        if (text && text !== last) console.error(`bench (chromium): ${(last = text)}`);
    }, 500);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 600_000 });
    clearInterval(timer);
    const results = await page.evaluate(() => window.__results);
    if (results.error) throw new Error(results.error);
    process.stdout.write(JSON.stringify({ ...results, runtime: `Chromium ${browser.version()}` }) + "\n");
} finally {
    await browser.close();
    server.close();
}
