/**
 * The offline verifier: reads an export line by line, runs the small checks
 * in `checks/` over each record, and hands every finding to `verdict.ts`.
 * Memory: one line at a time, plus per event a leaf in its log's tree, its
 * line number, id and hash (for the duplicate and chain checks).
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { MerkleMode } from '../core/enums.ts';
import { VcpConfigError } from '../core/errors.ts';
import { UuidTable } from '../core/word-key-table.ts';
import { keyId, loadPublicKey, type PublicKeyInput } from '../integrity/keys.ts';
import { type EventView, viewEvent } from '../integrity/normalize.ts';
import { parseLossless } from '../integrity/python-json.ts';
import type { TimestampTrust } from '../integrity/tsa-token.ts';
import { checkAnchor, type ExternalAnchor } from './checks/anchor.ts';
import { ChainCheck } from './checks/chain.ts';
import { type Coverage, checkCheckpointNote } from './checks/checkpoint.ts';
import { checkCompleteness } from './checks/completeness.ts';
import { matchingProfile } from './checks/event-hash.ts';
import { checkFreshness, type ExternalCheckpoint } from './checks/freshness.ts';
import { SignatureCheck } from './checks/signature.ts';
import { classifyLine } from './classify.ts';
import { type AnalysisContext, analyzeEvent, type EventAnalysis } from './event-analysis.ts';
import { type Finding, finding } from './findings.ts';
import { type InputLine, type LineBatch, linesOf } from './line-reader.ts';
import { AnalysisPool, analyzeLines, type LineResult } from './parallel.ts';
import { PROFILE_NAMES, PROFILES, type Profile, profileByName } from './profiles.ts';
import {
  countFindings,
  type EventSummary,
  emptyChecks,
  exitCodeOf,
  type LogReport,
  orderFindings,
  type StatementReport,
  summarize,
  type VerificationReport,
} from './report.ts';
import { Segment } from './segment.ts';
import { decideVerdict } from './verdict.ts';

/** Options of {@link Verifier}. */
export interface VerifyOptions {
  /** Trusted public keys (PEM, JWK, hex, KeyObject). Without one, nothing is PROVEN. */
  publicKeys?: PublicKeyInput[];
  /** Anchor records from elsewhere (an `--anchors` file); they join the segment of their partition. */
  anchors?: unknown[];
  /** Trusted checkpoints obtained out of band (freshness). */
  externalCheckpoints?: ExternalCheckpoint[];
  /**
   * Hashing and field convention (see `profiles.ts`); default: detected from
   * the first event (the first profile of its form its hash matches), and named in the report.
   */
  profile?: string;
  /** Tree mode of segments whose metadata does not say (default `rfc6962`). */
  merkleMode?: MerkleMode;
  /** Trust for RFC 3161 tokens (`--tsa-cert`). Without it tokens are unchecked. */
  tsaTrust?: TimestampTrust;
  /** Accept logs no external anchor covers (development only; loudly reported). */
  allowLocalAnchors?: boolean;
  /** v1.1 conformance gaps are INVALID instead of notes. */
  strict?: boolean;
  /** Most findings kept in the report (default 1000); the verdict counts all. */
  maxFindings?: number;
  /** Keep a summary of up to this many events for timelines (default 0: none). */
  keepEvents?: number;
  /**
   * Worker threads that parse and analyse events beside the main thread (default: one per core, at most 4;
   * 0: none). Results are applied in input order: the report is the same with or without them.
   */
  threads?: number;
  /** Lines read on the main thread before the threads start (default 20 000: short inputs never start them). */
  threadsAfterLines?: number;
}

/** Batches of lines in flight to the threads (bounds memory: a batch is 2 048 lines). */
const BATCHES_IN_FLIGHT = 6;

