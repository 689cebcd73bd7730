/**
 * Shared helpers of the sidecar tests: events (v1.1 and the integration
 * guide's client shape), temporary folders, configs, HTTP calls, and a child
 * `vcp sidecar` process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { DraftEvent } from '../../src/core/types.ts';
import { resolveSidecarConfig, type SidecarConfig } from '../../src/sidecar/config.ts';
import { HttpError } from '../../src/sidecar/http.ts';

const policy = createPolicy({ policyId: 'com.example.trading:algo-7', tier: 'GOLD' });

/** A complete, conformant v1.1 ORD event (no warnings). */
export function v11Event(n = 0): DraftEvent {
  return buildEvent(
    'ORD',
    {
      trade_data: {
        order_id: `ORD-${n}`,
        symbol: 'EURUSD',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.0850',
        quantity: '100000',
      },
    },
    { policy, venueId: 'XLON', accountId: 'ACC-1', symbol: 'EURUSD' },
  );
}

/** What the guide's Python `VCPClient.log_order` sends (UUIDv4, ms timestamp_int, no security). */
export function guideEvent(orderId = 'ORD-001'): Record<string, unknown> {
  const now = new Date();
  return {
    header: {
      event_id: randomUUID(),
      event_type: 'ORD',
      timestamp_iso: now.toISOString().replace('Z', '000+00:00'),
      timestamp_int: String(now.getTime()),
      timestamp_precision: 'MILLISECOND',
      clock_sync_status: 'BEST_EFFORT',
      vcp_version: '1.1',
      hash_algo: 'SHA256',
      trace_id: randomUUID(),
    },
    payload: {
      trade_data: {
        order_id: orderId,
        symbol: 'EURUSD',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.085',
        quantity: '100000',
      },
    },
    policy_identification: {
      version: '1.1',
      policy_id: 'com.mycompany:trading-system-v1',
      conformance_tier: 'SILVER',
      verification_depth: {
        hash_chain_validation: false,
        merkle_proof_required: true,
        external_anchor_required: true,
      },
    },
  };
}

/** A new temporary folder; `cleanup()` removes it. */
export function tempDir(prefix = 'vcp-sidecar-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A config for a test sidecar on a free loopback port. */
export function testConfig(dataDir: string, flags: Record<string, string | boolean> = {}): SidecarConfig {
  return resolveSidecarConfig({ port: '0', 'data-dir': dataDir, ...flags }, {}, dataDir);
}

/** A JSON answer. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** POST a body (object → JSON, string → as given). */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body),
  });
  return answer(res);
}

/** GET and parse JSON when possible. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return answer(await fetch(url, { headers }));
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A `vcp sidecar` child process started from the sources. */
export interface ChildSidecar {
  proc: ChildProcess;
  url: string;
  /** The JSON line printed once listening. */
  info: Record<string, unknown>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ENTRY = join(import.meta.dirname, '../../src/cli/sidecar-entry.ts');

/** Start `node src/cli/sidecar-entry.ts <args>` and wait for its `{"listening":…}` line. */
export function startChild(args: string[], env: Record<string, string> = {}): Promise<ChildSidecar> {
  const proc = spawn(process.execPath, [ENTRY, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => reject(new Error(`sidecar did not start: ${err}`)), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line) as Record<string, unknown>;
      resolve({ proc, url: info.listening as string, info, stderr: () => err, exited });
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before listening: ${err}`));
    });
  });
}

/** The HttpError `f` throws (a refusal of the ingest path); fails the test when it returns instead. */
export function refusal(f: () => unknown): HttpError {
  try {
    f();
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}
