#!/usr/bin/env node
// The `linearity` command. The CLI is written in TypeScript under lib/cli and compiled to dist/
// by `npm run build` (run automatically by `npm ci` / `npm install`). main.js loads only the
// sub-command being run.
require("../dist/lib/cli/main.js").main(process.argv);
