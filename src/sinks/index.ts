/**
 * Sinks: where sealed events go. One small interface (`Sink`), the built-in
 * sinks (memory, console, file, HTTP, fan-out) and the composable wrappers
 * (retry, circuit breaker, spool) that add fault tolerance to any of them.
 */
export {
  type CircuitBreakerOptions,
  CircuitBreakerSink,
  type CircuitState,
  withCircuitBreaker,
} from './circuit-breaker.ts';
export { ConsoleSink, type ConsoleSinkOptions, formatEventLine } from './console.ts';
export {
  type DeadLetterHeader,
  isDeadLetterHeader,
  type Refusal,
  type RefusalReason,
  SinkRejectionError,
  type SinkRejectionOptions,
  writeDeadLetterFile,
} from './dead-letter.ts';
export { describeError, isRetryable, retryAfterOf, SinkError, type SinkErrorOptions } from './errors.ts';
export { FanoutSink, type FanoutSinkOptions } from './fanout.ts';
export { FileSink, type FileSinkOptions, type FsyncPolicy, listLogFiles } from './file.ts';
export {
  batchKey,
  type CreateHttpSinkOptions,
  createHttpSink,
  type HttpRejection,
  HttpSink,
  type HttpSinkOptions,
  type HttpSinkStats,
} from './http.ts';
export { MemorySink } from './memory.ts';
export {
  type BackoffOptions,
  backoffDelay,
  type RetryOptions,
  RetrySink,
  Sleeper,
  withRetry,
} from './retry.ts';
export { serializeEvent } from './serialize.ts';
export {
  type OpenHttpSinkOptions,
  openHttpSink,
  type ReadSidecarLimitsOptions,
  readSidecarLimits,
  type SidecarLimits,
  sidecarHealthUrl,
} from './sidecar-limits.ts';
export type { Sink } from './sink.ts';
export { type SpoolOptions, SpoolSink, spooledEventsOf, withSpool } from './spool.ts';
export {
  listSpoolFiles,
  readSpoolFile,
  type SpoolFileContents,
  type SpoolFileEntry,
  type SpoolFileKind,
  spoolFileKind,
} from './spool-files.ts';
