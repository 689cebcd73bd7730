/**
 * The recorder's sealing step, off the caller's path: validate the draft,
 * canonicalize header and payload (RFC 8785), check the size, hash (chained
 * when on), sign, and hand the canonical text to the sinks so they write the
 * bytes that were hashed.
 *
 * It computes exactly `sealEvent` (src/integrity/seal.ts); it exists apart
 * because the recorder needs the canonical text (for the size limit and for
 * the sinks) and a verdict instead of an exception. Tests check both give
 * identical events.
 *
 * Beyond `sealEvent`, it refuses what the sidecar would refuse later
 * (caller-given ids, `forbidden-key`: see caller-fields.ts; nesting and key
 * counts: see event-shape.ts), so one bad event never reaches a batch.
 *
 * `seal` never throws: a draft that breaks a rule comes back as `issues`
 * (path + rule + message), and the chain does not advance for it.
 */
import { convertFinancialNumbers } from '../core/builder.ts';
import { type ValidationIssue, VcpCanonicalizationError, VcpValidationError } from '../core/errors.ts';
import type { DraftEvent, VcpEvent, VcpPayload, VcpSecurity } from '../core/types.ts';
import { validateEvent, validateOwnDraft, validatePolicy } from '../core/validate.ts';
import { canonicalize, lastCanonicalShape } from '../integrity/canonical.ts';
import type { HashChain } from '../integrity/chain.ts';
import { digestHex } from '../integrity/digest.ts';
import { GENESIS_HASH } from '../integrity/event-hash.ts';
import { mayBreakStructure, shapeMayBreak, structureIssue } from '../integrity/event-shape.ts';
import { markSealed } from '../integrity/sealed-mark.ts';
import type { Signer } from '../integrity/sign.ts';
import { policyText } from '../sinks/serialize.ts';
import { checkCallerIds, findForbiddenKey, mayHoldForbiddenKey } from './caller-fields.ts';

/** `{"header":` `,"payload":` `,"security":` `}`: the frame of every line; a policy adds its key. */
const FRAME_BYTES = 34;
const POLICY_KEY_BYTES = ',"policy_identification":'.length;
/** An upper bound of the security block the sealer writes unsigned (version, hashes, chain link). */
const UNSIGNED_SECURITY_BOUND = 256;

/**
 * What a policy adds to every line, and why it cannot be sealed if it cannot: one check per policy
 * object (a recorder's policy is never changed after creation, as the sinks' cache of its text
 * assumes too).
 */
const policyVerdicts = new WeakMap<object, { bytes: number } | { issue: ValidationIssue }>();

function policyVerdict(policy: unknown): { bytes: number } | { issue: ValidationIssue } {
  if (policy === undefined) return { bytes: 0 };
  if (policy === null || typeof policy !== 'object') return judgePolicy(policy);
  let verdict = policyVerdicts.get(policy);
  if (verdict === undefined) {
    verdict = judgePolicy(policy);
    policyVerdicts.set(policy, verdict);
  }
  return verdict;
}

/** Why a policy cannot be sealed into events (JSON, forbidden keys, nesting, key counts, schema); undefined when it can. */
export function policyIssue(policy: unknown): ValidationIssue | undefined {
  const verdict = policyVerdict(policy);
  return 'issue' in verdict ? verdict.issue : undefined;
}

function judgePolicy(policy: unknown): { bytes: number } | { issue: ValidationIssue } {
  try {
    const text = policyText(policy as VcpEvent['policy_identification']);
    // Judged as the sidecar reads it: parsed from the text sinks write (a `toJSON`, a non-enumerable or
    // a getter's field is what that text says, not what the object holds).
    const written: unknown = text === undefined ? undefined : JSON.parse(text);
    // The keys and shapes a request body's parse refuses (`vcp verify` refuses such a line too), lone
    // surrogates (refused as `unicode`), and its schema: the sidecar would refuse every event.
    const issue =
      findForbiddenKey(written, 'policy_identification') ??
      (mayBreakStructure(text, 2) ? structureIssue(written, 'policy_identification', 2) : undefined) ??
      // JSON.stringify writes a lone surrogate as a \udXXX escape: only then is a walk needed.
      (SURROGATE_ESCAPE_RE.test(text) ? loneSurrogateIssue(written) : undefined) ??
      validatePolicy(written).errors[0];
    return issue ? { issue } : { bytes: POLICY_KEY_BYTES + Buffer.byteLength(text) };
  } catch (e) {
    // A BigInt or a cycle (JSON.stringify), or a getter that throws.
    return {
      issue: {
        path: 'policy_identification',
        rule: 'readable',
        message: `cannot be written as JSON: ${describe(e).slice(0, 300)}`,
      },
    };
  }
}

