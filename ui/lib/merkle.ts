/**
 * RFC 6962 / RFC 9162 proof checking with WebCrypto, for the browser:
 * leaf = SHA-256(0x00 ‖ event hash bytes), node = SHA-256(0x01 ‖ l ‖ r).
 * The same algorithms as src/integrity/merkle/verify.ts (transparency-dev's
 * proof/verify.go); tests check both agree. Every function answers `false`
 * (never throws) for malformed input. Only the `rfc6962` mode is checked here.
 */
import { concat, fromHex, sha256, toHex } from './bytes.ts';

const MAX_PROOF = 64;

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

function hashes(proof: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(proof) || proof.length > MAX_PROOF) return undefined;
  const out: Uint8Array[] = [];
  for (const p of proof) {
    const b = fromHex(p);
    if (b?.length !== 32) return undefined;
    out.push(b);
  }
  return out;
}

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([0]), data));
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/**
 * The root (hex) that an inclusion proof leads to from event hash `eventHashHex`
 * at `index` in a tree of `size` leaves (RFC 9162 §2.1.3.2), or `undefined` when it cannot.
 */
export async function rootFromInclusion(
  eventHashHex: unknown,
  index: unknown,
  size: unknown,
  proof: unknown,
): Promise<string | undefined> {
  const data = fromHex(eventHashHex);
  const path = hashes(proof);
  if (data?.length !== 32 || !path || !isSize(index) || !isSize(size) || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = await leafHash(data);
  for (const p of path) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else r = await nodeHash(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? toHex(r) : undefined;
}

/** RFC 9162 §2.1.4.2: is the tree of `newSize` (root `newRootHex`) an append-only extension of `oldSize`? */
export async function verifyConsistency(
  oldSize: unknown,
  newSize: unknown,
  oldRootHex: unknown,
  newRootHex: unknown,
  proof: unknown,
): Promise<boolean> {
  const oldRoot = fromHex(oldRootHex);
  const newRoot = fromHex(newRootHex);
  const given = hashes(proof);
  if (!isSize(oldSize) || !isSize(newSize) || oldSize === 0 || oldSize > newSize) return false;
  if (!oldRoot || !newRoot || oldRoot.length !== 32 || newRoot.length !== 32 || !given) return false;
  const eq = (a: Uint8Array, b: Uint8Array) => toHex(a) === toHex(b);
  if (oldSize === newSize) return given.length === 0 && eq(oldRoot, newRoot);
  if (given.length === 0) return false;
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...given] : given;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else sr = await nodeHash(sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && eq(fr, oldRoot) && eq(sr, newRoot);
}
