/**
 * Verifying on more than one core. Worker threads parse and analyse batches
 * of lines (strict JSON, schema, EventHash, signature: the costly, order-free
 * part); the verifier applies their results strictly in input order, so the
 * report is the same as with no thread. Any line that is not a readable event
 * goes back to the verifier as it came and is handled there.
 *
 * A worker loads this same file (in a build, the bundle holding it) and
 * starts serving when it finds its flag in `workerData`.
 */
import type { KeyObject } from 'node:crypto';
import { isMainThread, parentPort, type Worker, workerData } from 'node:worker_threads';
import type { MerkleMode } from '../core/enums.ts';
import { startSelfWorker } from '../core/self-worker.ts';
import { viewEvent } from '../integrity/normalize.ts';
import { NOT_SIGNED, type SignatureOutcome } from './checks/signature.ts';
import { classifyLine } from './classify.ts';
import { type AnalysisContext, analyzeEvent, type EventAnalysis, type Placement } from './event-analysis.ts';
import type { Finding } from './findings.ts';
import { type InputLine, type LineBatch, linesOf } from './line-reader.ts';
import { type Profile, profileByName } from './profiles.ts';

const WORKER_FLAG = 'vcpVerifyAnalysis';

/** A line's result: an analysed event, or the line itself for the verifier to handle. */
export type LineResult = { event: EventAnalysis } | { input: InputLine };

/** Analyse a batch of lines under a known profile (what each worker does). */
export function analyzeLines(
  lines: readonly InputLine[],
  profile: Profile,
  ctx: AnalysisContext,
): LineResult[] {
  const out: LineResult[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!('text' in l)) {
      out[i] = { input: l };
      continue;
    }
    const rec = classifyLine(l.text, l.line);
    if ('code' in rec || rec.kind !== 'event') {
      out[i] = { input: l };
      continue;
    }
    const view = viewEvent(rec.value);
    out[i] = view
      ? { event: analyzeEvent(rec.value, view, l.line, l.text, profile, ctx, rec.canonical) }
      : { input: l };
  }
  return out;
}

/**
 * A batch's results as columns: structured cloning an object per event costs more than analysing
 * it on the receiving thread (~5 µs against ~0.7 µs for columns), and the receiving thread is the one
 * every event must pass through. Events with a finding, or anything unusual, travel whole in `others`.
 */
interface PackedResults {
  n: number;
  /** 0: a plain event in the columns; 1: the next entry of `others`. */
  kinds: Uint8Array;
  others: LineResult[];
  lines: Float64Array;
  ids: (string | undefined)[];
  types: string[];
  hashes: (string | undefined)[];
  prevHashes: (string | undefined)[];
  /** 0: not signed, 1: signed by a trusted key and verified. */
  signatures: Uint8Array;
  placements: Placement[];
  merkleMode: MerkleMode | undefined;
}

const NO_FINDINGS: Finding[] = [];
const TRUSTED: SignatureOutcome = { ok: true };

function isPlain(a: EventAnalysis, mode: MerkleMode | undefined): boolean {
  return (
    a.schema.length === 0 &&
    a.hashFindings.length === 0 &&
    a.form === 'snake_case' &&
    a.fields === undefined &&
    a.merkleMode === mode &&
    (a.prevHash === undefined || typeof a.prevHash === 'string') &&
    ((a.signature === NOT_SIGNED && !a.signed) || ('ok' in a.signature && a.signed))
  );
}

/** Pack results for the trip back to the verifier's thread. */
export function packResults(results: LineResult[], mode: MerkleMode): PackedResults {
  const n = results.length;
  const p: PackedResults = {
    n,
    kinds: new Uint8Array(n),
    others: [],
    lines: new Float64Array(n),
    ids: new Array(n),
    types: new Array(n),
    hashes: new Array(n),
    prevHashes: new Array(n),
    signatures: new Uint8Array(n),
    placements: new Array(n),
    merkleMode: mode,
  };
  for (let i = 0; i < n; i++) {
    const r = results[i]!;
    if (!('event' in r) || !isPlain(r.event, mode)) {
      p.kinds[i] = 1;
      p.others.push(r);
      continue;
    }
    const a = r.event;
    p.lines[i] = a.line;
    p.ids[i] = a.id;
    p.types[i] = a.type;
    p.hashes[i] = a.hash;
    p.prevHashes[i] = a.prevHash as string | undefined;
    p.signatures[i] = 'ok' in a.signature ? 1 : 0;
    p.placements[i] = a.placement;
  }
  return p;
}

