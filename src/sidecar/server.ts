/**
 * The sidecar's HTTP server (node:http): start-up (key, store recovery, tree
 * rebuild, anchoring), routing, authentication, limits, and graceful
 * shutdown. The routes live in routes/; ingest in ingest.ts and writer.ts.
 *
 * Security defaults: binds 127.0.0.1; refuses any other address without a
 * bearer token (config.ts); every route but `GET /health` needs the token
 * when one is set; errors are JSON without stack traces; slow or oversized
 * requests are cut off (timeouts, header and body limits).
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VcpConfigError } from '../core/errors.ts';
import type { Signer } from '../integrity/sign.ts';
import type { AnchoringFactory } from './anchoring.ts';
import { bearerChecker } from './auth.ts';
import { BodyGate, type BodyGateOptions } from './body-gate.ts';
import type { SidecarConfig } from './config.ts';
import type { SidecarContext } from './context.ts';
import { HttpError } from './http.ts';
import { accessAllowed, checkAccess, listenHttp, methodNotAllowed, shuttingDown } from './http-server.ts';
import { IngestPool } from './ingest-pool.ts';
import { openSidecarLog } from './log.ts';
import { handleAnchor } from './routes/anchor.ts';
import { handleCheckpoint } from './routes/checkpoint.ts';
import { handleConsole, isConsolePath } from './routes/console.ts';
import { handleExport } from './routes/export.ts';
import { handleHealth, handleMetrics } from './routes/health.ts';
import { handleLog } from './routes/log.ts';
import { handleAnchors, handleConsistency, handleGetEvent, handleProof } from './routes/query.ts';
import { handleSearch } from './routes/search.ts';
import { type KeySource, loadSidecarSigner } from './signing-key.ts';
import { FileEventStore } from './store/file-store.ts';
import type { EventStore } from './store/store.ts';

/** Options of {@link startSidecar}. */
export interface SidecarOptions {
  config: SidecarConfig;
  /** The event store (default: the file store in `config.dataDir`). Opened by the sidecar. */
  store?: EventStore;
  /** The anchoring service (default: the built-in local-file fallback). */
  anchoring?: AnchoringFactory;
  /** The anchor signer (default: from config, else `<data-dir>/signing.key`). */
  signer?: Signer;
  /** Log sink, one line per call (default: stderr). Never receives keys or tokens. */
  log?: (line: string) => void;
  /** The cap on concurrent large bodies (body-gate.ts; defaults there). */
  bodyGate?: BodyGateOptions;
}

/** A running sidecar. */
export interface Sidecar {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The shared parts (store, tree, metrics…), for embedding and tests. */
  readonly context: SidecarContext;
  /** Notes from the store's crash recovery at start. */
  readonly recovery: readonly string[];
  /** Where the signing key came from. */
  readonly keySource: KeySource | 'option';
  /** Path of the public key file written beside a data-folder key, if any. */
  readonly publicKeyPath: string | undefined;
  /**
   * Graceful shutdown: stop accepting, finish in-flight requests (for at
   * most `timeoutMs`, default 10 s), commit what is queued, optionally
   * anchor, stop anchoring, close the store. Idempotent.
   */
  close(options?: { anchor?: boolean; timeoutMs?: number }): Promise<void>;
}

const EVENTS_PREFIX = '/vcp/events/';

