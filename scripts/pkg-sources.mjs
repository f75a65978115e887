// The TypeScript sources the package build generates next to pkg-template/src
// (scripts/build-pkg.sh):
// - types.ts: the declarations tsify generated from the Rust types, which are
//   everything in the glue's .d.ts before its first function;
// - scripts.ts: the Lua scripts the npm helpers run (src/redis/follow.lua and
//   range.lua, each after bounded.lua), one text for Rust and npm alike.
//
// Usage: node scripts/pkg-sources.mjs GLUE_DTS OUT_DIR
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [glueDts, outDir] = process.argv.slice(2);
const declarations = readFileSync(glueDts, "utf8");
const firstFunction = declarations.search(/^export function /m);
writeFileSync(join(outDir, "types.ts"), firstFunction < 0 ? declarations : declarations.slice(0, firstFunction));
// As src/redis/scripts.rs puts them together.
const bounded = readFileSync("src/redis/bounded.lua", "utf8");
const script = (name) => JSON.stringify(bounded + readFileSync(`src/redis/${name}.lua`, "utf8"));
writeFileSync(
    join(outDir, "scripts.ts"),
    `/** src/redis/follow.lua after bounded.lua, as the Rust follower runs it. */\nexport const FOLLOW_SCRIPT = ${script("follow")};\n` +
        `/** src/redis/range.lua after bounded.lua, as Rust's read_entries runs it. */\nexport const RANGE_SCRIPT = ${script("range")};\n`,
);
