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
});
