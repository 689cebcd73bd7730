/**
 * `vcp-instrument/fix`: the FIX adapter, live (`createFixAdapter(...).onMessage(raw)`
 * from any FIX engine's callback) and replay of an engine's message log.
 */
export * from '../adapters/fix/index.ts';
