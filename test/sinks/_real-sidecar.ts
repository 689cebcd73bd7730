/**
 * The real sidecar (src/sidecar), started in-process on a free loopback port
 * (held while it is stopped, for its restart) for the sink tests, with the file store in a temporary folder. The only
 * faults injected are in the store (`failAppends`: a full disk; `gate`: a slow
 * disk); every answer is the sidecar's own.
 */
import { afterEach } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import type { EventStore } from '../../src/sidecar/store/store.ts';
import { holdPort } from '../helpers/ports.ts';
import { tempDir, testConfig } from '../sidecar/helpers.ts';

/**
 * The real file store, whose next `failAppends` appends fail as a full disk would,
 * and whose appends wait while `gate` is set (a slow disk: requests queue up).
 */
export class FailingStore extends FileEventStore {
  failAppends = 0;
  gate: Promise<void> | undefined;
  override async append(batch: Parameters<EventStore['append']>[0]): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failAppends > 0) {
      this.failAppends--;
      throw new Error('ENOSPC: no space left on device (simulated)');
    }
    return super.append(batch);
  }
}

/** A running real sidecar and what a test needs around it. */
export interface RealSidecar {
  sidecar: Sidecar;
  url: string;
  port: number;
  dataDir: string;
  store: FailingStore;
  logs: string[];
  /** Events stored, in Merkle index order (from `GET /vcp/export`). */
  stored(): Promise<VcpEvent[]>;
  /** Stop it (keeps the data folder: `restart()` starts again on the same port and data). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stop and remove the data folder. */
  dispose(): Promise<void>;
}

/** Start the real sidecar; `flags` are `vcp sidecar` flags (`max-batch`, `strict`, `token`…). */
export async function startRealSidecar(flags: Record<string, string | boolean> = {}): Promise<RealSidecar> {
  const t = tempDir('vcp-sink-sidecar-');
  const logs: string[] = [];
  let port = 0;
  let store!: FailingStore;
  let sidecar!: Sidecar;
  const boot = async () => {
    store = new FailingStore({ dir: t.dir });
    sidecar = await startSidecar({
      config: testConfig(t.dir, { ...flags, port: String(port) }),
      store,
      log: (l) => logs.push(l),
    });
    port = sidecar.port;
  };
  await boot();
  let running = true;
  const self: RealSidecar = {
    get sidecar() {
      return sidecar;
    },
    get url() {
      return sidecar.url;
    },
    get port() {
      return port;
    },
    dataDir: t.dir,
    get store() {
      return store;
    },
    logs,
    async stored() {
      const headers: Record<string, string> = {};
      if (typeof flags.token === 'string') headers.authorization = `Bearer ${flags.token}`;
      const res = await fetch(`${sidecar.url}/vcp/export`, { headers });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`export: HTTP ${res.status} ${text}`);
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((o) => o.header !== undefined) as unknown as VcpEvent[];
    },
    async stop() {
      if (!running) return;
      running = false;
      await sidecar.close({ anchor: false });
      // Refused until restart(), and no other process is given the port meanwhile.
      await holdPort(port);
    },
    async restart() {
      await self.stop();
      await boot();
      running = true;
    },
    async dispose() {
      if (running) await sidecar.close({ anchor: false });
      running = false;
      t.cleanup();
    },
  };
  return self;
}

/**
 * Per-test clean-up for a test file: `closers` run after each test, last first, and `sidecar(flags)` starts a
 * real sidecar ({@link startRealSidecar}) that is disposed with them. Call once at the file's top level.
 */
export function perTestSidecars(): {
  closers: (() => Promise<void> | void)[];
  sidecar: (flags?: Record<string, string | boolean>) => Promise<RealSidecar>;
} {
  const closers: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  const sidecar = async (flags: Record<string, string | boolean> = {}) => {
    const s = await startRealSidecar(flags);
    closers.push(() => s.dispose());
    return s;
  };
  return { closers, sidecar };
}
