import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VcpClient, VcpHttpError } from '../../src/client/vcp-client.ts';
import { runWithTrace } from '../../src/context/trace-store.ts';
import { VcpValidationError } from '../../src/core/errors.ts';
import { isUuidV7 } from '../../src/core/uuidv7.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { generateSigningKey, verifySignature } from '../../src/integrity/sign.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { verifyRecords } from '../../src/verify/index.ts';
import { reservedClosedPort } from '../helpers/ports.ts';
import { get, tempDir, testConfig } from '../sidecar/helpers.ts';

let sidecar: Sidecar;
let tmp: ReturnType<typeof tempDir>;
const quiet = () => {};

beforeAll(async () => {
  tmp = tempDir('vcp-client-');
  sidecar = await startSidecar({ config: testConfig(tmp.dir), log: quiet });
});
afterAll(async () => {
  await sidecar.close();
  tmp.cleanup();
});

describe('VcpClient against a real sidecar', () => {
  it('logOrder / logExecution / logError with the guide parameters; acks carry hash and index', async () => {
    const client = new VcpClient({
      policyId: 'com.mycompany:trading-system-v1',
      sidecarUrl: sidecar.url,
      venueId: 'XLON',
      accountId: 'A-1',
    });
    const traceId = '0193f1e2-7b3a-7c4d-8e5f-0a1b2c3d4e60';
    const order = await client.logOrder({
      orderId: 'ORD-001',
      symbol: 'EURUSD',
      side: 'BUY',
      orderType: 'LIMIT',
      price: 1.085,
      quantity: 100000,
      traceId,
    });
    expect(order.event.payload.trade_data).toMatchObject({ price: '1.085', quantity: '100000' });
    expect(order.ack).toMatchObject({
      status: 'ok',
      event_id: order.event.header.event_id,
      event_hash: order.event.security.event_hash,
    });
    expect(order.ack.warnings).toBeUndefined();
    const exe = await client.logExecution({
      orderId: 'ORD-001',
      symbol: 'EURUSD',
      side: 'BUY',
      execPrice: 1.0851,
      execQty: '100000',
      slippage: 0.00007 + 0.00003,
      traceId,
    });
    expect(exe.event.payload.trade_data).toMatchObject({ execution_price: '1.0851', slippage: '0.0001' });
    expect(exe.ack.merkle_index).toBe(order.ack.merkle_index + 1);
    const err = await client.logError({
      errorType: 'ERR_REJECT',
      errorCode: 'ORDER_REJECTED',
      errorMessage: 'price outside band',
      component: 'fix-gateway',
      correlatedId: order.event.header.event_id,
      traceId,
    });
    expect(err.event.payload.error_details).toMatchObject({
      severity: 'WARNING',
      correlated_event_id: order.event.header.event_id,
    });
    for (const e of [order, exe, err]) expect(e.event.header.trace_id).toBe(traceId);
    await client.close();
  });

  it('uses the current trace when none is given', async () => {
    const client = new VcpClient({ policyId: 'com.example:client-trace', sidecarUrl: sidecar.url });
    const traceId = '0193f1e2-7b3a-7c4d-8e5f-0a1b2c3d4e61';
    const r = await runWithTrace(traceId, () => client.log('SIG', {}));
    expect(r.event.header.trace_id).toBe(traceId);
    const outside = await client.log('HBT', {});
    expect(isUuidV7(outside.event.header.trace_id)).toBe(true);
    await client.close();
  });

  it('batches concurrent calls, signs and chains, and the stored events verify', async () => {
    const signer = generateSigningKey();
    const client = new VcpClient({
      policyId: 'com.example:client-batch',
      sidecarUrl: sidecar.url,
      signer,
      chain: true,
      batch: { maxEvents: 50, maxDelayMs: 5 },
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.logOrder({
          orderId: `B-${i}`,
          symbol: 'EURUSD',
          side: 'SELL',
          orderType: 'MARKET',
          price: '1.1',
          quantity: '10',
        }),
      ),
    );
    const indexes = results.map((r) => r.ack.merkle_index);
    expect([...indexes].sort((a, b) => a - b)).toEqual(indexes); // the chain went out in order
    for (let i = 1; i < results.length; i++) {
      expect(results[i]!.event.security.prev_hash).toBe(results[i - 1]!.event.security.event_hash);
    }
    const r0 = results[0]!.event;
    expect(verifySignature(r0.security.event_hash, r0.security.signature, signer.publicKey)).toBe(true);
    expect(computeEventHash(r0, { prevHash: r0.security.prev_hash })).toBe(r0.security.event_hash);
    await client.close();
    const stored = await Promise.all(
      results.slice(0, 5).map((r) => get(`${sidecar.url}/vcp/events/${r.event.header.event_id}`)),
    );
    const report = await verifyRecords(
      stored.map((s) => s.body.event ?? s.body),
      { publicKeys: [signer.publicKey] },
    );
    expect(report.checks.event_hash.passed).toBe(5);
    expect(report.checks.signature.passed).toBe(5);
    // Five events fetched one by one are not an export (their merkle_index starts past 0), but each
    // hash, signature and chain link holds.
    const codes = report.findings.map((f) => f.code);
    for (const c of ['hash-mismatch', 'signature-invalid', 'chain-gap', 'chain-fork'] as const)
      expect(codes).not.toContain(c);
  });

  it('a float price is refused before sending, with the field and the rule', async () => {
    const client = new VcpClient({ policyId: 'com.example:client-bad', sidecarUrl: sidecar.url });
    const e = await client.log('ORD', { trade_data: { order_id: 'X', price: 1.5 as never } }).catch((x) => x);
    expect(e).toBeInstanceOf(VcpValidationError);
    expect(e.issues[0]).toMatchObject({ path: 'payload.trade_data.price', rule: 'decimal-string' });
    await client.close();
  });

  it('a 4xx is a clear VcpHttpError, not retried', async () => {
    const client = new VcpClient({
      policyId: 'com.example:client-401',
      sidecarUrl: sidecar.url.replace('127.0.0.1', 'localhost'),
    });
    const tokenSidecarDir = tempDir('vcp-client-token-');
    const guarded = await startSidecar({
      config: testConfig(tokenSidecarDir.dir, { token: 'a-long-enough-secret-token' }),
      log: quiet,
    });
    const noToken = new VcpClient({
      policyId: 'com.example:client-401',
      sidecarUrl: guarded.url,
      retry: { attempts: 3, minDelayMs: 1 },
    });
    const err = await noToken.log('HBT', {}).catch((x) => x);
    expect(err).toBeInstanceOf(VcpHttpError);
    expect(err.status).toBe(401);
    // Asked once: the sidecar answered one 401 (a retry would have made it 3 before the rejection; the
    // last answer is counted when its response closes, so wait for that one, not for a time).
    await expect.poll(() => guarded.context.metrics.responses.get(401)).toBe(1);
    const withToken = new VcpClient({
      policyId: 'com.example:client-401',
      sidecarUrl: guarded.url,
      token: 'a-long-enough-secret-token',
    });
    expect((await withToken.log('HBT', {})).ack.status).toBe('ok');
    await Promise.all([client.close(), noToken.close(), withToken.close()]);
    await guarded.close();
    tokenSidecarDir.cleanup();
  });

  it('retries while the sidecar is down and succeeds once it is up; gives up with a clear error', async () => {
    const port = await reservedClosedPort();
    const client = new VcpClient({
      policyId: 'com.example:client-retry',
      sidecarUrl: `http://127.0.0.1:${port}`,
      retry: { attempts: 20, minDelayMs: 50, maxDelayMs: 200 },
    });
    const pending = client.logOrder({
      orderId: 'R-1',
      symbol: 'EURUSD',
      side: 'BUY',
      orderType: 'LIMIT',
      price: '1',
      quantity: '1',
    });
    await new Promise((r) => setTimeout(r, 300));
    const dir = tempDir('vcp-client-late-');
    const late = await startSidecar({ config: testConfig(dir.dir, { port: String(port) }), log: quiet });
    const r = await pending;
    expect(r.ack.merkle_index).toBe(0);
    await client.close();
    await late.close();
    dir.cleanup();

    const gone = new VcpClient({
      policyId: 'com.example:client-gone',
      sidecarUrl: `http://127.0.0.1:${await reservedClosedPort()}`,
      retry: { attempts: 2, minDelayMs: 1 },
    });
    const err = await gone.log('HBT', {}).catch((x) => x);
    expect(err).toBeInstanceOf(VcpHttpError);
    expect(err.message).toMatch(/sidecar unreachable/);
    await gone.close();
  });

  it('refuses bad configuration clearly', () => {
    expect(() => new VcpClient({ policyId: 'nope' })).toThrow(/reverse-domain/);
    expect(() => new VcpClient({ policyId: 'com.example:x', sidecarUrl: 'not a url' })).toThrow(/not a URL/);
  });
});
