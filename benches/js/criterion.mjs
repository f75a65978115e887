// Criterion's estimates (target/criterion/**/new/estimates.json) as
// {"decode/typical": {nsPerOp}, ...} JSON on stdout.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = process.argv[2];
const results = {};
function visit(dir, name) {
    const file = join(dir, "new", "estimates.json");
    if (existsSync(file)) {
        results[name] = { nsPerOp: JSON.parse(readFileSync(file, "utf8")).median.point_estimate };
        return;
    }
    for (const child of readdirSync(dir)) {
        if (child !== "report" && statSync(join(dir, child)).isDirectory()) visit(join(dir, child), name ? `${name}/${child}` : child);
    }
}
visit(root, "");
process.stdout.write(JSON.stringify({ runtime: "native Rust (criterion)", cases: results }) + "\n");