/** Feed lines in order with {@link Verifier.push}, then {@link Verifier.finish}. */
export class Verifier {
  readonly #opts: VerifyOptions;
  readonly #keys = new Map<string, KeyObject>();
  readonly #findings: Finding[] = [];
  readonly #checks = emptyChecks();
  readonly #segments: Segment[] = [];
  readonly #ids = new UuidTable({ caseInsensitive: false }); // event id → line, ids compared as strings
  readonly #chain = new ChainCheck();
  readonly #signatures: SignatureCheck;
  readonly #types: Record<string, number> = {};
  #lines = 0;
  #linesOnThreads = 0;
  #threadFailure: Error | undefined;
  #events = 0;
  #anchors = 0;
  #checkpoints = 0;
  #foreignNoted = false;
  #profile: Profile | undefined;
  readonly #external: ExternalCheckpoint[] = [];
  readonly #summaries: EventSummary[] = [];
  #summariesOmitted = 0;

  constructor(options: VerifyOptions = {}) {
    this.#opts = options;
    for (const input of options.publicKeys ?? []) {
      const key = loadPublicKey(input); // throws VcpCryptoError: a bad trusted key is a usage error
      this.#keys.set(keyId(key), key);
    }
    this.#signatures = new SignatureCheck(this.#keys);
  }