/** Start a sidecar; resolves once it listens. */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const config = options.config;
  const log = options.log ?? ((line: string) => process.stderr.write(`vcp sidecar: ${line}\n`));
  if (!options.store && config.store !== 'file')
    // Silently falling back to the file store would put the events somewhere the operator did not ask for.
    throw new VcpConfigError(
      `config.store is ${config.store.replace(/\/\/[^@/]*@/, '//…@')} but no store was passed: open it with createPostgresStore (vcp-instrument/postgres) and pass it as the store option`,
    );
  if (!options.store) {
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VcpConfigError(`cannot create the data folder ${config.dataDir}: ${(e as Error).message}`);
    }
  }
  let keySource: KeySource | 'option' = 'option';
  let publicKeyPath: string | undefined;
  let signer = options.signer;
  if (!signer) {
    const loaded = loadSidecarSigner(config);
    signer = loaded.signer;
    keySource = loaded.source;
    publicKeyPath = loaded.publicKeyPath;
  }

  const store =
    options.store ??
    new FileEventStore({
      dir: config.dataDir,
      segmentBytes: config.segmentBytes,
      scrubIntervalMs: config.scrubIntervalMs,
      log,
    });
  const sidecarLog = await openSidecarLog({
    config,
    store,
    signer,
    ...(options.anchoring ? { anchoring: options.anchoring } : {}),
    dataDir: options.store ? undefined : config.dataDir,
    log,
  });
  const ctx = sidecarLog.ctx;
  const { tree, writer, anchoring, metrics } = ctx;
  // Ingest threads only where they pay: a store that writes the events' text as received (the file
  // store) never needs the parsed event back on this thread (ingest-pool.ts).
  if (config.ingestThreads > 0 && store instanceof FileEventStore)
    ctx.ingestPool = new IngestPool({ threads: config.ingestThreads });

  const check = config.token !== undefined ? bearerChecker(config.token) : undefined;
  const gate = new BodyGate(options.bodyGate);
  const http = await listenHttp({
    host: config.host,
    port: config.port,
    handle: (req, res) => dispatch(ctx, check, gate, req, res),
    onResponse: (status) => metrics.response(status),
    log,
  }).catch(async (e) => {
    await sidecarLog.close({ anchor: false }).catch(() => {});
    throw e;
  });
  const { port, url } = http;
  anchoring.start();
  log(
    `listening on ${url}, store ${store.name} (${tree.size} events, ${tree.anchors.length} anchors), ` +
      `tier ${config.tier}, anchoring every ${Math.round(config.anchorIntervalMs / 1000)}s, signing key id ${signer.keyId}` +
      (config.token ? ', bearer token required' : ''),
  );

  let closing: Promise<void> | undefined;
  const close = (opts: { anchor?: boolean; timeoutMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      // New requests get 503 + Connection: close; in-flight ones still commit and get their 201.
      ctx.shuttingDown = true;
      await http.stop(opts.timeoutMs ?? 10_000);
      writer.close();
      await ctx.ingestPool?.close();
      await sidecarLog.close({ anchor: opts.anchor ?? config.anchorOnExit, reason: 'exit' });
      log(`stopped; ${tree.size} events stored`);
    })();
    return closing;
  };

  return {
    url,
    host: config.host,
    port,
    context: ctx,
    recovery: sidecarLog.recovery,
    keySource,
    publicKeyPath,
    close,
  };
}

async function dispatch(
  ctx: SidecarContext,
  check: ((auth: string | undefined) => boolean) | undefined,
  gate: BodyGate,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  if (path === '/health') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
    // Status only for a request that would fail the access check (foreign Host, no token).
    handleHealth(ctx, res, accessAllowed(check, req));
    return;
  }
  if (ctx.shuttingDown) throw shuttingDown();
  if (isConsolePath(path)) return handleConsole(ctx, check, req, res, path);
  checkAccess(check, req);
  const params = () => new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  switch (path) {
    case '/vcp/log':
      if (method !== 'POST') throw methodNotAllowed('POST');
      return gate.run(req, () => handleLog(ctx, req, res));
    case '/vcp/anchor':
      if (method !== 'POST') throw methodNotAllowed('POST');
      return handleAnchor(ctx, res);
    case '/metrics':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleMetrics(ctx, res);
    case '/vcp/anchors':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleAnchors(ctx, res);
    case '/vcp/consistency':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleConsistency(ctx, res, params());
    case '/vcp/export':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleExport(ctx, res, params());
    case '/vcp/checkpoint':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleCheckpoint(ctx, res);
    case '/vcp/search':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleSearch(ctx, res, params());
  }
  if (path.startsWith(EVENTS_PREFIX)) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const rest = path.slice(EVENTS_PREFIX.length);
    if (rest.endsWith('/proof')) return handleProof(ctx, res, rest.slice(0, -'/proof'.length), params());
    if (!rest.includes('/')) return handleGetEvent(ctx, res, rest);
  }
  throw new HttpError(404, 'not_found', `no route ${method} ${path.slice(0, 100)}`);
}
