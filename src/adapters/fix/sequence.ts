/**
 * MsgSeqNum (34) tracking per FIX stream, to name the messages that never
 * arrived (→ `ERR_SYNC` events) without crying wolf over the normal ways a
 * FIX session recovers.
 *
 * A stream is one direction of one session: (BeginString, SenderCompID,
 * TargetCompID). Its first message is accepted whatever its number (a log or
 * a live tap may start mid-session). After that:
 *
 * - the expected number → fine;
 * - higher → a gap: the numbers in between are reported and remembered as
 *   outstanding;
 * - lower, filling an outstanding gap (a resend, normally PossDupFlag(43)=Y)
 *   → fine, processed as new;
 * - lower with PossDupFlag=Y, not in a gap → a duplicate of a message already
 *   seen: not reported, and flagged so the adapter does not record it twice;
 * - lower without PossDupFlag → reported ("too low"), and the stream follows
 *   the new numbering;
 * - Logon (35=A) with ResetSeqNumFlag(141)=Y, or a Logon numbered 1 → a new
 *   session: the stream restarts, outstanding gaps are dropped;
 * - SequenceReset-GapFill (35=4, 123=Y) → the range [MsgSeqNum, NewSeqNo)
 *   is filled (admin messages not resent) and the expected number moves to
 *   NewSeqNo;
 * - SequenceReset-Reset (35=4 without 123=Y) → the expected number becomes
 *   NewSeqNo; numbers skipped that way will never be sent and are reported.
 *
 * Memory is bounded: `maxStreams` streams (least recently used dropped; at
 * most twice that held, see _lru.ts) and `maxGapRanges` outstanding ranges a
 * stream (oldest dropped).
 */
import { GenerationalCache } from '../_lru.ts';

/** What the tracker needs from a message. */
export interface SequenceInput {
  beginString: string;
  senderCompId: string;
  targetCompId: string;
  msgType: string;
  seqNum: number;
  possDup: boolean;
  /** 35=4: GapFillFlag (123) = Y. */
  gapFill?: boolean;
  /** 35=4: NewSeqNo (36). */
  newSeqNo?: number;
  /** 35=A: ResetSeqNumFlag (141) = Y. */
  resetSeqNum?: boolean;
  /** The stream's key when the caller already built one (any string unique per begin/sender/target). */
  key?: string;
}

/** One problem found. `from`..`to` is the missing (or skipped) range, inclusive. */
export interface SequenceIssue {
  kind: 'gap' | 'too-low' | 'reset-skip' | 'reset-lower';
  /** `SENDER->TARGET`. */
  stream: string;
  beginString: string;
  expected: number;
  received: number;
  from?: number;
  to?: number;
  count?: number;
  /** One sentence naming the stream, the numbers and the missing range. */
  message: string;
}

/** Outcome of {@link SequenceTracker.check}. */
export interface SequenceVerdict {
  /** A resend of a message already seen: do not record it again. */
  duplicate: boolean;
  issues: SequenceIssue[];
}

/** Options of {@link createSequenceTracker}. */
export interface SequenceTrackerOptions {
  /** Streams remembered (default 10 000). */
  maxStreams?: number;
  /** Outstanding gap ranges remembered per stream (default 256). */
  maxGapRanges?: number;
}

/** Counters of a {@link SequenceTracker}. */
export interface SequenceStats {
  streams: number;
  gaps: number;
  missingMessages: number;
  duplicates: number;
  tooLow: number;
  resets: number;
  /** Outstanding ranges dropped to keep memory bounded. */
  droppedRanges: number;
}

/** Sequence state of every stream seen. */
export interface SequenceTracker {
  /** Judge one message and advance its stream. */
  check(input: SequenceInput): SequenceVerdict;
  stats(): SequenceStats;
}

interface StreamState {
  next: number;
  /** Outstanding missing ranges, sorted, inclusive. */
  gaps: [number, number][];
}

const NO_ISSUES: SequenceVerdict = Object.freeze({ duplicate: false, issues: [] }) as SequenceVerdict;

function range(from: number, to: number): string {
  return from === to ? `${from}` : `${from}..${to}`;
}

