/**
 * Sidecar options: every one settable by a command-line flag and by an
 * environment variable (flags win). One table drives parsing, defaults and
 * the usage text, so the three cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { TIER_PROFILES, TIERS, type Tier } from '../core/enums.ts';
import { VcpConfigError } from '../core/errors.ts';
import { isValidPolicyId } from '../core/policy.ts';
import { loadPublicKeyFile, publicKeyBytes } from '../integrity/keys.ts';
import { type KafkaIngest, parseKafkaIngestUrl } from './cluster/ingest-url.ts';

/** Limits that protect the sidecar from oversized or abusive requests. */
export interface SidecarLimits {
  /** Largest request body, bytes (413 beyond). */
  maxBodyBytes: number;
  /** Most events in one request (413 beyond). */
  maxBatchEvents: number;
  /** Largest single event as stored, bytes (413 beyond). */
  maxEventBytes: number;
  /** Most events waiting for their fsync at once (429 beyond). */
  maxQueueEvents: number;
}

/** Resolved sidecar configuration. */
export interface SidecarConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Absolute path of the data folder. */
  dataDir: string;
  /** Bearer token; required when `host` is not a loopback address. */
  token: string | undefined;
  tier: Tier;
  /** Scheduled anchoring interval (default: the tier's). */
  anchorIntervalMs: number;
  /** Conformance warnings are refused with 400. */
  strict: boolean;
  /** `policy_id` written into anchor records. */
  policyId: string;
  /** Private key text (PEM, JWK or hex) from VCP_SIGNING_KEY. Never logged. */
  signingKey: string | undefined;
  /** Path of a private key file. */
  signingKeyFile: string | undefined;
  limits: SidecarLimits;
  /** Segment rotation size of the file store, bytes. */
  segmentBytes: number;
  /** How often the file store rereads its segments and checks them against the anchored roots, ms (0: never). */
  scrubIntervalMs: number;
  /** Anchor once more during graceful shutdown. */
  anchorOnExit: boolean;
  /** Anchor target specs (`tsa:<url>`, `postgres://…`, `file`); empty: the local file target. */
  anchorTargets: string[];
  /** CA certificate(s) a TSA must chain to (PEM file). */
  tsaCaCertFile: string | undefined;
  /** TSA certificate to pin (PEM file). */
  tsaCertFile: string | undefined;
  /** Event store: `file` (the data folder) or a `postgres://` URL. */
  store: string;
  /** Threads that parse, validate and hash large request bodies (0: all on the HTTP thread). */
  ingestThreads: number;
  /**
   * Where events come from: undefined for HTTP (`POST /vcp/log`, the default),
   * or a Kafka topic consumed in a consumer group (cluster mode: one tree per
   * partition; see cluster/README.md).
   */
  ingest: KafkaIngest | undefined;
  /** Serve the auditor's console at `/console` (off by default). */
  console: boolean;
  /** Ed25519 public key (raw, hex) the console pins for checking checkpoints in the browser; default: the sidecar's own. */
  consolePublicKeyHex: string | undefined;
}

type Kind = 'string' | 'int' | 'bytes' | 'duration' | 'bool' | 'tier' | 'path';

interface OptionSpec {
  flag: string;
  env: string;
  kind: Kind;
  help: string;
  default?: string;
}

