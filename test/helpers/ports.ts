/**
 * A loopback port that nothing listens on and that no other process is given meanwhile, for tests
 * of "the server is down" (connections refused) and "it comes back on the same address".
 *
 * Closing a listen(0) server and reusing its port is not enough: the port is free again, and the
 * kernel hands it to the next listen(0) anywhere on the machine (about 1 in 10 000 of them here,
 * with other test files starting servers all the time). A port that holds a TIME_WAIT socket is
 * skipped by automatic port choice (net.ipv4.ip_autobind_reuse = 0) for about a minute, refuses
 * connections (nothing listens), and can still be listened on explicitly (Node sets SO_REUSEADDR).
 * Linux only: the TIME_WAIT socket is checked in /proc/net/tcp.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const TIME_WAIT = '06';

/** Whether /proc/net/tcp holds a TIME_WAIT socket on 127.0.0.1:`port`. */
function inTimeWait(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === local && f[3] === TIME_WAIT;
    });
}

/**
 * Leave a TIME_WAIT socket on 127.0.0.1:`port` (nothing may listen on it now; 0: a new port) and
 * return the port: closed, and kept from other processes for about a minute (see the module comment).
 */
export async function holdPort(port = 0): Promise<number> {
  // The server closes first, so the TIME_WAIT socket is its own, bound to the port.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const held = (server.address() as { port: number }).port;
  const client = connect(held, '127.0.0.1');
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.on('close', () => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (let i = 0; i < 100 && !inTimeWait(held); i++) await new Promise((r) => setTimeout(r, 10));
  if (!inTimeWait(held)) throw new Error(`port ${held}: no TIME_WAIT socket holds it`);
  return held;
}

/** A closed loopback port, kept from other processes for about a minute (see the module comment). */
export function reservedClosedPort(): Promise<number> {
  return holdPort(0);
}
