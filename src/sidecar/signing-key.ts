/**
 * The sidecar's anchor-signing key: from a key file, else from the
 * environment (VCP_SIGNING_KEY), else `<data-dir>/signing.key`, generated on
 * first start with mode 0600 so a restart keeps the same `signing_key_id`.
 * The public half is written beside it (`signing.pub`) for auditors'
 * `vcp verify --pubkey`. The key itself is never logged.
 *
 * Creation is atomic: the key is written to a temporary file, fsynced, then
 * linked to `signing.key` (a link never replaces a key another process made
 * in the meantime) and the folder fsynced. A full disk therefore leaves no
 * half-written `signing.key` behind; one that is there anyway (empty or
 * garbled, from an older version or a hand edit) stops the start with a
 * message naming the file and what to do.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDirSync, writeFileDurablySync } from '../core/durable-file.ts';
import { VcpConfigError } from '../core/errors.ts';
import {
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  keyId,
  loadPrivateKeyFile,
  loadPublicKeyFile,
} from '../integrity/keys.ts';
import { createSigner, type Signer } from '../integrity/sign.ts';

/** Where the key came from, for the start-up log line. */
export type KeySource = 'file' | 'env' | 'data-dir' | 'generated';

/** Load or create the signer. With `create: false` a missing data-folder key is an error instead. */
export function loadSidecarSigner(options: {
  dataDir: string;
  signingKey?: string | undefined;
  signingKeyFile?: string | undefined;
  create?: boolean;
}): { signer: Signer; source: KeySource; publicKeyPath: string | undefined } {
  if (options.signingKeyFile) {
    return {
      signer: createSigner(loadPrivateKeyFile(options.signingKeyFile)),
      source: 'file',
      publicKeyPath: undefined,
    };
  }
  if (options.signingKey) {
    const text = options.signingKey.includes('-----BEGIN')
      ? options.signingKey.replace(/\\n/g, '\n')
      : options.signingKey;
    try {
      return { signer: createSigner(text.trim()), source: 'env', publicKeyPath: undefined };
    } catch (e) {
      throw new VcpConfigError(
        `VCP_SIGNING_KEY does not hold a usable Ed25519 private key: ${(e as Error).message}`,
      );
    }
  }
  const keyPath = join(options.dataDir, 'signing.key');
  const pubPath = join(options.dataDir, 'signing.pub');
  const existing = loadDataDirKey(keyPath, pubPath);
  if (existing) {
    ensurePublicKey(pubPath, existing);
    return { signer: existing, source: 'data-dir', publicKeyPath: pubPath };
  }
  if (options.create === false) {
    throw new VcpConfigError(
      `no signing key: ${keyPath} does not exist and neither --signing-key-file (VCP_SIGNING_KEY_FILE) nor VCP_SIGNING_KEY is set`,
    );
  }
  const pair = generateKeyPair();
  if (!createKeyFile(keyPath, exportPrivateKey(pair.privateKey, 'pem'))) {
    // Another process made it first: use theirs.
    const theirs = loadDataDirKey(keyPath, pubPath);
    if (!theirs) throw new VcpConfigError(`${keyPath} vanished while this sidecar started; start again`);
    ensurePublicKey(pubPath, theirs);
    return { signer: theirs, source: 'data-dir', publicKeyPath: pubPath };
  }
  const signer = createSigner(pair.privateKey);
  ensurePublicKey(pubPath, signer);
  return { signer, source: 'generated', publicKeyPath: pubPath };
}

/** The data folder's key, undefined when there is none; a clear error when the file is there but unusable. */
function loadDataDirKey(keyPath: string, pubPath: string): Signer | undefined {
  let size: number;
  try {
    size = statSync(keyPath).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VcpConfigError(
      `cannot read ${keyPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return createSigner(loadPrivateKeyFile(keyPath));
  } catch (e) {
    const what =
      size === 0
        ? 'is empty (0 bytes)'
        : `does not hold a usable Ed25519 private key (${(e as Error).message})`;
    throw new VcpConfigError(`${keyPath} ${what}. ${unusableKeyAdvice(keyPath, pubPath)}`);
  }
}

/** What to do about an unusable `signing.key`: depends on whether anything was ever signed with it. */
function unusableKeyAdvice(keyPath: string, pubPath: string): string {
  let known = '';
  try {
    known = ` (its public half ${pubPath} names signing_key_id ${keyId(loadPublicKeyFile(pubPath))})`;
  } catch {
    // no readable public half
  }
  return (
    `If the sidecar never anchored with this key${known}, e.g. a first start that failed while writing it (disk full), ` +
    `move ${keyPath} away and start again: a new key is generated. If it did anchor with it, restore the key from a ` +
    'backup or pass it with --signing-key-file: a new key cannot sign as the old signing_key_id.'
  );
}

/**
 * Write `text` to `path` atomically, mode 0600, never replacing an existing
 * file: temp file, fsync, link, fsync the folder. Returns false when `path`
 * already exists.
 */
function createKeyFile(path: string, text: string): boolean {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileDurablySync(tmp, text, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    fsyncDirSync(dirname(path));
    return true;
  } catch (e) {
    throw new VcpConfigError(
      `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; nothing was left behind, start again once that is fixed`,
    );
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
  }
}

/** Write `signing.pub` if it is missing or differs (temp file + rename: never half-written). */
function ensurePublicKey(path: string, signer: Signer): void {
  const pem = exportPublicKey(signer.publicKey, 'pem');
  try {
    if (readFileSync(path, 'utf8') === pem) return;
  } catch {
    // missing: write it
  }
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileDurablySync(tmp, pem, { mode: 0o644, flag: 'wx' });
    renameSync(tmp, path);
    fsyncDirSync(dirname(path));
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw new VcpConfigError(
      `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}
