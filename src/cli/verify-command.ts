/**
 * `vcp verify <export.jsonl> --pubkey <key> [options]`
 *
 * Exit 0 PROVEN, 1 INVALID, 2 usage or unreadable input, 3 UNPROVEN; what
 * each means is in docs/verification.md and decided in src/verify/verdict.ts.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MERKLE_MODES, type MerkleMode } from '../core/enums.ts';
import type { TimestampTrust } from '../integrity/tsa-token.ts';
import { getSidecarJson, type SidecarAnswer } from '../sinks/sidecar-get.ts';
import { type EvidencePack, EvidencePackError, readEvidencePack } from '../verify/evidence-pack.ts';
import {
  DEFAULT_MAX_LINE_BYTES,
  type ExternalCheckpoint,
  readFileBatches,
  readLines,
  renderText,
  type VerificationReport,
  Verifier,
} from '../verify/index.ts';
import { PROFILE_NAMES } from '../verify/profiles.ts';
import { HTML_MAX_EVENTS } from '../verify/render-html.ts';
import { type CliIo, UsageError } from './io.ts';
import { isCertificateFile, verifyCertificateFile, writeHtmlReport } from './verify-certificate.ts';

export const VERIFY_USAGE = `usage: vcp verify <export.jsonl | evidence-pack folder> --pubkey <key> [options]

Checks an export offline against the keys you trust, and says whether the
log it holds is PROVEN complete and unchanged. The files may have been edited
by anyone: only signatures by the trusted keys (and RFC 3161 tokens of a TSA
you trust) count. A folder is read as another producer's evidence pack: its event
log (JSONL or a JSON document with "events"), anchors, batches and keys (keys in
the pack are named, never trusted). See docs/verification.md for the verdicts.

options:
  --pubkey <file>          trusted Ed25519 public key (PEM, JWK or hex); repeat for several
  --trust <file>           a trust file pinning what you trust, JSON:
                           {"public_keys": [PEM | hex | JWK, …], "tsa_certs": [PEM, …],
                            "checkpoints": [signed note, …]} (adds to the options below)
  --anchors <file>         more anchor records (JSONL); anchors inside the export are read too
  --checkpoint <file>      a trusted checkpoint obtained out of band (signed note, or the JSON
                           of GET /vcp/checkpoint); the export must hold all it covers; repeatable
  --sidecar <url>          fetch the sidecar's newest checkpoint and a consistency proof to it
  --sidecar-token <token>  bearer token for --sidecar (or env VCP_SIDECAR_TOKEN)
  --tsa-cert <file>        PEM of a time-stamp authority (or its CA) you trust: RFC 3161
                           tokens in anchors are checked against it; repeatable
  --insecure-allow-local-anchors
                           accept logs that no external anchor covers (development only:
                           the key holder could rewrite and re-sign the whole log)
  --json                   print the report as JSON
  --html <file>            also write the report as one self-contained HTML file (timelines of up
                           to ${HTML_MAX_EVENTS} events; opens offline, prints to PDF)
  --strict                 v1.1 conformance gaps (UUIDv4, ms timestamps) are INVALID
  --profile <name>         hashing and field convention: ${PROFILE_NAMES.join(' | ')}
                           (default: detected from the first event, and named in the report;
                           --hash-variant is an alias)
  --merkle-mode <mode>     ${MERKLE_MODES.join(' | ')} for logs whose metadata does not say (default rfc6962)
  --max-line-bytes <n>     longest line read (default ${DEFAULT_MAX_LINE_BYTES}); longer lines are INVALID
  --threads <n>            worker threads that parse and hash events of long exports beside the main
                           thread (default: one per core, at most 4; 0: none); the report is the same

exit status: 0 PROVEN, 1 INVALID, 2 usage or unreadable input, 3 UNPROVEN`;

async function readText(path: string, what: string): Promise<string> {
  try {
    const s = await stat(path);
    if (s.size > 16 * 1024 * 1024) throw new UsageError(`${what} ${path} is larger than 16 MiB`);
    return await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

type JsonWebKeyLike = { kty: string; crv: string; x: string };

/** Trust files: what an auditor pins once and reuses (keys, TSA certificates, checkpoints seen before). */
async function readTrustFiles(
  files: string[],
  cwd: string,
): Promise<{ publicKeys: (string | JsonWebKeyLike)[]; tsaCerts: string[]; checkpoints: string[] }> {
  const out = {
    publicKeys: [] as (string | JsonWebKeyLike)[],
    tsaCerts: [] as string[],
    checkpoints: [] as string[],
  };
  for (const f of files) {
    const text = await readText(resolve(cwd, f), 'trust file');
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`trust file ${f} is not JSON: ${(e as Error).message}`);
    }
    const list = (k: string): unknown[] => {
      const x = v[k];
      if (x === undefined) return [];
      if (!Array.isArray(x)) throw new UsageError(`trust file ${f}: "${k}" must be an array`);
      return x;
    };
    const known = new Set(['public_keys', 'tsa_certs', 'checkpoints', 'comment']);
    const unknown = Object.keys(v).filter((k) => !known.has(k));
    if (unknown.length) throw new UsageError(`trust file ${f}: unknown field(s) ${unknown.join(', ')}`);
    for (const k of list('public_keys')) {
      if (typeof k !== 'string' && (typeof k !== 'object' || k === null))
        throw new UsageError(`trust file ${f}: a public key is a PEM or hex string, or a JWK object`);
      out.publicKeys.push(k as string | JsonWebKeyLike);
    }
    for (const c of list('tsa_certs')) {
      if (typeof c !== 'string') throw new UsageError(`trust file ${f}: tsa_certs holds PEM strings`);
      out.tsaCerts.push(c);
    }
    for (const c of list('checkpoints')) {
      if (typeof c !== 'string')
        throw new UsageError(`trust file ${f}: checkpoints holds signed notes (strings)`);
      out.checkpoints.push(c);
    }
  }
  return out;
}

