/**
 * Event types and their numeric codes.
 *
 * Core codes are fixed by the VCP registry (SIG 1 … CLS 9, ALG 20, RSK 21,
 * AUD 22, HBT 98, ERR 99, REC 100, SNC 101). The spec gives the v1.1 `ERR_*`
 * types no numbers; this package numbers them 110–118 in the spec's table
 * order, a block above the core registry so they never collide with it.
 * A verifier that does not know these codes can still use `event_type`.
 */
import type { Severity } from './enums.ts';

/** Every event type with its `event_type_code`. */
export const EVENT_TYPE_CODES = {
  SIG: 1,
  ORD: 2,
  ACK: 3,
  EXE: 4,
  PRT: 5,
  REJ: 6,
  CXL: 7,
  MOD: 8,
  CLS: 9,
  ALG: 20,
  RSK: 21,
  AUD: 22,
  HBT: 98,
  ERR: 99,
  REC: 100,
  SNC: 101,
  ERR_CONN: 110,
  ERR_AUTH: 111,
  ERR_TIMEOUT: 112,
  ERR_REJECT: 113,
  ERR_PARSE: 114,
  ERR_SYNC: 115,
  ERR_RISK: 116,
  ERR_SYSTEM: 117,
  ERR_RECOVER: 118,
} as const;

/** A VCP event type name (`'ORD'`, `'ERR_REJECT'`, …). */
export type EventType = keyof typeof EVENT_TYPE_CODES;

/** The v1.1 error event types (spec §3.2.1). */
export type ErrorEventType = Extract<EventType, `ERR_${string}`>;

/** All event type names, in code order. */
export const EVENT_TYPES = Object.keys(EVENT_TYPE_CODES) as EventType[];

/** What each event type means, for docs, the console sink and verifier reports. */
export const EVENT_TYPE_DESCRIPTIONS: Readonly<Record<EventType, string>> = {
  SIG: 'signal generated',
  ORD: 'order sent',
  ACK: 'order acknowledged',
  EXE: 'order filled (full)',
  PRT: 'partial fill',
  REJ: 'order rejected',
  CXL: 'order cancelled',
  MOD: 'order modified',
  CLS: 'position closed',
  ALG: 'algorithm change',
  RSK: 'risk parameter change',
  AUD: 'audit record',
  HBT: 'heartbeat',
  ERR: 'error (generic)',
  REC: 'recovery',
  SNC: 'clock synchronisation',
  ERR_CONN: 'connection failure',
  ERR_AUTH: 'authentication failure',
  ERR_TIMEOUT: 'operation timeout',
  ERR_REJECT: 'rejected by counterparty',
  ERR_PARSE: 'message parsing or validation failure',
  ERR_SYNC: 'clock sync lost or sequence gap',
  ERR_RISK: 'risk limit breach',
  ERR_SYSTEM: 'internal system error',
  ERR_RECOVER: 'recovery action initiated',
};

/** Default severity of each `ERR_*` type (spec §3.2.1). */
export const ERROR_DEFAULT_SEVERITY: Readonly<Record<ErrorEventType, Severity>> = {
  ERR_CONN: 'CRITICAL',
  ERR_AUTH: 'CRITICAL',
  ERR_TIMEOUT: 'WARNING',
  ERR_REJECT: 'WARNING',
  ERR_PARSE: 'WARNING',
  ERR_SYNC: 'WARNING',
  ERR_RISK: 'CRITICAL',
  ERR_SYSTEM: 'CRITICAL',
  ERR_RECOVER: 'INFO',
};

const codeByName = new Map<string, number>(Object.entries(EVENT_TYPE_CODES));
const nameByCode = new Map<number, EventType>(
  (Object.entries(EVENT_TYPE_CODES) as [EventType, number][]).map(([k, v]) => [v, k]),
);

/** True when `value` names a known event type. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && codeByName.has(value);
}

/** True for the v1.1 `ERR_*` types (not the generic `ERR`). */
export function isErrorEventType(value: unknown): value is ErrorEventType {
  return isEventType(value) && value.startsWith('ERR_');
}

/** The code of an event type, or `undefined` for an unknown name. */
export function eventTypeCode(type: string): number | undefined {
  return codeByName.get(type);
}

/** The event type of a code, or `undefined`. */
export function eventTypeFromCode(code: number): EventType | undefined {
  return nameByCode.get(code);
}
