// Prints a TCP port on 127.0.0.1 that is free now.
import { createServer } from "node:net";

const server = createServer();
server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${server.address().port}\n`);
    server.close();
});
