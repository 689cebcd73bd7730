/**
 * docs/sidecar-cluster.md, "Embedding the sidecar in a Node process": every
 * ```ts block there type-checks against the public entries
 * (`vcp-instrument`, `vcp-instrument/sidecar`); the single-sidecar block runs
 * as written and prints what its comments say; a partitioned member starts
 * through the same entry against the test broker and takes its partitions.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createAnchoringFactory,
  resolveSidecarConfig,
  startPartitionedSidecar,
} from '../../src/entry/sidecar.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic, withTimeout } from '../helpers/kafka.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const doc = await readFile(join(root, 'docs/sidecar-cluster.md'), 'utf8');
const start = doc.indexOf('## Embedding the sidecar in a Node process');
const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The package's import specifiers, pointed at this checkout's sources. */
function toSources(code: string): string {
  return code
    .replaceAll("from 'vcp-instrument'", `from ${JSON.stringify(join(root, 'src/index.ts'))}`)
    .replaceAll(
      "from 'vcp-instrument/sidecar'",
      `from ${JSON.stringify(join(root, 'src/entry/sidecar.ts'))}`,
    );
}

describe('docs/sidecar-cluster.md: embedding the sidecar', () => {
  it('has a single-sidecar block and a partitioned block', () => {
    expect(section.length).toBeGreaterThan(0);
    expect(blocks.map((b) => (b.includes('startPartitionedSidecar(') ? 'partitioned' : 'single'))).toEqual([
      'single',
      'partitioned',
    ]);
  });

  it('every block type-checks against the public entries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vcp-embedding-docs-'));
    dirs.push(dir);
    const files = await Promise.all(
      blocks.map(async (code, i) => {
        const file = join(dir, `block${i}.mts`);
        await writeFile(file, `${toSources(code)}\nexport {};\n`);
        return file;
      }),
    );
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: ['node'],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && files.includes(d.file.fileName))
      .map((d) => `${d.file!.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(diagnostics).toEqual([]);
  }, 120_000);

  it('the single-sidecar block runs and prints what it says', async () => {
    const code = blocks.find((b) => b.includes('startSidecar('))!;
    const js = ts.transpileModule(toSources(code), {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    const dir = await mkdtemp(join(tmpdir(), 'vcp-embedding-'));
    dirs.push(dir);
    await writeFile(join(dir, 'block.mjs'), js);
    const { stdout } = await run(process.execPath, [join(dir, 'block.mjs')], { cwd: dir, timeout: 60_000 });
    const expected = code
      .split('\n')
      .filter((l) => /^\s*console\.log\(/.test(l))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    expect(stdout.trim().split('\n')).toEqual(expected);
  }, 90_000);
});

describeKafka('vcp-instrument/sidecar: a partitioned member embedded as the docs show', (brokers) => {
  it('joins the group, takes the partitions and closes', async () => {
    const topic = uniqueTopic('vcp-embed');
    await createTopic(brokers, topic, { partitions: 2 });
    const dataDir = await mkdtemp(join(tmpdir(), 'vcp-embedding-cluster-'));
    dirs.push(dataDir);
    try {
      const config = resolveSidecarConfig(
        {
          port: '0',
          'data-dir': dataDir,
          ingest: `kafka://${brokers.join(',')}/${topic}?group=${topic}`,
          anchor: 'file',
        },
        {},
      );
      const member = await withTimeout(
        startPartitionedSidecar({
          config,
          anchoring: createAnchoringFactory({ targets: config.anchorTargets, tier: config.tier }),
          log: () => {},
        }),
        60_000,
        'starting the partitioned sidecar',
      );
      const done = member.done();
      try {
        expect(member.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(member.ingest.topic).toBe(topic);
        for (let i = 0; i < 600 && member.partitions().length < 2; i++)
          await new Promise((r) => setTimeout(r, 50));
        expect(
          member
            .partitions()
            .map((p) => p.partition)
            .sort(),
        ).toEqual([0, 1]);
      } finally {
        await member.close();
      }
      await expect(done).resolves.toBeUndefined();
    } finally {
      await deleteTopics(brokers, [topic]);
    }
  }, 120_000);
});
