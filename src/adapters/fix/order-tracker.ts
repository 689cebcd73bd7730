/**
 * One trace per order: every message of an order's life — the new order, its
 * acknowledgements and fills, cancel and replace requests with their new
 * ClOrdIDs, cancel rejects — resolves to the same order record, and so to the
 * same VCP trace id.
 *
 * Keys: ClOrdID (11), OrigClOrdID (41) and OrderID (37), each scoped by the
 * session's two CompIDs (ClOrdIDs are unique per client, OrderIDs per
 * broker). A message is matched by ClOrdID, then OrigClOrdID, then OrderID;
 * whatever ids it carries are then linked to the order, so a replace chain
 * (A → B → C) and the broker's OrderID all lead back to the first ClOrdID.
 *
 * Memory is bounded: live orders are kept least-recently-touched first and
 * the oldest are dropped past `maxActive`; orders that reached a terminal
 * state move to a second, smaller LRU (`maxFinished`) so late messages (a
 * duplicate report, a trade bust) still find their trace. Each LRU keeps at
 * least its limit of most recently touched orders and at most twice that
 * (see _lru.ts). Each order keeps at most `maxKeysPerOrder` ids (the newest).
 * Drops are counted: an order dropped while live starts a new trace if it
 * speaks again.
 */
import { GenerationalCache } from '../_lru.ts';

/** What the tracker knows of one order. */
export interface OrderRecord {
  /** The trace id every event of this order carries. */
  readonly traceId: string;
  /** The order's stable identity: its first ClOrdID (or OrderID when no ClOrdID was seen). */
  readonly orderKey: string;
  /** Remembered from the first message that named them, for messages that do not repeat them. */
  symbol?: string;
  accountId?: string;
  venueId?: string;
  side?: string;
  /** Id of the last event recorded for this order (for `correlated_event_id`). */
  lastEventId?: string;
  finished: boolean;
  /** Internal: the session scope of its ids. */
  readonly scope: string;
  /** Internal: its ids, `c<ClOrdID>` / `o<OrderID>`, oldest first. */
  readonly keys: string[];
}

/** The ids a message carries. */
export interface OrderIds {
  clOrdId?: string | undefined;
  origClOrdId?: string | undefined;
  orderId?: string | undefined;
}

/** Options of {@link createOrderTracker}. */
export interface OrderTrackerOptions {
  /** Live orders always remembered, most recently touched first (default 100 000; at most twice that are held). */
  maxActive?: number;
  /** Finished orders always remembered (default 10 000; at most twice that are held). */
  maxFinished?: number;
  /** Ids remembered per order (default 32; a long replace chain keeps its newest). */
  maxKeysPerOrder?: number;
}

/** Counters of an {@link OrderTracker}. */
export interface OrderTrackerStats {
  active: number;
  finished: number;
  opened: number;
  /** Live orders dropped because `maxActive` was reached (a later message of theirs starts a new trace). */
  evictedActive: number;
  evictedFinished: number;
}

/** The order book of traces. */
export interface OrderTracker {
  /** The order these ids belong to, or `undefined`. Touches it (LRU). */
  find(scope: string, ids: OrderIds): OrderRecord | undefined;
  /** Start an order with `traceId` (normally the id of its first event) and link `ids` to it. */
  open(scope: string, ids: OrderIds, traceId: string): OrderRecord;
  /** Link more ids to an order (new ClOrdID of a replace, the broker's OrderID). */
  link(order: OrderRecord, scope: string, ids: OrderIds): void;
  /** Mark an order finished (terminal state): it moves to the smaller LRU. */
  finish(order: OrderRecord): void;
  stats(): OrderTrackerStats;
}

interface Scope {
  cl: Map<string, OrderRecord>;
  ord: Map<string, OrderRecord>;
}

/** Make an empty tracker. */
export function createOrderTracker(options: OrderTrackerOptions = {}): OrderTracker {
  const maxActive = Math.max(1, options.maxActive ?? 100_000);
  const maxFinished = Math.max(1, options.maxFinished ?? 10_000);
  const maxKeys = Math.max(3, options.maxKeysPerOrder ?? 32);
  // scope → its ClOrdIDs and OrderIDs: one lookup of the (composite) scope a message, then
  // lookups by the ids as they are, without building a key string for each.
  const scopes = new Map<string, Scope>();
  const stats = { opened: 0, evictedActive: 0, evictedFinished: 0 };

  const forget = (order: OrderRecord) => {
    const sc = scopes.get(order.scope);
    if (!sc) return;
    for (const k of order.keys) {
      const map = k.charCodeAt(0) === 99 /* c */ ? sc.cl : sc.ord;
      const id = k.slice(1);
      if (map.get(id) === order) map.delete(id);
    }
    if (sc.cl.size === 0 && sc.ord.size === 0) scopes.delete(order.scope);
  };
  const active = new GenerationalCache<OrderRecord, true>(maxActive, (order) => {
    forget(order);
    stats.evictedActive++;
  });
  const finished = new GenerationalCache<OrderRecord, true>(maxFinished, (order) => {
    forget(order);
    stats.evictedFinished++;
  });

  const touch = (order: OrderRecord) => {
    (order.finished ? finished : active).get(order);
  };

  const addKey = (order: OrderRecord, map: Map<string, OrderRecord>, kind: 'c' | 'o', id: string) => {
    if (map.get(id) === order) return;
    map.set(id, order);
    order.keys.push(kind + id);
    if (order.keys.length > maxKeys) {
      const dropped = order.keys.shift()!;
      const m = dropped.charCodeAt(0) === 99 ? scopes.get(order.scope)?.cl : scopes.get(order.scope)?.ord;
      if (m?.get(dropped.slice(1)) === order) m.delete(dropped.slice(1));
    }
  };

  const link = (order: OrderRecord, ids: OrderIds) => {
    let sc = scopes.get(order.scope);
    if (!sc) {
      sc = { cl: new Map(), ord: new Map() };
      scopes.set(order.scope, sc);
    }
    if (ids.origClOrdId) addKey(order, sc.cl, 'c', ids.origClOrdId);
    if (ids.orderId) addKey(order, sc.ord, 'o', ids.orderId);
    if (ids.clOrdId) addKey(order, sc.cl, 'c', ids.clOrdId);
  };

  return {
    find(scope, ids) {
      const sc = scopes.get(scope);
      if (!sc) return undefined;
      const order =
        (ids.clOrdId ? sc.cl.get(ids.clOrdId) : undefined) ??
        (ids.origClOrdId ? sc.cl.get(ids.origClOrdId) : undefined) ??
        (ids.orderId ? sc.ord.get(ids.orderId) : undefined);
      if (order) touch(order);
      return order;
    },
    open(scope, ids, traceId) {
      const order: OrderRecord = {
        traceId,
        orderKey: ids.origClOrdId ?? ids.clOrdId ?? ids.orderId ?? traceId,
        finished: false,
        scope,
        keys: [],
      };
      link(order, ids);
      active.set(order, true);
      stats.opened++;
      return order;
    },
    link(order, scope, ids) {
      // An order lives in one scope; ids seen in another scope are not linked to it.
      if (scope === order.scope) link(order, ids);
    },
    finish(order) {
      if (order.finished) return;
      active.delete(order);
      order.finished = true;
      finished.set(order, true);
    },
    stats() {
      return { active: active.size, finished: finished.size, ...stats };
    },
  };
}