// In a `u` regex a well-formed pair is one code point: only lone surrogates match.
const LONE_SURROGATE_RE = /[\ud800-\udfff]/u;
const SURROGATE_ESCAPE_RE = /\\u[dD][89a-fA-F]/;

/** A lone UTF-16 surrogate in a parsed policy's strings (keys included), as the sidecar reports it. */
function loneSurrogateIssue(value: unknown, path = 'policy_identification'): ValidationIssue | undefined {
  if (typeof value === 'string') {
    return !LONE_SURROGATE_RE.test(value)
      ? undefined
      : {
          path,
          rule: 'unicode',
          message: 'a string holds a lone UTF-16 surrogate; audit data must be valid Unicode',
        };
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const at = Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`;
    const found = loneSurrogateIssue(k, at) ?? loneSurrogateIssue(v, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Options of {@link createSealer}. */
export interface SealerOptions {
  signer?: Signer;
  chain?: HashChain;
  /**
   * Largest event accepted, in bytes of the JSON line sinks write (header, payload, security and
   * policy, plus {@link SealerOptions.laterBytes}). Default 1 MiB, the longest line `vcp verify`
   * reads by default. Set it to the sidecar's `--max-event` when events go to a sidecar.
   */
  maxEventBytes?: number;
  /** Bytes the line will gain after sealing (a batch signer's signature fields), counted against `maxEventBytes`. */
  laterBytes?: number;
  /** JS numbers in `trade_data`/`vcp_risk`: `'reject'` (default) or `'convert'` to decimal strings. */
  numbers?: 'reject' | 'convert';
  /**
   * Run `validateEvent` on each draft (default true). `'own-draft'`: the header was built by
   * `draftEvent` here, so only the payload and the caller-set header fields are checked
   * (`validateOwnDraft`). `false` only for drafts trusted code validated already;
   * canonicalization and size are still checked.
   */
  validate?: boolean | 'own-draft';
}

/** Outcome of sealing one draft. */
export type SealResult = { ok: true; event: VcpEvent } | { ok: false; issues: ValidationIssue[] };

/** Seals drafts one at a time, in order. */
export interface Sealer {
  seal(draft: DraftEvent): SealResult;
}

/** `/trade_data/price` → `payload.trade_data.price`. */
function pointerToPath(root: string, pointer: string): string {
  if (!pointer) return root;
  return (
    root +
    pointer
      .split('/')
      .slice(1)
      .map((s) => {
        const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
        return /^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`;
      })
      .join('')
  );
}

function describe(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return 'unprintable error';
  }
}

function sizeIssue(bytes: number, maxBytes: number): ValidationIssue {
  return {
    path: 'payload',
    rule: 'max-size',
    message: `the event takes ${bytes} bytes as a JSON line (header, payload, security and policy); the limit is ${maxBytes}`,
  };
}

/** The canonical text of one part, or the issue that stops it (never throws). */
function canonicalPart(value: unknown, root: 'header' | 'payload'): string | ValidationIssue {
  try {
    return canonicalize(value);
  } catch (e) {
    if (e instanceof VcpCanonicalizationError) {
      return { path: pointerToPath(root, e.path), rule: 'canonical-json', message: e.message };
    }
    // A getter or proxy of the caller's threw while being read.
    return {
      path: root,
      rule: 'readable',
      message: `reading the ${root} threw: ${describe(e).slice(0, 300)}`,
    };
  }
}

