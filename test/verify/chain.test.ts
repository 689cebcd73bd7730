import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChainCheck } from '../../src/verify/checks/chain.ts';
import { type Finding, finding } from '../../src/verify/findings.ts';
import { prng } from '../helpers/prng.ts';

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

/**
 * The chain check as it was before its hash table (b6fd087, Maps of hash strings), kept here as the
 * reference the table-backed check must agree with, finding for finding.
 */
class MapChainCheck {
  readonly #seen = new Map<string, number>();
  readonly #later = new Map<string, { line: number; event_id?: string }>();
  linked = 0;

  push(prevHash: unknown, hash: string | undefined, where: { line: number; event_id?: string }): Finding[] {
    const out: Finding[] = [];
    if (hash && !this.#seen.has(hash)) {
      const waiting = this.#later.get(hash);
      if (waiting) {
        this.#later.delete(hash);
        this.#seen.set(hash, -waiting.line);
        out.push(
          finding(
            'chain-reordered',
            `this event links to the event at line ${where.line}, which comes after it`,
            waiting,
          ),
        );
      } else this.#seen.set(hash, where.line);
    }
    if (prevHash === undefined) return out;
    if (typeof prevHash !== 'string' || !/^[0-9a-f]{64}$/.test(prevHash)) {
      out.push(finding('chain-malformed', 'prev_hash is not 64 lowercase hex characters', where));
      return out;
    }
    if (prevHash === G) {
      this.linked++;
      return out;
    }
    const seen = this.#seen.get(prevHash);
    const other = seen !== undefined && seen < 0 ? -seen : this.#later.get(prevHash)?.line;
    if (other !== undefined) {
      out.push(
        finding(
          'chain-fork',
          `fork: the event at line ${other} already links to ${prevHash.slice(0, 16)}…`,
          where,
        ),
      );
      return out;
    }
    if (seen !== undefined) {
      this.#seen.set(prevHash, -where.line);
      this.linked++;
    } else this.#later.set(prevHash, where);
    return out;
  }

  finish(): Finding[] {
    return [...this.#later.entries()].map(([prev, where]) =>
      finding(
        'chain-gap',
        `links to ${prev.slice(0, 16)}…, which is not the hash of any event in the input: at least one event before it was removed`,
        where,
      ),
    );
  }
}

describe('chain check against the Map-based one it replaced (seeded streams)', () => {
  it('same findings, same order, same linked count: duplicates, forks, reorderings, gaps, malformed and upper-case hashes', () => {
    const sha = (i: number) => createHash('sha256').update(`c${i}`).digest('hex');
    for (let seed = 1; seed <= 40; seed++) {
      const next = prng(seed);
      const pool = Array.from({ length: 20 + Math.floor(next() * 400) }, (_, i) => sha(i));
      const pick = () => pool[Math.floor(next() * pool.length)]!;
      const own = (): string | undefined => {
        const r = next();
        if (r < 0.8) return pick();
        if (r < 0.88) return pick().toUpperCase();
        if (r < 0.92) return undefined;
        if (r < 0.95) return '';
        return pick().slice(1);
      };
      const prev = (): unknown => {
        const r = next();
        if (r < 0.15) return G;
        if (r < 0.8) return pick();
        if (r < 0.85) return undefined;
        if (r < 0.9) return pick().toUpperCase();
        if (r < 0.93) return `${pick().slice(0, 63)}g`;
        if (r < 0.96) return 42;
        return null;
      };
      const table = new ChainCheck();
      const ref = new MapChainCheck();
      let line = 0;
      for (let e = 0; e < 1500; e++) {
        line += 1 + Math.floor(next() * 3);
        const where = { line, ...(next() < 0.5 ? { event_id: `e${e}` } : {}) };
        const p = prev();
        const h = own();
        expect(table.push(p, h, where), `seed ${seed} event ${e}`).toEqual(ref.push(p, h, where));
      }
      expect(table.finish(), `seed ${seed}`).toEqual(ref.finish());
      expect(table.linked, `seed ${seed}`).toBe(ref.linked);
    }
  });

  it('lines up to 2^31 − 1 are told back exactly in fork and reordering findings; a later one is refused', () => {
    const top = 0x7fff_ffff;
    const c = new ChainCheck();
    expect(c.push(h(2), h(3), { line: top - 2 })).toEqual([]); // links to 2, not seen yet
    expect(c.push(G, h(1), { line: top - 1 })).toEqual([]);
    expect(c.push(h(1), h(2), { line: top }).map((f) => [f.code, f.line])).toEqual([
      ['chain-reordered', top - 2],
    ]);
    const fork = c.push(h(1), h(4), { line: 5 });
    expect(fork.map((f) => [f.code, f.line])).toEqual([['chain-fork', 5]]);
    expect(fork[0]!.message).toContain(`the event at line ${top} already links`);
    const fork2 = c.push(h(2), h(5), { line: 6 });
    expect(fork2[0]!.message).toContain(`the event at line ${top - 2} already links`);
    expect(() => c.push(G, h(9), { line: top + 1 })).toThrow(RangeError);
  });
});