  /** Add one input line (or an over-long line's marker). */
  push(input: InputLine): void {
    this.#lines++;
    if ('tooLong' in input) {
      this.#add([
        finding('line-too-long', `a line of ${input.tooLong} bytes was refused unread`, { line: input.line }),
      ]);
      return;
    }
    if (input.text.trim() === '') return;
    const rec = classifyLine(input.text, input.line);
    if ('code' in rec) {
      this.#add([rec]);
      return;
    }
    switch (rec.kind) {
      case 'meta':
        this.#startSegment(rec.value, input.line);
        return;
      case 'checkpoint':
        this.#checkpoints++;
        this.#current().signed++;
        this.#current().checkpoints.push({ line: input.line, value: rec.note });
        return;
      case 'anchor':
        this.#anchors++;
        this.#current().anchors.push({ line: input.line, value: rec.value });
        return;
      case 'event':
        this.#event(rec.value, input.line, input.text, rec.canonical);
    }
  }

  /** Add a finding made outside the line checks (e.g. about an evidence pack's files). */
  addFinding(f: Finding): void {
    this.#findings.push(f);
  }

  /** Add a trusted checkpoint obtained out of band (e.g. fetched once the export's size is known). */
  addExternalCheckpoint(checkpoint: ExternalCheckpoint): void {
    this.#external.push(checkpoint);
  }

  /** The logs read so far: origin, partition and leaves present (from leaf 0 of the log). */
  logs(): { origin: string; partition?: number; size: number }[] {
    return this.#segments.map((s) => ({
      origin: s.origin,
      ...(s.partition !== undefined ? { partition: s.partition } : {}),
      size: s.from + s.size,
    }));
  }

  /** Lines that worker threads analysed (0 when none ran; see `threads`). */
  get linesOnThreads(): number {
    return this.#linesOnThreads;
  }

  /** Why the worker threads stopped, if they failed (the lines were then analysed on this thread). */
  get threadFailure(): Error | undefined {
    return this.#threadFailure;
  }

  /** Feed every line of an async source, in order, on this thread. */
  async pushAll(lines: AsyncIterable<InputLine> | Iterable<InputLine>): Promise<void> {
    for await (const l of lines) this.push(l);
  }

  /**
   * Feed batches of lines (`readFileBatches`); once the input proves long, worker threads parse and
   * analyse them (see `threads`) while this thread applies their results in input order.
   */
  async pushBatches(batches: AsyncIterable<LineBatch> | Iterable<LineBatch>): Promise<void> {
    const threads = this.#opts.threads ?? Math.min(4, availableParallelism());
    const after = this.#opts.threadsAfterLines ?? 20_000;
    let pool: AnalysisPool | undefined;
    let poolFailed = false;
    const queue: { batch: LineBatch; results: Promise<LineResult[]> }[] = [];
    // Apply finished batches in order, down to `keep` in flight; a failed thread's batches are analysed here.
    const drain = async (keep: number) => {
      while (queue.length > keep) {
        const { batch, results: pending } = queue.shift()!;
        let results: LineResult[];
        try {
          results = await pending;
        } catch (e) {
          this.#threadFailure ??= e as Error;
          poolFailed = true;
          keep = 0;
          results = analyzeLines(linesOf(batch), this.#profile!, this.#analysisContext());
        }
        if (!poolFailed) this.#linesOnThreads += results.length;
        for (const r of results) this.#applyLine(r);
      }
      if (poolFailed && pool) {
        await pool.close();
        pool = undefined;
      }
    };
    try {
      for await (const batch of batches) {
        if (!pool) {
          for (const l of linesOf(batch)) this.push(l);
          if (threads > 0 && !poolFailed && this.#profile && this.#lines >= after)
            pool = new AnalysisPool(threads, this.#profile, this.#analysisContext());
          continue;
        }
        const results = pool.run(batch);
        results.catch(() => {}); // awaited in order by drain(); a failure there falls back to this thread
        queue.push({ batch, results });
        await drain(BATCHES_IN_FLIGHT);
      }
      await drain(0);
    } finally {
      await pool?.close();
    }
  }

  /** A line's result from {@link analyzeLines}: an event to apply in order, or a line to handle here. */
  #applyLine(r: LineResult): void {
    if ('input' in r) {
      this.push(r.input);
      return;
    }
    this.#lines++;
    this.#applyEvent(r.event);
  }

  #current(): Segment {
    if (this.#segments.length === 0) this.#startSegment(undefined, undefined);
    return this.#segments[this.#segments.length - 1]!;
  }

  #startSegment(meta: Record<string, unknown> | undefined, line: number | undefined): void {
    const seg = new Segment(meta, line, this.#opts.merkleMode ?? 'rfc6962', this.#segments.length);
    if (this.#segments.some((s) => s.origin === seg.origin && s.partition === seg.partition))
      seg.findings.push(
        finding(
          'bad-metadata',
          `a second segment for log ${seg.origin}: one export holds each log once`,
          line !== undefined ? { line } : {},
        ),
      );
    this.#segments.push(seg);
  }

  /** The profile of this input: fixed by `--profile`, else detected from its first event. */
  #profileFor(view: EventView, text: string): Profile {
    if (this.#profile) return this.#profile;
    const named = this.#opts.profile;
    if (named) {
      const p = profileByName(named);
      if (!p) throw new VcpConfigError(`unknown profile "${named}"; use one of ${PROFILE_NAMES.join(', ')}`);
      this.#profile = p;
      return p;
    }
    // Detected from the data, fixed at the first event some profile's hash matches; until then (an edited
    // first event) the first profile of the event's form that finds a hash in it judges the event.
    const lossless = parseLossless(text) as Record<string, unknown>;
    const match = matchingProfile(view, lossless);
    if (match) {
      this.#profile = match;
      return match;
    }
    const ofForm = PROFILES.filter((p) => p.form === view.form);
    return ofForm.find((p) => typeof p.facts(view, lossless).claimedHash === 'string') ?? ofForm[0]!;
  }

  #event(
    event: Record<string, unknown>,
    line: number,
    text: string,
    canonical: readonly [string, string] | undefined,
  ): void {
    const view = viewEvent(event)!;
    const profile = this.#profileFor(view, text);
    this.#applyEvent(analyzeEvent(event, view, line, text, profile, this.#analysisContext(), canonical));
  }

  /** What {@link analyzeEvent} needs, here or on a worker thread. */
  #analysisContext(): AnalysisContext {
    return {
      keys: this.#keys,
      strict: this.#opts.strict ?? false,
      summaries: (this.#opts.keepEvents ?? 0) > 0,
    };
  }

  /** The in-order part of checking an event: ids, chain, signature bookkeeping, the tree. */
  #applyEvent(a: EventAnalysis): void {
    this.#events++;
    const { line } = a;
    const where = { line, ...(a.id ? { event_id: a.id } : {}) };
    const out: Finding[] = [];
    if (a.form === 'PascalCase' && !this.#foreignNoted) {
      this.#foreignNoted = true;
      out.push(
        finding(
          'foreign-form',
          'PascalCase events (another producer) are read through the compatibility view',
          { line },
        ),
      );
    }
    this.#types[a.type] = (this.#types[a.type] ?? 0) + 1;
    this.#pass('schema', a.schema);
    out.push(...a.schema);
    if (a.id) {
      const first = this.#ids.getOrSet(a.id, line);
      if (first !== undefined)
        out.push(finding('duplicate-event-id', `event_id ${a.id} already appears at line ${first}`, where));
    }
    this.#pass('event_hash', a.hashFindings);
    out.push(...a.hashFindings);
    out.push(...this.#chain.push(a.prevHash, a.hash, where));
    out.push(...this.#signatures.record(a.signature, where));
    const seg = this.#current();
    const sec = a.placement;
    if (a.signed) seg.signed++;
    if (this.#opts.merkleMode === undefined) seg.adoptMode(a.merkleMode);
    const leaf = seg.addLeaf(a.hash, sec, where);
    this.#pass('inclusion', leaf);
    out.push(...leaf);
    if ((this.#opts.keepEvents ?? 0) > this.#summaries.length)
      this.#summaries.push({ line, origin: seg.origin, leaf: seg.from + seg.size - 1, ...a.fields });
    else if (this.#opts.keepEvents) this.#summariesOmitted++;
    if (typeof sec.anchor_reference === 'string')
      seg.references.push({
        line,
        id: sec.anchor_reference,
        ...(typeof sec.merkle_root === 'string' ? { root: sec.merkle_root } : {}),
      });
    this.#add(out);
  }

  #pass(check: 'schema' | 'event_hash' | 'signature' | 'inclusion', found: readonly Finding[]): void {
    if (!found.some((f) => f.check === check)) this.#checks[check].passed++;
  }

  #add(findings: readonly Finding[]): void {
    for (const f of findings) this.#findings.push(f);
  }

  /** Run the whole-input checks and build the report. */
  async finish(): Promise<VerificationReport> {
    const opts = this.#opts;
    this.#add(this.#chain.finish());
    this.#checks.chain.passed = this.#chain.linked;
    this.#add(this.#signatures.finish());
    this.#checks.signature.passed = this.#signatures.trustedSigned;
    for (const a of opts.anchors ?? []) {
      this.#anchors++;
      const p = (a as { partition?: unknown } | null)?.partition;
      const seg = this.#segments.find((s) => s.partition === p) ?? this.#current();
      seg.anchors.push({ line: 0, value: a });
    }
    if (this.#keys.size === 0)
      this.#add([
        finding(
          'no-trusted-key',
          'no trusted public key was given (--pubkey): signatures, checkpoints and anchors bind nothing, so nothing can be PROVEN',
        ),
      ]);
    if (this.#events > 0)
      this.#add([
        finding(
          'not-hashed',
          'policy_identification and security are not covered by any hash or signature: they are informational',
        ),
      ]);

    const logs: LogReport[] = [];
    for (const seg of this.#segments) {
      this.#add(seg.findings);
      let coverage: Coverage | undefined;
      let external: ExternalAnchor | undefined;
      const better = (c: Coverage | undefined) => {
        if (c && (!coverage || c.treeSize > coverage.treeSize)) coverage = c;
      };
      const statements: StatementReport[] = [];
      for (const { line, value } of seg.checkpoints) {
        const r = checkCheckpointNote(seg, value, line, this.#keys);
        statements.push(statementOf('checkpoint', line, value, r.coverage, undefined));
        this.#add(r.findings);
        if (r.coverage) this.#checks.checkpoint.passed++;
        better(r.coverage);
      }
      const anchorIds = new Map<string, string | undefined>(); // anchor id → root
      for (const { line, value } of seg.anchors) {
        const r = await checkAnchor(seg, value, line, this.#keys, opts.tsaTrust);
        statements.push(statementOf('anchor', line, value, r.coverage, r.external));
        this.#add(r.findings);
        if (r.anchorId) anchorIds.set(r.anchorId, r.root);
        if (r.coverage) this.#checks.anchor.passed++;
        better(r.coverage);
        if (r.external && (!external || r.external.treeSize > external.treeSize)) external = r.external;
      }
      for (const ref of seg.references) {
        if (!anchorIds.has(ref.id))
          this.#add([
            finding(
              'anchor-reference-missing',
              `security.anchor_reference names anchor ${ref.id}, which is not in the input`,
              { line: ref.line },
            ),
          ]);
        else if (ref.root !== undefined && ref.root !== anchorIds.get(ref.id))
          this.#add([
            finding(
              'anchor-event-mismatch',
              `security.merkle_root is not the root of anchor ${ref.id}, which the event names`,
              { line: ref.line },
            ),
          ]);
      }
      this.#add(
        checkCompleteness(seg, coverage, external, {
          trustedKeys: this.#keys.size,
          allowLocalAnchors: opts.allowLocalAnchors ?? false,
        }),
      );
      const report: LogReport = {
        origin: seg.origin,
        merkle_mode: seg.mode,
        from: seg.from,
        events: seg.size,
        statements: statements.sort((a, b) => a.line - b.line),
      };
      if (seg.partition !== undefined) report.partition = seg.partition;
      if (seg.to !== undefined) report.to = seg.to;
      const root = seg.rootAt(seg.from + seg.size);
      if (root) report.root = root;
      if (coverage) report.proven_up_to = coverage;
      if (external) report.external_anchor = external;
      logs.push(report);
    }
    const fresh = checkFreshness(
      this.#segments,
      [...(opts.externalCheckpoints ?? []), ...this.#external],
      this.#keys,
    );
    this.#add(fresh.findings);
    for (const l of logs) {
      const n = fresh.consistentWith.get(l.origin);
      if (n !== undefined) l.consistent_with_external = n;
    }

    countFindings(this.#checks, this.#findings);
    const verdict = decideVerdict(this.#findings);
    const { findings, omitted } = orderFindings(this.#findings, opts.maxFindings ?? 1000);
    return {
      verdict,
      exit_code: exitCodeOf(verdict),
      summary: summarize(verdict, logs, this.#findings),
      profile: describeProfile(this.#profile ?? profileByName(opts.profile ?? 'vcp-1.1') ?? PROFILES[0]!),
      trusted_keys: [...this.#keys.keys()],
      input: {
        lines: this.#lines,
        events: this.#events,
        anchors: this.#anchors,
        checkpoints: this.#checkpoints,
        segments: this.#segments.length,
      },
      logs,
      event_types: this.#types,
      checks: this.#checks,
      findings,
      findings_omitted: omitted,
      ...(opts.keepEvents ? { events: this.#summaries, events_omitted: this.#summariesOmitted } : {}),
    };
  }
}

function statementOf(
  kind: 'checkpoint' | 'anchor',
  line: number,
  value: unknown,
  coverage: Coverage | undefined,
  external: ExternalAnchor | undefined,
): StatementReport {
  const size = kind === 'anchor' ? (value as { tree_size?: unknown } | null)?.tree_size : undefined;
  const st: StatementReport = {
    kind,
    line,
    trusted: coverage !== undefined,
    external: external !== undefined,
  };
  const treeSize = coverage?.treeSize ?? (Number.isSafeInteger(size) ? (size as number) : undefined);
  if (treeSize !== undefined) st.tree_size = treeSize;
  if (coverage?.signedAt) st.signed_at = coverage.signedAt;
  return st;
}

function describeProfile(p: Profile): VerificationReport['profile'] {
  return {
    name: p.name,
    producer: p.producer,
    merkle_mode: p.merkleMode,
    ...(p.weaker ? { weaker_than_rfc8785: p.weaker } : {}),
  };
}

/** Verify records held in memory (events, anchors, metadata and checkpoint lines as objects or JSON text). */
export async function verifyRecords(
  records: readonly unknown[],
  options: VerifyOptions = {},
): Promise<VerificationReport> {
  const v = new Verifier(options);
  records.forEach((r, i) => {
    v.push({ line: i + 1, text: typeof r === 'string' ? r : JSON.stringify(r) });
  });
  return v.finish();
}
