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
import { validateEvent, validateOwnDraft } from '../core/validate.ts';
import { canonicalize, lastCanonicalShape } from '../integrity/canonical.ts';
import type { HashChain } from '../integrity/chain.ts';
import { digestHex } from '../integrity/digest.ts';
import { GENESIS_HASH } from '../integrity/event-hash.ts';
import { shapeMayBreak, structureIssue } from '../integrity/event-shape.ts';
import type { Signer } from '../integrity/sign.ts';
import { attachCanonicalText, policyText } from '../sinks/serialize.ts';
import { checkCallerIds, findForbiddenKey, mayHoldForbiddenKey } from './caller-fields.ts';

/**
 * Bytes of an event's line kept for everything but its header, payload and policy: the frame
 * (`{"header":…,"payload":…,"security":…,"policy_identification":…}`, 60 bytes) and the security
 * block, as the sealer writes it (hashes, chain link, an Ed25519 signature and key id: about
 * 350 bytes) or as it grows later (a worker signer's signature; the sidecar's Merkle fields in an
 * export). So a sealed event's line, even exported, fits `maxEventBytes`.
 */
const LINE_ROOM_BYTES = 1024;

/** Options of {@link createSealer}. */
export interface SealerOptions {
  signer?: Signer;
  chain?: HashChain;
  /**
   * Largest event accepted, in bytes of the JSON line sinks write (header, payload, policy and
   * security; 1 KiB is kept for the security block and fields added after sealing). Default 1 MiB,
   * the longest line `vcp verify` reads by default. Set it to the sidecar's `--max-event` when
   * events go to a sidecar.
   */
  maxEventBytes?: number;
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
      // The event as the line a sink writes must fit: header, payload, policy, the line's frame and
      // room for the security block. UTF-8 needs at most 3 bytes per UTF-16 unit: count exactly
      // only when it could matter.
      const policy = draft.policy_identification === undefined ? '' : policyText(draft.policy_identification);
      const chars = h.length + p.length + policy.length;
      if (chars * 3 + LINE_ROOM_BYTES > maxBytes) {
        const bytes =
          Buffer.byteLength(h) + Buffer.byteLength(p) + Buffer.byteLength(policy) + LINE_ROOM_BYTES;
        if (bytes > maxBytes) {
          return {
            ok: false,
            issues: [
              {
                path: 'payload',
                rule: 'max-size',
                message: `the event takes ${bytes} bytes as a JSON line (header, payload and policy, and ${LINE_ROOM_BYTES} kept for the security block and the line's frame); the limit is ${maxBytes}`,
              },
            ],
          };
        }
      }
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
      if (mayHoldForbiddenKey(input)) {
        const bad = findForbiddenKey(header, 'header') ?? findForbiddenKey(payload, 'payload');
        if (bad) return { ok: false, issues: [bad] };
      }
      // Nesting and key counts the sidecar and `vcp verify` would refuse (header and payload are level 2).
      if (shapeMayBreak(hShape, 2) || shapeMayBreak(pShape, 2)) {
        const shape =
          structureIssue(header, 'header', 2, hFlat) ?? structureIssue(payload, 'payload', 2, pFlat);
        if (shape) return { ok: false, issues: [shape] };
      }
      const security: VcpSecurity = { version: '1.1', event_hash: eventHash, hash_algo: algo };
      if (prev !== undefined) security.prev_hash = prev;
      if (signer) {
        security.signature = signer.sign(eventHash);
        security.sign_algo = 'ED25519';
        security.signing_key_id = signer.keyId;
      }
      chain?.advance(eventHash);
      const event: VcpEvent = {
        header,
        payload,
        security,
        policy_identification: draft.policy_identification,
      };
      attachCanonicalText(event, hFlat, pFlat);
      return { ok: true, event };
    },
  };
}
