#!/usr/bin/env node
// The warnings abcjs (the page's sheet-music library) gives for each of some ABC tunes,
// as the web page would show them: each tune parsed alone, as the page draws one tune.
//
//   node scripts/abcjs_warnings.js < tunes.json      # stdin: a JSON list of ABC texts
//   -> stdout: a JSON list, per tune, of its warnings as plain text ([] for none)
//
// abcjs's warnings come from its parser (renderAbc copies parseOnly's), so parsing
// needs no browser. The page shows their text (it drops the HTML that marks the spot);
// this does the same. abcjs is found in node_modules (npm ci), beside this script's
// folder or in the working folder.
"use strict";

const path = require("path");

function loadAbcjs() {
  for (const root of [path.join(__dirname, ".."), process.cwd()]) {
    try {
      return require(require.resolve("abcjs", { paths: [root] }));
    } catch (err) {
      if (err.code !== "MODULE_NOT_FOUND") throw err;
    }
  }
  process.stderr.write("abcjs_warnings: abcjs is not installed (run npm ci)\n");
  process.exit(2);
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", nbsp: " " };

function plain(html) {
  return String(html).replace(/<[^>]*>/g, "")
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name) => ENTITIES[name]);
}

function main() {
  const abcjs = loadAbcjs();
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    const tunes = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const out = tunes.map((abc) => {
      try {
        const parsed = abcjs.parseOnly(abc);
        return ((parsed[0] && parsed[0].warnings) || []).map(plain);
      } catch (err) {
        return [`abcjs could not parse this tune: ${err.message}`];
      }
    });
    process.stdout.write(JSON.stringify(out) + "\n");
  });
}

main();
