/**
 * FIX message → VCP events. Pure bookkeeping, no I/O and no clock: the
 * adapter gives it parsed messages and an id source, and gets back the
 * events to record (type, ids, routing fields, payload).
 *
 * | FIX                                   | VCP                                              |
 * |---------------------------------------|--------------------------------------------------|
 * | NewOrderSingle (D)                    | `ORD`                                            |
 * | OrderCancelRequest (F)                | `CXL`, order_status `PENDING_CANCEL`             |
 * | OrderCancelReplaceRequest (G)         | `MOD`, order_status `PENDING_REPLACE`            |
 * | ExecutionReport (8), ExecType 0 / A   | `ACK`                                            |
 * | … ExecType 1, 2, F (fills)            | `EXE` if OrdStatus=2 or LeavesQty=0 (OrdStatus=1 → `PRT`), else `PRT` |
 * | … ExecType 4, 6, C                    | `CXL` (canceled, pending cancel, expired)        |
 * | … ExecType 5, E                       | `MOD` (replaced, pending replace)                |
 * | … ExecType 8                          | `REJ` with `reject_reason` (Text 58, else OrdRejReason 103) |
 * | … any other ExecType, or ExecTransType (20) ≠ 0 | `AUD` (or skipped: `otherExecutionReports: 'ignore'`) |
 * | OrderCancelReject (9)                 | `ERR_REJECT`, correlated to the order's last event |
 * | Reject (3), BusinessMessageReject (j) | `ERR_REJECT`, correlated to the rejected message's event |
 * | Heartbeat (0)                         | `HBT` when `heartbeats: true`, else skipped      |
 * | MsgSeqNum gap / reset                 | `ERR_SYNC` naming the missing range              |
 * | anything else (Logon, Logout, …)      | skipped (still sequence-checked)                 |
 *
 * Without ExecType (FIX 4.0), OrdStatus (39) stands in for it.
 *
 * Payload: `trade_data` in VCP words (ids, symbol, side, order_type,
 * time_in_force, price, quantity, fills…; numbers are the decimal strings of
 * the message, only non-canonical zeros removed: `0100.50` → `100.50`), and
 * `fix` with the facts of the source message (msg_type, begin_string,
 * msg_seq_num, comp ids, sending_time, exec_type, ord_status, …). A numeric
 * field that is not a FIX number is left out of `trade_data` and kept as
 * given in `fix.invalid_fields`.
 *
 * `trade_data.order_id` is the order's first ClOrdID, stable over a replace
 * chain; `client_order_id` is this message's ClOrdID.
 *
 * Header routing fields: `symbol` from Symbol (55); `account_id` from
 * Account (1); `venue_id` from ExDestination (100), else the sell side's
 * CompID (TargetCompID of D/F/G, SenderCompID of 8/9) — remembered per order,
 * so every event of an order names the same venue.
 */
import { isDecimalString } from '../../core/decimal.ts';
import { ERROR_DEFAULT_SEVERITY, type EventType } from '../../core/event-types.ts';
import type { ErrorDetails, TradeData, VcpPayload } from '../../core/types.ts';
import { GenerationalCache } from '../_lru.ts';
import {
  APPL_VER_ID,
  BUSINESS_REJECT_REASON,
  CLIENT_ORIGINATED,
  CXL_REJ_REASON,
  CXL_REJ_RESPONSE_TO,
  EXEC_TYPE_EVENT,
  lookup,
  ORD_REJ_REASON,
  ORD_STATUS,
  ORD_TYPE,
  SESSION_REJECT_REASON,
  SIDE,
  TAG,
  TERMINAL_ORD_STATUS,
  TIME_IN_FORCE,
} from './dictionary.ts';
import {
  createOrderTracker,
  type OrderIds,
  type OrderRecord,
  type OrderTrackerOptions,
} from './order-tracker.ts';
import type { FixMessage, FixParseError } from './parser.ts';
import { createSequenceTracker, type SequenceIssue, type SequenceTrackerOptions } from './sequence.ts';

/** One event to record. */
export interface MappedEvent {
  eventType: EventType;
  eventId: string;
  traceId: string;
  venueId: string;
  symbol: string;
  accountId: string;
  payload: VcpPayload;
}

