/**
 * Anchoring: targets (RFC 3161 TSA, PostgreSQL hash-chained table, local
 * file), the service that closes batches and retries targets, and a factory
 * that turns configuration into targets.
 */

export {
  parseTimeStampResp,
  type TimestampInfo,
  type TimestampTrust,
  type TimestampVerification,
  verifyTimestampToken,
} from '../../integrity/tsa-token.ts';
export {
  type AnchorNowResult,
  type AnchorService,
  type AnchorServiceEvent,
  type AnchorServiceOptions,
  type AnchorStatus,
  createAnchorService,
  findCoveringAnchor,
  type PendingTarget,
  type TargetRef,
  type TreeView,
} from './anchor-service.ts';
export { createLocalFileTarget, LOCAL_ANCHOR_FILE, type LocalFileTargetOptions } from './file-target.ts';
export {
  type ChainCheck,
  createPostgresAnchorTarget,
  DEFAULT_ANCHOR_TABLE,
  GENESIS_ROW_HASH,
  type PostgresAnchorTarget,
  type PostgresTargetOptions,
  rowHash,
} from './postgres-target.ts';
export { backoffDelay, DEFAULT_RETRY, type RetryPolicy, resolveRetryPolicy } from './retry.ts';
export { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.ts';
export { type AnchoringFactoryOptions, createAnchoringFactory } from './server-adapter.ts';
export type { AnchorTargetDriver } from './target.ts';
export { type AnchorTargetsConfig, createAnchorTargets } from './targets-config.ts';
export { buildTimeStampRequest, requestTimestamp, type TimestampResult } from './tsa-client.ts';
export { createTsaTarget, type TsaTargetOptions } from './tsa-target.ts';
