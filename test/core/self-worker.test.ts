/**
 * Worker threads on the package's own modules must start whatever Node options the parent runs with:
 * a V8 flag (`--max-semi-space-size`, which the sidecar docs recommend) is refused when passed to a
 * worker explicitly, and `--input-type` stops a worker from loading a file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'vcp-self-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const helper = pathToFileURL(join(import.meta.dirname, '../../src/core/self-worker.ts')).href;
const child = join(dir, 'child.mjs');
writeFileSync(
  child,
  "import { parentPort } from 'node:worker_threads'; parentPort.postMessage('started');\n",
);
const parent = `
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
const { startSelfWorker } = await import(${JSON.stringify(helper)});
const w = startSelfWorker(pathToFileURL(${JSON.stringify(child)}), {});
const [msg] = await once(w, 'message');
console.log(msg);
await w.terminate();
`;

describe('startSelfWorker', () => {
  for (const flags of [
    [],
    ['--max-semi-space-size=16'],
    ['--input-type=module'],
    ['--max-semi-space-size=16', '--input-type=module'],
  ])
    it(`starts under node ${flags.join(' ') || '(no options)'}`, async () => {
      const args = flags.includes('--input-type=module')
        ? [...flags, '-e', parent]
        : [...flags, '--input-type=module', '-e', parent].filter((a, i, all) => all.indexOf(a) === i);
      const { stdout } = await run(process.execPath, args, { cwd: dir });
      expect(stdout.trim()).toBe('started');
    });
});
