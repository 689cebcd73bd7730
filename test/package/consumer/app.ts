// A consumer of the packed package, compiled with skipLibCheck off: every
// declaration file the imports below pull in is type-checked, so a type that
// names a package the consumer lacks (an optional peer) fails the build.
// None of ioredis, pg or @platformatic/kafka is installed next to it.
import {
  configureVcp,
  createRecorder,
  type Ed25519Jwk,
  exportPublicKey,
  generateSigningKey,
  MemorySink,
  runWithTrace,
  VcpLogged,
  vcpExpress,
  vcpKoa,
} from 'vcp-instrument';
import { replayFixLog } from 'vcp-instrument/fix';
import { startSidecar } from 'vcp-instrument/sidecar';
import { createTestRecorder } from 'vcp-instrument/testing';

const sink = new MemorySink();
const signer = generateSigningKey();
const recorder = createRecorder({ sink, signer, policyId: 'com.example.trading:consumer' });
configureVcp({ recorder });

class Orders {
  @VcpLogged('ORD', (args, result) => ({
    trade_data: { order_id: String(result), symbol: String(args[0]), side: 'BUY', quantity: '1' },
  }))
  place(symbol: string): string {
    return `o-${symbol}`;
  }
}

const jwk: Ed25519Jwk = exportPublicKey(signer.publicKey, 'jwk');
const middleware = [vcpExpress({ recorder }), vcpKoa({ recorder })];
const embedded: typeof startSidecar = startSidecar;
const replay: typeof replayFixLog = replayFixLog;
const { recorder: testRecorder } = createTestRecorder();

// No top-level await: the same file is compiled as CommonJS too.
async function main(): Promise<void> {
  runWithTrace(undefined, () => new Orders().place('EURUSD'));
  await recorder.flush();
  await recorder.close();
  console.log(
    sink.events.map((e) => e.header.event_type).join(','),
    jwk.kty,
    middleware.length,
    typeof embedded,
    typeof replay,
    typeof testRecorder.record,
  );
}
void main();
