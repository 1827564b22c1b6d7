import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { renderReadme } from "./reference.js";

/** `npm run docs`: rewrites the README's generated reference tables from the schema. */
const file = resolve(process.argv[2] ?? "README.md");
const before = readFileSync(file, "utf8");
const after = renderReadme(before);
if (after === before) {
  console.log(`${file}: up to date`);
} else {
  writeFileSync(file, after);
  console.log(`${file}: reference tables regenerated`);
}
