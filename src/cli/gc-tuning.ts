/**
 * One V8 setting the CLI's batch commands (`vcp tap`, `vcp verify`) run with: allocation-site
 * pretenuring off.
 *
 * V8 watches where objects are allocated and, for a site whose objects often outlive a
 * young-generation GC, allocates them straight in the old generation. Our hot paths defeat that
 * guess: a Redis reply's arrays, a batch's event list, a request's item list live for one batch
 * and then die. Once such a site is pretenured, its dead old-space arrays still point at the
 * batch's young objects (a reply's field buffers, the events' strings), so every young GC keeps
 * those alive and copies them to the old generation, where only a full GC frees them.
 *
 * Measured on the Redis tap (bench/_tap-profile.ts, 200 000 entries into memory, warm): 0.65
 * instead of 1.0 GB promoted, 0.85–1.0 instead of 1.26–1.46 s of young GC pauses, 12.5–14.7
 * instead of 15.8–16.8 µs of CPU per event. The setting changes where objects live, never what the
 * program computes.
 *
 * The sidecar keeps Node's default: without pretenuring, the objects of a storm of large hostile
 * bodies were copied by young GCs too, and its `/health` p99 during the storm doubled (84–121
 * against 40–63 ms in bench/sidecar-soak.ts, three pairs).
 *
 * It must be set before the workload (V8 decides per allocation site, at GC time, from what it saw
 * since the last one): `main()` sets it before it runs one of those commands. An explicit
 * `--allocation-site-pretenuring` or `--no-allocation-site-pretenuring` among the node flags is left
 * alone (Node refuses V8 flags like this one in NODE_OPTIONS). A program that embeds a tap or the
 * verifier gets the same by starting `node --no-allocation-site-pretenuring`
 * (docs/performance.md).
 */
import { setFlagsFromString } from 'node:v8';

const EXPLICIT = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/**
 * Turn allocation-site pretenuring off unless the node flags name it. Returns whether it was
 * turned off here.
 */
export function disableAllocationSitePretenuring(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => EXPLICIT.test(a))) return false;
  setFlagsFromString('--no-allocation-site-pretenuring');
  return true;
}
