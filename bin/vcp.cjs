#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in the CommonJS build so it starts without ESM loader cost.
// In a git checkout that was never built (the package has no install-time build step),
// it runs the TypeScript sources instead: Node 22.18+ and 24 strip types natively.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '../dist/cli.cjs');

function loadCli() {
  if (existsSync(built)) return Promise.resolve(require(built));
  const source = join(__dirname, '../src/cli/main.ts');
  if (!existsSync(source)) return Promise.reject(new Error(`${built} is missing: reinstall vcp-instrument`));
  return import(require('node:url').pathToFileURL(source).href).catch((err) => {
    if (err?.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new Error(
        `this Node (${process.version}) cannot run TypeScript: use Node 24 or run \`npm run build\``,
      );
    }
    throw err;
  });
}

loadCli()
  .then((cli) => cli.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`vcp: ${err?.message ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
