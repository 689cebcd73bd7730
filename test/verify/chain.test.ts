import { describe, expect, it } from 'vitest';
import { ChainCheck } from '../../src/verify/checks/chain.ts';

const h = (n: number) => n.toString(16).padStart(64, '0');
const G = '0'.repeat(64);

/** Feed [own hash, prev hash] pairs; return the finding codes by line. */
function run(events: [number, number | 'G' | undefined][]): string[] {
  const c = new ChainCheck();
  const out: string[] = [];
  events.forEach(([own, prev], i) => {
    const p = prev === 'G' ? G : prev === undefined ? undefined : h(prev);
    for (const f of c.push(p, h(own), { line: i + 1 })) out.push(`${f.line}:${f.code}`);
  });
  for (const f of c.finish()) out.push(`${f.line}:${f.code}`);
  return out;
}

describe('chain continuity', () => {
  it('two interleaved chains link cleanly', () => {
    expect(
      run([
        [1, 'G'],
        [10, 'G'],
        [2, 1],
        [11, 10],
        [3, 2],
        [12, 11],
      ]),
    ).toEqual([]);
  });
  it('a removed event is a gap at the event that links to it', () => {
    expect(
      run([
        [1, 'G'],
        [3, 2],
      ]),
    ).toEqual(['2:chain-gap']);
  });
  it('an event before its predecessor is a reordering', () => {
    expect(
      run([
        [1, 'G'],
        [3, 2],
        [2, 1],
      ]),
    ).toEqual(['2:chain-reordered']);
  });
  it('two events linking to the same predecessor are a fork, seen or not yet seen', () => {
    expect(
      run([
        [1, 'G'],
        [2, 1],
        [3, 1],
      ]),
    ).toEqual(['3:chain-fork']);
    expect(
      run([
        [2, 1],
        [3, 1],
        [1, 'G'],
      ]),
    ).toEqual(['2:chain-fork', '1:chain-reordered']);
  });
  it('a malformed prev_hash is named', () => {
    const c = new ChainCheck();
    expect(c.push('xyz', h(1), { line: 1 }).map((f) => f.code)).toEqual(['chain-malformed']);
  });
  it('only a well-formed own hash can be linked to: an upper-case one leaves its successor a gap', () => {
    const c = new ChainCheck();
    const upper = h(7).replace(/^0/, 'A');
    expect(c.push(G, upper, { line: 1 })).toEqual([]);
    expect(c.push(upper.toLowerCase(), h(8), { line: 2 })).toEqual([]);
    expect(c.finish().map((f) => `${f.line}:${f.code}`)).toEqual(['2:chain-gap']);
  });
  it('60 000 events on 12 interleaved chains: exactly the one removal, reordering and fork planted', () => {
    const events: [number, number | 'G'][] = [];
    const chains = 12;
    const perChain = 5000;
    for (let k = 0; k < perChain; k++)
      for (let c = 0; c < chains; c++) {
        const own = 1 + c * perChain + k;
        events.push([own, k === 0 ? 'G' : own - 1]);
      }
    const removedAt = 30_001; // chain 1, step 2500: its successor is then a gap
    const [removed] = events.splice(removedAt, 1);
    const forkedFrom = events[40_000]![0];
    events.push([10 ** 9, forkedFrom]); // a second event linking to the same predecessor
    const a = 50_000;
    [events[a], events[a + chains]] = [events[a + chains]!, events[a]!]; // a successor placed before its predecessor
    const codes = run(events);
    expect(codes).toHaveLength(3);
    expect(codes).toContain(`${a + 1}:chain-reordered`);
    expect(codes).toContain(`${events.length}:chain-fork`);
    const gapLine = events.findIndex(([, prev]) => prev === removed![0]) + 1;
    expect(codes).toContain(`${gapLine}:chain-gap`);
  });
});
