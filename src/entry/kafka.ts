/**
 * `vcp-instrument/kafka`: the Kafka sink and the Kafka tap. Needs the optional
 * peer `@platformatic/kafka` installed; the main entry never loads it.
 */
export { KafkaTap, type KafkaTapOptions } from '../adapters/kafka-tap.ts';
export {
  KAFKA_COMPRESSIONS,
  type KafkaCompression,
  KafkaSink,
  type KafkaSinkOptions,
} from '../sinks/kafka.ts';
export * from './taps.ts';
