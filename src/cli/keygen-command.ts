/**
 * `vcp keygen [--out <prefix>] [--format pem|jwk|hex] [--force]`
 *
 * Writes `<prefix>.key` (private, mode 0600) and `<prefix>.pub` (public) and
 * prints the `signing_key_id`. Never prints the private key.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  type KeyExportFormat,
} from '../integrity/keys.ts';
import { type CliIo, EXIT, UsageError } from './io.ts';

export const KEYGEN_USAGE = `usage: vcp keygen [--out <prefix>] [--format pem|jwk|hex] [--force]

Generates an Ed25519 signing key. Writes <prefix>.key (private, mode 0600) and
<prefix>.pub (public; give it to auditors for vcp verify --pubkey) and prints
the signing_key_id. Default prefix: vcp-signing. Existing files are kept
unless --force is given.

exit codes: 0 key written; 2 usage error, a file exists (without --force) or
cannot be written`;

export async function keygenCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      format: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(`${KEYGEN_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${KEYGEN_USAGE}`);
  const format = (values.format ?? 'pem') as KeyExportFormat;
  if (!['pem', 'jwk', 'hex'].includes(format))
    throw new UsageError(`--format must be pem, jwk or hex (got "${format}")`);
  const prefix = resolve(io.cwd, values.out ?? 'vcp-signing');
  const pair = generateKeyPair();
  const text = (v: string | object) =>
    typeof v === 'string' ? (v.endsWith('\n') ? v : `${v}\n`) : `${JSON.stringify(v)}\n`;
  const flag = values.force ? 'w' : 'wx';
  try {
    await writeFile(`${prefix}.key`, text(exportPrivateKey(pair.privateKey, format)), { mode: 0o600, flag });
    await writeFile(`${prefix}.pub`, text(exportPublicKey(pair.publicKey, format)), { mode: 0o644, flag });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(
        `${prefix}.key or ${prefix}.pub already exists; use --force to replace, or --out another prefix`,
      );
    }
    throw new UsageError(`cannot write key files: ${(e as Error).message}`);
  }
  io.out(
    `signing_key_id ${pair.keyId}\nprivate key    ${prefix}.key (keep secret)\npublic key     ${prefix}.pub\n`,
  );
  return EXIT.ok;
}