/** Per-message context the adapter supplies. */
export interface MapContext {
  /** The next event id for this message (ids may be derived from the message and an index). */
  newId(): string;
  direction?: 'in' | 'out' | undefined;
  /** Printable raw message (SOH as `|`, cut), kept in `fix.raw` when `keepRaw` is on; made only when needed. */
  raw?: (() => string) | undefined;
  /** Where a replayed message came from. */
  log?: { source: string; line: number } | undefined;
  /** Length of the raw message in bytes (for `ERR_PARSE` events). */
  rawLength?: number | undefined;
}

/** Options of {@link createFixMapper}. */
export interface FixMapperOptions {
  /** `affected_component` of the `ERR_*` events (default `fix-adapter`). */
  component?: string;
  /** Record Heartbeats (35=0) as `HBT` events (default `false`). */
  heartbeats?: boolean;
  /** ExecutionReports that are not lifecycle steps: `'audit'` (default) records `AUD`, `'ignore'` skips them. */
  otherExecutionReports?: 'audit' | 'ignore';
  /** Keep the printable raw message in `payload.fix.raw` (default `false`; error events always keep it). */
  keepRaw?: boolean;
  /** Our own CompID: tells incoming from outgoing messages when the caller does not. */
  localCompId?: string;
  /**
   * Scope order ids by the session's CompIDs (default `true`). Turn off when
   * reports arrive on another session than the orders (a drop copy).
   */
  scopeOrdersBySession?: boolean;
  /** Order tracking limits. */
  orders?: OrderTrackerOptions;
  /** Sequence tracking limits, or `false` to not check MsgSeqNum. */
  sequence?: SequenceTrackerOptions | false;
  /** Recent messages always remembered per stream for correlating Reject (3) / BusinessMessageReject (j) (default 10 000). */
  maxCorrelations?: number;
}

/** Counters of a mapper. */
export interface FixMapperStats {
  /** Events produced, by type. */
  events: Partial<Record<EventType, number>>;
  /** Messages skipped by type (heartbeats, logons, …). */
  skipped: number;
  /** PossDup resends of messages already seen (not recorded twice). */
  duplicates: number;
}

/** The stateful translator (order traces, sequence numbers, correlations). */
export interface FixMapper {
  /** Events for one parsed message, in order (an `ERR_SYNC` comes before the message's own event). */
  map(message: FixMessage, ctx: MapContext): MappedEvent[];
  /** The `ERR_PARSE` event for a message that could not be parsed. */
  parseError(error: FixParseError, ctx: MapContext): MappedEvent;
  stats(): FixMapperStats & {
    orders: ReturnType<ReturnType<typeof createOrderTracker>['stats']>;
    sequence?: ReturnType<ReturnType<typeof createSequenceTracker>['stats']>;
  };
}

/** The decimal string of a FIX number, or `undefined` when it is not one (FIX allows `0100.50`, `.5`, `5.`). */
export function fixDecimal(value: string): string | undefined {
  if (isDecimalString(value)) return value;
  if (value.length > 64) return undefined;
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m) return undefined;
  const int = m[2]!;
  const frac = m[3] ?? '';
  if (int === '' && frac === '') return undefined;
  const out = `${m[1]}${int.replace(/^0+(?=\d)/, '') || '0'}${frac ? `.${frac}` : ''}`;
  return isDecimalString(out) ? out : undefined;
}

/** True when a decimal string is zero (`0`, `0.00`, `-0`). */
function isZero(decimal: string): boolean {
  return /^-?0(?:\.0*)?$/.test(decimal);
}

const YES = 'Y';

