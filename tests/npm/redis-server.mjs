// A real redis-server for the tests: a free loopback port, a scratch
// directory, append-only file on (so a kill -9 loses nothing that was
// acknowledged), stopped when the test ends, and killed when the process
// exits whatever happened (a test that timed out never reaches its cleanup).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";

const running = new Set();
process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
});
// The test runner ends a file whose test timed out with SIGTERM, which
// would skip "exit": make it an exit.
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
    process.once(signal, () => process.exit(128 + constants.signals[signal]));
}

/** `child` is killed when this process exits, if it has not exited before. */
export function killOnExit(child) {
    running.add(child);
    child.once("exit", () => running.delete(child));
    return child;
}

export async function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

export class RedisServer {
    static async start() {
        const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), "crowd-redis-")));
        await server.spawn();
        return server;
    }

    constructor(port, dir) {
        this.port = port;
        this.dir = dir;
        this.url = `redis://127.0.0.1:${port}`;
    }

    async spawn() {
        this.process = killOnExit(spawn("redis-server", [
            "--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "",
            "--appendonly", "yes", "--appendfsync", "always",
        ], { stdio: "ignore" }));
        await waitUntilListening(this.port);
    }

    /** kill -9, as a crash would. */
    async kill() {
        const exited = new Promise((resolve) => this.process.once("exit", resolve));
        this.process.kill("SIGKILL");
        await exited;
    }

    async restart() {
        await this.spawn();
    }

    async stop() {
        if (this.process.exitCode === null && this.process.signalCode === null) await this.kill();
        rmSync(this.dir, { recursive: true, force: true });
    }
}

async function waitUntilListening(port) {
    for (let attempt = 0; attempt < 200; attempt++) {
        const up = await new Promise((resolve) => {
            const socket = connect(port, "127.0.0.1");
            socket.once("connect", () => {
                socket.write("PING\r\n");
                socket.once("data", (data) => {
                    socket.destroy();
                    resolve(data.toString().startsWith("+PONG"));
                });
            });
            socket.once("error", () => resolve(false));
        });
        if (up) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`redis-server did not start on port ${port}`);
}
