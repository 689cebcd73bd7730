#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in the CommonJS build so it starts without ESM loader cost.
require('../dist/cli.cjs')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`vcp: ${err?.message ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
