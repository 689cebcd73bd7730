/**
 * The RFC 3161 client against a real TSA on loopback (OpenSSL's `ts -reply`,
 * EC and RSA keys), and against TSAs that misbehave: down, slow, 503,
 * garbage, a refusal, and a man in the middle who swaps the imprint or the
 * nonce (the TSA then signs a valid token for the wrong request).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VcpIoError, VcpValidationError, VcpVerificationError } from '../../src/core/errors.ts';
import { buildTimeStampRequest, requestTimestamp } from '../../src/sidecar/anchor/tsa-client.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const root = sha256('root of 42 events');

/** An HTTP server on loopback answering with `handler`; closed by `stop()`. */
async function serve(
  handler: (body: Buffer) => Promise<{ status: number; type?: string; body: Uint8Array | string }>,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handler(Buffer.concat(chunks)).then((r) => {
        res.writeHead(r.status, { 'content-type': r.type ?? 'application/timestamp-reply' });
        res.end(r.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Forwards queries to the real TSA after `edit` rewrote them. */
function mitm(tsa: TestTsa, edit: (req: pkijs.TimeStampReq) => void) {
  return serve(async (body) => {
    const req = pkijs.TimeStampReq.fromBER(body);
    edit(req);
    const res = await fetch(tsa.url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query' },
      body: new Uint8Array(req.toSchema().toBER(false)),
    });
    return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
  });
}

describe('TimeStampReq', () => {
  it('has the root as sha256 imprint, a 63-bit nonce and certReq', () => {
    const { der, nonce } = buildTimeStampRequest(root);
    const req = pkijs.TimeStampReq.fromBER(der);
    expect(req.version).toBe(1);
    expect(req.messageImprint.hashAlgorithm.algorithmId).toBe('2.16.840.1.101.3.4.2.1');
    expect(Buffer.from(req.messageImprint.hashedMessage.valueBlock.valueHexView).toString('hex')).toBe(root);
    expect(req.nonce?.toBigInt()).toBe(nonce);
    expect(nonce > 0n && nonce < 2n ** 63n).toBe(true);
    expect(req.certReq).toBe(true);
    expect(buildTimeStampRequest(root).nonce).not.toBe(nonce);
  });

  it('refuses a root that is not 32 bytes of hex', () => {
    for (const bad of ['', 'ab', `${root}00`, 'g'.repeat(64), 42 as never]) {
      expect(() => buildTimeStampRequest(bad)).toThrow(VcpValidationError);
    }
  });
});

for (const keyType of ['ec', 'rsa'] as const) {
  describe(`a real ${keyType.toUpperCase()} TSA`, () => {
    let tsa: TestTsa;
    beforeAll(async () => {
      tsa = await startTestTsa({ keyType });
    });
    afterAll(() => tsa?.close());

    it('grants a token whose imprint is the root, echoing the nonce, signed by a trusted TSA', async () => {
      const r = await requestTimestamp(tsa.url, root, { caCertPem: tsa.caCertPem });
      expect(r.info).toMatchObject({
        imprintHex: root,
        imprintAlgorithm: 'sha256',
        policy: tsa.policy,
        trusted: true,
      });
      expect(typeof r.info.nonce).toBe('bigint');
      expect(Math.abs(r.info.genTime.getTime() - Date.now())).toBeLessThan(60_000);
      expect(tsa.replies).toBeGreaterThan(0);
    });

    it('asks for a policy and gets it', async () => {
      const r = await requestTimestamp(tsa.url, root, { tsaCertPem: tsa.tsaCertPem, policy: '1.2.3.4.5.6' });
      expect(r.info.policy).toBe('1.2.3.4.5.6');
    });
  });
}

describe('a TSA that misbehaves', () => {
  let tsa: TestTsa;
  let other: TestTsa;
  beforeAll(async () => {
    [tsa, other] = await Promise.all([startTestTsa(), startTestTsa()]);
  });
  afterAll(async () => {
    await Promise.all([tsa?.close(), other?.close()]);
  });

  it('signed by an untrusted CA: refused', async () => {
    const e = await requestTimestamp(tsa.url, root, { caCertPem: other.caCertPem }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VcpVerificationError);
    expect(String(e)).toMatch(/does not chain to a trusted CA/);
  });

  it('answering 503: VcpIoError naming the status, then fine again', async () => {
    tsa.failNext(1);
    const e = await requestTimestamp(tsa.url, root).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VcpIoError);
    expect(String(e)).toMatch(/HTTP 503/);
    await expect(requestTimestamp(tsa.url, root)).resolves.toBeDefined();
  });

  it('too slow: VcpIoError after the timeout', async () => {
    tsa.delayMs = 3_000;
    try {
      const e = await requestTimestamp(tsa.url, root, { timeoutMs: 200 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VcpIoError);
      expect(String(e)).toMatch(/no answer within 200 ms/);
    } finally {
      tsa.delayMs = 0;
    }
  });

  it('refusing the request (unaccepted policy): VcpVerificationError with the TSA status', async () => {
    const e = await requestTimestamp(tsa.url, root, { policy: '1.2.9.9.9' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VcpVerificationError);
    expect(String(e)).toMatch(/refused the request: rejection.*unacceptedPolicy/);
  });

  it('not listening: VcpIoError', async () => {
    const gone = await startTestTsa();
    const url = gone.url;
    await gone.close();
    const e = await requestTimestamp(url, root, { timeoutMs: 2_000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(VcpIoError);
    expect(String(e)).toMatch(/unavailable/);
  });

  it('answering garbage, HTML, an empty body, or a huge body: refused', async () => {
    const answers: { status: number; type?: string; body: Uint8Array | string }[] = [
      { status: 200, body: new Uint8Array([0x30, 0x03, 0x01, 0x02, 0x03]) },
      { status: 200, type: 'text/html', body: '<html>maintenance</html>' },
      { status: 200, body: '' },
      { status: 200, body: new Uint8Array(2 << 20) },
    ];
    for (const answer of answers) {
      const fake = await serve(async () => answer);
      try {
        const e = await requestTimestamp(fake.url, root).catch((x: unknown) => x);
        expect(e instanceof VcpVerificationError || e instanceof VcpIoError, String(e)).toBe(true);
      } finally {
        await fake.stop();
      }
    }
  });

  it('a man in the middle swapping the imprint: the valid token for another root is refused', async () => {
    const proxy = await mitm(tsa, (req) => {
      req.messageImprint.hashedMessage = new asn1js.OctetString({
        valueHex: Buffer.from(sha256('evil'), 'hex'),
      });
    });
    try {
      const e = await requestTimestamp(proxy.url, root, { caCertPem: tsa.caCertPem }).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(VcpVerificationError);
      expect(String(e)).toMatch(/is not the root/);
    } finally {
      await proxy.stop();
    }
  });

  it('a man in the middle replacing the nonce (replay): refused', async () => {
    const proxy = await mitm(tsa, (req) => {
      req.nonce = asn1js.Integer.fromBigInt(12345n);
    });
    try {
      const e = await requestTimestamp(proxy.url, root, { caCertPem: tsa.caCertPem }).catch(
        (x: unknown) => x,
      );
      expect(String(e)).toMatch(/does not echo the request nonce/);
    } finally {
      await proxy.stop();
    }
  });
});
