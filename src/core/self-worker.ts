/**
 * Starting a worker thread on one of this package's own modules (the
 * verifier's analysis threads, the sidecar's ingest thread).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker on `url` that runs with the parent's Node options. They are inherited as they are (V8 flags such as
 * `--max-semi-space-size` are refused when passed explicitly), except `--input-type`, which only applies to the
 * parent's own `-e` entry and would stop the worker from loading a file.
 */
export function startSelfWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  if (!process.execArgv.some((a) => a.startsWith('--input-type'))) return new Worker(url, options);
  try {
    return new Worker(url, {
      ...options,
      execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
    });
  } catch {
    return new Worker(url, { ...options, execArgv: [] }); // the rest held options a worker cannot take
  }
}
