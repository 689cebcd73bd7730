/**
 * How thrown values become `ERR_*` events: the mapping table, the
 * `error_details` block, and hostile thrown values that must never make the
 * error path itself throw.
 */
import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import { ERROR_DEFAULT_SEVERITY } from '../../src/core/event-types.ts';
import {
  buildErrorDetails,
  errorCodeOf,
  errorMessageOf,
  mapErrorToEventType,
} from '../../src/instrument/error-mapping.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
const named = (name: string, message = 'x') => Object.assign(new Error(message), { name });

describe('mapErrorToEventType', () => {
  it.each([
    ['ETIMEDOUT', withCode('ETIMEDOUT'), 'ERR_TIMEOUT'],
    ['undici headers timeout', withCode('UND_ERR_HEADERS_TIMEOUT'), 'ERR_TIMEOUT'],
    [
      'AbortSignal.timeout()',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'ERR_TIMEOUT',
    ],
    ['HTTP 504', Object.assign(new Error('gateway'), { statusCode: 504 }), 'ERR_TIMEOUT'],
    ['ECONNREFUSED', withCode('ECONNREFUSED'), 'ERR_CONN'],
    ['ECONNRESET', withCode('ECONNRESET'), 'ERR_CONN'],
    ['ENOTFOUND', withCode('ENOTFOUND'), 'ERR_CONN'],
    ['undici socket', withCode('UND_ERR_SOCKET'), 'ERR_CONN'],
    ['HTTP 401', Object.assign(new Error('who are you'), { status: 401 }), 'ERR_AUTH'],
    ['HTTP 403 on response', Object.assign(new Error('no'), { response: { status: 403 } }), 'ERR_AUTH'],
    ['AuthenticationError', named('AuthenticationError'), 'ERR_AUTH'],
    ['OrderRejectedError', named('OrderRejectedError'), 'ERR_REJECT'],
    ['code VENUE_REJECT', withCode('VENUE_REJECT'), 'ERR_REJECT'],
    ['RiskLimitError', named('RiskLimitError'), 'ERR_RISK'],
    ['RiskRejected (risk wins over reject)', named('RiskRejectedError'), 'ERR_RISK'],
    ['SyntaxError', new SyntaxError('Unexpected token'), 'ERR_PARSE'],
    ['FixParseError', named('FixParseError'), 'ERR_PARSE'],
    ['VcpValidationError', new VcpValidationError({ path: 'a', rule: 'r', message: 'm' }), 'ERR_PARSE'],
    ['SequenceGapError', named('SequenceGapError'), 'ERR_SYNC'],
    ['code names the ERR_ type', withCode('ERR_RECOVER'), 'ERR_RECOVER'],
    ['vcpErrorType wins', Object.assign(withCode('ECONNRESET'), { vcpErrorType: 'ERR_RISK' }), 'ERR_RISK'],
    ['message only: socket hang up', new Error('socket hang up'), 'ERR_CONN'],
    ['cause chain', new Error('order failed', { cause: withCode('ETIMEDOUT') }), 'ERR_TIMEOUT'],
    ['TypeError', new TypeError('x is undefined'), 'ERR_SYSTEM'],
    ['a string', 'boom', 'ERR_SYSTEM'],
    ['null', null, 'ERR_SYSTEM'],
    ['undefined', undefined, 'ERR_SYSTEM'],
    ['a number', 42, 'ERR_SYSTEM'],
  ])('%s → %s', (_label, error, expected) => {
    expect(mapErrorToEventType(error)).toBe(expected);
  });

  it('survives hostile thrown values: throwing getters, proxies, self-referencing causes', () => {
    const getterBomb = Object.defineProperty({}, 'code', {
      get() {
        throw new Error('getter');
      },
    });
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    const loop: { cause?: unknown; message: string } = { message: 'loop' };
    loop.cause = loop;
    expect(mapErrorToEventType(getterBomb)).toBe('ERR_SYSTEM');
    expect(mapErrorToEventType(trap)).toBe('ERR_SYSTEM');
    expect(mapErrorToEventType(loop)).toBe('ERR_SYSTEM');
    expect(mapErrorToEventType(Symbol('s'))).toBe('ERR_SYSTEM');
  });
});

describe('error code and message', () => {
  it('code: err.code, else name, else the thrown type', () => {
    expect(errorCodeOf(withCode('ECONNRESET'))).toBe('ECONNRESET');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 503 }))).toBe('503');
    expect(errorCodeOf(new RangeError('x'))).toBe('RangeError');
    expect(errorCodeOf('s')).toBe('NonError(string)');
    expect(errorCodeOf(null)).toBe('null');
    expect(errorCodeOf({})).toBe('NonErrorObject');
  });

  it('message: cut to 1024 characters and marked; unprintable values do not throw', () => {
    const long = errorMessageOf(new Error('m'.repeat(5000)));
    expect(long).toBe(`${'m'.repeat(1024)}…(5000 chars)`);
    const unprintable = {
      toString() {
        throw new Error('no');
      },
    };
    expect(errorMessageOf(unprintable)).toBe('(unprintable thrown value)');
    expect(errorMessageOf(Symbol('sym'))).toBe('Symbol(sym)');
    expect(errorMessageOf(Object.create(null))).toBe('(unprintable thrown value)');
  });
});

describe('buildErrorDetails', () => {
  it('fills code, message, the type’s default severity, the component and the correlated event', () => {
    expect(
      buildErrorDetails({
        type: 'ERR_TIMEOUT',
        error: withCode('ETIMEDOUT', 'connect ETIMEDOUT'),
        component: 'fix-gateway',
        correlatedEventId: '0190a5d0-0000-7000-8000-000000000001',
      }),
    ).toEqual({
      error_code: 'ETIMEDOUT',
      error_message: 'connect ETIMEDOUT',
      severity: ERROR_DEFAULT_SEVERITY.ERR_TIMEOUT,
      affected_component: 'fix-gateway',
      correlated_event_id: '0190a5d0-0000-7000-8000-000000000001',
    });
  });

  it('an explicit severity wins; no correlated id → no field', () => {
    const d = buildErrorDetails({
      type: 'ERR_SYSTEM',
      error: new Error('x'),
      component: 'c',
      severity: 'INFO',
    });
    expect(d.severity).toBe('INFO');
    expect('correlated_event_id' in d).toBe(false);
  });
});
