/**
 * The FIX adapter: FIX 4.2 / 4.4 / 5.0SP2 tag=value messages → VCP events,
 * live (`createFixAdapter(...).onMessage(raw)` from any engine's callback)
 * or from an engine's message log (`replayFixLog`, `vcp fix-replay`).
 */
export {
  createFixAdapter,
  type FixAdapter,
  type FixAdapterOptions,
  type FixAdapterStats,
  type FixMessageMeta,
  type FixReceivedAt,
  toFixTime,
} from './adapter.ts';
/** The FIX tag numbers and enumeration tables the adapter maps with (`fixDictionary.SIDE['1']` is `'BUY'`). */
export * as fixDictionary from './dictionary.ts';
export { deterministicUuidV7, seedDigest } from './event-id.ts';
export {
  type LogEntry,
  type LogLine,
  parseLogLine,
  type ReadLogOptions,
  readLogLines,
} from './log-reader.ts';
export {
  createFixMapper,
  type FixMapper,
  type FixMapperOptions,
  type FixMapperStats,
  fixDecimal,
  type MapContext,
  type MappedEvent,
} from './mapper.ts';
export {
  createOrderTracker,
  type OrderIds,
  type OrderRecord,
  type OrderTracker,
  type OrderTrackerOptions,
  type OrderTrackerStats,
} from './order-tracker.ts';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  type FixField,
  type FixMessage,
  type FixParseError,
  type FixParseErrorCode,
  type FixParseOptions,
  type FixParseResult,
  parseFixMessage,
  printableRaw,
} from './parser.ts';
export {
  type FixReplayFileOptions,
  type FixReplayFileResult,
  type FixReplayOptions,
  type FixReplayStats,
  replayFixLog,
  replayFixLogToFile,
} from './replay.ts';
export {
  createSequenceTracker,
  type SequenceInput,
  type SequenceIssue,
  type SequenceStats,
  type SequenceTracker,
  type SequenceTrackerOptions,
  type SequenceVerdict,
} from './sequence.ts';
export { type FixTime, parseFixTimestamp, parseLogTimestamp } from './time.ts';
