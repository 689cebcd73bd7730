/**
 * `vcp-instrument/redis`: the Redis Streams sink and the Redis Streams tap.
 * Needs the optional peer `ioredis` installed; the main entry never loads it.
 */
export { RedisTap, type RedisTapOptions } from '../adapters/redis-tap.ts';
export { RedisStreamSink, type RedisStreamSinkOptions } from '../sinks/redis.ts';
export * from './taps.ts';
