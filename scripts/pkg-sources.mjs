// The TypeScript sources the package build generates next to pkg-template/src
// (scripts/build-pkg.sh):
// - types.ts: the declarations tsify generated from the Rust types, which are
//   everything in the glue's .d.ts before its first function;
// - follow-script.ts: the followers' Lua script (src/redis/follow.lua), one
//   file for Rust and npm alike.
//
// Usage: node scripts/pkg-sources.mjs GLUE_DTS OUT_DIR
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [glueDts, outDir] = process.argv.slice(2);
const declarations = readFileSync(glueDts, "utf8");
const firstFunction = declarations.search(/^export function /m);
writeFileSync(join(outDir, "types.ts"), firstFunction < 0 ? declarations : declarations.slice(0, firstFunction));
const lua = readFileSync("src/redis/follow.lua", "utf8");
writeFileSync(
    join(outDir, "follow-script.ts"),
    `/** src/redis/follow.lua, as the Rust follower runs it. */\nexport const FOLLOW_SCRIPT = ${JSON.stringify(lua)};\n`,
);
