/**
 * What every stream tap shares (the Kafka and Redis entries both re-export it):
 * the runner that forwards to the sidecar, the message → event mapping and
 * deterministic source ids. Dependency-free; the client libraries are not here.
 */
export {
  createDefaultMapping,
  type DefaultMappingOptions,
  type MappedEvent,
  type MessageMapping,
  TapMappingError,
  type TapMessage,
} from '../adapters/message-mapping.ts';
export { type SourcePosition, sourceEventId, traceIdFromKey } from '../adapters/source-ids.ts';
export { TapDeliveryError, TapRunner, type TapRunnerOptions, type TapStats } from '../adapters/tap-runner.ts';
