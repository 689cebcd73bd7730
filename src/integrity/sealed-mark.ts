/**
 * What the recorder's sealer knows of an event it sealed: the RFC 8785 texts of header and payload
 * it hashed, and the hash. Sinks write those texts (so the bytes written are the bytes hashed, even
 * if the caller changes its payload object afterwards). The embedded store checks and stores them
 * as the sidecar checks a request's event (parsed from that text), and takes the hash from here
 * instead of computing it again.
 *
 * The mark is a private class field added to the event object (a base class whose constructor
 * returns the object it is given). No other code can read, replace or remove it: unlike a symbol
 * property it is invisible to reflection, and a second mark on the same object throws. Only this
 * module can set one, and only the sealer calls {@link markSealed}. It costs a hidden-class
 * transition, where a WeakMap entry would cost a hash-table insert and ephemeron work in every GC.
 */
import type { HashAlgo } from '../core/enums.ts';

/** What the sealer recorded of one sealed event. */
export interface SealedTexts {
  /** `JCS(header)` as hashed. */
  readonly headerJcs: string;
  /** `JCS(payload)` as hashed. */
  readonly payloadJcs: string;
  readonly eventHash: string;
  readonly algo: HashAlgo;
  /** The chain link hashed with them (`security.prev_hash`), if any. */
  readonly prevHash: string | undefined;
}

/** A constructor that returns the object given to it, so a subclass's private field lands on that object. */
class Carrier {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point of the class (see the module comment)
    return target;
  }
}

class SealedMark extends Carrier {
  readonly #texts: SealedTexts;

  constructor(target: object, texts: SealedTexts) {
    super(target);
    this.#texts = texts;
  }

  static read(value: unknown): SealedTexts | undefined {
    return typeof value === 'object' && value !== null && #texts in value
      ? (value as SealedMark).#texts
      : undefined;
  }
}

/**
 * Mark a freshly sealed event (the sealer only). `texts` must be a fresh object: it is frozen, so
 * what {@link sealedTexts} returns cannot be changed either. Throws if the event was marked before.
 */
export function markSealed(event: object, texts: SealedTexts): void {
  new SealedMark(event, Object.freeze(texts));
}

/** The sealer's record of `event`, if our sealer sealed this very object; undefined for any other. */
export function sealedTexts(event: unknown): SealedTexts | undefined {
  return SealedMark.read(event);
}