/** A checkpoint file holds the signed note itself, or the JSON `GET /vcp/checkpoint` answers. */
function noteOf(text: string): string {
  const t = text.trimStart();
  if (!t.startsWith('{')) return text;
  try {
    const v = JSON.parse(t) as { note?: unknown };
    if (typeof v.note === 'string') return v.note;
  } catch {
    // not JSON after all: treat as a note and let the verifier say what is wrong
  }
  return text;
}

/** A sidecar's checkpoint or proof: small documents (a proof holds at most 64 hashes). */
const SIDECAR_ANSWER_LIMITS = { timeoutMs: 15_000, maxBytes: 1024 * 1024 };

async function getJson(url: string, token: string | undefined): Promise<Record<string, unknown>> {
  let answer: SidecarAnswer;
  try {
    answer = await getSidecarJson(url, token, SIDECAR_ANSWER_LIMITS);
  } catch (e) {
    throw new UsageError(`cannot fetch ${url}: ${(e as Error).message}`);
  }
  if (answer.status !== 200)
    throw new UsageError(
      `cannot fetch ${url}: HTTP ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`,
    );
  if (answer.body === null || typeof answer.body !== 'object')
    throw new UsageError(`cannot fetch ${url}: the answer is not a JSON object`);
  return answer.body as Record<string, unknown>;
}

