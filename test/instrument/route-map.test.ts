import { describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import {
  defaultHttpErrorType,
  type HttpOutcome,
  pathnameOf,
  type RouteMap,
  RouteTable,
  statusOfThrown,
} from '../../src/instrument/route-map.ts';

type A = [unknown];
const table = (map: RouteMap<A>) => new RouteTable<A>(map);
const matchKey = (t: RouteTable<A>, method: string, path: string) => t.match(method, path)?.route.key;

describe('RouteTable: matching', () => {
  const t = table({
    'POST /orders': { eventType: 'ORD' },
    'DELETE /orders/:id': { eventType: 'CXL' },
    'PUT /orders/:id/legs/:leg': { eventType: 'MOD' },
    'GET /orders/open': { eventType: 'AUD' },
    'GET /orders/:id': { eventType: 'AUD' },
    '* /admin/*': { eventType: 'AUD' },
    'GET /': { eventType: 'HBT' },
  });

  it('matches method and literal path', () => {
    expect(matchKey(t, 'POST', '/orders')).toBe('POST /orders');
    expect(matchKey(t, 'GET', '/orders')).toBeUndefined();
    expect(matchKey(t, 'PUT', '/orders')).toBeUndefined();
  });

  it('extracts :params, percent-decoded', () => {
    expect(t.match('DELETE', '/orders/ORD-42')).toMatchObject({ params: { id: 'ORD-42' } });
    expect(t.match('DELETE', '/orders/a%2Fb%20c')?.params).toEqual({ id: 'a/b c' });
    expect(t.match('PUT', '/orders/7/legs/2')?.params).toEqual({ id: '7', leg: '2' });
  });

  it('keeps malformed percent escapes as they came instead of throwing', () => {
    expect(t.match('DELETE', '/orders/%E0%A4%A')?.params).toEqual({ id: '%E0%A4%A' });
  });

  it('a :param matches exactly one non-empty segment', () => {
    expect(matchKey(t, 'DELETE', '/orders/')).toBeUndefined(); // trailing slash → "/orders", no id
    expect(matchKey(t, 'DELETE', '/orders/1/2')).toBeUndefined();
    expect(matchKey(t, 'DELETE', '/orders//')).toBeUndefined();
    expect(matchKey(t, 'PUT', '/orders//legs/2')).toBeUndefined();
  });

  it('ignores one trailing slash and letter case of literals, as Express and Koa routers do by default', () => {
    expect(matchKey(t, 'post', '/Orders/')).toBe('POST /orders');
    expect(matchKey(t, 'DELETE', '/ORDERS/X')).toBe('DELETE /orders/:id');
    expect(t.match('DELETE', '/ORDERS/X')?.params.id).toBe('X'); // values keep their case
  });

  it('prefers the more specific route regardless of key order', () => {
    expect(matchKey(t, 'GET', '/orders/open')).toBe('GET /orders/open');
    expect(matchKey(t, 'GET', '/orders/42')).toBe('GET /orders/:id');
    const reversed = table({
      'GET /orders/:id': { eventType: 'AUD' },
      'GET /orders/open': { eventType: 'SIG' },
    });
    expect(matchKey(reversed, 'GET', '/orders/open')).toBe('GET /orders/open');
  });

  it('an explicit method beats "*" for the same pattern', () => {
    const m = table({ '* /x': { eventType: 'AUD' }, 'GET /x': { eventType: 'SIG' } });
    expect(matchKey(m, 'GET', '/x')).toBe('GET /x');
    expect(matchKey(m, 'POST', '/x')).toBe('* /x');
  });

  it('a trailing * matches one or more segments, with any method for "*"', () => {
    expect(t.match('PATCH', '/admin/users/7')?.params).toEqual({ '*': 'users/7' });
    expect(matchKey(t, 'GET', '/admin')).toBeUndefined();
    const named = table({ 'GET /files/*rest': { eventType: 'AUD' } });
    expect(named.match('GET', '/files/a/b%20c')?.params).toEqual({ rest: 'a/b c' });
  });

  it('matches the root path', () => {
    expect(matchKey(t, 'GET', '/')).toBe('GET /');
    expect(matchKey(t, 'GET', '')).toBeUndefined();
  });

  it('literal segments compare with the raw path: encoded text does not match a plain literal', () => {
    expect(matchKey(t, 'POST', '/%6Frders')).toBeUndefined();
  });

  it('params objects cannot be polluted through names or values', () => {
    const m = table({ 'GET /p/:id': { eventType: 'AUD' } });
    const params = m.match('GET', '/p/__proto__')!.params;
    expect(params.id).toBe('__proto__');
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect(({} as Record<string, unknown>).id).toBeUndefined();
  });

  it('stays cheap and matches nothing on hostile paths', () => {
    expect(t.match('GET', `/${'a/'.repeat(100_000)}`)).toBeUndefined();
    expect(t.match('POST', `/orders${'/'.repeat(10_000)}`)).toBeUndefined();
    expect(t.match('GET', 'orders')).toBeUndefined();
    expect(t.match('GET', '*')).toBeUndefined();
  });
});

describe('RouteTable: lookup by framework pattern', () => {
  const t = table({ 'GET /orders/:orderId': { eventType: 'AUD' }, 'GET /orders/open': { eventType: 'SIG' } });

  it('finds a route by its shape whatever the parameter names', () => {
    expect(t.byPattern('GET', '/orders/:id')?.key).toBe('GET /orders/:orderId');
    expect(t.byPattern('get', '/Orders/open/')?.key).toBe('GET /orders/open');
  });

  it('returns undefined for shapes it does not have or cannot parse', () => {
    expect(t.byPattern('POST', '/orders/:id')).toBeUndefined();
    expect(t.byPattern('GET', '/orders/:id?')).toBeUndefined();
    expect(t.byPattern('GET', '/orders/{:id}')).toBeUndefined();
    expect(t.byPattern('GET', 'orders')).toBeUndefined();
  });

  it('gives the params of a known route for a path', () => {
    const r = t.byPattern('GET', '/orders/:id')!;
    expect(t.paramsOf(r, '/orders/9')).toEqual({ orderId: '9' });
    expect(t.paramsOf(r, '/trades/9')).toBeUndefined();
  });
});

describe('RouteTable: configuration errors name the key and the rule', () => {
  const bad: [string, RouteMap<A>, RegExp][] = [
    ['no method', { '/orders': { eventType: 'ORD' } }, /expected "METHOD \/path"/],
    ['bad method', { 'P0ST /orders': { eventType: 'ORD' } }, /not an HTTP method/],
    ['relative path', { 'POST orders': { eventType: 'ORD' } }, /must start with "\/"/],
    ['query string', { 'GET /orders?x=1': { eventType: 'AUD' } }, /query string/],
    ['empty segment', { 'GET /a//b': { eventType: 'AUD' } }, /empty path segment/],
    ['mid-segment param', { 'GET /files/:name.:ext': { eventType: 'AUD' } }, /not a valid parameter/],
    ['optional param', { 'GET /o/:id?': { eventType: 'AUD' } }, /optional parameters/],
    ['regex syntax', { 'GET /o/(\\d+)': { eventType: 'AUD' } }, /pattern syntax/],
    ['star in the middle', { 'GET /a/*/b': { eventType: 'AUD' } }, /last segment/],
    ['duplicate param', { 'GET /a/:id/:id': { eventType: 'AUD' } }, /appears twice/],
    ['unknown event type', { 'GET /a': { eventType: 'NOPE' as never } }, /not a VCP event type/],
    [
      'extract not a function',
      { 'GET /a': { eventType: 'AUD', extract: 1 as never } },
      /extract must be a function/,
    ],
    ['bad when', { 'GET /a': { eventType: 'AUD', when: 'sometimes' as never } }, /when must be/],
    ['value not an object', { 'GET /a': null as never }, /must be an object/],
    [
      'same shape twice',
      { 'GET /o/:id': { eventType: 'AUD' }, 'get /O/:orderId/': { eventType: 'AUD' } },
      /describe the same pattern/,
    ],
  ];
  for (const [name, map, message] of bad) {
    it(name, () => {
      expect(() => table(map)).toThrow(VcpConfigError);
      expect(() => table(map)).toThrow(message);
    });
  }

  it('rejects a routes value that is not an object', () => {
    expect(() => table([] as never)).toThrow(VcpConfigError);
    expect(() => table(null as never)).toThrow(VcpConfigError);
  });
});

describe('pathnameOf', () => {
  it('drops query and fragment, accepts absolute-form targets, refuses the rest', () => {
    expect(pathnameOf('/orders?x=1#f')).toBe('/orders');
    expect(pathnameOf('/a#b?c')).toBe('/a');
    expect(pathnameOf('http://example.com/orders/1?x')).toBe('/orders/1');
    expect(pathnameOf('*')).toBeUndefined();
    expect(pathnameOf('http://[bad')).toBeUndefined();
  });
});

describe('defaultHttpErrorType and statusOfThrown', () => {
  const base: HttpOutcome = {
    method: 'GET',
    path: '/',
    route: undefined,
    status: 200,
    thrown: false,
    error: undefined,
    aborted: false,
  };

  it('maps statuses as documented', () => {
    expect(defaultHttpErrorType({ ...base, status: 200 })).toBe(false);
    expect(defaultHttpErrorType({ ...base, status: 404 })).toBe(false);
    expect(defaultHttpErrorType({ ...base, status: 500 })).toBe('ERR_SYSTEM');
    expect(defaultHttpErrorType({ ...base, status: 503 })).toBe('ERR_SYSTEM');
    expect(defaultHttpErrorType({ ...base, status: 401 })).toBe('ERR_AUTH');
    expect(defaultHttpErrorType({ ...base, status: 403 })).toBe('ERR_AUTH');
    expect(defaultHttpErrorType({ ...base, status: 408 })).toBe('ERR_TIMEOUT');
    expect(defaultHttpErrorType({ ...base, status: 504 })).toBe('ERR_TIMEOUT');
  });

  it('a thrown error takes the type its error maps to', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(defaultHttpErrorType({ ...base, status: 500, thrown: true, error: refused })).toBe('ERR_CONN');
    expect(defaultHttpErrorType({ ...base, status: 500, thrown: true, error: new Error('boom') })).toBe(
      'ERR_SYSTEM',
    );
    expect(
      defaultHttpErrorType({ ...base, status: 400, thrown: true, error: new SyntaxError('bad json') }),
    ).toBe('ERR_PARSE');
  });

  it('reads a thrown status like Express and Koa, defaulting to 500', () => {
    expect(statusOfThrown(Object.assign(new Error(), { status: 404 }))).toBe(404);
    expect(statusOfThrown(Object.assign(new Error(), { statusCode: 503 }))).toBe(503);
    expect(statusOfThrown(Object.assign(new Error(), { status: 200 }))).toBe(500);
    expect(statusOfThrown(Object.assign(new Error(), { status: '404' }))).toBe(500);
    expect(statusOfThrown('boom')).toBe(500);
    expect(statusOfThrown(null)).toBe(500);
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(statusOfThrown(hostile)).toBe(500);
  });
});

describe('RouteTable.byPattern cache', () => {
  it('answers the same after caching, for hits and misses, per method', () => {
    const t = table({ 'GET /orders/:id': { eventType: 'AUD' }, '* /any': { eventType: 'SIG' } });
    for (let i = 0; i < 2; i++) {
      expect(t.byPattern('GET', '/orders/:x')?.key).toBe('GET /orders/:id');
      expect(t.byPattern('POST', '/orders/:x')).toBeUndefined();
      expect(t.byPattern('DELETE', '/any')?.key).toBe('* /any');
      expect(t.byPattern('GET', '/orders/{:x}')).toBeUndefined();
    }
  });

  it('stays correct past its size cap', () => {
    const t = table({ 'GET /orders/:id': { eventType: 'AUD' } });
    for (let i = 0; i < 3000; i++) expect(t.byPattern('GET', `/p${i}`)).toBeUndefined();
    expect(t.byPattern('GET', '/orders/:id')?.key).toBe('GET /orders/:id');
  });
});
