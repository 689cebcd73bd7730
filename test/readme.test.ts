/**
 * Every ```ts block of the README runs, and prints what its `// …` comments say.
 * Blocks are compiled with TypeScript 6 (TC39 decorators, as a user with no
 * flags gets) and run in a child Node; `vcp-instrument` resolves to this checkout.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const readme = await readFile(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The `// …` comment of each console.log line, in order: what the block must print. */
function expectedOutput(code: string): string[] {
  return code
    .split('\n')
    .filter((l) => /^\s*console\.log\(/.test(l) && l.includes('); // '))
    .map((l) => l.slice(l.lastIndexOf('); // ') + 6).trim());
}

describe('README', () => {
  it('has runnable blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((code, i) => [i, code] as const))(
    'block %i runs and prints what it says',
    async (_i, code) => {
      const source = code.replaceAll(
        "from 'vcp-instrument'",
        `from ${JSON.stringify(join(root, 'src/index.ts'))}`,
      );
      const js = ts.transpileModule(source, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      }).outputText;
      const dir = await mkdtemp(join(tmpdir(), 'vcp-readme-'));
      dirs.push(dir);
      await writeFile(join(dir, 'block.mjs'), js);
      const { stdout } = await run(process.execPath, [join(dir, 'block.mjs')], { cwd: dir, timeout: 30_000 });
      const expected = expectedOutput(code);
      expect(expected.length).toBeGreaterThan(0);
      expect(stdout.trim().split('\n')).toEqual(expected);
    },
  );
});
