/**
 * The package as a user installs it: `npm pack`, unpacked into fresh consumer
 * projects that have none of the optional peers (ioredis, pg,
 * @platformatic/kafka), then compiled with `skipLibCheck: false` — so every
 * shipped declaration file is type-checked — by the oldest and the newest
 * supported TypeScript (6 and 7), against the oldest and newest supported
 * @types/node (22 and 26), as ESM with TC39 decorators and as CommonJS with
 * legacy decorators; then each compiled consumer runs.
 *
 * The examples too: each folder, copied alone into a fresh directory with
 * the packed package and its own package.json's dependencies, type-checks
 * with its tsconfig and runs with its `npm start` command.
 *
 * Offline by design: the tarball's runtime dependencies are linked from this
 * checkout's node_modules (npm's cache holds tarballs, not the registry
 * documents an `npm install --offline` needs).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservedClosedPort } from '../helpers/ports.ts';
import { makeSignedExport } from '../helpers/signed-export.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'vcp-consumer-'));
const unpacked = join(work, 'package');

const COMPILERS = [
  { name: 'TypeScript 6', tsc: join(root, 'node_modules/typescript/bin/tsc') },
  { name: 'TypeScript 7', tsc: join(root, 'node_modules/typescript7/bin/tsc') },
] as const;
const NODE_TYPES = [
  { name: '@types/node 22', dir: join(root, 'node_modules/types-node-oldest') },
  { name: '@types/node 26', dir: join(root, 'node_modules/types-node-newest') },
] as const;
const MODULES = [
  { name: 'ESM, TC39 decorators', type: 'module', decorators: {} },
  {
    name: 'CommonJS, legacy decorators',
    type: 'commonjs',
    decorators: { experimentalDecorators: true, emitDecoratorMetadata: true },
  },
] as const;
const OPTIONAL_PEERS = ['ioredis', 'pg', '@platformatic/kafka'];

interface Result {
  code: number;
  out: string;
}

async function exec(cmd: string, args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, timeout: 180_000, maxBuffer: 16 << 20 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** A fresh consumer folder: the unpacked package, its dependencies, one @types/node, a tsconfig and a source file. */
function consumer(name: string, nodeTypes: string, mod: (typeof MODULES)[number], source: string): string {
  const dir = join(work, name);
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@types'), { recursive: true });
  cpSync(unpacked, join(modules, 'vcp-instrument'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.dependencies)) {
    mkdirSync(join(modules, dep, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', dep), join(modules, dep));
  }
  symlinkSync(nodeTypes, join(modules, '@types/node'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: mod.type }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        outDir: 'out',
        ...mod.decorators,
      },
      files: ['app.ts'],
    }),
  );
  writeFileSync(join(dir, 'app.ts'), source);
  return dir;
}

/** The declaration files `roots` import, transitively (`from "./chunk.mjs"` → `chunk.d.mts`). */
function declarationClosure(dir: string, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...roots];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/from "\.\/([^"]+)\.(mjs|cjs)"/g)) {
      queue.push(`${m[1]}.d.${m[2] === 'mjs' ? 'mts' : 'cts'}`);
    }
  }
  return seen;
}

