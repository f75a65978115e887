// Shared by the package tests, which run inside a scratch consumer project
// (target/npm-consumer) where 'crowd-envelope' is the packed tarball.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { killOnExit } from "./redis-server.mjs";

export const REPO = process.env.CROWD_REPO;
if (!REPO) throw new Error("CROWD_REPO is not set: run the package tests through tests/npm/run.sh");

/** The parity corpus, payloads as the Rust tests read them. */
export function corpus() {
    const lines = readFileSync(join(REPO, "tests/vectors/corpus.jsonl"), "utf8").split("\n").filter(Boolean);
    return lines.map((line) => {
        const v = JSON.parse(line);
        let payload = v.payload !== undefined ? v.payload : Buffer.from(v.payload_b64, "base64");
        if (v.pad_to !== undefined) {
            // Padded in bytes of UTF-8, as the Rust tests pad.
            const bytes = Buffer.from(payload);
            const padded = Buffer.concat([bytes, Buffer.alloc(v.pad_to - bytes.length, 0x20)]);
            payload = typeof payload === "string" ? padded.toString("utf8") : padded;
        }
        return { name: v.name, payload, maxPayloadBytes: v.max_payload_bytes, expect: v.expect };
    });
}

/** Deep equality with numbers compared bit for bit (Object.is: 0 and -0 differ). */
export function same(a, b) {
    if (typeof a === "number" || typeof b === "number") return Object.is(a, b);
    if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

export function withoutFields(object, fields) {
    const copy = { ...object };
    for (const field of fields) delete copy[field];
    return copy;
}

/** The sorted, distinct "path code" pairs of a rejection's errors. */
export const errorSet = (errors) => [...new Set(errors.map((e) => `${e.path} ${e.code}`))].sort();

/** A valid prediction of each source type. */
export const PREDICTIONS = {
    fomo2_report: {
        source_type: "fomo2_report", source_id: "r-1", question: "Will BTC close above 100k?",
        probability: 0.81, confidence: 0.9, crowd: { agents: 120, bullish: 80, bearish: 25, neutral: 15 },
        generated_at: "2026-11-26T21:00:00Z",
    },
    polymarket_bet: {
        source_type: "polymarket_bet", source_id: "m-1", question: "Rain in Paris tomorrow?",
        probability: 0.7, confidence: 0.8, market_probability: 0.5,
        crowd: { agents: 10, bullish: 6, bearish: 3, neutral: 1 }, generated_at: "2026-01-01T00:00:00Z",
    },
    oddsoddy_strategy: {
        source_type: "oddsoddy_strategy", source_id: "s-1", question: "Back the home side?",
        probability: 0.6, confidence: 0.7, market_probability: 0.45,
        crowd: { agents: 100, bullish: 55, bearish: 30, neutral: 15 }, generated_at: "2026-01-01T00:00:00Z",
        drivers: ["form", "injuries"], rationale: "Home form is strong.",
    },
};

/** Debian's Chromium, headless, with the flags this machine needs (../shared/TOOLCHAIN.md). */
export async function launch() {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"],
    });
    // Under StrykerJS (make mutants-dashboard) the instrumented page (www/app.js, www/js/)
    // reads the mutant to run from globalThis.__stryker__, which a page
    // cannot get from the test's environment: every new page is handed it.
    const mutant = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (mutant !== undefined) {
        const script = `globalThis.__stryker__ = Object.assign(globalThis.__stryker__ ?? {}, { activeMutant: ${JSON.stringify(mutant)} });`;
        const newContext = browser.newContext.bind(browser);
        browser.newContext = async (options) => {
            const context = await newContext(options);
            await context.addInitScript(script);
            return context;
        };
    }
    return browser;
}

/** `crowd-envelope serve` for the dashboard tests, with the repository's www/ and pkg/. */
export class Serve {
    constructor(redisUrl, port) {
        this.args = ["serve", "--addr", `127.0.0.1:${port}`, "--www", join(REPO, "www"), "--pkg", join(REPO, "pkg"),
            "--redis-url", redisUrl, "--block-ms", "200"];
        this.url = `http://127.0.0.1:${port}/`;
    }

    async start() {
        const bin = process.env.CROWD_ENVELOPE_BIN;
        if (!bin) throw new Error("CROWD_ENVELOPE_BIN names the native CLI");
        this.process = killOnExit(spawn(bin, this.args, { stdio: ["ignore", "ignore", "pipe"] }));
        this.log = "";
        await new Promise((resolve, reject) => {
            this.process.stderr.on("data", (chunk) => {
                this.log += chunk;
                if (this.log.includes("dashboard at")) resolve();
            });
            this.process.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${this.log}`)));
        });
    }

    async stop() {
        if (this.process.exitCode !== null) return;
        const exited = new Promise((resolve) => this.process.once("exit", resolve));
        this.process.kill("SIGTERM");
        await exited;
    }
}

/** Polls `condition` until it holds; `what` names it if it never does. */
export async function waitFor(condition, what, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}
