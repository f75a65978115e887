// The browser entry in headless Chromium: a Vite build of a page that imports
// the package, and the package as a plain ES module with an import map (where
// a forced trap shows a trapped instance replaced by a fresh one).
import test from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { build } from "vite";
import { launch } from "./helpers.mjs";

const here = process.cwd(); // the scratch consumer project
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

function serve(root) {
    const server = createServer(async (request, response) => {
        const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
        const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
        try {
            const body = await readFile(file);
            response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
            response.end(body);
        } catch {
            response.writeHead(404).end();
        }
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function resultOf(browser, url) {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("dialog", (dialog) => { problems.push(`dialog: ${dialog.message()}`); void dialog.dismiss(); });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("result")?.textContent !== "loading", null, { timeout: 15_000 });
    const text = await page.locator("#result").textContent();
    await page.close();
    assert.deepEqual(problems, []);
    return JSON.parse(text);
}

test("the package works in headless Chromium, bundled by Vite and as a plain ES module", async (t) => {
    await build({ root: join(here, "browser"), logLevel: "warn", build: { outDir: join(here, "browser-dist"), emptyOutDir: true } });
    const bundled = await serve(join(here, "browser-dist"));
    const plain = await serve(here);
    const browser = await launch();
    t.after(async () => {
        await browser.close();
        bundled.close();
        plain.close();
    });

    const vite = await resultOf(browser, `http://127.0.0.1:${bundled.address().port}/`);
    assert.equal(vite.ok, true);
    assert.equal(vite.decision.side, "yes");
    assert.ok(Object.is(vite.decision.edge, 0.7 - 0.5), "the same double as in Node and Rust");
    assert.equal(vite.verified, true);
    assert.equal(vite.rejected, "unsupported_version");
    assert.ok(vite.payload.startsWith('{"schema_version":"1","arena":"crowd_simulation"'));

    const esm = await resultOf(browser, `http://127.0.0.1:${plain.address().port}/browser/plain.html`);
    assert.deepEqual(esm, { ok: false, reason: "invalid_json", trapped: true, replaced: true, again: "invalid_json" });
});