beforeAll(async () => {
  // `npm pack` runs `prepack` (the build), exactly as `npm publish` does.
  const packed = await exec('npm', ['pack', '--pack-destination', work, '--silent'], root);
  if (packed.code !== 0) throw new Error(`npm pack failed (${packed.code}):\n${packed.out}`);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (tgz === undefined) throw new Error(`npm pack wrote no tarball into ${work}:\n${packed.out}`);
  const untar = await exec('tar', ['xzf', join(work, tgz), '-C', work], work);
  if (untar.code !== 0) throw new Error(`tar failed:\n${untar.out}`);
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('has no install-time scripts, and ships LICENSE, CHANGELOG and docs', () => {
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) {
      expect(manifest.scripts?.[hook], `scripts.${hook}`).toBeUndefined();
    }
    for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'docs/sidecar-cluster.md', 'bin/vcp.cjs']) {
      expect(existsSync(join(unpacked, file)), file).toBe(true);
    }
  });

  it('the declarations of the entries that need no peer (and the chunks they import) name no optional peer', () => {
    for (const entry of ['index', 'sidecar', 'fix', 'testing']) {
      for (const file of declarationClosure(join(unpacked, 'dist'), [`${entry}.d.mts`, `${entry}.d.cts`])) {
        const text = readFileSync(join(unpacked, 'dist', file), 'utf8');
        for (const peer of OPTIONAL_PEERS)
          expect(text, `${entry}: ${file} imports ${peer}`).not.toContain(`from "${peer}"`);
      }
    }
  });

  const source = readFileSync(join(import.meta.dirname, 'consumer/app.ts'), 'utf8');
  const cases = COMPILERS.flatMap((c) => NODE_TYPES.flatMap((t) => MODULES.map((m) => [c, t, m] as const)));
  for (const [compiler, types, mod] of cases)
    it(`compiles with skipLibCheck off and runs: ${compiler.name}, ${types.name}, ${mod.name}`, async () => {
      const name = `${compiler.name}-${types.name}-${mod.type}`.replace(/[^a-z0-9]+/gi, '-');
      const dir = consumer(name, types.dir, mod, source);
      const tsc = await exec(process.execPath, [compiler.tsc, '-p', dir], dir);
      expect(tsc.out).toBe('');
      expect(tsc.code).toBe(0);
      const ran = await exec(process.execPath, [join(dir, 'out/app.js')], dir);
      expect(ran.out.trim()).toBe('ORD OKP 2 function function function');
      expect(ran.code).toBe(0);
    }, 180_000);

  it.each(MODULES)(
    'verifies on worker threads from the built bundles (the worker loads the bundle chunk): $name',
    async (mod) => {
      const dir = consumer(`threads-${mod.type}`, NODE_TYPES[1].dir, mod, '');
      const x = makeSignedExport({ n: 24 });
      writeFileSync(join(dir, 'export.jsonl'), `${x.lines.join('\n')}\n`);
      writeFileSync(join(dir, 'key.pem'), x.signer.publicKey.export({ type: 'spki', format: 'pem' }));
      const body = [
        'const { createReadStream, readFileSync } = fs;',
        "const v = new Verifier({ publicKeys: [readFileSync('key.pem', 'utf8')], allowLocalAnchors: true, threads: 2, threadsAfterLines: 0 });",
        "await v.pushBatches(readLineBatches(createReadStream('export.jsonl'), undefined, 4));",
        'const r = await v.finish();',
        'console.log(r.verdict, v.linesOnThreads > 0, String(v.threadFailure));',
      ];
      const script =
        mod.type === 'module'
          ? [
              "import fs from 'node:fs';",
              "import { Verifier, readLineBatches } from 'vcp-instrument';",
              ...body,
            ]
          : [
              "const fs = require('node:fs');",
              "const { Verifier, readLineBatches } = require('vcp-instrument');",
              '(async () => {',
              ...body,
              '})();',
            ];
      writeFileSync(join(dir, 'verify.js'), script.join('\n'));
      const ran = await exec(process.execPath, [join(dir, 'verify.js')], dir);
      expect(ran.out.trim()).toBe('PROVEN true undefined');
    },
    60_000,
  );

  it.each(COMPILERS)(
    'with the optional peers installed, the entries that need them compile too: $name',
    async (compiler) => {
      const source = [
        "import { KafkaSink, KafkaTap } from 'vcp-instrument/kafka';",
        "import { createPostgresStore } from 'vcp-instrument/postgres';",
        "import { RedisStreamSink, RedisTap } from 'vcp-instrument/redis';",
        'console.log([KafkaSink, KafkaTap, createPostgresStore, RedisStreamSink, RedisTap].map((f) => typeof f).join());',
        '',
      ].join('\n');
      const dir = consumer(
        `peers-${compiler.name.replace(/\W+/g, '-')}`,
        NODE_TYPES[1].dir,
        MODULES[0],
        source,
      );
      for (const peer of ['ioredis', 'pg', '@types/pg', '@platformatic/kafka']) {
        mkdirSync(join(dir, 'node_modules', peer, '..'), { recursive: true });
        symlinkSync(join(root, 'node_modules', peer), join(dir, 'node_modules', peer));
      }
      const tsc = await exec(process.execPath, [compiler.tsc, '-p', dir], dir);
      expect(tsc.out).toBe('');
      expect(tsc.code).toBe(0);
      const ran = await exec(process.execPath, [join(dir, 'out/app.js')], dir);
      expect(ran.out.trim()).toBe('function,function,function,function,function');
    },
    180_000,
  );

  it('a declaration naming a missing peer does fail the compile (the check above can fail)', async () => {
    const dir = consumer(
      'control-redis',
      NODE_TYPES[1].dir,
      MODULES[0],
      "import { RedisTap } from 'vcp-instrument/redis';\nconsole.log(typeof RedisTap);\n",
    );
    const tsc = await exec(process.execPath, [COMPILERS[0].tsc, '-p', dir], dir);
    expect(tsc.code).not.toBe(0);
    expect(tsc.out).toMatch(/Cannot find module 'ioredis'/);
  }, 180_000);
});

