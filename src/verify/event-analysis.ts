/**
 * The part of checking one event that depends on nothing but its line and
 * the profile: schema, EventHash, signature. Pure, so a worker thread can do
 * it (`parallel.ts`); the verifier then applies the results in input order
 * (duplicate ids, chain, tree), which is where order matters.
 */
import type { KeyObject } from 'node:crypto';
import type { MerkleMode } from '../core/enums.ts';
import type { EventView } from '../integrity/normalize.ts';
import { parseLossless } from '../integrity/python-json.ts';
import { checkEventHash } from './checks/event-hash.ts';
import { checkSchema } from './checks/schema.ts';
import { judgeSignature, type SignatureOutcome } from './checks/signature.ts';
import type { Finding } from './findings.ts';
import type { Profile } from './profiles.ts';
import type { EventSummary } from './report.ts';

/** What the per-event analysis needs besides the event. */
export interface AnalysisContext {
  keys: Map<string, KeyObject>;
  strict: boolean;
  /** Collect the fields the report's timelines show. */
  summaries: boolean;
}

/** The security fields that place an event in its log (the only ones read after analysis). */
export interface Placement {
  merkle_index?: unknown;
  partition?: unknown;
  anchor_reference?: unknown;
  merkle_root?: unknown;
}

/** One event, analysed: what the in-order checks and the report need, and nothing else. */
export interface EventAnalysis {
  line: number;
  id: string | undefined;
  type: string;
  form: EventView['form'];
  schema: Finding[];
  hashFindings: Finding[];
  /** The claimed hash when well-formed (the leaf and the chain link). */
  hash: string | undefined;
  prevHash: unknown;
  signed: boolean;
  signature: SignatureOutcome;
  placement: Placement;
  /** The tree shape of the profile the event was judged under. */
  merkleMode: MerkleMode;
  fields?: Omit<EventSummary, 'line' | 'origin' | 'leaf'>;
}

const PLACEMENT_KEYS = ['merkle_index', 'partition', 'anchor_reference', 'merkle_root'] as const;

/**
 * Analyse one event under `profile`. `canonical`: the line's own header and payload texts when the
 * parser found them in their RFC 8785 form (classify.ts), hashed as they are instead of written again.
 */
export function analyzeEvent(
  event: Record<string, unknown>,
  view: EventView,
  line: number,
  text: string,
  profile: Profile,
  ctx: AnalysisContext,
  canonical?: readonly [string, string],
): EventAnalysis {
  const id = typeof view.header.event_id === 'string' ? view.header.event_id : undefined;
  const where = { line, ...(id ? { event_id: id } : {}) };
  const schema = checkSchema(event, view, line, ctx.strict);
  const raw = profile.lossless ? (parseLossless(text) as Record<string, unknown>) : event;
  const facts = profile.facts(view, raw);
  const { hash, findings: hashFindings } = checkEventHash(profile, view, raw, facts, where, canonical);
  const placement: Placement = {};
  for (const k of PLACEMENT_KEYS) if (facts.placement[k] !== undefined) placement[k] = facts.placement[k];
  const out: EventAnalysis = {
    line,
    id,
    type: typeof view.header.event_type === 'string' ? view.header.event_type : '(none)',
    form: view.form,
    schema,
    hashFindings,
    hash,
    prevHash: facts.prevHash,
    signed: facts.signature !== undefined,
    signature: judgeSignature(ctx.keys, facts.signature, facts.keyId, hash, where),
    placement,
    merkleMode: profile.merkleMode,
  };
  if (ctx.summaries) out.fields = eventFields(view);
  return out;
}

const TRADE_FIELDS = [
  'order_id',
  'client_order_id',
  'side',
  'order_type',
  'price',
  'quantity',
  'executed_price',
  'executed_qty',
  'reject_reason',
];

/** The fields of an event the report's timelines show. */
function eventFields(view: EventView): Omit<EventSummary, 'line' | 'origin' | 'leaf'> {
  const h = view.header;
  const out: Omit<EventSummary, 'line' | 'origin' | 'leaf'> = {};
  for (const k of [
    'event_id',
    'trace_id',
    'event_type',
    'timestamp_iso',
    'symbol',
    'venue_id',
    'account_id',
  ] as const) {
    const v = h[k];
    if (typeof v === 'string') out[k] = v;
  }
  const payload = view.rawPayload as Record<string, unknown> | null;
  const td = payload && typeof payload === 'object' ? (payload.trade_data ?? payload.TradeData) : undefined;
  if (td && typeof td === 'object') {
    const trade: Record<string, string> = {};
    for (const k of TRADE_FIELDS) {
      const v = (td as Record<string, unknown>)[k];
      if (typeof v === 'string' || typeof v === 'number') trade[k] = String(v).slice(0, 120);
    }
    if (Object.keys(trade).length) out.trade = trade;
  }
  return out;
}
