// The TypeScript sources the package build generates next to pkg-template/src
// (scripts/build-pkg.sh):
// - types.ts: the declarations tsify generated from the Rust types, which are
//   everything in the glue's .d.ts before its first function;
// - scripts.ts: the Lua scripts the npm helpers run (src/redis/follow.lua,
//   range.lua and the group scripts in src/redis/group/, each after
//   bounded.lua but settle.lua), one text for Rust and npm alike.
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
const lua = (name) => readFileSync(`src/redis/${name}.lua`, "utf8");
const scripts = [
    ["FOLLOW_SCRIPT", "follow", "the Rust follower"],
    ["RANGE_SCRIPT", "range", "Rust's read_entries"],
    ["GROUP_CREATE_SCRIPT", "group/create", "Rust's GroupConsumer"],
    ["GROUP_READ_SCRIPT", "group/read", "Rust's GroupConsumer"],
    ["GROUP_TAKE_SCRIPT", "group/take", "Rust's GroupConsumer"],
    ["GROUP_CLAIM_SCRIPT", "group/claim", "Rust's GroupConsumer"],
];
const text = scripts.map(
    ([name, file, runner]) => `/** src/redis/${file}.lua after bounded.lua, as ${runner} runs it. */\nexport const ${name} = ${JSON.stringify(bounded + lua(file))};\n`,
);
text.push(`/** src/redis/group/settle.lua, which reads no entry (so no bounded.lua). */\nexport const GROUP_SETTLE_SCRIPT = ${JSON.stringify(lua("group/settle"))};\n`);
writeFileSync(join(outDir, "scripts.ts"), text.join(""));
