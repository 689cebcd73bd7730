/**
 * The small family of typed errors every public function throws.
 *
 * Each carries a stable `code` so callers can branch without parsing messages,
 * and a message a user can act on.
 */

/** Base class of every error this package throws on purpose. */
export class VcpError extends Error {
  /** Stable, machine-readable code, e.g. `VCP_VALIDATION`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One failed rule: where (`path`, e.g. `payload.trade_data.price`) and what (`rule`). */
export interface ValidationIssue {
  /** Dotted path of the offending field (`header.event_id`, `[3].payload`). Empty for the whole value. */
  path: string;
  /** Short rule name, e.g. `required`, `uuidv7`, `decimal-string`. */
  rule: string;
  /** Plain-words explanation. */
  message: string;
}

/** Input did not satisfy a documented rule. `issues` lists every failure found, not only the first. */
export class VcpValidationError extends VcpError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[] | ValidationIssue, message?: string) {
    const list = Array.isArray(issues) ? issues : [issues];
    super('VCP_VALIDATION', message ?? formatIssues(list));
    this.issues = list;
  }

  /** Path of the first issue (convenience for the common single-issue case). */
  get path(): string {
    return this.issues[0]?.path ?? '';
  }

  /** Rule of the first issue. */
  get rule(): string {
    return this.issues[0]?.rule ?? '';
  }
}

/** A value cannot be turned into canonical JSON (RFC 8785). */
export class VcpCanonicalizationError extends VcpError {
  /** JSON-pointer-like path to the offending value, e.g. `/payload/trade_data/price`. */
  readonly path: string;

  constructor(path: string, message: string) {
    super('VCP_CANONICALIZATION', path ? `${message} at ${path}` : message);
    this.path = path;
  }
}

/** A key, signature or proof could not be parsed or used. */
export class VcpCryptoError extends VcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VCP_CRYPTO', message, options);
  }
}

/** Verification found the data not to be what it claims (used by throwing helpers; reports never throw). */
export class VcpVerificationError extends VcpError {
  constructor(message: string) {
    super('VCP_VERIFICATION', message);
  }
}

/** Bad configuration: an unknown option, a missing key file, a port already bound. */
export class VcpConfigError extends VcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VCP_CONFIG', message, options);
  }
}

/** A sink, store or anchor target failed at I/O. */
export class VcpIoError extends VcpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VCP_IO', message, options);
  }
}

function formatIssues(issues: ValidationIssue[]): string {
  if (issues.length === 0) return 'invalid value';
  const shown = issues.slice(0, 5).map((i) => `${i.path || '(value)'}: ${i.message} [${i.rule}]`);
  const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
  return shown.join('; ') + more;
}