/** Every option: flag name (as `--flag`), environment variable, kind, help text, default. */
export const SIDECAR_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'port',
    env: 'VCP_SIDECAR_PORT',
    kind: 'int',
    help: 'TCP port (0: any free port)',
    default: '8080',
  },
  { flag: 'host', env: 'VCP_SIDECAR_HOST', kind: 'string', help: 'address to bind', default: '127.0.0.1' },
  { flag: 'data-dir', env: 'VCP_SIDECAR_DATA_DIR', kind: 'path', help: 'data folder', default: 'vcp-data' },
  {
    flag: 'token',
    env: 'VCP_SIDECAR_TOKEN',
    kind: 'string',
    help: 'bearer token (≥ 16 chars; prefer the env variable or --token-file: flags show in ps)',
  },
  { flag: 'token-file', env: 'VCP_SIDECAR_TOKEN_FILE', kind: 'path', help: 'file holding the bearer token' },
  {
    flag: 'tier',
    env: 'VCP_SIDECAR_TIER',
    kind: 'tier',
    help: 'SILVER | GOLD | PLATINUM',
    default: 'SILVER',
  },
  {
    flag: 'anchor-interval',
    env: 'VCP_SIDECAR_ANCHOR_INTERVAL',
    kind: 'duration',
    help: "anchor this often (e.g. 10m, 1h; default: the tier's 24h/1h/10m)",
  },
  { flag: 'strict', env: 'VCP_SIDECAR_STRICT', kind: 'bool', help: 'refuse v1.1 conformance gaps (400)' },
  {
    flag: 'policy-id',
    env: 'VCP_SIDECAR_POLICY_ID',
    kind: 'string',
    help: 'policy_id of anchor records',
    default: 'local:vcp-sidecar:default',
  },
  {
    flag: 'signing-key-file',
    env: 'VCP_SIGNING_KEY_FILE',
    kind: 'path',
    help: 'Ed25519 key (PEM/JWK/hex); also VCP_SIGNING_KEY; default: <data-dir>/signing.key, made on first start',
  },
  {
    flag: 'max-body',
    env: 'VCP_SIDECAR_MAX_BODY',
    kind: 'bytes',
    help: 'largest request body',
    default: '8MiB',
  },
  {
    flag: 'max-batch',
    env: 'VCP_SIDECAR_MAX_BATCH',
    kind: 'int',
    help: 'most events per request',
    default: '10000',
  },
  {
    flag: 'max-event',
    env: 'VCP_SIDECAR_MAX_EVENT',
    kind: 'bytes',
    help: 'largest event',
    default: '128KiB',
  },
  {
    flag: 'max-queue',
    env: 'VCP_SIDECAR_MAX_QUEUE',
    kind: 'int',
    help: 'most events awaiting fsync (429 beyond)',
    default: '100000',
  },
  {
    flag: 'segment-size',
    env: 'VCP_SIDECAR_SEGMENT_SIZE',
    kind: 'bytes',
    help: 'rotate log segments at this size',
    default: '64MiB',
  },
  {
    flag: 'scrub-interval',
    env: 'VCP_SIDECAR_SCRUB_INTERVAL',
    kind: 'duration',
    help: 'reread the file store and check it against the anchored roots this often (0: never)',
    default: '1h',
  },
  {
    flag: 'anchor-on-exit',
    env: 'VCP_SIDECAR_ANCHOR_ON_EXIT',
    kind: 'bool',
    help: 'anchor once more on shutdown',
  },
  {
    flag: 'anchor',
    env: 'VCP_SIDECAR_ANCHOR',
    kind: 'string',
    help: 'anchor targets, comma-separated: tsa:<url>, postgres://…, file (default file: local, not external)',
  },
  {
    flag: 'tsa-ca-cert',
    env: 'VCP_SIDECAR_TSA_CA_CERT',
    kind: 'path',
    help: 'PEM of the CA a TSA must chain to',
  },
  { flag: 'tsa-cert', env: 'VCP_SIDECAR_TSA_CERT', kind: 'path', help: 'PEM of the TSA certificate to pin' },
  {
    flag: 'store',
    env: 'VCP_SIDECAR_STORE',
    kind: 'string',
    help: 'event store: file (in --data-dir) or a postgres:// URL',
    default: 'file',
  },
  {
    flag: 'ingest-threads',
    env: 'VCP_SIDECAR_INGEST_THREADS',
    kind: 'int',
    help: 'threads that parse, validate and hash request bodies of 16KiB or more (0: the HTTP thread does; default 1 with 2+ cores)',
  },
  {
    flag: 'ingest',
    env: 'VCP_SIDECAR_INGEST',
    kind: 'string',
    help: 'http (POST /vcp/log), or kafka://<host:port>[,…]/<topic>?group=<id>: cluster mode, one tree per partition',
    default: 'http',
  },
  {
    flag: 'console',
    env: 'VCP_SIDECAR_CONSOLE',
    kind: 'bool',
    help: "serve the auditor's console at /console (same token and Host rules as the API; docs/console.md)",
  },
  {
    flag: 'console-pubkey',
    env: 'VCP_SIDECAR_CONSOLE_PUBKEY',
    kind: 'path',
    help: "public key the console pins to check checkpoints in the browser (default: the sidecar's own)",
  },
];

