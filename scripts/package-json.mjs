// Prints pkg-template/package.json with the crate's version and repository
// fields, so the npm package and the crate cannot drift apart.
import { readFileSync } from "node:fs";

const [templatePath, cargoPath] = process.argv.slice(2);
const template = JSON.parse(readFileSync(templatePath, "utf8"));
const cargo = readFileSync(cargoPath, "utf8");
const field = (name) => cargo.match(new RegExp(`^${name} = "([^"]*)"`, "m"))?.[1];
const version = field("version");
if (!version) {
    console.error(`package-json: no version in ${cargoPath}`);
    process.exit(2);
}
const merged = { name: template.name, version, ...template };
process.stdout.write(JSON.stringify(merged, null, 2) + "\n");
