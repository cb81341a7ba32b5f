// Print the licence of every package installed under <dir>/node_modules (from its
// package-lock.json), type-only @types/* packages left out. Used by vendor.sh.
"use strict";
const fs = require("fs");
const path = require("path");

const root = process.argv[2];
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
const entries = [];
for (const dir of Object.keys(lock.packages)) {
  if (!dir || dir.includes("node_modules/@types/")) continue;
  const full = path.join(root, dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(full, "package.json"), "utf8"));
  const files = fs.readdirSync(full).filter((f) => /^(licen[cs]e|copying)/i.test(f)).sort();
  const text = files.map((f) => fs.readFileSync(path.join(full, f), "utf8").trim()).join("\n\n");
  entries.push({ id: `${pkg.name}@${pkg.version}`, license: pkg.license, text });
}
entries.sort((a, b) => a.id.localeCompare(b.id));
for (const e of entries) {
  console.log("=".repeat(78));
  console.log(`${e.id} (${e.license})`);
  console.log("-".repeat(78));
  console.log(e.text || `No licence file in the package; package.json declares ${e.license}.`);
  console.log();
}
