/**
 * EventHashList: the leaves a store hands over on opening, 32 bytes each in
 * chunks of 4 096 (src/sidecar/store/event-hash-list.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VcpIoError } from '../../src/core/errors.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { EventHashList } from '../../src/sidecar/store/event-hash-list.ts';
import { TreeState } from '../../src/sidecar/tree-state.ts';

const hashes = (n: number) =>
  Array.from({ length: n }, (_, i) => createHash('sha256').update(`e${i}`).digest('hex'));

describe('EventHashList', () => {
  it('gives back 10 000 hashes in order across its chunks, lower-cased, and the tree they make is fromLeaves’', () => {
    const hs = hashes(10_000);
    const list = new EventHashList(hs.map((h, i) => (i % 3 === 0 ? h.toUpperCase() : h)));
    expect(list.length).toBe(10_000);
    expect([...list]).toEqual(hs);
    expect(list.at(4096)).toBe(hs[4096]);
    expect(list.bytes(8191).toString('hex')).toBe(hs[8191]);
    const state = new TreeState({ leaves: list, anchors: [] });
    expect(state.root()).toBe(MerkleTree.fromLeaves(hs).root());
    list.clear();
    expect(list.length).toBe(0);
    expect([...list]).toEqual([]);
  });

  it('refuses what is not 64 hex digits, and a refusal leaves the list as it was', () => {
    const hs = hashes(4097);
    const list = new EventHashList(hs.slice(0, 4096)); // the next push starts a chunk
    for (const bad of ['', 'ab', `${hs[0]!.slice(0, 63)}g`, `${hs[0]}00`, 42 as unknown as string]) {
      expect(() => list.push(bad)).toThrow(VcpIoError);
    }
    list.push(hs[4096]!);
    expect(list.length).toBe(4097);
    expect([...list]).toEqual(hs);
  });

  it('refuses to read past its end (where a chunk holds stale bytes) or at a non-index', () => {
    const h = hashes(1)[0]!;
    const list = new EventHashList([h]); // the rest of its 4 096-hash chunk is uninitialised memory
    expect(list.at(0)).toBe(h);
    for (const i of [1, 4095, 4096, -1, 0.5, Number.NaN]) expect(() => list.bytes(i)).toThrow(RangeError);
    expect(() => list.at(1)).toThrow(/not in the list \(1 hashes\)/);
  });
});

describe('EventHashList, adversarial', () => {
  it('refuses 64-character strings with non-ASCII characters, even those whose low byte is a hex digit', () => {
    // Buffer#write(…, 'hex') decodes each UTF-16 code unit by its low byte only: U+0161 'š' reads as 'a',
    // U+0130 'İ' as '0', U+0661 '١' as 'a'. A store's record holding such a "hash" is not 64 hex digits.
    const h = hashes(1)[0]!;
    const list = new EventHashList([h]);
    for (const ch of ['\u0161', '\u0130', '\u0661', '\u0139', '\uff10', '\u00e0', '\ud800'])
      for (const at of [0, 31, 63]) {
        const bad = h.slice(0, at) + ch + h.slice(at + 1);
        expect(() => list.push(bad), `${JSON.stringify(ch)} at ${at}`).toThrow(VcpIoError);
      }
    expect(() => list.push('\u0161'.repeat(64))).toThrow(VcpIoError);
    expect(list.length).toBe(1);
    expect([...list]).toEqual([h]);
  });

  it('a refusal in mid-chunk leaves the list as it was, and the next push takes its place', () => {
    const hs = hashes(5000);
    const list = new EventHashList();
    for (let i = 0; i < hs.length; i++) {
      if (i % 997 === 0)
        expect(() => list.push(`${hs[i]!.slice(0, 40)}zz${hs[i]!.slice(42)}`)).toThrow(VcpIoError);
      list.push(hs[i]!);
    }
    expect(list.length).toBe(5000);
    expect([...list]).toEqual(hs);
  });

  it('clear() then reuse, across three chunk edges: only the new hashes, in order, as the reference gives them', () => {
    const first = hashes(9000);
    const list = new EventHashList(first);
    list.clear();
    expect(list.length).toBe(0);
    const second = Array.from({ length: 12_289 }, (_, i) =>
      createHash('sha256').update(`again ${i}`).digest('hex'),
    );
    for (const [i, h] of second.entries()) list.push(i % 2 ? h.toUpperCase() : h);
    expect(list.length).toBe(second.length);
    for (const i of [0, 4095, 4096, 4097, 8191, 8192, 8193, 12_287, 12_288]) {
      expect(list.at(i)).toBe(second[i]);
      expect(list.bytes(i)).toEqual(Buffer.from(second[i]!, 'hex'));
    }
    expect([...list]).toEqual(second);
    const state = new TreeState({ leaves: list, anchors: [] });
    expect(state.root()).toBe(MerkleTree.fromLeaves(second).root());
  });
});
