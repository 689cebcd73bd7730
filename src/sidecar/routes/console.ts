/**
 * `GET /console` and `/console/app.{js,css}` (`vcp sidecar --console`): the
 * auditor's console. The shell and its assets hold no log data; every event,
 * proof and checkpoint comes from the API under the same access rules. The
 * Host rule applies here too (a token-less sidecar answers only requests
 * addressed to localhost, against DNS rebinding); with a token the shell is
 * served like a login page and the app sends the token on each API call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { keyId } from '../../integrity/keys.ts';
import { CONSOLE_ASSETS, CONSOLE_CSP, type ConsoleConfig, consolePage } from '../../ui/console-page.ts';
import type { SidecarContext } from '../context.ts';
import { HttpError } from '../http.ts';
import { checkAccess, methodNotAllowed } from '../http-server.ts';

const pages = new WeakMap<SidecarContext, string>();

/** True for the paths this route serves. */
export function isConsolePath(path: string): boolean {
  return path === '/console' || path === '/console/' || path.startsWith('/console/');
}

function pageOf(ctx: SidecarContext): string {
  let page = pages.get(ctx);
  if (page === undefined) {
    const hex = ctx.config.consolePublicKeyHex ?? ctx.signer.exportPublicKey('hex');
    const config: ConsoleConfig = {
      pinnedKeyHex: hex,
      pinnedKeyId: keyId(Buffer.from(hex, 'hex')),
      pinnedKeySource: ctx.config.consolePublicKeyHex ? 'console-pubkey' : 'sidecar-key',
      tokenRequired: ctx.config.token !== undefined,
    };
    page = consolePage(config);
    pages.set(ctx, page);
  }
  return page;
}

/** Handle a console path (the caller checked {@link isConsolePath}). */
export function handleConsole(
  ctx: SidecarContext,
  check: ((auth: string | undefined) => boolean) | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  if (!ctx.config.console)
    throw new HttpError(404, 'not_found', 'the console is off; start the sidecar with --console');
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
  if (!check) checkAccess(check, req); // no token: loopback Host only, as for the API
  let type = 'text/html; charset=utf-8';
  let body: string;
  if (path === '/console' || path === '/console/') body = pageOf(ctx);
  else {
    const asset = CONSOLE_ASSETS[path.slice('/console/'.length)];
    if (!asset) throw new HttpError(404, 'not_found', `no console asset ${path.slice(0, 100)}`);
    type = asset.type;
    body = asset.body;
  }
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(method === 'HEAD' ? undefined : body);
}
