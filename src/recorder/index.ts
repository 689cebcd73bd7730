/**
 * The recorder: `record()` builds a draft on the caller's path and queues it;
 * sealing and sink I/O happen off that path, in capture order, with a bounded
 * queue, explicit drop/backpressure policy, retries, and exit hooks.
 */
export {
  createRecorder,
  type QueuePolicy,
  Recorder,
  type RecorderErrorInfo,
  type RecorderOptions,
  type RecorderStatsDetail,
} from './recorder.ts';
export { createSealer, type Sealer, type SealerOptions, type SealResult } from './sealer.ts';
export { createTestRecorder, type TestRecorderOptions } from './test-recorder.ts';
export type { RecorderStats, RecordOptions, VcpRecorder } from './types.ts';
export {
  type BatchSigner,
  createWorkerSigner,
  generateWorkerSigner,
  isBatchSigner,
  type WorkerSignerOptions,
} from './worker-signer.ts';
