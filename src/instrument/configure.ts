/**
 * Process-wide defaults for the capture decorators: which recorder they use
 * and how they summarise arguments when no extractor is given.
 *
 * A decorator resolves its recorder at **call** time, in this order: the
 * call site's `@VcpLogged(..., { recorder })`, the class's
 * `@VcpComponent({ recorder })`, then the global one set here. So
 * `configureVcp` may run after the classes are defined, and tests swap the
 * recorder with one call. With no recorder anywhere, decorated methods run
 * unrecorded: a one-time process warning (`VCP_NO_RECORDER`) and a counter,
 * never an exception in the trading call.
 *
 * The configuration lives on a `Symbol.for` global (with a version, like the
 * trace store) so that a library instrumented with its own copy of this
 * package records through the recorder the application configured.
 */
import { VcpConfigError } from '../core/errors.ts';
import type { ErrorEventType } from '../core/event-types.ts';
import type { VcpRecorder } from '../recorder/types.ts';

/** Limits of the default argument/result summary (no extractor). */
export interface SummaryLimits {
  /** Longest string kept (characters); longer strings are cut and marked. Default 120. */
  maxString: number;
  /** Array items / object keys kept per level. Default 20. */
  maxItems: number;
  /** Object nesting kept. Default 3. */
  maxDepth: number;
}

/** Global settings of the capture decorators. */
export interface VcpConfig {
  /** The default recorder; `undefined` means "not configured" (calls run unrecorded). */
  recorder: VcpRecorder | undefined;
  /** Extra key names redacted from default payloads (added to {@link DEFAULT_REDACT_KEYS}). */
  redactKeys: readonly string[];
  /** Keep the built-in redaction list (default `true`). */
  redactDefaults: boolean;
  /** Limits of the default argument summary. */
  summary: SummaryLimits;
  /** Consulted before the built-in error mapping; return `undefined` to fall through. */
  mapError: ((error: unknown) => ErrorEventType | undefined) | undefined;
}

/** Options of {@link configureVcp}: any subset of {@link VcpConfig}; `recorder: null` removes the recorder. */
export type VcpConfigInput = Partial<Omit<VcpConfig, 'recorder' | 'summary'>> & {
  recorder?: VcpRecorder | null;
  summary?: Partial<SummaryLimits>;
};

/**
 * Key names whose values never appear in a default payload. Matching is
 * case-insensitive on the key with `-` and `_` removed, and a key matches
 * when it *contains* an entry (`accessToken`, `X-Api-Key`, `db_password`).
 */
export const DEFAULT_REDACT_KEYS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'privatekey',
  'credential',
  'signature',
  'sessionid',
  'pin',
  'cvv',
  'iban',
  'ssn',
]);

const DEFAULT_SUMMARY: SummaryLimits = Object.freeze({ maxString: 120, maxItems: 20, maxDepth: 3 });

/** Counters of the capture layer (the recorder keeps its own). */
export interface InstrumentStats {
  /** Decorated calls that ran unrecorded because no recorder was configured. */
  unrecorded: number;
  /** Calls where the recorder threw (the call itself was unaffected). */
  recorderErrors: number;
  /** Extractors that threw or returned something other than an object. */
  extractorErrors: number;
  /**
   * `ERR_*` events not recorded because the same error object was already
   * recorded in the same trace (an inner decorated call, or the decorator
   * before the HTTP middleware): one failure, one ERR event.
   */
  duplicateErrorsSkipped: number;
}

interface SharedConfig {
  version: number;
  config: VcpConfig;
  stats: InstrumentStats;
  /** Normalised redaction terms for the current config (derived). */
  redactTerms: string[];
  warnedNoRecorder: boolean;
  warnedRecorderError: boolean;
}

const CONFIG_VERSION = 2; // 2: stats.duplicateErrorsSkipped
const GLOBAL_KEY = Symbol.for('vcp-instrument.instrument-config');

function freshShared(): SharedConfig {
  const config: VcpConfig = {
    recorder: undefined,
    redactKeys: [],
    redactDefaults: true,
    summary: DEFAULT_SUMMARY,
    mapError: undefined,
  };
  return {
    version: CONFIG_VERSION,
    config,
    stats: { unrecorded: 0, recorderErrors: 0, extractorErrors: 0, duplicateErrorsSkipped: 0 },
    redactTerms: redactTermsOf(config),
    warnedNoRecorder: false,
    warnedRecorderError: false,
  };
}

