/**
 * `vcp-instrument/testing`: what a test author swaps in: a recorder that seals
 * synchronously into an in-memory sink, and the sink itself.
 */
export { createTestRecorder, type TestRecorderOptions } from '../recorder/test-recorder.ts';
export { MemorySink } from '../sinks/memory.ts';
