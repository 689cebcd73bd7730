/**
 * Addresses of the real servers that integration tests may use, read from the environment.
 * Each is `undefined` when its variable is unset or blank, and the tests that need it skip.
 */

/** Reads an environment variable, treating unset and blank alike. */
function readEnv(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

/** Redis URL from `VCP_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379`), or undefined. */
export function redisUrl(): string | undefined {
  return readEnv('VCP_TEST_REDIS_URL');
}

/** PostgreSQL connection string from `VCP_TEST_PG_URL`, or undefined. */
export function postgresUrl(): string | undefined {
  return readEnv('VCP_TEST_PG_URL');
}

/**
 * Kafka bootstrap brokers from `VCP_TEST_KAFKA_BROKERS` (comma-separated `host:port`, as
 * printed by `bash scripts/kafka.sh start`), or undefined.
 */
export function kafkaBrokers(): string | undefined {
  return readEnv('VCP_TEST_KAFKA_BROKERS');
}

/** The line a skipped suite prints, so a green run never hides that it tested nothing. */
export function skipReason(name: string, envVar: string, hint?: string): string {
  return `${name} tests skipped: set ${envVar}${hint ? ` (${hint})` : ''}`;
}
