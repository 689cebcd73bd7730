/**
 * `createWorkerSigner(key)`: Ed25519 signing on worker threads.
 *
 * Signing is the most expensive part of sealing (tens of µs an event, about
 * three times the canonicalization and hashing together). On the event loop a
 * batch of 128 signatures blocks the trading code for several milliseconds and
 * caps sealing at well under the raw signing rate. A worker signer takes that
 * off the main thread: the recorder hashes and chains batch N+1 while a worker
 * signs batch N, so signed throughput approaches the raw signing rate of one
 * core and the event loop stays free.
 *
 * It is a full `Signer` (synchronous `sign` runs on the calling thread, for
 * the exit path and `durability: 'sync'`) with one extra method, `signMany`,
 * which the recorder uses when it finds it. The private key is passed to the
 * workers as a `KeyObject` (cloned into their memory, never serialized as
 * text). Workers are unref'd while idle: they never keep a process alive.
 */

import type { KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { VcpConfigError, VcpCryptoError } from '../core/errors.ts';
import {
  type Ed25519Jwk,
  type KeyExportFormat,
  type LoadPrivateKeyOptions,
  loadPrivateKey,
  type PrivateKeyInput,
} from '../integrity/keys.ts';
import { createSigner, type Signer } from '../integrity/sign.ts';

/** A `Signer` that can also sign many hashes at once off the main thread. */
export interface BatchSigner extends Signer {
  /** Sign 32-byte hashes (64 hex chars each); resolves with base64 signatures in the same order. */
  signMany(hashesHex: readonly string[]): Promise<string[]>;
  /** Stop the workers (pending requests reject). */
  close(): Promise<void>;
}

/** Options of {@link createWorkerSigner}. */
export interface WorkerSignerOptions extends LoadPrivateKeyOptions {
  /** Worker threads (default 1; batches are spread round-robin). */
  threads?: number;
}

/** True when `signer` offers `signMany` (the recorder then signs off the main thread). */
export function isBatchSigner(signer: Signer | undefined): signer is BatchSigner {
  return typeof (signer as { signMany?: unknown } | undefined)?.signMany === 'function';
}

// Plain JavaScript (the worker runs it with `eval`), so it works from the sources and from the bundle alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { sign } = require('node:crypto');
const key = workerData.key;
parentPort.on('message', (m) => {
  try {
    const n = m.hashes.length / 32;
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = sign(null, m.hashes.subarray(i * 32, i * 32 + 32), key).toString('base64');
    parentPort.postMessage({ id: m.id, sigs: out });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  resolve: (sigs: string[]) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: Error | undefined;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

class WorkerSigner implements BatchSigner {
  readonly keyId: string;
  readonly algorithm = 'ED25519' as const;
  readonly publicKey: KeyObject;
  readonly #local: Signer;
  readonly #threads: Thread[];
  #next = 0;
  #id = 0;
  #closed = false;

  constructor(key: KeyObject, threads: number) {
    this.#local = createSigner(key);
    this.keyId = this.#local.keyId;
    this.publicKey = this.#local.publicKey;
    this.#threads = Array.from({ length: threads }, () => this.#spawn(key));
  }

  #spawn(key: KeyObject): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { key } });
    const thread: Thread = { worker, pending: new Map(), dead: undefined };
    worker.unref();
    worker.on('message', (m: { id: number; sigs?: string[]; error?: string }) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (thread.pending.size === 0) worker.unref();
      if (m.sigs) p.resolve(m.sigs);
      else p.reject(new VcpCryptoError(`signing worker failed: ${m.error}`));
    });
    const fail = (e: Error) => {
      thread.dead = e;
      for (const p of thread.pending.values()) p.reject(e);
      thread.pending.clear();
    };
    worker.on('error', (e) => fail(new VcpCryptoError(`signing worker crashed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => fail(new VcpCryptoError(`signing worker exited (code ${code})`)));
    return thread;
  }

  sign(hash32: Uint8Array | string): string {
    return this.#local.sign(hash32);
  }

  signBytes(hash32: Uint8Array | string): Buffer {
    return this.#local.signBytes(hash32);
  }

  signMessage(message: Uint8Array): Buffer {
    return this.#local.signMessage(message);
  }

  exportPublicKey(format: 'pem' | 'hex'): string;
  exportPublicKey(format: 'jwk'): Ed25519Jwk;
  exportPublicKey(format: KeyExportFormat): string | Ed25519Jwk;
  exportPublicKey(format: KeyExportFormat): string | Ed25519Jwk {
    return this.#local.exportPublicKey(format);
  }

  signMany(hashesHex: readonly string[]): Promise<string[]> {
    if (hashesHex.length === 0) return Promise.resolve([]);
    const buf = Buffer.allocUnsafe(hashesHex.length * 32);
    for (let i = 0; i < hashesHex.length; i++) {
      const h = hashesHex[i];
      if (typeof h !== 'string' || !HEX64.test(h)) {
        return Promise.reject(new VcpCryptoError(`signMany: item ${i} is not a 32-byte hash in hex`));
      }
      buf.write(h, i * 32, 'hex');
    }
    const alive = this.#threads.filter((t) => !t.dead);
    if (this.#closed || alive.length === 0) {
      // No worker left: sign here rather than fail (slower, still correct).
      return Promise.resolve(hashesHex.map((h) => this.#local.sign(h)));
    }
    const thread = alive[this.#next++ % alive.length]!;
    const id = this.#id++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref(); // a request in flight keeps the process alive until it is answered
      thread.worker.postMessage({ id, hashes: buf }); // copied: n × 32 bytes
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  toJSON(): { algorithm: string; keyId: string } {
    return { algorithm: this.algorithm, keyId: this.keyId };
  }

  [inspect.custom](): string {
    return `WorkerSigner { algorithm: 'ED25519', keyId: '${this.keyId}', threads: ${this.#threads.length} }`;
  }
}

/**
 * A `BatchSigner` for an Ed25519 private key (any form `loadPrivateKey`
 * accepts), with `threads` worker threads. Throws `VcpCryptoError` on a bad key.
 */
export function createWorkerSigner(
  privateKey: PrivateKeyInput,
  options: WorkerSignerOptions = {},
): BatchSigner {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new VcpConfigError('createWorkerSigner threads must be an integer from 1 to 64');
  }
  const key = loadPrivateKey(privateKey, options);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new VcpCryptoError('createWorkerSigner needs an Ed25519 key');
  return new WorkerSigner(key, threads);
}

/** Generate a fresh key and a worker signer for it (tests, demos). */
export function generateWorkerSigner(
  options: Omit<WorkerSignerOptions, keyof LoadPrivateKeyOptions> = {},
): BatchSigner {
  return createWorkerSigner(nodeCrypto.generateKeyPairSync('ed25519').privateKey, options);
}
