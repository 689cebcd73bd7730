/**
 * The data-folder signing key: created atomically (a full disk leaves no
 * half-written `signing.key`), reused on restart, and an empty or garbled
 * one stops the start with a message naming the file and what to do.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSidecar } from '../../src/sidecar/server.ts';
import { loadSidecarSigner } from '../../src/sidecar/signing-key.ts';
import { tempDir, testConfig } from './helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function folder(): string {
  const t = tempDir('vcp-key-');
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('signing.key', () => {
  it('is generated once (mode 0600, with signing.pub) and reused', () => {
    const d = folder();
    const first = loadSidecarSigner({ dataDir: d });
    expect(first.source).toBe('generated');
    expect(statSync(join(d, 'signing.key')).mode & 0o777).toBe(0o600);
    const again = loadSidecarSigner({ dataDir: d });
    expect(again.source).toBe('data-dir');
    expect(again.signer.keyId).toBe(first.signer.keyId);
    expect(readdirSync(d).sort()).toEqual(['signing.key', 'signing.pub']);
  });

  it('an empty signing.key gives a clear error naming the file and what to do, also from the sidecar', async () => {
    const d = folder();
    writeFileSync(join(d, 'signing.key'), '');
    expect(() => loadSidecarSigner({ dataDir: d })).toThrow(
      new RegExp(
        `${join(d, 'signing.key')} is empty \\(0 bytes\\).*move .*signing\\.key away and start again`,
      ),
    );
    await expect(startSidecar({ config: testConfig(d), log: () => {} })).rejects.toThrow(
      /signing\.key is empty/,
    );
    // Nothing was overwritten.
    expect(readFileSync(join(d, 'signing.key')).length).toBe(0);
  });

  it('a garbled signing.key names the key id it should have when signing.pub is there', () => {
    const d = folder();
    const made = loadSidecarSigner({ dataDir: d });
    writeFileSync(join(d, 'signing.key'), '-----BEGIN PRIVATE KEY-----\nnot a key\n');
    expect(() => loadSidecarSigner({ dataDir: d })).toThrow(
      new RegExp(
        `signing\\.key does not hold a usable Ed25519 private key.*names signing_key_id ${made.signer.keyId}.*restore the key from a backup`,
      ),
    );
  });

  it('repair does not invent a key: create false refuses a missing one', () => {
    const d = folder();
    expect(() => loadSidecarSigner({ dataDir: d, create: false })).toThrow(
      /no signing key: .*signing\.key does not exist/,
    );
    expect(readdirSync(d)).toEqual([]);
  });

  it('a full disk on first start leaves no signing.key behind, and the next start succeeds', (ctx) => {
    const d = folder();
    const mnt = join(d, 'small');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // needs root to mount a tiny tmpfs; the test is about ENOSPC on a real file system
      return;
    }
    cleanups.push(() => execFileSync('umount', [mnt]));
    // Fill the file system to the last byte.
    const filler = join(mnt, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(1024 * 1024));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    expect(() => loadSidecarSigner({ dataDir: mnt })).toThrow(
      new RegExp(`cannot write ${join(mnt, 'signing.key')}: ENOSPC; nothing was left behind`),
    );
    expect(readdirSync(mnt)).toEqual(['filler']);
    rmSync(filler);
    const later = loadSidecarSigner({ dataDir: mnt });
    expect(later.source).toBe('generated');
    expect(readdirSync(mnt).sort()).toEqual(['signing.key', 'signing.pub']);
  });
});
