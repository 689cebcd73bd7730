/**
 * A vitest reporter that ends the run's output with one line per skipped
 * suite (or skipped test outside a skipped suite) and why it was skipped, so
 * a green run never hides what it did not test. The "why" is what the test
 * file printed when it decided to skip (`skipReason(...)`, or any console line
 * mentioning "skip"), or the note given to `ctx.skip(note)`.
 *
 * Listed after 'default' in vitest.config.ts, so its lines come last. Runs
 * that filter by test name (`-t`) skip everything else on purpose: no list then.
 */
import { relative } from 'node:path';
import type { UserConsoleLog } from 'vitest';
import type { Reporter, TestCase, TestModule, TestSuite, Vitest } from 'vitest/node';

type Task = TestSuite | TestCase;

export default class SkipSummaryReporter implements Reporter {
  #root = process.cwd();
  #filtered = false;
  /** Console lines about skipping, by the id of the module (or task) that printed them. */
  readonly #reasons = new Map<string, string[]>();

  onInit(vitest: Vitest): void {
    this.#root = vitest.config.root;
    this.#filtered = Boolean(vitest.config.testNamePattern);
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    if (log.taskId === undefined || !/skip/i.test(log.content)) return;
    const lines = this.#reasons.get(log.taskId) ?? [];
    const line = log.content.trim().split('\n')[0]!;
    if (!lines.includes(line)) lines.push(line);
    this.#reasons.set(log.taskId, lines);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (this.#filtered) return;
    const out: string[] = [];
    for (const mod of testModules) {
      const file = relative(this.#root, mod.moduleId);
      for (const task of topmostSkipped(mod)) {
        const why = noteOf(task) ?? this.#reasonFor(mod, task) ?? 'no reason printed';
        out.push(`  ↓ ${file} > ${task.fullName}: ${why}`);
      }
    }
    if (out.length === 0) return;
    process.stdout.write(`\n skipped (${out.length}):\n${out.join('\n')}\n`);
  }

  #reasonFor(mod: TestModule, task: Task): string | undefined {
    const own = this.#reasons.get(task.id) ?? this.#reasons.get(mod.id);
    return own?.join('; ');
  }
}

/** Skipped suites and tests whose parent suite was not skipped (a skipped suite is one line). */
function* topmostSkipped(parent: TestModule | TestSuite): Generator<Task> {
  for (const child of parent.children) {
    if (child.type === 'suite') {
      if (child.state() === 'skipped' && child.options.mode !== 'todo') yield child;
      else yield* topmostSkipped(child);
    } else if (child.result().state === 'skipped' && child.options.mode !== 'todo') {
      yield child;
    }
  }
}

function noteOf(task: Task): string | undefined {
  if (task.type !== 'test') return undefined;
  const result = task.result();
  return result.state === 'skipped' ? (result.note ?? undefined) : undefined;
}
