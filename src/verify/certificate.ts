/**
 * Verifying an evidence certificate (format `vcp-certificate` v1, written
 * by the console: ui/lib/certificate.ts): a few events that travel without
 * the rest of their log, each with an RFC 6962 inclusion proof to one signed
 * checkpoint, plus that checkpoint's anchor records. Same report model,
 * verdict table and per-event checks as an export (verifier.ts); what
 * differs is how events are bound: by proofs instead of rebuilding the tree.
 *
 * PROVEN means: these events are in the log, unchanged, as of a checkpoint a
 * trusted key signed (and, unless local anchors are accepted, a trusted TSA
 * time-stamped). It does not mean no other events exist: a certificate says
 * nothing about completeness, and its summary says so.
 */
import type { KeyObject } from 'node:crypto';
import { HASH_ALGOS, type HashAlgo, MERKLE_MODES, type MerkleMode } from '../core/enums.ts';
import { VcpValidationError } from '../core/errors.ts';
import { isLowerHex64 } from '../core/hex.ts';
import { verifyCheckpoint } from '../integrity/checkpoint/index.ts';
import { computeEventHash } from '../integrity/event-hash.ts';
import { keyId, loadPublicKey } from '../integrity/keys.ts';
import { type EventView, viewEvent } from '../integrity/normalize.ts';
import { verifySignature } from '../integrity/sign.ts';
import { parseStrictJson } from '../integrity/strict-json.ts';
import { verifyTimestampToken } from '../integrity/tsa-token.ts';
import type { ExternalAnchor } from './checks/anchor.ts';
import type { Coverage } from './checks/checkpoint.ts';
import type { ExternalCheckpoint } from './checks/freshness.ts';
import { checkInclusionProof, type InclusionClaim } from './checks/inclusion-proof.ts';
import { checkSchema } from './checks/schema.ts';
import { classifyLine } from './classify.ts';
import { type Finding, finding } from './findings.ts';
import type { InputLine } from './line-reader.ts';
import {
  countFindings,
  type EventSummary,
  emptyChecks,
  exitCodeOf,
  type LogReport,
  orderFindings,
  type StatementReport,
  type VerificationReport,
} from './report.ts';
import { decideVerdict } from './verdict.ts';
import type { VerifyOptions } from './verifier.ts';

/** The first bytes of a certificate file. */
export const CERTIFICATE_PREFIX = '{"vcp_certificate":';

interface CertEvent {
  line: number;
  event_id?: string;
  hash: string | undefined;
  merkleIndex: unknown;
  claim?: InclusionClaim;
  summary: EventSummary;
}

/** Feed a certificate's lines with {@link push}, then {@link finish}; the same interface as `Verifier`. */
export class CertificateVerifier {
  readonly #opts: VerifyOptions;
  readonly #keys = new Map<string, KeyObject>();
  readonly #findings: Finding[] = [];
  readonly #checks = emptyChecks();
  readonly #events: CertEvent[] = [];
  readonly #ids = new Map<string, number>();
  readonly #types: Record<string, number> = {};
  readonly #anchors: { line: number; value: unknown }[] = [];
  readonly #notes: { line: number; note: unknown }[] = [];
  #meta: Record<string, unknown> | undefined;
  #lines = 0;

  constructor(options: VerifyOptions = {}) {
    this.#opts = options;
    for (const input of options.publicKeys ?? []) {
      const key = loadPublicKey(input);
      this.#keys.set(keyId(key), key);
    }
  }

