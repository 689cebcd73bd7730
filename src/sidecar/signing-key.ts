/**
 * The sidecar's anchor-signing key: from a key file, else from the
 * environment (VCP_SIGNING_KEY), else `<data-dir>/signing.key`, generated on
 * first start with mode 0600 so a restart keeps the same `signing_key_id`.
 * The public half is written beside it (`signing.pub`) for auditors'
 * `vcp verify --pubkey`. The key itself is never logged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VcpConfigError } from '../core/errors.ts';
import { exportPrivateKey, exportPublicKey, generateKeyPair, loadPrivateKeyFile } from '../integrity/keys.ts';
import { createSigner, type Signer } from '../integrity/sign.ts';

/** Where the key came from, for the start-up log line. */
export type KeySource = 'file' | 'env' | 'data-dir' | 'generated';

/** Load or create the signer. */
export function loadSidecarSigner(options: {
  dataDir: string;
  signingKey?: string | undefined;
  signingKeyFile?: string | undefined;
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
  try {
    const signer = createSigner(loadPrivateKeyFile(keyPath));
    ensurePublicKey(pubPath, signer);
    return { signer, source: 'data-dir', publicKeyPath: pubPath };
  } catch (e) {
    if (!isMissing(keyPath)) throw e;
  }
  const pair = generateKeyPair();
  try {
    // 'wx': never overwrite a key another process made in the meantime.
    writeFileSync(keyPath, `${exportPrivateKey(pair.privateKey, 'pem')}`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new VcpConfigError(`cannot write ${keyPath}: ${(e as Error).message}`);
  }
  const signer = createSigner(pair.privateKey);
  ensurePublicKey(pubPath, signer);
  return { signer, source: 'generated', publicKeyPath: pubPath };
}

function isMissing(path: string): boolean {
  try {
    readFileSync(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function ensurePublicKey(path: string, signer: Signer): void {
  const pem = exportPublicKey(signer.publicKey, 'pem');
  try {
    if (readFileSync(path, 'utf8') === pem) return;
  } catch {
    // missing: write it
  }
  writeFileSync(path, pem, { mode: 0o644 });
}
