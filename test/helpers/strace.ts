/**
 * Test helper: run a command under `strace` and read back the order of its
 * system calls. Tests use it to show an ordering the kernel saw (the data's
 * fdatasync returned before the answer went out), which a test that only
 * kills and restarts a process cannot show: a SIGKILLed process's writes
 * survive in the page cache whether or not they were ever synced.
 *
 * Why the line order can be trusted across threads: with `-f`, every traced
 * thread stops at each syscall entry and exit until strace has written its
 * line, so a syscall that started only because another one had returned (the
 * threadpool's fdatasync finishing, then the main thread writing the HTTP
 * answer) is always written after that return.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One system call as strace printed it, with the lines where it started and returned. */
export interface Syscall {
  pid: number;
  name: string;
  /** The argument text (for an interrupted call, the two halves joined). */
  args: string;
  /** What the first argument's fd pointed at (`-yy`): a path, or `TCP:[…]`, `pipe:[…]`. */
  fdTarget: string | undefined;
  /** The return text, e.g. `651` or `-1 ENOSPC (No space left on device)`. */
  ret: string;
  /** 0-based line of the call's entry. */
  start: number;
  /** 0-based line of its return. */
  end: number;
}

/** The syscalls a durability test watches. */
export const STRACE_CALLS = 'fdatasync,fsync,write,writev,pwrite64,pwritev,pwritev2,sendto,sendmsg';

/**
 * `strace` options: follow threads and children, name what each fd points at,
 * print enough of each buffer to recognise a record or an HTTP status line.
 */
export function straceArgs(outFile: string): string[] {
  return ['-f', '-yy', '-s', '160', '-e', `trace=${STRACE_CALLS}`, '-o', outFile];
}

/**
 * Why strace cannot be used here, or undefined when it can: it must be
 * installed and allowed to trace (ptrace may be forbidden in a container).
 */
export function straceUnavailable(): string | undefined {
  const probe = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error) return `strace is not installed (${(probe.error as NodeJS.ErrnoException).code})`;
  if (probe.status !== 0) return `strace cannot trace here: ${probe.stderr.trim()}`;
  return undefined;
}

const COMPLETE_RE = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(.*)$/;
const UNFINISHED_RE = /^(\d+)\s+(\w+)\((.*?)\s*<unfinished \.\.\.>$/;
const RESUMED_RE = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)\)\s+=\s+(.*)$/;
const FD_RE = /^\d+<(.+?)>(?=,|$)/;

/** Parse an strace `-f -o` file into its syscalls, in the order they started. */
export function readStrace(file: string): Syscall[] {
  return parseStrace(readFileSync(file, 'utf8'));
}

/** Parse strace `-f` output (see {@link readStrace}). */
export function parseStrace(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const open = new Map<number, { name: string; args: string; start: number }>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    let m = UNFINISHED_RE.exec(line);
    if (m) {
      open.set(Number(m[1]), { name: m[2]!, args: m[3]!, start: n });
      continue;
    }
    m = RESUMED_RE.exec(line);
    if (m) {
      const pid = Number(m[1]);
      const begun = open.get(pid);
      if (!begun || begun.name !== m[2])
        throw new Error(`strace line ${n + 1}: a resumed ${m[2]} never began`);
      open.delete(pid);
      calls.push(call(pid, begun.name, begun.args + m[3]!, m[4]!, begun.start, n));
      continue;
    }
    m = COMPLETE_RE.exec(line);
    if (m) calls.push(call(Number(m[1]), m[2]!, m[3]!, m[4]!, n, n));
  }
  return calls.sort((a, b) => a.start - b.start);
}

function call(pid: number, name: string, args: string, ret: string, start: number, end: number): Syscall {
  return { pid, name, args, fdTarget: FD_RE.exec(args)?.[1], ret: ret.trim(), start, end };
}

/** True when a write-family call returned exactly the number of bytes it was asked for (write/pwrite64). */
export function wroteAll(c: Syscall): boolean {
  const asked = /,\s*(\d+)(?:,\s*\d+)?$/.exec(c.args)?.[1];
  return c.ret === asked;
}
