/**
 * The `--ingest` option of `vcp sidecar` (env `VCP_SIDECAR_INGEST`):
 *
 *     http                                      (default) events arrive by POST /vcp/log
 *     kafka://<host:port>[,<host:port>…]/<topic>[?<param>=<value>&…]
 *
 * e.g. `kafka://127.0.0.1:19092/vcp.events?group=vcp-sidecars`. Parameters:
 *
 * | param                | default          | meaning                                             |
 * |----------------------|------------------|-----------------------------------------------------|
 * | `group`              | `vcp-sidecars`   | consumer group: sidecars of one group share the partitions |
 * | `client_id`          | `vcp-sidecar`    | client id the broker sees                           |
 * | `start`              | `earliest`       | where a partition with no committed offset starts (`earliest` records the whole topic, `latest` only what comes next) |
 * | `session_timeout`    | `10s`            | a member silent this long is dropped and its partitions move (the broker allows 6 s–5 min by default) |
 * | `heartbeat_interval` | `1s`             | at most a third of the session timeout              |
 * | `max_wait`           | `500ms`          | longest wait of one fetch                           |
 *
 * Durations are milliseconds or a number with `ms`, `s` or `m`. No user
 * name or password in the URL (TLS and SASL are not offered by this option;
 * embed `PartitionedSidecar` with consumer options for that); unknown
 * parameters are refused so a typo does not silently change behaviour.
 */
import { VcpConfigError } from '../../core/errors.ts';
import { parseBrokers } from '../../sinks/kafka.ts';

/** Where and how the cluster mode consumes. */
export interface KafkaIngest {
  /** The URL as given (it holds no secrets: credentials are refused). */
  url: string;
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  startFrom: 'earliest' | 'latest';
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitMs: number;
}

const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;
const GROUP_RE = /^[\x21-\x7e]{1,255}$/;
const PARAMS = new Set(['group', 'client_id', 'start', 'session_timeout', 'heartbeat_interval', 'max_wait']);

function duration(name: string, raw: string): number {
  const m = /^(\d{1,9})(ms|s|m)?$/.exec(raw.trim());
  if (!m)
    throw new VcpConfigError(
      `--ingest: ${name} must be a duration like 10s, 500ms or 10000 (got "${raw.slice(0, 40)}")`,
    );
  const unit = m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1;
  return Number(m[1]) * unit;
}

/**
 * Parse `kafka://…` (see the module comment). Throws `VcpConfigError`
 * naming the part that is wrong.
 */
export function parseKafkaIngestUrl(raw: string): KafkaIngest {
  const text = String(raw).trim();
  const m = /^kafka:\/\/([^/?#]*)\/([^?#]*)(?:\?([^#]*))?$/i.exec(text);
  if (!m) {
    throw new VcpConfigError(
      `--ingest must be http or kafka://<host:port>[,…]/<topic>[?group=<id>] (got "${text.slice(0, 120)}")`,
    );
  }
  const [, hosts = '', topicPart = '', query = ''] = m;
  if (hosts.includes('@')) {
    throw new VcpConfigError(
      '--ingest: credentials in the kafka:// URL are not supported (they would show in ps and logs)',
    );
  }
  const brokers = parseBrokers(hosts, '--ingest');
  let topic: string;
  try {
    topic = decodeURIComponent(topicPart);
  } catch {
    topic = topicPart;
  }
  if (!TOPIC_RE.test(topic)) {
    throw new VcpConfigError(
      `--ingest: "${topic.slice(0, 80)}" is not a Kafka topic name (1–249 characters of [A-Za-z0-9._-])`,
    );
  }
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!PARAMS.has(key)) {
      throw new VcpConfigError(
        `--ingest: unknown parameter "${key.slice(0, 40)}" (known: ${[...PARAMS].join(', ')})`,
      );
    }
  }
  const groupId = params.get('group') ?? 'vcp-sidecars';
  if (!GROUP_RE.test(groupId)) throw new VcpConfigError('--ingest: group must be 1–255 printable characters');
  const clientId = params.get('client_id') ?? 'vcp-sidecar';
  if (!GROUP_RE.test(clientId))
    throw new VcpConfigError('--ingest: client_id must be 1–255 printable characters');
  const start = params.get('start') ?? 'earliest';
  if (start !== 'earliest' && start !== 'latest') {
    throw new VcpConfigError(`--ingest: start must be earliest or latest (got "${start.slice(0, 40)}")`);
  }
  const sessionTimeoutMs = duration('session_timeout', params.get('session_timeout') ?? '10s');
  const heartbeatIntervalMs = duration('heartbeat_interval', params.get('heartbeat_interval') ?? '1s');
  const maxWaitMs = duration('max_wait', params.get('max_wait') ?? '500ms');
  if (sessionTimeoutMs < 1000) throw new VcpConfigError('--ingest: session_timeout must be at least 1s');
  if (heartbeatIntervalMs < 1 || heartbeatIntervalMs * 3 > sessionTimeoutMs) {
    throw new VcpConfigError('--ingest: heartbeat_interval must be at most a third of session_timeout');
  }
  if (maxWaitMs < 1 || maxWaitMs > 60_000) throw new VcpConfigError('--ingest: max_wait must be 1ms–60s');
  return {
    url: text,
    brokers,
    topic,
    groupId,
    clientId,
    startFrom: start,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    maxWaitMs,
  };
}