/** Make a sealer bound to one chain and one signer. */
export function createSealer(options: SealerOptions = {}): Sealer {
  const { signer, chain } = options;
  const maxBytes = options.maxEventBytes ?? 1024 * 1024;
  const laterBytes = options.laterBytes ?? 0;
  const securityBound = UNSIGNED_SECURITY_BOUND + (signer ? 192 + signer.keyId.length : 0);
  const convert = options.numbers === 'convert';
  const validate = options.validate !== false;
  const ownDraft = options.validate === 'own-draft';

  return {
    seal(draft: DraftEvent): SealResult {
      let payload: VcpPayload = draft.payload;
      try {
        if (convert) payload = convertFinancialNumbers(payload);
      } catch (e) {
        if (e instanceof VcpValidationError) return { ok: false, issues: e.issues };
        return {
          ok: false,
          issues: [{ path: 'payload', rule: 'readable', message: describe(e).slice(0, 300) }],
        };
      }
      const candidate = payload === draft.payload ? draft : { ...draft, payload };
      if (validate) {
        try {
          let errors: ValidationIssue[];
          if (ownDraft) {
            const ids = checkCallerIds(candidate.header as unknown as Record<string, unknown>);
            errors = validateOwnDraft(candidate);
            if (ids.length > 0) errors = ids.concat(errors);
          } else errors = validateEvent(candidate).errors;
          if (errors.length > 0) return { ok: false, issues: errors };
        } catch (e) {
          return {
            ok: false,
            issues: [{ path: 'payload', rule: 'readable', message: describe(e).slice(0, 300) }],
          };
        }
      }
      const header = draft.header;
      const h = canonicalPart(header, 'header');
      const hShape = lastCanonicalShape();
      const p = canonicalPart(payload, 'payload');
      const pShape = lastCanonicalShape();
      if (typeof h !== 'string' || typeof p !== 'string') {
        const issues: ValidationIssue[] = [];
        if (typeof h !== 'string') issues.push(h);
        if (typeof p !== 'string') issues.push(p);
        return { ok: false, issues };
      }
      const policy = policyVerdict(draft.policy_identification);
      if ('issue' in policy) return { ok: false, issues: [policy.issue] };
      const algo = header.hash_algo;
      let input = h + p;
      const prev = chain?.prev;
      if (prev !== undefined && prev !== GENESIS_HASH) input += prev;
      // Hashing flattens `input` (the canonical text is a rope of many small pieces); the
      // slices below then share that one flat copy, so the sinks never flatten it again.
      const eventHash = digestHex(algo, input);
      const hFlat = input.slice(0, h.length);
      const pFlat = input.slice(h.length, h.length + p.length);
      // A substring test on the (now flat) text; the walk runs only on a hit.
      // Both walks read the caller's objects again: a getter that throws now is an issue, not a throw.
      try {
        if (mayHoldForbiddenKey(input)) {
          const bad = findForbiddenKey(header, 'header') ?? findForbiddenKey(payload, 'payload');
          if (bad) return { ok: false, issues: [bad] };
        }
        // Nesting and key counts the sidecar and `vcp verify` would refuse (header and payload are level 2).
        if (shapeMayBreak(hShape, 2) || shapeMayBreak(pShape, 2)) {
          const shape = structureIssue(header, 'header', 2) ?? structureIssue(payload, 'payload', 2);
          if (shape) return { ok: false, issues: [shape] };
        }
      } catch (e) {
        return {
          ok: false,
          issues: [{ path: 'payload', rule: 'readable', message: describe(e).slice(0, 300) }],
        };
      }
      const security: VcpSecurity = { version: '1.1', event_hash: eventHash, hash_algo: algo };
      if (prev !== undefined) security.prev_hash = prev;
      if (signer) {
        security.signature = signer.sign(eventHash);
        security.sign_algo = 'ED25519';
        security.signing_key_id = signer.keyId;
      }
      // The event as the line a sink writes must fit. UTF-8 needs at most 3 bytes per UTF-16 unit, and
      // the security block is bounded: count exactly only when it could matter.
      const fixedBytes = FRAME_BYTES + policy.bytes + laterBytes;
      if ((h.length + p.length) * 3 + fixedBytes + securityBound > maxBytes) {
        const bytes =
          Buffer.byteLength(hFlat) +
          Buffer.byteLength(pFlat) +
          Buffer.byteLength(JSON.stringify(security)) +
          fixedBytes;
        if (bytes > maxBytes) return { ok: false, issues: [sizeIssue(bytes, maxBytes)] };
      }
      chain?.advance(eventHash);
      const event: VcpEvent = {
        header,
        payload,
        security,
        policy_identification: draft.policy_identification,
      };
      markSealed(event, {
        headerJcs: hFlat,
        payloadJcs: pFlat,
        eventHash,
        algo,
        prevHash: prev,
      });
      return { ok: true, event };
    },
  };
}
