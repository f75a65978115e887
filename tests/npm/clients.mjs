// The Redis clients the package tests run with: how to open one, send it a
// raw command, and close it (node-redis v5 and v4, ioredis v5).
import * as redis5 from "redis";
import * as redis4 from "redis4";
import { Redis as IoRedis } from "ioredis";

const nodeRedis = (createClient) => ({
    open: async (url) => {
        const client = createClient({ url });
        client.on("error", () => {}); // reconnects by itself; the restart tests provoke errors
        await client.connect();
        return client;
    },
    raw: (client, args) => client.sendCommand(args),
    close: (client) => client.disconnect().catch(() => {}),
});

export const NODE_REDIS_5 = ["node-redis v5", nodeRedis(redis5.createClient)];
export const NODE_REDIS_4 = ["node-redis v4", nodeRedis(redis4.createClient)];
export const IOREDIS = [
    "ioredis v5",
    {
        open: async (url) => {
            const client = new IoRedis(url, { lazyConnect: true });
            client.on("error", () => {});
            await client.connect();
            return client;
        },
        raw: (client, [name, ...args]) => client.call(name, ...args),
        close: async (client) => client.disconnect(),
    },
];
