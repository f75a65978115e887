// Prints one of the benchmark payloads (benches/js/payloads.mjs) by name.
import { PAYLOADS } from "./payloads.mjs";

const name = process.argv[2] ?? "typical";
if (!(name in PAYLOADS)) {
    console.error(`print-payload: no payload ${name}`);
    process.exit(2);
}
process.stdout.write(PAYLOADS[name]);
