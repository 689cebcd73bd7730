/**
 * The memory hint `vcp sidecar` logs when it starts on Node's default young generation.
 *
 * Under sustained load that default (64 MiB semi-spaces) lets the sidecar's RSS reach about 400 MB
 * although its live heap is under 100 MB; `--max-semi-space-size=8`, and on glibc two malloc arenas
 * instead of eight per core, keep it about 100 MB lower at the same throughput, under the 300 MB goal
 * in the benchmark's rounds; the file store's index adds ~115 MB per million events on top of either
 * (docs/sidecar-api.md#memory).
 * Neither can be changed once the process runs (V8 sizes the young generation at start, glibc reads
 * MALLOC_ARENA_MAX once), so the sidecar can only say so, once, in its log.
 */

/** The hint's text, or undefined when the young generation is already set (by a flag or NODE_OPTIONS). */
export function sidecarMemoryHint(
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const flag = /(^|\s)--max[-_]semi[-_]space[-_]size(=|\s|$)/;
  if (execArgv.some((a) => flag.test(a)) || flag.test(env.NODE_OPTIONS ?? '')) return undefined;
  const arenas = env.MALLOC_ARENA_MAX === undefined ? ' MALLOC_ARENA_MAX=2' : '';
  return (
    "memory: on Node's default young generation the RSS can reach about 400 MB under load; " +
    `start with NODE_OPTIONS=--max-semi-space-size=8${arenas} to keep it about 100 MB lower (docs/sidecar-api.md#memory)`
  );
}