/** A fresh copy of `examples/<name>` with the packed package and the example's own dependencies in node_modules. */
function exampleCopy(name: string): string {
  const dir = join(work, `example-${name}`);
  cpSync(join(root, 'examples', name), dir, {
    recursive: true,
    filter: (src) => !src.includes('node_modules'),
  });
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  cpSync(unpacked, join(modules, 'vcp-instrument'), { recursive: true });
  const own = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const example = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const deps = new Set([
    ...Object.keys(own.dependencies),
    ...Object.keys(example.dependencies ?? {}),
    ...Object.keys(example.devDependencies ?? {}),
  ]);
  deps.delete('vcp-instrument');
  for (const dep of deps) {
    mkdirSync(join(modules, dep, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', dep), join(modules, dep));
  }
  return dir;
}

/** `npm start` of an example: the command its package.json names, run with this Node. */
function startCommand(dir: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [node, ...args] = scripts.start.split(' ');
  expect(node).toBe('node');
  return args;
}

describe('the examples, each from a fresh copy of its folder', () => {
  it.each(['express', 'koa', 'fix'])(
    '%s type-checks with its own tsconfig',
    async (name) => {
      const dir = exampleCopy(name);
      const tsc = await exec(process.execPath, [COMPILERS[0].tsc, '-p', dir], dir);
      expect(tsc.out).toBe('');
      expect(tsc.code).toBe(0);
    },
    180_000,
  );

  it('fix: npm start plays the sample log through the live adapter', async () => {
    const dir = join(work, 'example-fix');
    const ran = await run(process.execPath, startCommand(dir), {
      cwd: dir,
      env: { ...process.env, VCP_LOG: join(dir, 'events.jsonl') },
      timeout: 60_000,
    });
    expect(ran.stdout).toMatch(/\d+ FIX messages → \d+ VCP events/);
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThan(5);
  }, 90_000);

  it.each(['express', 'koa'])(
    '%s: npm start serves orders, each recorded',
    async (name) => {
      const dir = join(work, `example-${name}`);
      const port = await reservedClosedPort(); // no other process gets it before the example listens
      const log = join(dir, 'events.jsonl');
      const child = spawn(process.execPath, startCommand(dir), {
        cwd: dir,
        env: { ...process.env, PORT: String(port), VCP_LOG: log },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        const exited = once(child, 'exit');
        while (!out.includes('Try:')) {
          await Promise.race([
            once(child.stdout, 'data'),
            exited.then(() => Promise.reject(new Error(`exited: ${out}`))),
          ]);
        }
        const order = {
          order_id: 'ORD-1',
          symbol: 'EURUSD',
          side: 'BUY',
          order_type: 'LIMIT',
          price: '1.0850',
          quantity: '100000',
        };
        const r = await fetch(`http://127.0.0.1:${port}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(order),
        });
        expect(r.status).toBe(201);
        expect(r.headers.get('x-vcp-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
        child.kill('SIGINT'); // the example's recorder flushes on the signal
        const [code] = await exited;
        expect(code).not.toBeNull();
        const types = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { header: { event_type: string } }).header.event_type);
        expect(types).toEqual(expect.arrayContaining(['AUD', 'ORD']));
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
    90_000,
  );
});
