/**
 * Bearer-token check in constant time: both sides are hashed to 32 bytes
 * first, so `timingSafeEqual` compares equal lengths and the time taken says
 * nothing about the token's length or content.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** A checker for one configured token. */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const want = createHash('sha256').update(token, 'utf8').digest();
  return (authorization) => {
    if (typeof authorization !== 'string') return false;
    const m = /^Bearer[ \t]+(.*)$/i.exec(authorization.trim());
    const got = createHash('sha256')
      .update(m ? m[1]!.trim() : '', 'utf8')
      .digest();
    return timingSafeEqual(got, want) && m !== null;
  };
}

/**
 * True when a Host header names this machine (`localhost`, `127.x.x.x`,
 * `[::1]`, with or without a port). A sidecar without a token only answers
 * such requests: a web page that re-points its own domain at 127.0.0.1 (DNS
 * rebinding) sends its own domain as Host and is refused.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (typeof host !== 'string') return false;
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::\d{1,5})?$/.exec(h);
  if (!m) return false;
  const name = m[1]!;
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}