  /** A certificate proves inclusion, not freshness: out-of-band checkpoints do not apply. */
  addExternalCheckpoint(_checkpoint: ExternalCheckpoint): void {
    this.#findings.push(
      finding(
        'external-checkpoint-other-log',
        'an out-of-band checkpoint was given, but a certificate proves inclusion only: verify a full export for freshness',
      ),
    );
  }

  /** The log the certificate is from (for `--sidecar`). */
  logs(): { origin: string; size: number }[] {
    const origin = typeof this.#meta?.origin === 'string' ? this.#meta.origin : '(certificate)';
    return [{ origin, size: 0 }];
  }

  /** Feed every line of a source. */
  async pushAll(lines: AsyncIterable<InputLine> | Iterable<InputLine>): Promise<void> {
    for await (const l of lines) this.push(l);
  }

  /** Add one line. */
  push(input: InputLine): void {
    this.#lines++;
    if ('tooLong' in input) {
      this.#findings.push(
        finding('line-too-long', `a line of ${input.tooLong} bytes was refused unread`, { line: input.line }),
      );
      return;
    }
    const text = input.text;
    if (text.trim() === '') return;
    const line = input.line;
    if (text.startsWith(CERTIFICATE_PREFIX) || text.startsWith('{"vcp_inclusion":')) {
      let v: Record<string, unknown>;
      try {
        v = parseStrictJson(text, { canonicalNumbers: true }) as Record<string, unknown>;
      } catch (e) {
        const msg = e instanceof VcpValidationError ? (e.issues[0]?.message ?? e.message) : String(e);
        this.#findings.push(finding('unreadable-line', msg, { line }));
        return;
      }
      const keys = Object.keys(v);
      if (keys.length !== 1 || !v[keys[0]!] || typeof v[keys[0]!] !== 'object') {
        this.#findings.push(
          finding('unknown-line', `${keys.join(', ')}: one object field expected`, { line }),
        );
        return;
      }
      if (keys[0] === 'vcp_certificate')
        this.#certificateMeta(v.vcp_certificate as Record<string, unknown>, line);
      else this.#inclusion(v.vcp_inclusion as Record<string, unknown>, line);
      return;
    }
    const rec = classifyLine(text, line);
    if ('code' in rec) {
      this.#findings.push(rec);
      return;
    }
    if (rec.kind === 'checkpoint') this.#notes.push({ line, note: rec.note });
    else if (rec.kind === 'anchor') this.#anchors.push({ line, value: rec.value });
    else if (rec.kind === 'event') this.#event(rec.value, line);
    else
      this.#findings.push(
        finding('bad-metadata', 'an export metadata line inside a certificate: two readings of one file', {
          line,
        }),
      );
  }

  #certificateMeta(meta: Record<string, unknown>, line: number): void {
    if (this.#meta || line !== 1 || meta.format !== 'vcp-certificate' || meta.version !== 1)
      this.#findings.push(
        finding(
          'bad-metadata',
          'a certificate opens with exactly one vcp_certificate line of format "vcp-certificate", version 1',
          { line },
        ),
      );
    this.#meta ??= meta;
  }

  #inclusion(claim: Record<string, unknown>, line: number): void {
    const last = this.#events[this.#events.length - 1];
    if (!last || last.claim) {
      this.#findings.push(
        finding('unknown-line', 'a vcp_inclusion line must directly follow the event it proves', { line }),
      );
      return;
    }
    last.claim = { line, ...claim };
  }

  #event(event: Record<string, unknown>, line: number): void {
    const view: EventView = viewEvent(event)!;
    const id = typeof view.header.event_id === 'string' ? view.header.event_id : undefined;
    const where = { line, ...(id ? { event_id: id } : {}) };
    const out: Finding[] = [];
    const type = typeof view.header.event_type === 'string' ? view.header.event_type : '(none)';
    this.#types[type] = (this.#types[type] ?? 0) + 1;
    const schema = checkSchema(event, view, line, this.#opts.strict ?? false);
    if (!schema.some((f) => f.check === 'schema')) this.#checks.schema.passed++;
    out.push(...schema);
    if (id) {
      const first = this.#ids.get(id);
      if (first !== undefined)
        out.push(finding('duplicate-event-id', `event_id ${id} already appears at line ${first}`, where));
      else this.#ids.set(id, line);
    }
    const sec = view.security ?? {};
    const hash = this.#eventHash(view, sec, where, out);
    // A per-event signature by a trusted key must verify; the checkpoint is what binds the event.
    const kid = typeof sec.signing_key_id === 'string' ? sec.signing_key_id : undefined;
    const key = kid ? this.#keys.get(kid) : undefined;
    if (sec.signature !== undefined && key) {
      if (hash && verifySignature(hash, sec.signature, key)) this.#checks.signature.passed++;
      else
        out.push(
          finding(
            'signature-invalid',
            `the Ed25519 signature by trusted key ${kid} does not verify over event_hash`,
            where,
          ),
        );
    }
    this.#findings.push(...out);
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const summary: EventSummary = { line, origin: '', leaf: -1 };
    for (const k of ['event_id', 'trace_id', 'event_type', 'timestamp_iso', 'symbol'] as const) {
      const v = str(view.header[k]);
      if (v !== undefined) summary[k] = v;
    }
    this.#events.push({
      line,
      ...(id ? { event_id: id } : {}),
      hash,
      merkleIndex: sec.merkle_index,
      summary,
    });
  }

  /** The v1.1 EventHash (certificates are written by this package's console), recomputed and compared. */
  #eventHash(
    view: EventView,
    sec: Record<string, unknown>,
    where: { line: number; event_id?: string },
    out: Finding[],
  ): string | undefined {
    const claimed = sec.event_hash;
    if (!isLowerHex64(claimed)) {
      out.push(
        finding('hash-missing', 'security.event_hash is missing or not 64 lowercase hex characters', where),
      );
      return undefined;
    }
    const algoField = sec.hash_algo ?? view.header.hash_algo ?? 'SHA256';
    const prev = isLowerHex64(sec.prev_hash) ? sec.prev_hash : undefined;
    let recomputed: string;
    try {
      if (!HASH_ALGOS.includes(algoField as HashAlgo))
        throw new Error(`unknown hash_algo ${String(algoField)}`);
      recomputed = computeEventHash(
        { header: view.rawHeader, payload: view.rawPayload },
        { algo: algoField as HashAlgo, ...(prev ? { prevHash: prev } : {}) },
      );
    } catch (e) {
      out.push(finding('hash-mismatch', `cannot recompute the event hash: ${(e as Error).message}`, where));
      return claimed;
    }
    if (recomputed === claimed) this.#checks.event_hash.passed++;
    else
      out.push(
        finding(
          'hash-mismatch',
          `header or payload differs from what was sealed: recomputed ${recomputed.slice(0, 16)}…, recorded ${claimed.slice(0, 16)}…`,
          where,
        ),
      );
    return claimed;
  }

  /** Check the proofs, the checkpoint and the anchors; build the report. */
  async finish(): Promise<VerificationReport> {
    const opts = this.#opts;
    const add = (f: Finding[]) => this.#findings.push(...f);
    const meta = this.#meta ?? {};
    const origin = typeof meta.origin === 'string' ? meta.origin : '(certificate)';
    if (!this.#meta) add([finding('bad-metadata', 'the vcp_certificate line is missing', { line: 1 })]);
    if (this.#keys.size === 0)
      add([
        finding(
          'no-trusted-key',
          'no trusted public key was given (--pubkey): the checkpoint binds nothing, so nothing can be PROVEN',
        ),
      ]);
    if (this.#events.length === 0) add([finding('bad-metadata', 'the certificate holds no event')]);
    const mode: MerkleMode = MERKLE_MODES.includes(meta.merkle_mode as MerkleMode)
      ? (meta.merkle_mode as MerkleMode)
      : 'rfc6962';
    const statements: StatementReport[] = [];
    let coverage: Coverage | undefined;
    let signed: { treeSize: number; rootHex: string; mode: MerkleMode } | undefined;

    if (this.#notes.length !== 1)
      add([
        finding(
          this.#notes.length === 0 ? 'no-checkpoint' : 'bad-metadata',
          this.#notes.length === 0
            ? 'the certificate holds no checkpoint: its events are bound to nothing'
            : `a certificate holds one checkpoint; this one holds ${this.#notes.length}`,
        ),
      ]);
    const cpLine = this.#notes[0];
    if (cpLine && this.#notes.length === 1) {
      const where = { line: cpLine.line, origin };
      const v = verifyCheckpoint(cpLine.note, this.#keys.values());
      if (!v.ok) {
        if (!v.checkpoint) add([finding('checkpoint-malformed', `checkpoint: ${v.reason}`, where)]);
        else if (this.#keys.size > 0) add([finding('checkpoint-untrusted', `checkpoint ${v.reason}`, where)]);
      }
      const cp = v.checkpoint;
      const bad: Finding[] = [];
      if (cp) {
        if (cp.origin !== origin)
          bad.push(
            finding(
              'checkpoint-origin-mismatch',
              `checkpoint is for log "${cp.origin}", the certificate says "${origin}"`,
              where,
            ),
          );
        if (cp.mode !== mode || (meta.tree_size !== undefined && meta.tree_size !== cp.treeSize))
          bad.push(
            finding(
              'checkpoint-metadata-mismatch',
              `the certificate states tree size ${String(meta.tree_size)} in ${mode} mode, the checkpoint signs ${cp.treeSize} in ${cp.mode}`,
              where,
            ),
          );
        if ((meta.partition ?? undefined) !== cp.partition)
          bad.push(
            finding(
              'checkpoint-metadata-mismatch',
              `checkpoint is for partition ${cp.partition ?? '(none)'}, the certificate for ${String(meta.partition ?? '(none)')}`,
              where,
            ),
          );
        add(bad);
        signed = { treeSize: cp.treeSize, rootHex: cp.rootHex, mode: cp.mode };
      }
      const ok = v.ok && bad.length === 0;
      if (v.ok && ok) {
        this.#checks.checkpoint.passed++;
        coverage = {
          treeSize: v.checkpoint.treeSize,
          via: 'checkpoint',
          line: cpLine.line,
          keyId: v.keyId,
          ...(v.checkpoint.time ? { signedAt: v.checkpoint.time } : {}),
        };
      }
      statements.push({
        kind: 'checkpoint',
        line: cpLine.line,
        trusted: ok,
        external: false,
        ...(cp ? { tree_size: cp.treeSize } : {}),
        ...(cp?.time ? { signed_at: cp.time } : {}),
      });
    }

    // Each event: its inclusion proof to the signed tree.
    const leaves: number[] = [];
    for (const ev of this.#events) {
      if (!signed) break;
      const found = checkInclusionProof(ev, ev.claim, signed);
      add(found);
      if (found.length === 0) {
        this.#checks.inclusion.passed++;
        ev.summary.leaf = ev.claim!.leaf_index as number;
        leaves.push(ev.summary.leaf);
      }
    }

    // Anchors: receipts of this checkpoint's root.
    let external: ExternalAnchor | undefined;
    for (const { line, value } of this.#anchors) {
      const r = await this.#anchor(value, line, signed, origin);
      add(r.findings);
      statements.push(r.statement);
      if (r.external && (!external || r.external.treeSize > external.treeSize)) external = r.external;
    }
    if (!external)
      add([
        opts.allowLocalAnchors
          ? finding(
              'local-anchor-accepted',
              `no anchor of ${origin} in this certificate is checked at an external time-stamp authority: accepted because --insecure-allow-local-anchors was given`,
            )
          : finding(
              'external-anchor-missing',
              `no anchor in this certificate is checked at an external time-stamp authority: whoever holds the signing key could have signed another log. Give --tsa-cert to check RFC 3161 tokens (or --insecure-allow-local-anchors for development only)`,
            ),
      ]);
    if (this.#events.length > 0)
      add([
        finding(
          'not-hashed',
          'policy_identification and security are not covered by any hash or signature: they are informational',
        ),
      ]);

    countFindings(this.#checks, this.#findings);
    const verdict = decideVerdict(this.#findings);
    const { findings, omitted } = orderFindings(this.#findings, opts.maxFindings ?? 1000);
    const log: LogReport = {
      origin,
      merkle_mode: mode,
      from: leaves.length ? Math.min(...leaves) : 0,
      events: this.#events.length,
      statements,
      ...(coverage ? { proven_up_to: coverage } : {}),
      ...(external ? { external_anchor: external } : {}),
    };
    const n = this.#events.length;
    const summary =
      verdict === 'INVALID'
        ? `INVALID: this certificate's ${n} event(s) are not shown to be unchanged in the log its checkpoint signs.`
        : verdict === 'UNPROVEN'
          ? `UNPROVEN: nothing was shown to be wrong, but the certificate's ${n} event(s) are not bound to a trusted key or external anchor.`
          : `PROVEN: ${n} event(s) are included, unchanged, in ${origin} at tree size ${coverage?.treeSize}, checkpoint signed${coverage?.signedAt ? ` at ${coverage.signedAt}` : ''} by key ${coverage?.keyId}${external ? `; externally time-stamped at ${external.genTime} (${external.authority})` : ''}. A certificate proves inclusion, not that no other events exist.`;
    return {
      verdict,
      exit_code: exitCodeOf(verdict),
      summary,
      profile: {
        name: 'vcp-1.1',
        producer: 'vcp-instrument evidence certificate (RFC 8785)',
        merkle_mode: mode,
      },
      trusted_keys: [...this.#keys.keys()],
      input: {
        lines: this.#lines,
        events: n,
        anchors: this.#anchors.length,
        checkpoints: this.#notes.length,
        segments: 1,
      },
      logs: [log],
      event_types: this.#types,
      checks: this.#checks,
      findings,
      findings_omitted: omitted,
      ...(opts.keepEvents
        ? {
            events: this.#events.slice(0, opts.keepEvents).map((e) => ({ ...e.summary, origin })),
            events_omitted: Math.max(0, n - opts.keepEvents),
          }
        : {}),
    };
  }

  /** One anchor record: signed by a trusted key over the checkpoint's root and size; its TSA token. */
  async #anchor(
    raw: unknown,
    line: number,
    signed: { treeSize: number; rootHex: string } | undefined,
    origin: string,
  ): Promise<{ findings: Finding[]; statement: StatementReport; external?: ExternalAnchor }> {
    const where = { line, origin };
    const r = raw as Record<string, unknown> | null;
    const out: Finding[] = [];
    const size = Number.isSafeInteger(r?.tree_size) ? (r!.tree_size as number) : undefined;
    const statement: StatementReport = {
      kind: 'anchor',
      line,
      trusted: false,
      external: false,
      ...(size !== undefined ? { tree_size: size } : {}),
    };
    if (!r || typeof r !== 'object' || typeof r.merkle_root !== 'string' || size === undefined)
      return {
        findings: [finding('anchor-malformed', 'anchor record needs merkle_root and tree_size', where)],
        statement,
      };
    const id = typeof r.anchor_id === 'string' ? r.anchor_id : '?';
    if (signed && (size !== signed.treeSize || r.merkle_root !== signed.rootHex))
      out.push(
        finding(
          'anchor-root-mismatch',
          `anchor ${id} is over tree size ${size} and another root than the certificate's checkpoint (${signed.treeSize})`,
          where,
        ),
      );
    const kid = typeof r.signing_key_id === 'string' ? r.signing_key_id : undefined;
    const key = kid ? this.#keys.get(kid) : undefined;
    if (this.#keys.size > 0) {
      if (!key)
        out.push(
          finding(
            'anchor-untrusted',
            `anchor ${id} is signed by key ${kid ?? '(none)'}, which is not trusted`,
            where,
          ),
        );
      else if (!verifySignature(r.merkle_root, r.signature, key))
        out.push(
          finding(
            'anchor-signature-invalid',
            `the signature of anchor ${id} over its merkle_root does not verify`,
            where,
          ),
        );
    }
    let external: ExternalAnchor | undefined;
    const targets = [r.anchor_target, ...(Array.isArray(r.anchor_targets) ? r.anchor_targets : [])].filter(
      (t): t is Record<string, unknown> => !!t && typeof t === 'object',
    );
    for (const t of targets) {
      if (t.type !== 'TSA' || typeof t.proof !== 'string' || t.proof === '') continue;
      if (!this.#opts.tsaTrust) {
        out.push(
          finding(
            'tsa-token-unchecked',
            `anchor ${id} holds an RFC 3161 token from ${String(t.identifier)}; give the TSA's certificate with --tsa-cert to check it`,
            where,
          ),
        );
        continue;
      }
      const v = await verifyTimestampToken(t.proof, r.merkle_root, this.#opts.tsaTrust);
      if (!v.ok)
        out.push(
          finding(
            'tsa-token-invalid',
            `the RFC 3161 token of anchor ${id} does not prove its root: ${v.reason}`,
            where,
          ),
        );
      else if (!v.trusted)
        out.push(
          finding(
            'tsa-token-unchecked',
            `the RFC 3161 token of anchor ${id} is well-formed but its signer does not chain to the given --tsa-cert`,
            where,
          ),
        );
      else
        external = {
          treeSize: size,
          line,
          genTime: v.genTime.toISOString(),
          authority: String(t.identifier ?? v.signerSubject ?? 'TSA'),
        };
    }
    const clean = !out.some((f) => f.code !== 'tsa-token-unchecked');
    if (clean && key) {
      this.#checks.anchor.passed++;
      statement.trusted = true;
    }
    if (clean && external) statement.external = true;
    return { findings: out, statement, ...(clean && external ? { external } : {}) };
  }
}
