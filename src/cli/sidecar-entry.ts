/**
 * Run `vcp sidecar` straight from the TypeScript sources (Node 24 strips the
 * types): `node src/cli/sidecar-entry.ts --port 0 --data-dir ./data`. Used by
 * the crash test and the ingest benchmark to start a sidecar as a child process.
 */
import { main } from './main.ts';

process.exitCode = await main(['sidecar', ...process.argv.slice(2)]);
