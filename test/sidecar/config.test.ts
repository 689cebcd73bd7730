import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, resolveSidecarConfig, SIDECAR_OPTIONS } from '../../src/sidecar/config.ts';
import { tempDir } from './helpers.ts';

const TOKEN = 'a-long-enough-test-token';

describe('sidecar configuration', () => {
  it('has safe defaults: loopback, port 8080, the tier interval, no strict mode', () => {
    const c = resolveSidecarConfig({}, {}, '/srv');
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: '/srv/vcp-data',
      tier: 'SILVER',
      strict: false,
    });
    expect(c.anchorIntervalMs).toBe(24 * 3600_000);
    expect(c.limits).toEqual({
      maxBodyBytes: 8 * 1024 ** 2,
      maxBatchEvents: 10_000,
      maxEventBytes: 128 * 1024,
      maxQueueEvents: 100_000,
    });
  });

  it('reads every option from its environment variable, and flags win over the environment', () => {
    const env = {
      VCP_SIDECAR_PORT: '9000',
      VCP_SIDECAR_TIER: 'platinum',
      VCP_SIDECAR_STRICT: 'yes',
      VCP_SIDECAR_MAX_BODY: '2MiB',
      VCP_SIDECAR_MAX_EVENT: '4kb',
      VCP_SIDECAR_ANCHOR_INTERVAL: '90s',
      VCP_SIDECAR_DATA_DIR: 'data',
    };
    const c = resolveSidecarConfig({ port: '9100' }, env, '/srv');
    expect(c.port).toBe(9100);
    expect(c.tier).toBe('PLATINUM');
    expect(c.strict).toBe(true);
    expect(c.limits.maxBodyBytes).toBe(2 * 1024 * 1024);
    expect(c.limits.maxEventBytes).toBe(4000);
    expect(c.anchorIntervalMs).toBe(90_000);
    expect(c.dataDir).toBe('/srv/data');
    expect(resolveSidecarConfig({ tier: 'GOLD' }, {}, '/').anchorIntervalMs).toBe(3600_000);
    expect(resolveSidecarConfig({ strict: false }, { VCP_SIDECAR_STRICT: '1' }, '/').strict).toBe(false);
    // Every option has a distinct flag and variable.
    expect(new Set(SIDECAR_OPTIONS.map((o) => o.env)).size).toBe(SIDECAR_OPTIONS.length);
  });

  it('names the flag or variable of a bad value', () => {
    expect(() => resolveSidecarConfig({ port: 'http' }, {}, '/')).toThrow(
      /--port must be a non-negative integer/,
    );
    expect(() => resolveSidecarConfig({}, { VCP_SIDECAR_PORT: '70000' }, '/')).toThrow(/out of range/);
    expect(() => resolveSidecarConfig({}, { VCP_SIDECAR_MAX_BODY: 'lots' }, '/')).toThrow(
      /VCP_SIDECAR_MAX_BODY must be a size/,
    );
    expect(() => resolveSidecarConfig({ tier: 'BRONZE' }, {}, '/')).toThrow(
      /--tier must be one of SILVER, GOLD, PLATINUM/,
    );
    expect(() => resolveSidecarConfig({}, { VCP_SIDECAR_STRICT: 'maybe' }, '/')).toThrow(
      /VCP_SIDECAR_STRICT must be true or false/,
    );
    expect(() => resolveSidecarConfig({ 'anchor-interval': '10 fortnights' }, {}, '/')).toThrow(/duration/);
    expect(() => resolveSidecarConfig({ 'anchor-interval': '30d' }, {}, '/')).toThrow(/at most 24d/);
    expect(() => resolveSidecarConfig({ 'max-queue': '5', 'max-batch': '10' }, {}, '/')).toThrow(/max-queue/);
    expect(() => resolveSidecarConfig({ 'policy-id': 'no colon' }, {}, '/')).toThrow(/policy id/);
  });

  it('refuses to bind beyond loopback without a bearer token, and refuses short tokens', () => {
    expect(() => resolveSidecarConfig({ host: '0.0.0.0' }, {}, '/')).toThrow(
      /refusing to listen on 0\.0\.0\.0 without a bearer token/,
    );
    expect(() => resolveSidecarConfig({ host: '::' }, {}, '/')).toThrow(/without a bearer token/);
    expect(resolveSidecarConfig({ host: '0.0.0.0' }, { VCP_SIDECAR_TOKEN: TOKEN }, '/').token).toBe(TOKEN);
    expect(() => resolveSidecarConfig({ token: 'short' }, {}, '/')).toThrow(/at least 16 characters/);
    expect(resolveSidecarConfig({ host: 'localhost' }, {}, '/').token).toBeUndefined();
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', '128.0.0.1', 'example.com'])
      expect(isLoopbackHost(h)).toBe(false);
  });

  it('reads the token from a file', () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'token'), `${TOKEN}\n`);
      expect(resolveSidecarConfig({ 'token-file': 'token', host: '0.0.0.0' }, {}, t.dir).token).toBe(TOKEN);
      expect(() => resolveSidecarConfig({ 'token-file': 'missing' }, {}, t.dir)).toThrow(
        /cannot read the token file/,
      );
    } finally {
      t.cleanup();
    }
  });
});
