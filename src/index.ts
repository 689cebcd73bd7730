/**
 * vcp-instrument: tamper-evident VeritasChain Protocol (VCP) v1.1 audit
 * events for algorithmic trading systems.
 *
 * Where things happen (one folder a layer):
 * - captured:  src/instrument (decorator, Express, Koa), src/client, src/adapters
 * - sealed:    src/recorder (queue → JCS → EventHash → chain → Ed25519)
 * - stored:    src/sinks (memory, console, file, http, kafka, redis), src/sidecar
 * - proved:    src/integrity (canonical JSON, hashes, Merkle proofs, signatures, verifier)
 */

export {
  TRACE_HEADER,
  traceIdFromHeaders,
  traceIdFromTraceparent,
  traceIdFromVcpHeader,
} from './context/trace-header.ts';
// Trace context.
export {
  bindToCurrentTrace,
  createTraceStore,
  currentStore,
  currentTrace,
  runWithStore,
  runWithTrace,
  type TraceStore,
} from './context/trace-store.ts';
// Event model.
export * from './core/index.ts';
// Integrity.
export {
  type AnchorDraft,
  anchorRecordHash,
  type CreateAnchorOptions,
  createAnchorRecord,
  verifyAnchorSignature,
} from './integrity/anchor-record.ts';
export { canonicalize } from './integrity/canonical.ts';
export { createHashChain, type HashChain } from './integrity/chain.ts';
export { DEFAULT_HASH_ALGO, digest, digestHex, isHashAlgo } from './integrity/digest.ts';
export {
  computeEventHash,
  computeEventHashVariant,
  type EventHashOptions,
  GENESIS_HASH,
  HASH_VARIANTS,
  type HashableEvent,
  type HashVariant,
} from './integrity/event-hash.ts';
export {
  classifyExportItem,
  type ExportMeta,
  ExportReader,
  exportLine,
  type ParsedExport,
  parseExport,
} from './integrity/export-format.ts';
export {
  type Ed25519Jwk,
  type Ed25519KeyPair,
  exportPrivateKey,
  exportPublicKey,
  generateKeyPair,
  type JwkInput,
  type KeyExportFormat,
  keyId,
  loadPrivateKey,
  loadPrivateKeyFile,
  loadPrivateKeyFromEnv,
  loadPublicKey,
  loadPublicKeyFile,
  type PrivateKeyInput,
  type PublicKeyInput,
  publicKeyFromRaw,
} from './integrity/keys.ts';
export {
  EMPTY_ROOT_HEX,
  type InclusionProof,
  isHash32Hex,
  leafHash,
  MerkleTree,
  type MerkleTreeOptions,
  nodeHash,
  rootFromInclusionProof,
  type VcpDupProofStep,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from './integrity/merkle/index.ts';
export { type EventView, viewEvent } from './integrity/normalize.ts';
export { type SealOptions, sealEvent } from './integrity/seal.ts';
export {
  createSigner,
  generateSigningKey,
  SIGN_ALGO,
  type Signer,
  verifyEd25519,
  verifySignature,
} from './integrity/sign.ts';
export { parseStrictJson, parseStrictJsonObject, type StrictJsonOptions } from './integrity/strict-json.ts';
// Offline verification: checks, findings, the verdict table and the report renderers.
export * from './verify/index.ts';

// Recorder and sinks.

// Sidecar REST client.
export * from './client/index.ts';
// Capture: decorators, cls-style facade.
export * from './context/namespace.ts';
export * from './instrument/index.ts';
export * from './recorder/index.ts';
// Sinks. The Kafka and Redis sinks and taps, the FIX adapter and the embedded sidecar are
// subpath exports (vcp-instrument/kafka, /redis, /fix, /sidecar): their types name optional
// packages, and the main entry's declarations must compile without them.
export * from './sinks/index.ts';
export type { Sink } from './sinks/sink.ts';
