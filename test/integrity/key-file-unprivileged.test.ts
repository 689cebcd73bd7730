/**
 * An unreadable key file, tried by a process that really cannot read it.
 * keys.test.ts skips its mode-0000 case as root (root reads any file), and CI
 * runs as root, so here the reading process drops to the unprivileged user
 * `nobody` (setpriv) and meets the kernel's EACCES on a root-owned 0600 key:
 * the library, `vcp sidecar --signing-key-file` and `vcp verify --pubkey`
 * must each refuse with a clear error naming the file and EACCES, print none
 * of the key, and exit with the usage code. Run as any other user, the
 * children run as that user against a mode-0000 file of their own.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportPrivateKey, exportPublicKey, generateKeyPair } from '../../src/integrity/keys.ts';

const REPO = join(import.meta.dirname, '../..');
const NOBODY = 65534;
const root = process.getuid?.() === 0;

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux (setpriv, /proc)';
  if (!root) return undefined;
  const probe = spawnSync('setpriv', [
    '--reuid',
    String(NOBODY),
    '--regid',
    String(NOBODY),
    '--clear-groups',
    'true',
  ]);
  if (probe.error) return 'setpriv is not installed (Debian package util-linux)';
  if (probe.status !== 0) return `setpriv cannot switch to uid ${NOBODY}: ${probe.stderr}`;
  return undefined;
}
const skip = unavailable();
if (skip) console.warn(`unreadable-key tests as an unprivileged user skipped: ${skip}`);

describe.skipIf(skip !== undefined)('an unreadable key file, read by a user who may not read it', () => {
  // 0755: the unprivileged child must reach the node binary and the scripts, but not the keys.
  const dir = mkdtempSync(join(tmpdir(), 'vcp-keyperm-'));
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The node binary may sit under /root (mode 0700): give the child a path to it it can walk.
  const node = join(dir, 'node');
  try {
    linkSync(process.execPath, node);
  } catch {
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
  }

  const pair = generateKeyPair();
  const privatePem = exportPrivateKey(pair.privateKey, 'pem') as string;
  const secret = privatePem.split('\n')[1]!;
  const lockedKey = join(dir, 'locked.key');
  const lockedPub = join(dir, 'locked.pub');
  writeFileSync(lockedKey, privatePem);
  writeFileSync(lockedPub, exportPublicKey(pair.publicKey, 'pem') as string);
  // As root: owned by root, 0600, unreadable to nobody. As another user: 0000, unreadable to its owner.
  chmodSync(lockedKey, root ? 0o600 : 0o000);
  chmodSync(lockedPub, root ? 0o600 : 0o000);
  // A folder the child may write (the sidecar's data folder).
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o777 });
  chmodSync(dataDir, 0o777);

  /** Run an ES module snippet with this repository's sources, as `nobody` when we are root. */
  function runUnprivileged(code: string): { status: number | null; stdout: string; stderr: string } {
    const command = [node, '--input-type=module', '-e', code];
    const argv = root
      ? ['setpriv', '--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', ...command]
      : command;
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '' },
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  const src = (p: string) => JSON.stringify(join(REPO, 'src', p));

  it('the child really runs without the right to read the file', () => {
    const r = runUnprivileged(
      `import { accessSync, constants } from 'node:fs';
       let readable = true;
       try { accessSync(${JSON.stringify(lockedKey)}, constants.R_OK); } catch { readable = false; }
       console.log(JSON.stringify({ uid: process.getuid(), readable }));`,
    );
    expect(r.status, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as { uid: number; readable: boolean };
    expect(seen.readable).toBe(false);
    if (root) expect(seen.uid).toBe(NOBODY);
    else expect(seen.uid).not.toBe(0);
  });

  it('loadPrivateKeyFile → VcpConfigError naming the file and EACCES', () => {
    const r = runUnprivileged(
      `import { loadPrivateKeyFile } from ${src('integrity/keys.ts')};
       try { loadPrivateKeyFile(${JSON.stringify(lockedKey)}); console.log(JSON.stringify({ loaded: true })); }
       catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message })); }`,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { name?: string; message?: string; loaded?: boolean };
    expect(out).toEqual({ name: 'VcpConfigError', message: `cannot open key file ${lockedKey}: EACCES` });
  });

  it('vcp sidecar --signing-key-file <unreadable> → exit 2, a clear error, never the key', () => {
    const r = runUnprivileged(
      `import { main } from ${src('cli/main.ts')};
       process.exitCode = await main(['sidecar', '--port', '0', '--data-dir', ${JSON.stringify(dataDir)},
         '--signing-key-file', ${JSON.stringify(lockedKey)}]);`,
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`vcp sidecar: cannot open key file ${lockedKey}: EACCES`);
    expect(r.stdout).not.toContain('listening');
    expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
  });

  it('vcp verify --pubkey <unreadable> → exit 2 and a clear error', () => {
    const events = join(dataDir, 'empty.jsonl');
    writeFileSync(events, '');
    chmodSync(events, 0o644);
    const r = runUnprivileged(
      `import { main } from ${src('cli/main.ts')};
       process.exitCode = await main(['verify', ${JSON.stringify(events)}, '--pubkey', ${JSON.stringify(lockedPub)}]);`,
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`vcp verify: cannot read public key ${lockedPub}: EACCES`);
  });
});
