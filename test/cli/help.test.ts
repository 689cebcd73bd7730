/**
 * The CLI's help: `vcp help <command>` is `<command> --help`, every command's
 * help states its exit codes, `vcp version` prints the package's version.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';

async function vcp(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    out: (s: string) => {
      out += s;
    },
    err: (s: string) => {
      err += s;
    },
    env: {},
    cwd: process.cwd(),
  };
  const code = await main(argv, io as unknown as CliIo);
  return { code, out, err };
}

const top = await vcp('--help');
const commands = [...top.out.matchAll(/^ {2}([a-z][a-z-]*) {2,}/gm)].map((m) => m[1]!);

describe('vcp help', () => {
  it('lists the commands, how to get their help, the version and the exit codes', () => {
    expect(commands).toEqual(expect.arrayContaining(['demo', 'keygen', 'sidecar', 'tap', 'verify']));
    expect(top.out).toMatch(/vcp help <command>/);
    expect(top.out).toMatch(/vcp version/);
    expect(top.out).toMatch(/exit codes: 0 .*; 1 .*; 2 /);
  });

  it.each(commands)('vcp help %s prints that command’s help, with its exit codes', async (name) => {
    const viaHelp = await vcp('help', name);
    const viaFlag = await vcp(name, '--help');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toBe(viaFlag.out);
    expect(viaHelp.out).not.toBe(top.out);
    expect(viaHelp.out).toMatch(/exit (codes|status): 0 /);
  });

  it('vcp help <unknown> is a usage error naming it', async () => {
    const r = await vcp('help', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command "nope"/);
  });

  it('vcp version and --version print the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };
    for (const argv of [['version'], ['--version'], ['-v']]) {
      const r = await vcp(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${version}\n`);
    }
  });
});
