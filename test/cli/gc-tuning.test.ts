/**
 * The CLI's batch commands turn V8's allocation-site pretenuring off at run time
 * (src/cli/gc-tuning.ts); the sidecar keeps it. Watched
 * from outside: a child process traces V8's pretenuring work (`--trace-pretenuring` and its
 * statistics), prints a marker through V8's own output (`%DebugPrint`, so the order holds), then
 * builds objects that all outlive young GCs. With pretenuring on, V8 weighs their allocation site
 * at every GC after the marker; with it off, it prints nothing more.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { disableAllocationSitePretenuring } from '../../src/cli/gc-tuning.ts';

const MAIN = JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../src/cli/main.ts')).href);
/** A child's setup that runs `vcp <command> --help` through the CLI's `main()`. */
const runHelpOf = (command: string) => `import { main } from ${MAIN};
const code = await main([${JSON.stringify(command)}, '--help'], { out() {}, err() {}, env: {}, cwd: process.cwd() });
if (code !== 0) throw new Error('vcp ${command} --help exited ' + code);`;

/** Pretenuring trace lines a child printed after running `setup`, while building 3 M survivors. */
function pretenuringAfter(setup: string, nodeFlags: string[] = []): number {
  const script = `${setup}
%DebugPrint('vcp-workload-starts');
const keep = [];
function make(i) { return { a: i, b: 'x' + i }; }
for (let i = 0; i < 3_000_000; i++) keep.push(make(i));`;
  const out = execFileSync(
    process.execPath,
    [
      ...nodeFlags,
      '--allow-natives-syntax',
      '--trace-pretenuring',
      '--trace-pretenuring-statistics',
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
  );
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.includes('vcp-workload-starts'));
  expect(start).toBeGreaterThanOrEqual(0);
  return lines.slice(start).filter((l) => l.includes('pretenuring:')).length;
}

describe('allocation-site pretenuring in the CLI', () => {
  it('is at work in a plain Node process (the control: the workload is one V8 weighs)', () => {
    expect(pretenuringAfter('')).toBeGreaterThan(0);
  });

  it.each(['tap', 'verify'])('is off once the CLI has run `vcp %s`', (command) => {
    expect(pretenuringAfter(runHelpOf(command))).toBe(0);
  });

  it('stays on for `vcp sidecar` (its /health latency under a storm of large bodies needs it)', () => {
    expect(pretenuringAfter(runHelpOf('sidecar'))).toBeGreaterThan(0);
  });

  it('stays on when the node flags ask for it', () => {
    expect(pretenuringAfter(runHelpOf('verify'), ['--allocation-site-pretenuring'])).toBeGreaterThan(0);
  });

  it('leaves an explicit flag alone, whichever way it points, and only that flag', () => {
    expect(disableAllocationSitePretenuring(['--allocation-site-pretenuring'])).toBe(false);
    expect(disableAllocationSitePretenuring(['--no-allocation_site_pretenuring'])).toBe(false);
    expect(disableAllocationSitePretenuring(['--max-old-space-size=512'])).toBe(true);
    expect(disableAllocationSitePretenuring(['--allocation-site-pretenuring-x'])).toBe(true);
  });
});
