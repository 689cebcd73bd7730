/**
 * Small I/O helpers shared by the commands: output streams that tests can
 * replace, a usage-error type (exit code 2), and a progress bar that only
 * draws on a terminal.
 */

/** Where a command writes; the real process streams by default. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  errIsTty: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    errIsTty: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** A mistake in how the command was called, or unreadable input: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit codes every command uses. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;

/** A progress bar on stderr, drawn at most every 100 ms, only on a TTY. */
export function progressBar(
  io: CliIo,
  label: string,
): { update(done: number, total: number): void; done(): void } {
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      if (!io.errIsTty || total < 10_000) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const filled = Math.round((done / total) * width);
      io.err(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      drawn = true;
    },
    done() {
      if (drawn) io.err('\n');
    },
  };
}
