import { describe, expect, it } from 'vitest';
import { createSequenceTracker, type SequenceInput } from '../../../src/adapters/fix/sequence.ts';

const IN = { beginString: 'FIX.4.4', senderCompId: 'BROKER', targetCompId: 'CLIENT' };
const msg = (seqNum: number, extra: Partial<SequenceInput> = {}): SequenceInput => ({
  ...IN,
  msgType: '8',
  seqNum,
  possDup: false,
  ...extra,
});

describe('sequence tracking', () => {
  it('accepts the first message whatever its number, then consecutive ones silently', () => {
    const t = createSequenceTracker();
    for (let s = 5000; s < 5010; s++) expect(t.check(msg(s))).toEqual({ duplicate: false, issues: [] });
    expect(t.stats()).toMatchObject({ streams: 1, gaps: 0 });
  });

  it('names the missing range of a gap, per stream and direction', () => {
    const t = createSequenceTracker();
    t.check(msg(10));
    const v = t.check(msg(14));
    expect(v.issues).toHaveLength(1);
    expect(v.issues[0]).toMatchObject({
      kind: 'gap',
      stream: 'BROKER->CLIENT',
      expected: 11,
      received: 14,
      from: 11,
      to: 13,
      count: 3,
    });
    expect(v.issues[0]!.message).toBe(
      'MsgSeqNum gap on BROKER->CLIENT (FIX.4.4): expected 11, received 14; messages 11..13 (3) missing',
    );
    // The other direction is its own stream.
    expect(t.check({ ...msg(1), senderCompId: 'CLIENT', targetCompId: 'BROKER' }).issues).toEqual([]);
    expect(t.check({ ...msg(3), senderCompId: 'CLIENT', targetCompId: 'BROKER' }).issues[0]!.stream).toBe(
      'CLIENT->BROKER',
    );
  });

  it('resends (PossDupFlag=Y) fill the gap without a false alarm; a resend of a seen message is a duplicate', () => {
    const t = createSequenceTracker();
    t.check(msg(10));
    t.check(msg(14)); // gap 11..13
    for (const s of [11, 12, 13])
      expect(t.check(msg(s, { possDup: true }))).toEqual({ duplicate: false, issues: [] });
    // 14 was already seen: its resend must not be recorded twice.
    expect(t.check(msg(14, { possDup: true }))).toEqual({ duplicate: true, issues: [] });
    expect(t.check(msg(15)).issues).toEqual([]);
    expect(t.stats()).toMatchObject({ gaps: 1, missingMessages: 3, duplicates: 1 });
  });

  it('SequenceReset-GapFill covers admin messages not resent', () => {
    const t = createSequenceTracker();
    t.check(msg(1));
    t.check(msg(6)); // gap 2..5
    // 2..3 were heartbeats: gap-filled; 4 and 5 are resent.
    expect(t.check(msg(2, { msgType: '4', possDup: true, gapFill: true, newSeqNo: 4 })).issues).toEqual([]);
    expect(t.check(msg(4, { possDup: true })).duplicate).toBe(false);
    expect(t.check(msg(5, { possDup: true })).duplicate).toBe(false);
    // A GapFill at the expected number may jump ahead (skipped admin messages), no gap.
    expect(t.check(msg(7, { msgType: '4', gapFill: true, newSeqNo: 12 })).issues).toEqual([]);
    expect(t.check(msg(12)).issues).toEqual([]);
  });

  it('SequenceReset-Reset: messages it skips are reported, lowering is reported', () => {
    const t = createSequenceTracker();
    t.check(msg(1));
    const skip = t.check(msg(99, { msgType: '4', newSeqNo: 20 }));
    expect(skip.issues[0]).toMatchObject({ kind: 'reset-skip', from: 2, to: 19, count: 18 });
    expect(t.check(msg(20)).issues).toEqual([]);
    const lower = t.check(msg(21, { msgType: '4', newSeqNo: 5 }));
    expect(lower.issues[0]!.kind).toBe('reset-lower');
    expect(t.check(msg(5)).issues).toEqual([]);
  });

  it('too low without PossDupFlag is reported once, then the stream follows', () => {
    const t = createSequenceTracker();
    t.check(msg(50));
    const v = t.check(msg(7));
    expect(v.issues[0]).toMatchObject({ kind: 'too-low', expected: 51, received: 7 });
    expect(v.issues[0]!.message).toMatch(/without PossDupFlag \(43\)=Y/);
    expect(t.check(msg(8)).issues).toEqual([]);
  });

  it('a Logon with ResetSeqNumFlag=Y or numbered 1 starts a new session without alarms', () => {
    const t = createSequenceTracker();
    t.check(msg(500));
    t.check(msg(510)); // gap 501..509 outstanding
    expect(t.check(msg(1, { msgType: 'A' })).issues).toEqual([]);
    expect(t.check(msg(2)).issues).toEqual([]);
    expect(t.check(msg(1, { msgType: 'A', resetSeqNum: true })).issues).toEqual([]);
    expect(t.stats().resets).toBe(2);
    // The old session's outstanding gap (501..509) is gone: 2 arriving again is a duplicate, not a fill.
    expect(t.check(msg(2)).issues).toEqual([]);
    expect(t.check(msg(2, { possDup: true })).duplicate).toBe(true);
  });

  it('memory stays bounded: streams and outstanding ranges', () => {
    const t = createSequenceTracker({ maxStreams: 10, maxGapRanges: 4 });
    for (let i = 0; i < 1000; i++) t.check({ ...msg(1), senderCompId: `S${i}` });
    t.check(msg(1));
    for (let s = 3; s < 100; s += 2) t.check(msg(s)); // a one-message gap every time
    expect(t.stats().droppedRanges).toBeGreaterThan(0);
    // The dropped (oldest) ranges no longer count as outstanding: their resend is a duplicate.
    expect(t.check(msg(2, { possDup: true })).duplicate).toBe(true);
    expect(t.check(msg(96, { possDup: true })).duplicate).toBe(false);
  });
});