/** The sidecar's newest checkpoint, with a consistency proof from the export's size when it is newer. */
async function fetchSidecarCheckpoint(
  base: string,
  token: string | undefined,
  v: Verifier,
): Promise<ExternalCheckpoint> {
  const url = new URL(base);
  const cp = await getJson(new URL('/vcp/checkpoint', url).href, token);
  if (typeof cp.note !== 'string')
    throw new UsageError(`${base}/vcp/checkpoint did not answer a signed note`);
  const ext: ExternalCheckpoint = { source: `${url.origin}/vcp/checkpoint`, note: cp.note };
  const log = v.logs().find((l) => l.origin === cp.origin);
  const size = typeof cp.tree_size === 'number' ? cp.tree_size : undefined;
  if (log && size !== undefined && size > log.size && log.size > 0) {
    const q = new URL('/vcp/consistency', url);
    q.searchParams.set('from', String(log.size));
    q.searchParams.set('to', String(size));
    const proof = await getJson(q.href, token);
    if (Array.isArray(proof.proof)) ext.consistency = { fromSize: log.size, proof: proof.proof as string[] };
  }
  return ext;
}

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      pubkey: { type: 'string', multiple: true },
      anchors: { type: 'string', multiple: true },
      checkpoint: { type: 'string', multiple: true },
      sidecar: { type: 'string' },
      'sidecar-token': { type: 'string' },
      'tsa-cert': { type: 'string', multiple: true },
      trust: { type: 'string', multiple: true },
      'insecure-allow-local-anchors': { type: 'boolean' },
      json: { type: 'boolean' },
      html: { type: 'string' },
      strict: { type: 'boolean' },
      'hash-variant': { type: 'string' },
      profile: { type: 'string' },
      'merkle-mode': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(`${VERIFY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one export file\n\n${VERIFY_USAGE}`);
  const profile = values.profile ?? values['hash-variant'];
  if (profile !== undefined && !PROFILE_NAMES.includes(profile))
    throw new UsageError(`unknown --profile "${profile}"; use one of ${PROFILE_NAMES.join(', ')}`);
  const mode = values['merkle-mode'] ?? 'rfc6962';
  if (!MERKLE_MODES.includes(mode as MerkleMode)) throw new UsageError(`unknown --merkle-mode "${mode}"`);
  const maxLine =
    values['max-line-bytes'] === undefined ? DEFAULT_MAX_LINE_BYTES : Number(values['max-line-bytes']);
  if (!Number.isSafeInteger(maxLine) || maxLine < 1024)
    throw new UsageError('--max-line-bytes must be an integer ≥ 1024');
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 0 || threads > 64))
    throw new UsageError('--threads must be an integer from 0 to 64');

  const publicKeys: (string | JsonWebKeyLike)[] = [];
  for (const k of values.pubkey ?? []) publicKeys.push(await readText(resolve(io.cwd, k), 'public key'));
  const trusted = await readTrustFiles(values.trust ?? [], io.cwd);
  publicKeys.push(...trusted.publicKeys);
  const anchors: unknown[] = [];
  for (const a of values.anchors ?? []) {
    const lines = readLines([await readText(resolve(io.cwd, a), 'anchors file')], maxLine);
    for await (const l of lines) {
      if (!('text' in l) || l.text.trim() === '') continue;
      try {
        const v = JSON.parse(l.text) as Record<string, unknown>;
        anchors.push('anchor_record' in v ? v.anchor_record : v);
      } catch {
        throw new UsageError(`${a}: line ${l.line} is not JSON`);
      }
    }
  }
  const externalCheckpoints: ExternalCheckpoint[] = [];
  for (const c of values.checkpoint ?? [])
    externalCheckpoints.push({ source: c, note: noteOf(await readText(resolve(io.cwd, c), 'checkpoint')) });
  for (const [i, note] of trusted.checkpoints.entries())
    externalCheckpoints.push({ source: `trust file checkpoint ${i + 1}`, note });
  let tsaTrust: TimestampTrust | undefined;
  const pems: string[] = [...trusted.tsaCerts];
  for (const c of values['tsa-cert'] ?? []) pems.push(await readText(resolve(io.cwd, c), 'TSA certificate'));
  if (pems.length) tsaTrust = { caCertPem: pems.join('\n') };

  const file = resolve(io.cwd, positionals[0]!);
  let pack: EvidencePack | undefined;
  try {
    const s = await stat(file);
    if (s.isDirectory()) {
      pack = await readEvidencePack(file);
      anchors.push(...pack.anchors);
    } else if (!s.isFile()) throw new UsageError(`${positionals[0]} is neither a file nor a folder`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (e instanceof EvidencePackError) throw new UsageError(e.message);
    throw new UsageError(
      `cannot read ${positionals[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }

  if (!pack && (await isCertificateFile(file)))
    return verifyCertificateFile(
      file,
      positionals[0]!,
      {
        publicKeys,
        ...(tsaTrust ? { tsaTrust } : {}),
        allowLocalAnchors: values['insecure-allow-local-anchors'] ?? false,
        strict: values.strict ?? false,
      },
      {
        json: values.json ?? false,
        html: values.html ? resolve(io.cwd, values.html) : undefined,
        outOfBand: externalCheckpoints.length > 0 || values.sidecar !== undefined || anchors.length > 0,
        maxLineBytes: maxLine,
      },
      io,
    );
  let verifier: Verifier;
  try {
    verifier = new Verifier({
      publicKeys,
      anchors,
      externalCheckpoints,
      ...(profile ? { profile } : {}),
      ...(values['merkle-mode'] ? { merkleMode: mode as MerkleMode } : {}),
      ...(tsaTrust ? { tsaTrust } : {}),
      allowLocalAnchors: values['insecure-allow-local-anchors'] ?? false,
      strict: values.strict ?? false,
      ...(values.html ? { keepEvents: HTML_MAX_EVENTS } : {}),
      ...(threads !== undefined ? { threads } : {}),
    });
  } catch (e) {
    throw new UsageError(`a --pubkey could not be loaded: ${(e as Error).message}`);
  }
  if (pack) {
    await verifier.pushAll(readLines([pack.lines.join('\n')], maxLine));
    for (const f of pack.findings) verifier.addFinding(f);
  } else {
    try {
      await verifier.pushBatches(readFileBatches(file, maxLine));
    } catch (e) {
      throw new UsageError(
        `cannot read ${positionals[0]}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  if (values.sidecar) {
    const token = values['sidecar-token'] ?? io.env.VCP_SIDECAR_TOKEN;
    verifier.addExternalCheckpoint(await fetchSidecarCheckpoint(values.sidecar, token, verifier));
  }
  const report: VerificationReport = await verifier.finish();
  report.source = pack
    ? { path: file, kind: 'evidence-pack', events_file: pack.eventsFile, files: pack.files }
    : { path: file, kind: 'file' };
  if (report.input.events === 0 && report.input.lines === 0)
    throw new UsageError(`${positionals[0]} is empty`);
  if (values.html) await writeHtmlReport(resolve(io.cwd, values.html), positionals[0]!, report);
  if (values.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else io.out(renderText(positionals[0]!, report));
  return report.exit_code;
}
