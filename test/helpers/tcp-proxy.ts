/**
 * A real TCP proxy (node:net) in front of a server, for fault tests: point
 * the component under test at the proxy, then cut the network under it.
 *
 * - `kill()` destroys every open connection (both sides) and stops
 *   listening, so new connections are refused: the server "went away". The
 *   port stays held (test/helpers/ports.ts): no other process is given it
 *   before `start()`.
 * - `start()` listens again on the same port: the server is back.
 * - `pause()` stops every byte in both directions without closing anything
 *   (a network that swallows packets, no reset); `resume()` lets what was
 *   held back through.
 * - `dropReplyAfter(marker)` arms a one-shot trap: the first time a client
 *   sends bytes containing `marker` (e.g. the `COMMIT` of a PostgreSQL simple
 *   query), they are forwarded, the server's next reply on that connection is
 *   swallowed and every connection is cut: the statement ran, the client
 *   never hears so.
 *
 * Listens on 127.0.0.1 only.
 */
import { createServer, type Server, Socket } from 'node:net';
import { holdPort } from './ports.ts';

/** A running proxy. See the module comment. */
export interface TcpProxy {
  /** The proxy's port on 127.0.0.1 (stable across kill/start). */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Cut every connection and refuse new ones. Resolves once the listener is closed. */
  kill(): Promise<void>;
  /** Listen again (same port). */
  start(): Promise<void>;
  /** Hold every byte back, both ways, on open and new connections; nothing is closed. */
  pause(): void;
  /** Let bytes flow again. */
  resume(): void;
  /** One-shot: after a client sends `marker`, swallow the server's reply and kill (see the module comment). */
  dropReplyAfter(marker: string): Promise<void>;
  /** Stop for good. */
  close(): Promise<void>;
}

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Where to forward. */
  targetHost: string;
  targetPort: number;
  /** Port to listen on (default: a free one). */
  port?: number;
}

/** Start a proxy to `targetHost:targetPort`. */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let server: Server | undefined;
  let port = options.port ?? 0;
  let trap: { marker: Buffer; fired: () => void } | undefined;
  let paused = false;
  /** The port being held after a trap closed the listener; `start()` waits for it. */
  let holding: Promise<unknown> = Promise.resolve();

  const destroyAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };

  const onConnection = (client: Socket) => {
    accepted++;
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    let armed = false;
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pause();
    upstream.connect(options.targetPort, options.targetHost, () => {
      if (!paused) client.resume();
    });
    if (paused) upstream.pause();
    client.on('data', (chunk: Buffer) => {
      if (trap && chunk.includes(trap.marker)) {
        armed = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (armed && trap) {
        // The server answered the trapped statement: the client must never see it.
        const fired = trap.fired;
        trap = undefined;
        armed = false;
        destroyAll();
        const s = server;
        server = undefined;
        holding = new Promise<void>((r) => (s ? s.close(() => r()) : r())).then(() => holdPort(port));
        holding.catch(() => {}); // a failure is the next start()'s to report
        fired();
        return;
      }
      client.write(chunk);
    });
  };

  const listen = async () => {
    await holding;
    await new Promise<void>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  };

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      destroyAll();
      if (!s) return resolve();
      s.close(() => resolve());
    });

  await listen();
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size / 2;
    },
    kill: async () => {
      await stop();
      await holdPort(port);
    },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const s of sockets) s.resume();
    },
    start: async () => {
      if (!server) await listen();
    },
    dropReplyAfter(marker: string) {
      return new Promise<void>((resolve) => {
        trap = { marker: Buffer.from(marker), fired: resolve };
      });
    },
    close: stop,
  };
}