/** `parseArgs` option definitions for {@link SIDECAR_OPTIONS}. */
export function sidecarParseArgsOptions(): Record<string, { type: 'string' | 'boolean' }> {
  const out: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const o of SIDECAR_OPTIONS) out[o.flag] = { type: o.kind === 'bool' ? 'boolean' : 'string' };
  return out;
}

/** The options part of the usage text. */
export function sidecarOptionsHelp(): string {
  const rows = SIDECAR_OPTIONS.map((o) => {
    const left = `  --${o.flag}${o.kind === 'bool' ? '' : ' <v>'}`;
    const def = o.default ? ` (default ${o.default})` : '';
    return `${left.padEnd(24)} ${o.help}${def}\n${''.padEnd(25)} env ${o.env}`;
  });
  return rows.join('\n');
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};
const DURATIONS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function where(o: OptionSpec, fromFlag: boolean): string {
  return fromFlag ? `--${o.flag}` : o.env;
}

/** A size as the flags take it (`8MiB`, `512KiB`, `65536`) in bytes; `name` names the setting in the error. */
export function parseSize(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new VcpConfigError(`${name} must be a size like 8MiB, 512KiB or 65536 (got "${text.trim()}")`);
  return Math.floor(Number(m[1]) * unit);
}

function parseValue(o: OptionSpec, raw: string | boolean, fromFlag: boolean): string | number | boolean {
  const name = where(o, fromFlag);
  if (o.kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    throw new VcpConfigError(`${name} must be true or false (got "${raw}")`);
  }
  const text = String(raw).trim();
  switch (o.kind) {
    case 'int': {
      if (!/^\d{1,15}$/.test(text))
        throw new VcpConfigError(`${name} must be a non-negative integer (got "${text}")`);
      return Number(text);
    }
    case 'bytes':
      return parseSize(text, name);
    case 'duration': {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
      const unit = m ? DURATIONS[m[2]!.toLowerCase()] : undefined;
      if (!m || unit === undefined)
        throw new VcpConfigError(`${name} must be a duration like 10m, 1h, 30s or 500ms (got "${text}")`);
      return Math.floor(Number(m[1]) * unit);
    }
    case 'tier': {
      const t = text.toUpperCase();
      if (!TIERS.includes(t as Tier))
        throw new VcpConfigError(`${name} must be one of ${TIERS.join(', ')} (got "${text}")`);
      return t;
    }
    default:
      return text;
  }
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Resolve the configuration from parsed flags (names as in {@link SIDECAR_OPTIONS})
 * and the environment; relative paths are taken from `cwd`. Throws
 * `VcpConfigError` naming the flag or variable for any bad value.
 */
export function resolveSidecarConfig(
  flags: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): SidecarConfig {
  const v: Record<string, string | number | boolean | undefined> = {};
  for (const o of SIDECAR_OPTIONS) {
    const flag = flags[o.flag];
    const fromEnv = env[o.env];
    if (flag !== undefined) v[o.flag] = parseValue(o, flag, true);
    else if (fromEnv !== undefined && fromEnv.trim() !== '') v[o.flag] = parseValue(o, fromEnv, false);
    else if (o.default !== undefined) v[o.flag] = parseValue(o, o.default, true);
  }
  const abs = (p: unknown) => (typeof p === 'string' ? (isAbsolute(p) ? p : resolve(cwd, p)) : undefined);

  const port = v.port as number;
  if (port > 65535) throw new VcpConfigError(`port ${port} is out of range (0–65535)`);
  const host = v.host as string;

  let token = v.token as string | undefined;
  const tokenFile = abs(v['token-file']);
  if (token === undefined && tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (e) {
      throw new VcpConfigError(
        `cannot read the token file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
  }
  if (token !== undefined && token.length < 16) {
    throw new VcpConfigError('the bearer token must be at least 16 characters long');
  }
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new VcpConfigError('the bearer token must be printable ASCII without spaces');
  }
  if (!isLoopbackHost(host) && token === undefined) {
    throw new VcpConfigError(
      `refusing to listen on ${host} without a bearer token: anyone who can reach it could write to the audit log. ` +
        'Set VCP_SIDECAR_TOKEN (or --token-file), or bind 127.0.0.1.',
    );
  }

  const tier = v.tier as Tier;
  const anchorIntervalMs =
    (v['anchor-interval'] as number | undefined) ?? TIER_PROFILES[tier].anchorIntervalMs;
  if (anchorIntervalMs < 1000) throw new VcpConfigError('the anchor interval must be at least 1s');
  // Node timers hold at most 2^31-1 ms (24.8 days); longer would fire at once.
  if (anchorIntervalMs > 24 * 86_400_000) throw new VcpConfigError('the anchor interval must be at most 24d');

  const policyId = v['policy-id'] as string;
  if (!isValidPolicyId(policyId)) {
    throw new VcpConfigError(
      `policy id "${policyId}" must be <reverse-domain>:<local-id> or local:<org>:<id>`,
    );
  }

  const limits: SidecarLimits = {
    maxBodyBytes: v['max-body'] as number,
    maxBatchEvents: v['max-batch'] as number,
    maxEventBytes: v['max-event'] as number,
    maxQueueEvents: v['max-queue'] as number,
  };
  if (limits.maxBodyBytes < 1024) throw new VcpConfigError('max-body must be at least 1KiB');
  if (limits.maxEventBytes < 1024) throw new VcpConfigError('max-event must be at least 1KiB');
  if (limits.maxBatchEvents < 1) throw new VcpConfigError('max-batch must be at least 1');
  if (limits.maxQueueEvents < limits.maxBatchEvents) {
    throw new VcpConfigError(
      `max-queue (${limits.maxQueueEvents}) must be at least max-batch (${limits.maxBatchEvents})`,
    );
  }
  const segmentBytes = v['segment-size'] as number;
  if (segmentBytes < 4096) throw new VcpConfigError('segment-size must be at least 4KiB');
  const scrubIntervalMs = v['scrub-interval'] as number;
  if (scrubIntervalMs > 24 * 86_400_000)
    throw new VcpConfigError('scrub-interval must be at most 24d (0: never)');

  const signingKey = env.VCP_SIGNING_KEY?.trim() ? env.VCP_SIGNING_KEY : undefined;
  return {
    host,
    port,
    dataDir: abs(v['data-dir'])!,
    token,
    tier,
    anchorIntervalMs,
    strict: (v.strict as boolean | undefined) ?? false,
    ingestThreads: ingestThreads(v['ingest-threads'] as number | undefined),
    policyId,
    signingKey,
    signingKeyFile: abs(v['signing-key-file']),
    limits,
    segmentBytes,
    scrubIntervalMs,
    anchorOnExit: (v['anchor-on-exit'] as boolean | undefined) ?? false,
    anchorTargets: String(v.anchor ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    tsaCaCertFile: abs(v['tsa-ca-cert']),
    tsaCertFile: abs(v['tsa-cert']),
    store: storeSpec(v.store as string),
    ingest: ingestSpec(v.ingest as string),
    console: (v.console as boolean | undefined) ?? false,
    consolePublicKeyHex: consoleKey(abs(v['console-pubkey'])),
  };
}

function consoleKey(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return publicKeyBytes(loadPublicKeyFile(path)).toString('hex');
  } catch (e) {
    throw new VcpConfigError(`--console-pubkey ${path}: ${(e as Error).message}`);
  }
}

function ingestSpec(spec: string): KafkaIngest | undefined {
  const s = spec.trim();
  if (s === 'http') return undefined;
  if (/^kafka:\/\//i.test(s)) return parseKafkaIngestUrl(s);
  throw new VcpConfigError(
    `--ingest must be http or kafka://<host:port>[,…]/<topic>?group=<id> (got "${s.slice(0, 120)}")`,
  );
}

function storeSpec(spec: string): string {
  const s = spec.trim();
  if (s === 'file' || s.startsWith('postgres://') || s.startsWith('postgresql://')) return s;
  throw new VcpConfigError(
    `--store must be file or a postgres:// URL (got "${s.replace(/\/\/[^@/]*@/, '//…@')}")`,
  );
}

/** `--ingest-threads`: as given (0–64), else one thread when the machine has two cores or more. */
function ingestThreads(given: number | undefined): number {
  if (given === undefined) return availableParallelism() >= 2 ? 1 : 0;
  if (given < 0 || given > 64) throw new VcpConfigError('ingest-threads must be between 0 and 64');
  return given;
}