/** Make a tracker; see the module comment for the rules. */
export function createSequenceTracker(options: SequenceTrackerOptions = {}): SequenceTracker {
  const maxStreams = Math.max(1, options.maxStreams ?? 10_000);
  const maxGapRanges = Math.max(1, options.maxGapRanges ?? 256);
  const streams = new GenerationalCache<string, StreamState>(maxStreams);
  const stats: SequenceStats = {
    streams: 0,
    gaps: 0,
    missingMessages: 0,
    duplicates: 0,
    tooLow: 0,
    resets: 0,
    droppedRanges: 0,
  };

  const addGap = (st: StreamState, from: number, to: number) => {
    st.gaps.push([from, to]);
    if (st.gaps.length > maxGapRanges) {
      st.gaps.shift();
      stats.droppedRanges++;
    }
  };

  /** Remove [from, to] from the outstanding gaps; true if any number of it was outstanding. */
  const fill = (st: StreamState, from: number, to: number): boolean => {
    let hit = false;
    const out: [number, number][] = [];
    for (const [a, b] of st.gaps) {
      if (b < from || a > to) {
        out.push([a, b]);
        continue;
      }
      hit = true;
      if (a < from) out.push([a, from - 1]);
      if (b > to) out.push([to + 1, b]);
    }
    st.gaps = out;
    return hit;
  };

  return {
    check(input) {
      const key = input.key ?? `${input.beginString}\u0000${input.senderCompId}\u0000${input.targetCompId}`;
      const streamName = `${input.senderCompId}->${input.targetCompId}`;
      const s = input.seqNum;
      let st = streams.get(key);
      if (!st) {
        st = { next: s + 1, gaps: [] };
        streams.set(key, st);
        stats.streams++;
        if (input.msgType === '4' && input.newSeqNo !== undefined && input.newSeqNo > s)
          st.next = input.newSeqNo;
        return NO_ISSUES;
      }

      const issue = (
        kind: SequenceIssue['kind'],
        message: string,
        from?: number,
        to?: number,
      ): SequenceIssue => {
        const out: SequenceIssue = {
          kind,
          stream: streamName,
          beginString: input.beginString,
          expected: st.next,
          received: s,
          message,
        };
        if (from !== undefined && to !== undefined) {
          out.from = from;
          out.to = to;
          out.count = to - from + 1;
        }
        return out;
      };

      // A new session: Logon with ResetSeqNumFlag, or a Logon numbered 1.
      if (input.msgType === 'A' && (input.resetSeqNum || s === 1)) {
        if (st.next !== s || st.gaps.length) stats.resets++;
        st.next = s + 1;
        st.gaps = [];
        return NO_ISSUES;
      }

      // SequenceReset-Reset: MsgSeqNum is ignored, NewSeqNo rules.
      if (input.msgType === '4' && !input.gapFill) {
        const target = input.newSeqNo;
        if (target === undefined || target < 1) return NO_ISSUES;
        const issues: SequenceIssue[] = [];
        stats.resets++;
        if (target > st.next) {
          issues.push(
            issue(
              'reset-skip',
              `SequenceReset (35=4) on ${streamName} (${input.beginString}) moved the sequence from ${st.next} to ${target}: messages ${range(st.next, target - 1)} (${target - st.next}) will never be sent`,
              st.next,
              target - 1,
            ),
          );
          stats.missingMessages += target - st.next;
        } else if (target < st.next) {
          issues.push(
            issue(
              'reset-lower',
              `SequenceReset (35=4) on ${streamName} (${input.beginString}) lowered the sequence from ${st.next} to ${target}, which FIX forbids`,
            ),
          );
        }
        st.next = target;
        st.gaps = [];
        return { duplicate: false, issues };
      }

      let verdict: SequenceVerdict = NO_ISSUES;
      if (s === st.next) {
        st.next = s + 1;
      } else if (s > st.next) {
        const from = st.next;
        const to = s - 1;
        verdict = {
          duplicate: false,
          issues: [
            issue(
              'gap',
              `MsgSeqNum gap on ${streamName} (${input.beginString}): expected ${from}, received ${s}; message${from === to ? '' : 's'} ${range(from, to)} (${to - from + 1}) missing`,
              from,
              to,
            ),
          ],
        };
        stats.gaps++;
        stats.missingMessages += to - from + 1;
        addGap(st, from, to);
        st.next = s + 1;
      } else if (fill(st, s, s)) {
        // A resend filling an outstanding gap: new to us.
      } else if (input.possDup) {
        stats.duplicates++;
        verdict = { duplicate: true, issues: [] };
      } else {
        stats.tooLow++;
        verdict = {
          duplicate: false,
          issues: [
            issue(
              'too-low',
              `MsgSeqNum too low on ${streamName} (${input.beginString}): expected ${st.next}, received ${s} without PossDupFlag (43)=Y`,
            ),
          ],
        };
        st.next = s + 1;
      }

      // GapFill: the numbers up to NewSeqNo were admin messages that will not be resent.
      if (input.msgType === '4' && input.gapFill && input.newSeqNo !== undefined && input.newSeqNo > s) {
        fill(st, s, input.newSeqNo - 1);
        if (input.newSeqNo > st.next) st.next = input.newSeqNo;
      }
      return verdict;
    },
    stats() {
      return { ...stats };
    },
  };
}