/** The results of {@link packResults}, in order. */
export function unpackResults(p: PackedResults): LineResult[] {
  const out: LineResult[] = new Array(p.n);
  let k = 0;
  for (let i = 0; i < p.n; i++) {
    if (p.kinds[i] === 1) {
      out[i] = p.others[k++]!;
      continue;
    }
    const signed = p.signatures[i] === 1;
    out[i] = {
      event: {
        line: p.lines[i]!,
        id: p.ids[i],
        type: p.types[i]!,
        form: 'snake_case',
        schema: NO_FINDINGS,
        hashFindings: NO_FINDINGS,
        hash: p.hashes[i],
        prevHash: p.prevHashes[i],
        signed,
        signature: signed ? TRUSTED : NOT_SIGNED,
        placement: p.placements[i]!,
        merkleMode: p.merkleMode!,
      },
    };
  }
  return out;
}

interface WorkerSetup {
  profile: string;
  keys: [string, KeyObject][];
  strict: boolean;
  summaries: boolean;
}

interface Job {
  resolve(r: LineResult[]): void;
  reject(e: Error): void;
}

/**
 * Young-generation size of each verification thread, MiB (8 MiB semi-spaces). Node's default let the threads' heaps
 * grow: verifying 1 M events with 2 threads peaked at 994–1 021 MB RSS; at 24 MiB, 670–698 MB, at the same speed
 * (69.5–70.7 against 67.2–67.3 k events/s, bench/verify.ts).
 */
const YOUNG_GENERATION_MB = 24;

/** A fixed set of analysis threads, fed round-robin. */
export class AnalysisPool {
  readonly #workers: Worker[] = [];
  readonly #jobs = new Map<number, Job>();
  #seq = 0;
  #failed: Error | undefined;

  constructor(threads: number, profile: Profile, ctx: AnalysisContext) {
    const setup: WorkerSetup = {
      profile: profile.name,
      keys: [...ctx.keys.entries()],
      strict: ctx.strict,
      summaries: ctx.summaries,
    };
    for (let i = 0; i < threads; i++) {
      const w = startSelfWorker(new URL(import.meta.url), {
        workerData: { [WORKER_FLAG]: setup },
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      w.unref();
      w.on('message', (m: { id: number; packed: PackedResults }) => {
        const job = this.#jobs.get(m.id);
        this.#jobs.delete(m.id);
        job?.resolve(unpackResults(m.packed));
      });
      w.on('error', (e) => this.#fail(e));
      w.on('exit', (code) => {
        if (code !== 0) this.#fail(new Error(`a verification thread exited with code ${code}`));
      });
      this.#workers.push(w);
    }
  }

  /** Analyse a batch on the next thread (its bytes are copied: the caller keeps them in case a thread fails). */
  run(batch: LineBatch): Promise<LineResult[]> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#seq++;
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      this.#workers[id % this.#workers.length]!.postMessage({ id, batch });
    });
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    for (const job of this.#jobs.values()) job.reject(e);
    this.#jobs.clear();
  }

  async close(): Promise<void> {
    this.#failed ??= new Error('the verification threads were closed');
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

function serve(setup: WorkerSetup): void {
  const profile = profileByName(setup.profile);
  if (!profile) throw new Error(`unknown profile ${setup.profile}`);
  const ctx: AnalysisContext = {
    keys: new Map(setup.keys),
    strict: setup.strict,
    summaries: setup.summaries,
  };
  parentPort!.on('message', (m: { id: number; batch: LineBatch }) => {
    const { bytes } = m.batch; // a Uint8Array once cloned
    const batch = { ...m.batch, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    parentPort!.postMessage({
      id: m.id,
      packed: packResults(analyzeLines(linesOf(batch), profile, ctx), profile.merkleMode),
    });
  });
}

if (!isMainThread && workerData && typeof workerData === 'object' && WORKER_FLAG in workerData) {
  serve((workerData as Record<string, WorkerSetup>)[WORKER_FLAG]!);
}