/** Make a mapper with its own order and sequence state. */
export function createFixMapper(options: FixMapperOptions = {}): FixMapper {
  const component = options.component ?? 'fix-adapter';
  const heartbeats = options.heartbeats === true;
  const auditOthers = (options.otherExecutionReports ?? 'audit') === 'audit';
  const keepRaw = options.keepRaw === true;
  const localCompId = options.localCompId;
  const scoped = options.scopeOrdersBySession !== false;
  const orders = createOrderTracker(options.orders);
  const sequence = options.sequence === false ? undefined : createSequenceTracker(options.sequence);
  const maxCorrelations = Math.max(1, options.maxCorrelations ?? 10_000);
  /** Per stream (`begin␀sender␀target`): MsgSeqNum → the event that message became. */
  const bySeq = new GenerationalCache<
    string,
    GenerationalCache<number, { eventId: string; traceId: string }>
  >(1024);
  const events: Partial<Record<EventType, number>> = {};
  let skipped = 0;
  let duplicates = 0;

  const count = (e: MappedEvent) => {
    events[e.eventType] = (events[e.eventType] ?? 0) + 1;
    return e;
  };

  /** The `fix` block: what the source message was. */
  const fixBlock = (msg: FixMessage, ctx: MapContext): Record<string, unknown> => {
    const f: Record<string, unknown> = { msg_type: msg.msgType, begin_string: msg.beginString };
    const appl = msg.get(TAG.ApplVerID);
    if (appl !== undefined) f.appl_ver_id = lookup(APPL_VER_ID, appl);
    const seq = msg.get(TAG.MsgSeqNum);
    if (seq !== undefined) f.msg_seq_num = seq;
    const sender = msg.get(TAG.SenderCompID);
    if (sender !== undefined) f.sender_comp_id = sender;
    const target = msg.get(TAG.TargetCompID);
    if (target !== undefined) f.target_comp_id = target;
    const sending = msg.get(TAG.SendingTime);
    if (sending !== undefined) f.sending_time = sending;
    const direction = directionOf(msg, ctx);
    if (direction) f.direction = direction;
    if (msg.get(TAG.PossDupFlag) === YES) f.poss_dup = YES;
    if (msg.get(TAG.PossResend) === YES) f.poss_resend = YES;
    if (keepRaw && ctx.raw) f.raw = ctx.raw();
    if (ctx.log) f.log = { source: ctx.log.source, line: ctx.log.line };
    return f;
  };

  const directionOf = (msg: FixMessage, ctx: MapContext): 'in' | 'out' | undefined => {
    if (ctx.direction) return ctx.direction;
    if (localCompId === undefined) return undefined;
    const sender = msg.get(TAG.SenderCompID);
    if (sender === localCompId) return 'out';
    if (msg.get(TAG.TargetCompID) === localCompId) return 'in';
    return undefined;
  };

  /** The other party of the session, for events that are not about one order. */
  const counterparty = (msg: FixMessage, ctx: MapContext): string => {
    const direction = directionOf(msg, ctx);
    return (direction === 'out' ? msg.get(TAG.TargetCompID) : msg.get(TAG.SenderCompID)) ?? '';
  };

  /** Decimal field → trade_data, or into `invalid` as given. */
  const decimal = (
    msg: FixMessage,
    tag: number,
    td: TradeData,
    key: string,
    invalid: Record<string, string>,
  ): string | undefined => {
    const v = msg.get(tag);
    if (v === undefined) return undefined;
    const d = fixDecimal(v);
    if (d === undefined) invalid[String(tag)] = v;
    else td[key] = d;
    return d;
  };

  /** The fields every order message shares. */
  const orderFields = (msg: FixMessage, order: OrderRecord, invalid: Record<string, string>): TradeData => {
    const td: TradeData = { order_id: order.orderKey };
    const cl = msg.get(TAG.ClOrdID);
    if (cl !== undefined) td.client_order_id = cl;
    const orig = msg.get(TAG.OrigClOrdID);
    if (orig !== undefined) td.orig_client_order_id = orig;
    const oid = msg.get(TAG.OrderID);
    if (oid !== undefined) td.broker_order_id = oid;
    const exec = msg.get(TAG.ExecID);
    if (exec !== undefined) td.exec_id = exec;
    const symbol = msg.get(TAG.Symbol) ?? order.symbol;
    if (symbol !== undefined) td.symbol = symbol;
    const sid = msg.get(TAG.SecurityID);
    if (sid !== undefined) td.security_id = sid;
    const side = msg.get(TAG.Side);
    if (side !== undefined) td.side = lookup(SIDE, side);
    else if (order.side !== undefined) td.side = order.side;
    const type = msg.get(TAG.OrdType);
    if (type !== undefined) td.order_type = lookup(ORD_TYPE, type);
    const tif = msg.get(TAG.TimeInForce);
    if (tif !== undefined) td.time_in_force = lookup(TIME_IN_FORCE, tif);
    decimal(msg, TAG.Price, td, 'price', invalid);
    decimal(msg, TAG.StopPx, td, 'stop_price', invalid);
    decimal(msg, TAG.OrderQty, td, 'quantity', invalid);
    const ccy = msg.get(TAG.Currency);
    if (ccy !== undefined) td.currency = ccy;
    return td;
  };

  /** Find (or start) the order a message belongs to, link its ids, remember its routing fields. */
  const orderOf = (msg: FixMessage, eventId: string): OrderRecord => {
    const sender = msg.get(TAG.SenderCompID) ?? '';
    const target = msg.get(TAG.TargetCompID) ?? '';
    const clientSide = CLIENT_ORIGINATED.has(msg.msgType);
    const scope = scoped ? (clientSide ? `${sender}\u0000${target}` : `${target}\u0000${sender}`) : '';
    const ids: OrderIds = {
      clOrdId: msg.get(TAG.ClOrdID),
      origClOrdId: msg.get(TAG.OrigClOrdID),
      orderId: msg.get(TAG.OrderID),
    };
    let order = orders.find(scope, ids);
    if (order) orders.link(order, scope, ids);
    else order = orders.open(scope, ids, eventId);
    order.symbol ??= msg.get(TAG.Symbol);
    order.accountId ??= msg.get(TAG.Account);
    const side = msg.get(TAG.Side);
    if (order.side === undefined && side !== undefined) order.side = lookup(SIDE, side);
    order.venueId ??= msg.get(TAG.ExDestination) ?? ((clientSide ? target : sender) || undefined);
    return order;
  };

  const orderEvent = (
    type: EventType,
    msg: FixMessage,
    order: OrderRecord,
    eventId: string,
    payload: VcpPayload,
  ): MappedEvent => {
    order.lastEventId = eventId;
    return count({
      eventType: type,
      eventId,
      traceId: order.traceId,
      venueId: order.venueId ?? '',
      symbol: msg.get(TAG.Symbol) ?? order.symbol ?? '',
      accountId: msg.get(TAG.Account) ?? order.accountId ?? '',
      payload,
    });
  };

  const withInvalid = (fix: Record<string, unknown>, invalid: Record<string, string>) => {
    for (const _ in invalid) {
      fix.invalid_fields = invalid;
      break;
    }
    return fix;
  };

  const request = (msg: FixMessage, ctx: MapContext, type: EventType, status?: string): MappedEvent => {
    const id = ctx.newId();
    const order = orderOf(msg, id);
    const invalid: Record<string, string> = {};
    const td = orderFields(msg, order, invalid);
    if (status) td.order_status = status;
    const fix = fixBlock(msg, ctx);
    const tt = msg.get(TAG.TransactTime);
    if (tt !== undefined) fix.transact_time = tt;
    return orderEvent(type, msg, order, id, { trade_data: td, fix: withInvalid(fix, invalid) });
  };

  const fillEventType = (msg: FixMessage, execType: string, leaves: string | undefined): EventType => {
    const status = msg.get(TAG.OrdStatus);
    if (status === '2') return 'EXE';
    if (status === '1') return 'PRT';
    if (leaves !== undefined) return isZero(leaves) ? 'EXE' : 'PRT';
    if (status !== undefined) return 'PRT';
    return execType === '2' ? 'EXE' : 'PRT';
  };

  const executionReport = (msg: FixMessage, ctx: MapContext): MappedEvent | undefined => {
    const execType = msg.get(TAG.ExecType) ?? msg.get(TAG.OrdStatus) ?? '';
    const transType = msg.get(TAG.ExecTransType);
    const kind = transType !== undefined && transType !== '0' ? undefined : EXEC_TYPE_EVENT[execType];
    if (kind === undefined && !auditOthers) {
      skipped++;
      return undefined;
    }
    const id = ctx.newId();
    const order = orderOf(msg, id);
    const invalid: Record<string, string> = {};
    const td = orderFields(msg, order, invalid);
    const status = msg.get(TAG.OrdStatus);
    if (status !== undefined) td.order_status = lookup(ORD_STATUS, status);
    decimal(msg, TAG.CumQty, td, 'cum_qty', invalid);
    const leaves = decimal(msg, TAG.LeavesQty, td, 'leaves_qty', invalid);
    decimal(msg, TAG.AvgPx, td, 'avg_px', invalid);
    if (kind === 'FILL' || (kind === undefined && msg.has(TAG.LastPx))) {
      const px = decimal(msg, TAG.LastPx, td, 'last_px', invalid);
      const qty = decimal(msg, TAG.LastQty, td, 'last_qty', invalid);
      if (px !== undefined) td.execution_price = px;
      if (qty !== undefined) td.executed_qty = qty;
      decimal(msg, TAG.Commission, td, 'commission', invalid);
      const commType = msg.get(TAG.CommType);
      if (commType !== undefined) td.commission_type = commType;
      const lastMkt = msg.get(TAG.LastMkt);
      if (lastMkt !== undefined) td.last_mkt = lastMkt;
    }
    if (kind === 'REJ') {
      const reason = msg.get(TAG.OrdRejReason);
      if (reason !== undefined) td.ord_rej_reason = lookup(ORD_REJ_REASON, reason);
      const text = msg.get(TAG.Text);
      const r = text ?? (reason !== undefined ? lookup(ORD_REJ_REASON, reason) : undefined);
      if (r !== undefined) td.reject_reason = r;
    } else {
      const text = msg.get(TAG.Text);
      if (text !== undefined) td.text = text;
    }
    const type: EventType = kind === 'FILL' ? fillEventType(msg, execType, leaves) : (kind ?? 'AUD');
    const fix = fixBlock(msg, ctx);
    const et = msg.get(TAG.ExecType);
    if (et !== undefined) fix.exec_type = et;
    if (status !== undefined) fix.ord_status = status;
    if (transType !== undefined) fix.exec_trans_type = transType;
    const tt = msg.get(TAG.TransactTime);
    if (tt !== undefined) fix.transact_time = tt;
    const event = orderEvent(type, msg, order, id, { trade_data: td, fix: withInvalid(fix, invalid) });
    if (
      (status !== undefined && TERMINAL_ORD_STATUS.has(status)) ||
      type === 'EXE' ||
      execType === '4' ||
      execType === '8' ||
      execType === 'C'
    ) {
      orders.finish(order);
    }
    return event;
  };

  const errorDetails = (
    type: 'ERR_REJECT' | 'ERR_SYNC' | 'ERR_PARSE',
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
  ): ErrorDetails => ({
    error_code: code,
    error_message: message,
    severity: ERROR_DEFAULT_SEVERITY[type],
    affected_component: component,
    ...extra,
  });

  const cancelReject = (msg: FixMessage, ctx: MapContext): MappedEvent => {
    const id = ctx.newId();
    const order = orderOf(msg, id);
    const correlated = order.lastEventId;
    const invalid: Record<string, string> = {};
    const td = orderFields(msg, order, invalid);
    const status = msg.get(TAG.OrdStatus);
    if (status !== undefined) td.order_status = lookup(ORD_STATUS, status);
    const reason = msg.get(TAG.CxlRejReason);
    const to = msg.get(TAG.CxlRejResponseTo);
    const text = msg.get(TAG.Text);
    const what = to === '2' ? 'cancel/replace request' : 'cancel request';
    const reasonName = reason !== undefined ? lookup(CXL_REJ_REASON, reason) : undefined;
    const message = `${what} for order ${order.orderKey} rejected${reasonName ? ` (${reasonName})` : ''}${text ? `: ${text}` : ''}`;
    const extra: Record<string, unknown> = {};
    if (correlated) extra.correlated_event_id = correlated;
    if (reasonName !== undefined) extra.cxl_rej_reason = reasonName;
    if (to !== undefined) extra.cxl_rej_response_to = lookup(CXL_REJ_RESPONSE_TO, to);
    if (text !== undefined) extra.text = text;
    const fix = fixBlock(msg, ctx);
    if (status !== undefined) fix.ord_status = status;
    const details = errorDetails(
      'ERR_REJECT',
      to === '2' ? 'FIX_REPLACE_REJECTED' : 'FIX_CANCEL_REJECTED',
      message,
      extra,
    );
    return orderEvent('ERR_REJECT', msg, order, id, {
      trade_data: td,
      error_details: details,
      fix: withInvalid(fix, invalid),
    });
  };

  const sessionReject = (msg: FixMessage, ctx: MapContext): MappedEvent => {
    const id = ctx.newId();
    const business = msg.msgType === 'j';
    const refSeq = msg.get(TAG.RefSeqNum);
    // The rejected message travelled the other way: from this message's target to its sender.
    const ref =
      refSeq !== undefined && /^\d{1,15}$/.test(refSeq)
        ? bySeq
            .get(
              `${msg.beginString}\u0000${msg.get(TAG.TargetCompID) ?? ''}\u0000${msg.get(TAG.SenderCompID) ?? ''}`,
            )
            ?.get(Number(refSeq))
        : undefined;
    const reason = msg.get(business ? TAG.BusinessRejectReason : TAG.SessionRejectReason);
    const reasonName =
      reason !== undefined
        ? lookup(business ? BUSINESS_REJECT_REASON : SESSION_REJECT_REASON, reason)
        : undefined;
    const text = msg.get(TAG.Text);
    const refType = msg.get(TAG.RefMsgType);
    const message = `${business ? 'business' : 'session'} reject of message ${refSeq ?? '?'}${refType ? ` (35=${refType})` : ''}${reasonName ? `: ${reasonName}` : ''}${text ? ` — ${text}` : ''}`;
    const extra: Record<string, unknown> = {};
    if (ref) extra.correlated_event_id = ref.eventId;
    if (reasonName !== undefined) extra.reject_reason = reasonName;
    if (refSeq !== undefined) extra.ref_seq_num = refSeq;
    if (refType !== undefined) extra.ref_msg_type = refType;
    const refTag = msg.get(TAG.RefTagID);
    if (refTag !== undefined) extra.ref_tag_id = refTag;
    const refId = msg.get(TAG.BusinessRejectRefID);
    if (refId !== undefined) extra.business_reject_ref_id = refId;
    if (text !== undefined) extra.text = text;
    return count({
      eventType: 'ERR_REJECT',
      eventId: id,
      traceId: ref?.traceId ?? id,
      venueId: counterparty(msg, ctx),
      symbol: '',
      accountId: '',
      payload: {
        error_details: errorDetails(
          'ERR_REJECT',
          business ? 'FIX_BUSINESS_REJECT' : 'FIX_SESSION_REJECT',
          message,
          extra,
        ),
        fix: fixBlock(msg, ctx),
      },
    });
  };

  const syncEvent = (issue: SequenceIssue, msg: FixMessage, ctx: MapContext): MappedEvent => {
    const id = ctx.newId();
    const extra: Record<string, unknown> = {
      fix_session: issue.stream,
      begin_string: issue.beginString,
      expected_seq_num: String(issue.expected),
      received_seq_num: String(issue.received),
    };
    if (issue.from !== undefined && issue.to !== undefined) {
      extra.missing_from = String(issue.from);
      extra.missing_to = String(issue.to);
      extra.missing_count = String(issue.count);
    }
    if (issue.kind === 'gap') extra.recovery_action = 'counterparty resend expected (ResendRequest)';
    const code = {
      gap: 'FIX_SEQUENCE_GAP',
      'too-low': 'FIX_SEQUENCE_TOO_LOW',
      'reset-skip': 'FIX_SEQUENCE_RESET_SKIP',
      'reset-lower': 'FIX_SEQUENCE_RESET_LOWER',
    }[issue.kind];
    return count({
      eventType: 'ERR_SYNC',
      eventId: id,
      traceId: id,
      venueId: counterparty(msg, ctx),
      symbol: '',
      accountId: '',
      payload: {
        error_details: errorDetails('ERR_SYNC', code, issue.message, extra),
        fix: fixBlock(msg, ctx),
      },
    });
  };

  const parseErrorEvent = (code: string, reason: string, ctx: MapContext): MappedEvent => {
    const id = ctx.newId();
    const fix: Record<string, unknown> = { raw: ctx.raw?.() ?? '', raw_length: ctx.rawLength ?? 0 };
    if (ctx.direction) fix.direction = ctx.direction;
    if (ctx.log) fix.log = { source: ctx.log.source, line: ctx.log.line };
    return count({
      eventType: 'ERR_PARSE',
      eventId: id,
      traceId: id,
      venueId: '',
      symbol: '',
      accountId: '',
      payload: {
        error_details: errorDetails('ERR_PARSE', `FIX_${code.toUpperCase().replace(/-/g, '_')}`, reason, {
          recovery_action: 'message not processed; the stream continues',
        }),
        fix,
      },
    });
  };

  const remember = (streamKey: string, seq: string, event: MappedEvent) => {
    let stream = bySeq.get(streamKey);
    if (!stream) {
      stream = new GenerationalCache(maxCorrelations);
      bySeq.set(streamKey, stream);
    }
    stream.set(Number(seq), { eventId: event.eventId, traceId: event.traceId });
  };

  return {
    map(msg, ctx) {
      const out: MappedEvent[] = [];
      const seqText = msg.get(TAG.MsgSeqNum);
      if (seqText !== undefined && !/^[1-9]\d{0,14}$/.test(seqText)) {
        return [
          parseErrorEvent(
            'msg-seq-num',
            `MsgSeqNum (34) "${seqText.slice(0, 24)}" is not a positive integer`,
            ctx,
          ),
        ];
      }
      const sender = msg.get(TAG.SenderCompID);
      const target = msg.get(TAG.TargetCompID);
      const streamKey =
        sender !== undefined && target !== undefined
          ? `${msg.beginString}\u0000${sender}\u0000${target}`
          : undefined;
      if (sequence && seqText !== undefined && streamKey !== undefined) {
        const newSeq = msg.get(TAG.NewSeqNo);
        const verdict = sequence.check({
          beginString: msg.beginString,
          senderCompId: sender!, // set whenever streamKey is
          targetCompId: target!,
          msgType: msg.msgType,
          seqNum: Number(seqText),
          possDup: msg.get(TAG.PossDupFlag) === YES,
          gapFill: msg.get(TAG.GapFillFlag) === YES,
          newSeqNo: newSeq !== undefined && /^\d{1,15}$/.test(newSeq) ? Number(newSeq) : undefined,
          resetSeqNum: msg.get(TAG.ResetSeqNumFlag) === YES,
          key: streamKey,
        });
        for (const issue of verdict.issues) out.push(syncEvent(issue, msg, ctx));
        if (verdict.duplicate) {
          duplicates++;
          return out;
        }
      }

      let event: MappedEvent | undefined;
      switch (msg.msgType) {
        case 'D':
          event = request(msg, ctx, 'ORD');
          break;
        case 'F':
          event = request(msg, ctx, 'CXL', 'PENDING_CANCEL');
          break;
        case 'G':
          event = request(msg, ctx, 'MOD', 'PENDING_REPLACE');
          break;
        case '8':
          event = executionReport(msg, ctx);
          break;
        case '9':
          event = cancelReject(msg, ctx);
          break;
        case '3':
        case 'j':
          event = sessionReject(msg, ctx);
          break;
        case '0':
          if (heartbeats) {
            const id = ctx.newId();
            event = count({
              eventType: 'HBT',
              eventId: id,
              traceId: id,
              venueId: counterparty(msg, ctx),
              symbol: '',
              accountId: '',
              payload: { fix: fixBlock(msg, ctx) },
            });
          } else skipped++;
          break;
        default:
          skipped++;
      }
      if (event) {
        out.push(event);
        if (streamKey !== undefined && seqText !== undefined) remember(streamKey, seqText, event);
      }
      return out;
    },
    parseError(error, ctx) {
      return parseErrorEvent(error.code, error.reason, ctx);
    },
    stats() {
      const s = {
        events: { ...events },
        skipped,
        duplicates,
        orders: orders.stats(),
      };
      return sequence ? { ...s, sequence: sequence.stats() } : s;
    },
  };
}
