/**
 * Run the `vcp` CLI straight from the TypeScript sources (Node 24 strips the
 * types): `node src/cli/run.ts <command> [options]`. Tests and benchmarks use
 * it to start commands (`vcp tap …`) as child processes.
 */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