function sharedConfig(): SharedConfig {
  const g = globalThis as unknown as Record<symbol, SharedConfig | undefined>;
  const existing = g[GLOBAL_KEY];
  if (existing && existing.version === CONFIG_VERSION) return existing;
  const created = freshShared();
  // An incompatible copy keeps its own configuration; ours stays private.
  if (!existing)
    Object.defineProperty(g, GLOBAL_KEY, { value: created, enumerable: false, configurable: false });
  return created;
}

/** @internal The live shared configuration; decorators read it on every call. */
export const shared: SharedConfig = sharedConfig();

/** Normalise a key for redaction matching: lowercase, `-`/`_` removed. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

function redactTermsOf(config: VcpConfig): string[] {
  const list = config.redactDefaults
    ? [...DEFAULT_REDACT_KEYS, ...config.redactKeys]
    : [...config.redactKeys];
  return [...new Set(list.map(normalizeKey).filter((k) => k.length > 0))];
}

function isRecorder(value: unknown): value is VcpRecorder {
  return typeof value === 'object' && value !== null && typeof (value as VcpRecorder).record === 'function';
}

/**
 * Set the global defaults of the capture decorators. Only the given fields
 * change. Throws {@link VcpConfigError} for a value that is not a recorder
 * or bad limits (configuration runs at start-up, not in a trading call).
 */
export function configureVcp(input: VcpConfigInput): void {
  if (typeof input !== 'object' || input === null)
    throw new VcpConfigError('configureVcp expects an options object');
  const next: VcpConfig = { ...shared.config };
  if ('recorder' in input) {
    if (input.recorder === null || input.recorder === undefined) next.recorder = undefined;
    else if (isRecorder(input.recorder)) next.recorder = input.recorder;
    else
      throw new VcpConfigError('configureVcp: `recorder` must have a record() method (see createRecorder)');
  }
  if (input.redactKeys !== undefined) {
    if (!Array.isArray(input.redactKeys) || !input.redactKeys.every((k) => typeof k === 'string')) {
      throw new VcpConfigError('configureVcp: `redactKeys` must be an array of strings');
    }
    next.redactKeys = [...input.redactKeys];
  }
  if (input.redactDefaults !== undefined) next.redactDefaults = input.redactDefaults !== false;
  if (input.summary !== undefined) {
    const s = { ...shared.config.summary, ...input.summary };
    for (const [k, v] of Object.entries(s)) {
      if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 100_000) {
        throw new VcpConfigError(`configureVcp: summary.${k} must be an integer from 1 to 100000`);
      }
    }
    next.summary = Object.freeze(s);
  }
  if ('mapError' in input) {
    if (input.mapError !== undefined && typeof input.mapError !== 'function') {
      throw new VcpConfigError('configureVcp: `mapError` must be a function');
    }
    next.mapError = input.mapError;
  }
  shared.config = next;
  shared.redactTerms = redactTermsOf(next);
}

/** The current global defaults (a snapshot). */
export function getVcpConfig(): Readonly<VcpConfig> {
  return { ...shared.config };
}

/** Back to the defaults: no recorder, default redaction and limits; counters and one-time warnings reset. */
export function resetVcpConfig(): void {
  const fresh = freshShared();
  shared.config = fresh.config;
  shared.redactTerms = fresh.redactTerms;
  shared.stats = fresh.stats;
  shared.warnedNoRecorder = false;
  shared.warnedRecorderError = false;
}

/** Counters of the capture layer since start (or the last {@link resetVcpConfig}). */
export function getInstrumentStats(): InstrumentStats {
  return { ...shared.stats };
}

/** @internal Count an unrecorded call; warn once per process. */
export function noteNoRecorder(): void {
  shared.stats.unrecorded++;
  if (shared.warnedNoRecorder) return;
  shared.warnedNoRecorder = true;
  process.emitWarning(
    'vcp-instrument: a @VcpLogged method ran but no recorder is configured; call configureVcp({ recorder }) at start-up. Calls run unrecorded until then.',
    { code: 'VCP_NO_RECORDER' },
  );
}

/** @internal Count a recorder that threw; warn once per process. */
export function noteRecorderError(error: unknown): void {
  shared.stats.recorderErrors++;
  if (shared.warnedRecorderError) return;
  shared.warnedRecorderError = true;
  let detail = '';
  try {
    detail = error instanceof Error ? `: ${error.message}` : '';
  } catch {
    // unprintable
  }
  process.emitWarning(
    `vcp-instrument: the recorder threw inside record()${detail}; the call went on unrecorded`,
    {
      code: 'VCP_RECORDER_THREW',
    },
  );
}
