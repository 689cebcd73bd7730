/**
 * Offline verification (DESIGN.md decision 12): `Verifier` reads an export,
 * the checks in `checks/` each return typed findings, `verdict.ts` maps them
 * to PROVEN / INVALID / UNPROVEN, and renderers format the one report model.
 */
export type { ExternalAnchor } from './checks/anchor.ts';
export type { Coverage } from './checks/checkpoint.ts';
export type { ExternalCheckpoint } from './checks/freshness.ts';
export { CHECK_NAMES, type CheckName, FINDING_CODES, type Finding, type FindingCode } from './findings.ts';
export {
  DEFAULT_MAX_LINE_BYTES,
  type InputLine,
  type LineBatch,
  linesOf,
  readFileBatches,
  readFileLines,
  readLineBatches,
  readLines,
} from './line-reader.ts';
export { formatFinding, renderText } from './render-text.ts';
export type { CheckCount, EventSummary, LogReport, StatementReport, VerificationReport } from './report.ts';
export { decideVerdict, type FindingSeverity, SEVERITY, VERDICT_EXIT, type Verdict } from './verdict.ts';
export { Verifier, type VerifyOptions, verifyRecords } from './verifier.ts';
