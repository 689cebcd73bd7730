// @ts-nocheck — jspurefix is not a dependency of this repository; see README.md to run this file.
/**
 * vcp-instrument inside a jspurefix (v5) FIX session.
 *
 * jspurefix hands every raw message to two hooks of the session class:
 * `onDecoded(msgType, txt)` for each message received and
 * `onEncoded(msgType, txt)` for each message sent — admin messages included,
 * with the SOH delimiter already replaced by the session's log delimiter
 * (e.g. `|`). Those are the places to call the adapter: it sees the exact
 * text (so BodyLength and CheckSum are checked) and every sequence number
 * (so gaps become ERR_SYNC events). `onApplicationMsg(msgType, view)` stays
 * what it is: your business logic, working on the parsed view.
 *
 * `adapter.onMessage` never throws and only queues work (sealing and I/O run
 * in the recorder, off the session's path).
 */
import { AsciiSession, type IJsFixConfig, type MsgView } from 'jspurefix';
import { createHttpSink, createRecorder } from 'vcp-instrument';
import { createFixAdapter, type FixAdapter } from 'vcp-instrument/fix';

/** One recorder and adapter per process, shared by its sessions. */
const recorder = createRecorder({
  policyId: 'com.example.trading:fix-gateway',
  tier: 'GOLD',
  chain: true,
  // To the sidecar (`npx vcp sidecar`), with retries and a local spool while it is down.
  sink: createHttpSink({
    url: process.env.VCP_SIDECAR_URL ?? 'http://127.0.0.1:8080',
    spoolDir: './vcp-spool',
  }),
  handleSignals: true,
});

export class VcpRecordedSession extends AsciiSession {
  private readonly vcp: FixAdapter;

  constructor(config: IJsFixConfig) {
    super(config);
    this.vcp = createFixAdapter({
      recorder,
      localCompId: config.description.SenderCompId,
      component: `fix-session:${config.description.SenderCompId}->${config.description.TargetCompId}`,
    });
  }

  // Every received message, as text.
  protected onDecoded(_msgType: string, txt: string): void {
    this.vcp.onMessage(txt, { direction: 'in' });
  }

  // Every sent message, as text.
  protected onEncoded(_msgType: string, txt: string): void {
    this.vcp.onMessage(txt, { direction: 'out' });
  }

  // Business logic is unchanged: the audit trail does not depend on it.
  protected onApplicationMsg(msgType: string, view: MsgView): void {
    this.sessionLogger.info(`application message ${msgType}: ${JSON.stringify(view.toObject())}`);
  }

  protected onReady(_view: MsgView): void {}

  protected onStopped(): void {
    // Flush what was recorded before the process goes on (or exits).
    void recorder.flush();
  }

  protected onLogon(_view: MsgView, _user: string, _password: string): boolean {
    return true;
  }
}
