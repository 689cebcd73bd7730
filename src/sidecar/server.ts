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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { VcpConfigError } from '../core/errors.ts';
import type { Signer } from '../integrity/sign.ts';
import {
  type Anchoring,
  type AnchoringContext,
  type AnchoringFactory,
  createLocalAnchoring,
} from './anchoring.ts';
import { bearerChecker, isLoopbackHostHeader } from './auth.ts';
import type { SidecarConfig } from './config.ts';
import type { SidecarContext } from './context.ts';
import { drainAndClose, HttpError, sendError } from './http.ts';
import { SidecarMetrics } from './metrics.ts';
import { handleAnchor } from './routes/anchor.ts';
import { handleExport } from './routes/export.ts';
import { handleHealth, handleMetrics } from './routes/health.ts';
import { handleLog } from './routes/log.ts';
import { handleAnchors, handleConsistency, handleGetEvent, handleProof } from './routes/query.ts';
import { type KeySource, loadSidecarSigner } from './signing-key.ts';
import { FileEventStore } from './store/file-store.ts';
import type { EventStore } from './store/store.ts';
import { TreeState } from './tree-state.ts';
import { CommitQueue } from './writer.ts';

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
    options.store ?? new FileEventStore({ dir: config.dataDir, segmentBytes: config.segmentBytes });
  const state = await store.open();
  for (const note of state.recovery) log(`recovery: ${note}`);
  const tree = new TreeState(state);
  state.leaves.length = 0; // the tree holds them now
  if (tree.size > tree.anchoredSize) {
    const first = await store.getByIndex(tree.anchoredSize);
    if (first) tree.setUnanchoredSince(Date.parse(first.receivedAt));
  }

  // Assigned below, once every part exists; the metrics' gauges read it lazily.
  let ctx: SidecarContext;
  const metrics = new SidecarMetrics({
    queueDepth: () => ctx.writer.depth,
    treeSize: () => tree.size,
    anchoredSize: () => tree.anchoredSize,
    anchorLagSeconds: () => ctx.anchoring.lagMs() / 1000,
    anchorLagLimitSeconds: () => config.anchorIntervalMs / 1000,
    lastAnchorUnixSeconds: () => {
      const last = tree.lastAnchor;
      return last ? Number(BigInt(last.timestamp) / 1_000_000n) / 1000 : undefined;
    },
  });
  const writer = new CommitQueue(store, tree, { maxQueueEvents: config.limits.maxQueueEvents, metrics, log });

  const anchoringCtx: AnchoringContext = {
    store: observedStore(store, tree, metrics),
    tree,
    anchors: () => tree.anchors,
    unanchoredSinceMs: () => tree.unanchoredSinceMs,
    signer,
    policyId: config.policyId,
    intervalMs: config.anchorIntervalMs,
    dataDir: options.store ? undefined : config.dataDir,
    log,
  };
  let anchoring: Anchoring;
  try {
    anchoring = await (options.anchoring ?? createLocalAnchoring)(anchoringCtx);
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }

  ctx = {
    config,
    store,
    tree,
    writer,
    anchoring,
    metrics,
    signer,
    log,
    startedAt: Date.now(),
    shuttingDown: false,
  };

  const check = config.token !== undefined ? bearerChecker(config.token) : undefined;
  let inflight = 0;
  let onIdle: (() => void) | undefined;
  const server: Server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 },
    (req, res) => {
      inflight++;
      res.on('close', () => {
        metrics.response(res.statusCode);
        if (--inflight === 0) onIdle?.();
      });
      dispatch(ctx, check, req, res).catch((e: unknown) => answerError(ctx, req, res, e));
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ status: 'error', error: 'bad_request', message: 'malformed HTTP request' });
    socket.end(
      `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(
        new VcpConfigError(
          e.code === 'EADDRINUSE'
            ? `port ${config.port} on ${config.host} is already in use; pick another --port (0 for any free one)`
            : `cannot listen on ${config.host}:${config.port}: ${e.message}`,
          { cause: e },
        ),
      );
    };
    server.once('error', onError);
    server.listen(config.port, config.host, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch(async (e) => {
    await anchoring.stop().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const hostForUrl =
    config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  anchoring.start();
  log(
    `listening on http://${hostForUrl}:${port}, store ${store.name} (${tree.size} events, ${tree.anchors.length} anchors), ` +
      `tier ${config.tier}, anchoring every ${Math.round(config.anchorIntervalMs / 1000)}s, signing key id ${signer.keyId}` +
      (config.token ? ', bearer token required' : ''),
  );

  let closing: Promise<void> | undefined;
  const close = (opts: { anchor?: boolean; timeoutMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      ctx.shuttingDown = true;
      writer.close();
      server.close();
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.timeoutMs ?? 10_000);
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await writer.drain();
      if (opts.anchor ?? config.anchorOnExit) {
        try {
          const out = await anchoring.anchorNow();
          if (out && !out.unchanged)
            log(`anchored ${out.record.tree_size} events on exit (anchor ${out.record.anchor_id})`);
        } catch (e) {
          log(`anchoring on exit failed: ${(e as Error).message}`);
        }
      }
      await anchoring.stop().catch((e: unknown) => log(`stopping anchoring: ${(e as Error).message}`));
      await store.close();
      log(`stopped; ${tree.size} events stored`);
    })();
    return closing;
  };

  return {
    url: `http://${hostForUrl}:${port}`,
    host: config.host,
    port,
    context: ctx,
    recovery: state.recovery,
    keySource,
    publicKeyPath,
    close,
  };
}

