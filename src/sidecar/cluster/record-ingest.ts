/**
 * One Kafka record of the `vcp.events` topic → events ready for a
 * partition's commit queue, through exactly the checks of `POST /vcp/log`
 * (ingest.ts): strict JSON, schema validation, the EventHash (a producer's
 * `security.event_hash` must match), size limits, `--strict`. The record's
 * value is what `KafkaSink` writes: the JSON of one sealed event (an array
 * of events is accepted too, as over HTTP).
 *
 * The partition is stamped on every event (`security.partition`): the
 * sidecar assigns it like `merkle_index`, and a producer's value is dropped.
 * It is not hashed (v1.1 §6.1 hashes header and payload only), so stamping
 * changes no EventHash.
 *
 * A record that fails is not an error of the sidecar: it is refused
 * (counted, logged, its offset committed like any other) so that one bad
 * message never stalls its partition. It stays in the topic for inspection.
 */
import { HttpError } from '../http.ts';
import { type PreparedEvent, type PrepareOptions, parseLogBody, prepareEvents } from '../ingest.ts';

/** What became of one record. */
export type RecordOutcome =
  | { ok: true; events: PreparedEvent[]; batch: boolean }
  | {
      ok: false;
      /** Metrics label: `empty`, `validation`, `payload_too_large`… */
      reason: string;
      /** The first problem, in words (path and rule included). */
      message: string;
    };

/** Validate and hash a record's value; never throws for bad input. */
export function prepareRecord(
  value: Buffer | null | undefined,
  partition: number,
  options: PrepareOptions,
): RecordOutcome {
  if (value == null || value.length === 0) {
    return { ok: false, reason: 'empty', message: 'the record has no value (a tombstone?)' };
  }
  try {
    const parsed = parseLogBody(value, 'json', options);
    const events = prepareEvents(parsed, options);
    for (const e of events) e.event.security.partition = partition;
    return { ok: true, events, batch: parsed.batch };
  } catch (e) {
    if (!(e instanceof HttpError)) {
      // A bug, not bad input; refusing the record keeps the partition moving and the log says why.
      return {
        ok: false,
        reason: 'internal',
        message: `cannot check the record: ${(e as Error)?.message ?? e}`,
      };
    }
    const issues = e.extra.errors as { path: string; rule: string; message: string }[] | undefined;
    const first = issues?.[0];
    return {
      ok: false,
      reason: e.error,
      message: first ? `${first.path || '(value)'}: ${first.message} [${first.rule}]` : e.message,
    };
  }
}
