/**
 * Process exit hooks shared by every recorder in the process (one listener
 * per event however many recorders there are, removed when the last one
 * closes).
 *
 * Node's exit paths, and what each one allows:
 * - the event loop runs dry → `'beforeExit'`: async work is still possible.
 *   A recorder with work pending at that point is stuck (its sink is down
 *   and its retry timers are unref'd), so it writes what it holds
 *   synchronously (sink `writeSync`, else its exit spool file).
 * - `process.exit()` → `'exit'` only (no `'beforeExit'`): synchronous code
 *   only. The recorder seals whatever is queued and writes it synchronously.
 * - SIGTERM / SIGINT: by default Node exits at once and no hook runs.
 *   Installing a listener *removes* that default exit, so this module does
 *   it only when asked (`handleSignals: true`): flush every recorder
 *   (bounded by a timeout), then `process.exit(128 + signal number)`, the
 *   conventional status (143 for SIGTERM, 130 for SIGINT). A second signal
 *   exits at once (the `'exit'` hook still spools what is left).
 * - SIGKILL, a crash in native code: nothing runs; events still in memory
 *   are lost. Use `durability: 'sync'` for events that must survive that.
 */
import { constants } from 'node:os';

/** What a recorder gives the exit hooks. */
export interface ExitParticipant {
  /** The loop ran dry: write whatever is still pending synchronously. */
  onBeforeExit(): void;
  /** The process is exiting: last synchronous chance. */
  onExit(): void;
  /** A signal arrived: flush (async). */
  flushForSignal(): Promise<void>;
  /** How long a signal flush may take, ms. */
  readonly signalTimeoutMs: number;
}

const participants = new Set<ExitParticipant>();
const signalParticipants = new Set<ExitParticipant>();
let installed = false;
let signalsInstalled = false;
let shuttingDown = false;

function onBeforeExit(): void {
  for (const p of [...participants]) {
    try {
      p.onBeforeExit();
    } catch {}
  }
}

function onExit(): void {
  for (const p of [...participants]) {
    try {
      p.onExit();
    } catch {}
  }
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

function onSignal(signal: NodeJS.Signals): void {
  const code = 128 + (constants.signals[signal] ?? 15);
  if (shuttingDown) process.exit(code);
  shuttingDown = true;
  const list = [...signalParticipants];
  const timeout = Math.max(0, ...list.map((p) => p.signalTimeoutMs));
  const timer = new Promise<void>((resolve) => setTimeout(resolve, timeout).unref());
  Promise.race([Promise.allSettled(list.map((p) => p.flushForSignal())), timer]).finally(() =>
    process.exit(code),
  );
}

function update(): void {
  const want = participants.size > 0;
  if (want && !installed) {
    process.on('beforeExit', onBeforeExit);
    process.on('exit', onExit);
    installed = true;
  } else if (!want && installed) {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
    installed = false;
  }
  const wantSignals = signalParticipants.size > 0;
  if (wantSignals && !signalsInstalled) {
    for (const s of SIGNALS) process.on(s, onSignal);
    signalsInstalled = true;
  } else if (!wantSignals && signalsInstalled) {
    for (const s of SIGNALS) process.off(s, onSignal);
    signalsInstalled = false;
  }
}

/**
 * Register a recorder for the exit hooks (and, with `handleSignals`, the
 * SIGTERM/SIGINT handlers). Returns the function that unregisters it.
 */
export function registerExitHooks(p: ExitParticipant, options: { handleSignals?: boolean } = {}): () => void {
  participants.add(p);
  if (options.handleSignals) signalParticipants.add(p);
  update();
  return () => {
    participants.delete(p);
    signalParticipants.delete(p);
    update();
  };
}