/** The store as the anchoring service sees it: reads pass through; `putAnchor` also updates the tree state. */
function observedStore(store: EventStore, tree: TreeState, metrics: SidecarMetrics): EventStore {
  const onlyServer = () =>
    Promise.reject(new Error('only the sidecar server opens, appends to or closes the store'));
  return {
    name: store.name,
    open: onlyServer,
    append: onlyServer,
    close: () => Promise.resolve(),
    getById: (id) => store.getById(id),
    getByIndex: (i) => store.getByIndex(i),
    scan: (from, to) => store.scan(from, to),
    anchors: () => store.anchors(),
    async putAnchor(record) {
      await store.putAnchor(record);
      const isNew = !tree.anchors.some((a) => a.anchor_id === record.anchor_id);
      tree.addAnchor(record);
      if (isNew) {
        metrics.anchors++;
        if (tree.size > record.tree_size) {
          const next = await store.getByIndex(record.tree_size).catch(() => undefined);
          if (next && tree.anchoredSize === record.tree_size)
            tree.setUnanchoredSince(Date.parse(next.receivedAt));
        }
      }
    },
  };
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `use ${allow}`, {}, { allow });
}

async function dispatch(
  ctx: SidecarContext,
  check: ((auth: string | undefined) => boolean) | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  if (path === '/health') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
    handleHealth(ctx, res);
    return;
  }
  if (ctx.shuttingDown) {
    throw new HttpError(
      503,
      'shutting_down',
      'the sidecar is shutting down',
      {},
      { connection: 'close', 'retry-after': '1' },
    );
  }
  if (!check && !isLoopbackHostHeader(req.headers.host)) {
    throw new HttpError(
      403,
      'forbidden_host',
      'without a token this sidecar only answers requests addressed to localhost / 127.0.0.1',
    );
  }
  if (check && !check(req.headers.authorization)) {
    throw new HttpError(
      401,
      'unauthorized',
      'a valid bearer token is required (Authorization: Bearer <token>)',
      {},
      {
        'www-authenticate': 'Bearer realm="vcp-sidecar"',
      },
    );
  }
  const params = () => new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  switch (path) {
    case '/vcp/log':
      if (method !== 'POST') throw methodNotAllowed('POST');
      return handleLog(ctx, req, res);
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
  }
  if (path.startsWith(EVENTS_PREFIX)) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const rest = path.slice(EVENTS_PREFIX.length);
    if (rest.endsWith('/proof')) return handleProof(ctx, res, rest.slice(0, -'/proof'.length), params());
    if (!rest.includes('/')) return handleGetEvent(ctx, res, rest);
  }
  throw new HttpError(404, 'not_found', `no route ${method} ${path.slice(0, 100)}`);
}

/** Answer a failed request: HttpErrors as they say, anything else as a bare 500 (details go to the log only). */
function answerError(ctx: SidecarContext, req: IncomingMessage, res: ServerResponse, e: unknown): void {
  let err: HttpError;
  if (e instanceof HttpError) err = e;
  else {
    ctx.log(
      `internal error on ${req.method} ${(req.url ?? '').slice(0, 100)}: ${(e as Error)?.stack ?? String(e)}`,
    );
    err = new HttpError(500, 'internal', 'internal error; see the sidecar log');
  }
  if (res.headersSent) {
    // A stream (export) broke mid-way: cut the connection so the client sees a truncated answer, not a complete one.
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  const unread = !req.complete;
  if (unread) err.headers.connection = 'close';
  sendError(res, err);
  if (unread) drainAndClose(req, res);
}
