// `make bench`, Node part: prints the suite's results as JSON on stdout,
// progress on stderr.
import { execFileSync } from "node:child_process";
import { runSuite } from "./suite.mjs";

const repo = new URL("../../", import.meta.url).pathname;
const ce = await import(new URL("pkg/node.mjs", `file://${repo}`).href);
const schema = JSON.parse(execFileSync(process.env.CROWD_ENVELOPE_BIN ?? `${repo}target/release/crowd-envelope`, ["schema"]));
const results = runSuite(ce, schema, (message) => console.error(`bench (node): ${message}`));
process.stdout.write(JSON.stringify({ runtime: `Node ${process.version}`, ...results }) + "\n");
